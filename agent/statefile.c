/*
 * statefile.c: periodic and on-demand "show servers state" dumps.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "conf.h"
#include "filewrite.h"
#include "hacli.h"
#include "log.h"
#include "statefile.h"

#define STATEFILE_MAX_REPLY	(64u << 20)

struct statefile {
	struct event_base	*base;
	char			*path;		/* the state file */
	struct addr		 stats;		/* HAProxy's CLI */
	int64_t			 timeout;
	int64_t			 interval;
	struct event		*tick;
	struct hacli_req	*req;
	struct filewrite	*job;		/* a write in progress */
	uint64_t		 requested;
	uint64_t		 in_flight;	/* sequence being saved */
	uint64_t		 completed;
	uint64_t		 saved;
	uint64_t		 failures;
	int64_t			 last_save_wall;
	char			 error[160];
};

bool
statefile_valid(const char *reply, size_t *len)
{
	static const char	head[] = "1\n# be_id ";
	const char		*p;

	if (*len < sizeof(head) || memcmp(reply, head, sizeof(head) - 1) != 0)
		return false;
	/* Complete: ends with the empty line after the last row. */
	if (reply[*len - 1] != '\n' || reply[*len - 2] != '\n')
		return false;
	/* One output only: no other empty line before the end. */
	p = memmem(reply, *len, "\n\n", 2);
	if (p != reply + *len - 2)
		return false;
	*len -= 1;
	return true;
}

static void statefile_send(struct statefile *sf);
static void statefile_finish(struct statefile *sf);
static void statefile_written_cb(void *arg, int err);

static void
statefile_fail(struct statefile *sf, const char *what, const char *why)
{
	snprintf(sf->error, sizeof(sf->error), "%s: %s", what, why);
	sf->failures++;
	log_warnx("state file %s: %s; the previous file is kept",
	    sf->path, sf->error);
}

static void
statefile_done_cb(void *arg, const struct hacli_result *r)
{
	struct statefile	*sf = arg;
	size_t			 len = r->len;

	sf->req = NULL;
	if (r->status != HACLI_OK)
		statefile_fail(sf, "show servers state",
		    hacli_status_str(r->status));
	else if (!statefile_valid(r->reply, &len))
		statefile_fail(sf, "show servers state",
		    "incomplete or unexpected reply");
	else if ((sf->job = filewrite_start(sf->base, sf->path, r->reply, len,
	    0640, statefile_written_cb, sf)) != NULL)
		return;		/* statefile_written_cb carries on */
	else
		statefile_fail(sf, "write", strerror(errno));
	statefile_finish(sf);
}

/* A save is over (written or not): the next one, if asked for meanwhile. */
static void
statefile_finish(struct statefile *sf)
{
	sf->completed = sf->in_flight;
	if (sf->requested > sf->completed)
		statefile_send(sf);
}

static void
statefile_written_cb(void *arg, int err)
{
	struct statefile	*sf = arg;

	sf->job = NULL;
	if (err != 0) {
		statefile_fail(sf, "write", strerror(err));
	} else {
		sf->saved = sf->in_flight;
		sf->last_save_wall = wall_ms();
		sf->error[0] = '\0';
		log_debug("state file %s: saved",
		    sf->path);
	}
	statefile_finish(sf);
}

static void
statefile_send(struct statefile *sf)
{
	if (sf->req != NULL || sf->job != NULL)
		return;		/* the save in progress sends the next one */
	sf->in_flight = sf->requested;
	sf->req = hacli_request(sf->base, &sf->stats, "show servers state",
	    STATEFILE_MAX_REPLY, sf->timeout, statefile_done_cb, sf);
}

uint64_t
statefile_request(struct statefile *sf)
{
	sf->requested++;
	statefile_send(sf);
	return sf->requested;
}

static void
statefile_tick_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)statefile_request(arg);
}

static bool
statefile_wanted(const struct conf_haproxy *h)
{
	return h->state_file != NULL && h->stats_kind != STATS_HTTP;
}

static void
statefile_set(struct statefile *sf, const struct conf_haproxy *h)
{
	struct timeval	tv = tv_ms(h->state_file_interval);

	free(sf->path);
	sf->path = xstrdup(h->state_file);
	sf->stats = h->stats_addr;
	sf->timeout = h->timeout;
	if (sf->interval != h->state_file_interval) {
		sf->interval = h->state_file_interval;
		event_add(sf->tick, &tv);
	}
}

struct statefile *
statefile_new(struct event_base *base, const struct conf_haproxy *h)
{
	struct statefile	*sf;

	if (!statefile_wanted(h))
		return NULL;
	sf = xcalloc(1, sizeof(*sf));
	sf->base = base;
	sf->tick = event_new(base, -1, EV_PERSIST, statefile_tick_cb, sf);
	statefile_set(sf, h);
	return sf;
}

struct statefile *
statefile_reconfigure(struct statefile *sf, struct event_base *base,
    const struct conf_haproxy *h)
{
	if (sf == NULL)
		return statefile_new(base, h);
	if (!statefile_wanted(h)) {
		statefile_free(sf);
		return NULL;
	}
	statefile_set(sf, h);
	return sf;
}

void
statefile_status(const struct statefile *sf, struct statefile_status *st)
{
	st->requested = sf->requested;
	st->completed = sf->completed;
	st->saved = sf->saved;
	st->failures = sf->failures;
	st->last_save_wall = sf->last_save_wall;
	st->last_error = sf->error[0] != '\0' ? sf->error : NULL;
}

void
statefile_free(struct statefile *sf)
{
	if (sf == NULL)
		return;
	if (sf->req != NULL)
		hacli_cancel(sf->req);
	filewrite_cancel(sf->job);	/* waits for the write to end */
	event_free(sf->tick);
	free(sf->path);
	free(sf);
}
