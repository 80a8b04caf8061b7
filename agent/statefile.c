/*
 * statefile.c: periodic and on-demand "show servers state" dumps.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "conf.h"
#include "hacli.h"
#include "log.h"
#include "statefile.h"

#define STATEFILE_MAX_REPLY	(64u << 20)

/*
 * The write itself (write, fsync, rename, fsync the directory) may wait on
 * the disk, so it runs in a thread of its own, one per save (saves are
 * rare), which says it is done through a pipe watched by the loop.
 */
struct sf_job {
	pthread_t	 thread;
	char		*path;
	char		*data;
	size_t		 len;
	int		 err;		/* 0: written */
	int		 done_fd;	/* the pipe's write end */
};

struct statefile {
	struct event_base	*base;
	char			*path;		/* the state file */
	struct addr		 stats;		/* HAProxy's CLI */
	int64_t			 timeout;
	int64_t			 interval;
	struct event		*tick;
	struct hacli_req	*req;
	struct sf_job		*job;		/* a write in progress */
	int			 pipe[2];
	struct event		*done_ev;
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
static void statefile_finish(struct statefile *sf);
static bool statefile_start_write(struct statefile *sf, const char *path,
    const char *data, size_t len);

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
	else if (statefile_start_write(sf, sf->path, r->reply, len))
		return;		/* statefile_written_cb carries on */
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

static void *
statefile_thread(void *arg)
{
	struct sf_job	*job = arg;

	job->err = statefile_write(job->path, job->data, job->len) ? 0 : errno;
	(void)!write(job->done_fd, "x", 1);
	return NULL;
}

/* Wait for the thread (it has said it is done, or we are stopping). */
static void
statefile_job_free(struct sf_job *job)
{
	pthread_join(job->thread, NULL);
	free(job->path);
	free(job->data);
	free(job);
}

/* Hand the dump to a writer thread; false (logged) if none could start. */
static bool
statefile_start_write(struct statefile *sf, const char *path,
    const char *data, size_t len)
{
	struct sf_job	*job = xcalloc(1, sizeof(*job));
	int		 rc;

	job->path = xstrdup(path);
	job->data = xmalloc(len);
	memcpy(job->data, data, len);
	job->len = len;
	job->done_fd = sf->pipe[1];
	rc = pthread_create(&job->thread, NULL, statefile_thread, job);
	if (rc != 0) {
		statefile_fail(sf, "write", strerror(rc));
		free(job->path);
		free(job->data);
		free(job);
		return false;
	}
	sf->job = job;
	return true;
}

static void
statefile_written_cb(evutil_socket_t fd, short what, void *arg)
{
	struct statefile	*sf = arg;
	struct sf_job		*job = sf->job;
	char			 b;
	int			 err;

	(void)!read(fd, &b, 1);
	if (job == NULL)
		return;
	sf->job = NULL;
	err = job->err;
	statefile_job_free(job);
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
	if (pipe2(sf->pipe, O_CLOEXEC | O_NONBLOCK) < 0)
		fatal("state file: pipe");
	sf->done_ev = event_new(base, sf->pipe[0], EV_READ | EV_PERSIST,
	    statefile_written_cb, sf);
	event_add(sf->done_ev, NULL);
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
	if (sf->job != NULL)
		statefile_job_free(sf->job);	/* waits for the write to end */
	event_free(sf->tick);
	event_free(sf->done_ev);
	free(sf->path);
	close(sf->pipe[0]);
	close(sf->pipe[1]);
	free(sf);
}
