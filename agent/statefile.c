/*
 * statefile.c: periodic and on-demand "show servers state" dumps.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "hacli.h"
#include "hapwatch.h"
#include "log.h"
#include "statefile.h"

#define STATEFILE_MAX_REPLY	(64u << 20)

struct statefile {
	struct hw		*hw;
	struct event		*tick;
	struct hacli_req	*req;
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

static bool
fsync_dir(const char *path)
{
	char	*copy = xstrdup(path);
	int	 fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	bool	 ok = fd >= 0 && fsync(fd) == 0;

	if (fd >= 0)
		close(fd);
	free(copy);
	return ok;
}

bool
statefile_write(const char *path, const char *data, size_t len)
{
	char	*tmp = xasprintf("%s.tmp.%d", path, (int)getpid());
	size_t	 off = 0;
	ssize_t	 n;
	int	 fd, err;

	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
	if (fd < 0)
		goto fail;
	while (off < len) {
		n = write(fd, data + off, len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			goto fail;
		off += (size_t)n;
	}
	if (fsync(fd) < 0 || close(fd) < 0) {
		fd = -1;
		goto fail;
	}
	fd = -1;
	if (rename(tmp, path) < 0)
		goto fail;
	free(tmp);
	return fsync_dir(path);
fail:
	err = errno;
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	free(tmp);
	errno = err;
	return false;
}

static void statefile_send(struct statefile *sf);

static void
statefile_fail(struct statefile *sf, const char *what, const char *why)
{
	snprintf(sf->error, sizeof(sf->error), "%s: %s", what, why);
	sf->failures++;
	log_warnx("state file %s: %s; the previous file is kept",
	    sf->hw->conf->haproxy.state_file, sf->error);
}

static void
statefile_done_cb(void *arg, const struct hacli_result *r)
{
	struct statefile	*sf = arg;
	const char		*path = sf->hw->conf->haproxy.state_file;
	size_t			 len = r->len;

	sf->req = NULL;
	if (r->status != HACLI_OK)
		statefile_fail(sf, "show servers state",
		    hacli_status_str(r->status));
	else if (!statefile_valid(r->reply, &len))
		statefile_fail(sf, "show servers state",
		    "incomplete or unexpected reply");
	else if (!statefile_write(path, r->reply, len))
		statefile_fail(sf, "write", strerror(errno));
	else {
		sf->saved = sf->in_flight;
		sf->last_save_wall = wall_ms();
		sf->error[0] = '\0';
		log_debug("state file %s: saved (%zu bytes)", path, len);
	}
	sf->completed = sf->in_flight;
	if (sf->requested > sf->completed)
		statefile_send(sf);
}

static void
statefile_send(struct statefile *sf)
{
	const struct conf_haproxy *h = &sf->hw->conf->haproxy;

	if (sf->req != NULL)
		return;		/* the done callback sends the next one */
	sf->in_flight = sf->requested;
	sf->req = hacli_request(sf->hw->base, &h->stats_addr,
	    "show servers state", STATEFILE_MAX_REPLY, h->timeout,
	    statefile_done_cb, sf);
}

uint64_t
statefile_request(struct statefile *sf)
{
	sf->requested++;
	statefile_send(sf);
	return sf->requested;
}

static void statefile_arm(struct statefile *sf);

static void
statefile_tick_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)statefile_request(arg);
}

struct statefile *
statefile_new(struct hw *hw)
{
	const struct conf_haproxy	*h = &hw->conf->haproxy;
	struct statefile		*sf;

	if (h->state_file == NULL || h->stats_kind == STATS_HTTP)
		return NULL;
	sf = xcalloc(1, sizeof(*sf));
	sf->hw = hw;
	sf->tick = event_new(hw->base, -1, EV_PERSIST, statefile_tick_cb, sf);
	statefile_arm(sf);
	return sf;
}

static void
statefile_arm(struct statefile *sf)
{
	int64_t		ms = sf->hw->conf->haproxy.state_file_interval;
	struct timeval	tv = { ms / 1000, (ms % 1000) * 1000 };

	event_add(sf->tick, &tv);
}

struct statefile *
statefile_reconfigure(struct statefile *sf)
{
	const struct conf_haproxy *h = &sf->hw->conf->haproxy;

	if (h->state_file == NULL || h->stats_kind == STATS_HTTP) {
		statefile_free(sf);
		return NULL;
	}
	statefile_arm(sf);
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
	event_free(sf->tick);
	free(sf);
}
