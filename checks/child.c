/*
 * child.c: spawn, capture, time out and reap child processes.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "child.h"
#include "util.h"

extern char **environ;

struct child {
	struct childmgr		*m;
	pid_t			 pid;
	int			 outfd;		/* read end, -1 once closed */
	struct event		*out_ev;
	struct event		*timer;
	struct sbuf		 out;
	size_t			 max_output;
	int64_t			 started;
	int			 spawn_err;	/* errno if it never started */
	int64_t			 timeout_ms;
	bool			 timed_out;
	bool			 term_sent;
	bool			 abandoned;
	child_cb		*cb;
	void			*arg;
	TAILQ_ENTRY(child)	 link;
};

struct childmgr {
	struct event_base	*base;
	struct event		*sigchld;
	TAILQ_HEAD(, child)	 children;
};

static void
child_reap(void *arg)
{
	struct child	*c = arg;

	sbuf_free(&c->out);
	free(c);
}

/* Forget c; its memory goes after the loop turn (its own timer's
 * callback may be running). */
static void
child_free(struct child *c)
{
	TAILQ_REMOVE(&c->m->children, c, link);
	reap_event(c->out_ev);
	if (c->outfd >= 0)
		close(c->outfd);
	reap_event(c->timer);
	reap_later(child_reap, c);
}

/* Read what the pipe holds now (a bounded amount per call: a chatty
 * child must not pin the loop); false at EOF or error. */
static bool
child_read_output(struct child *c)
{
	char	buf[4096];
	ssize_t	n;
	int	i;

	for (i = 0; i < 16; i++) {
		n = read(c->outfd, buf, sizeof(buf));
		if (n > 0) {
			size_t room = c->max_output > c->out.len ?
			    c->max_output - c->out.len : 0;

			sbuf_append(&c->out, buf, (size_t)n < room ? (size_t)n : room);
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		return n < 0 && errno == EAGAIN;
	}
	return true;		/* more later: the event is level-triggered */
}

static void
child_close_output(struct child *c)
{
	reap_event(c->out_ev);		/* its callback may be running */
	c->out_ev = NULL;
	if (c->outfd >= 0)
		close(c->outfd);
	c->outfd = -1;
}

static void
child_output_cb(evutil_socket_t fd, short what, void *arg)
{
	struct child	*c = arg;

	if (!child_read_output(c))
		child_close_output(c);
}

static void
child_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct child	*c = arg;
	struct timeval	 tv = tv_ms(CHILD_KILL_GRACE_MS);

	if (!c->term_sent) {
		c->timed_out = true;
		c->term_sent = true;
		kill(-c->pid, SIGTERM);
		evtimer_add(c->timer, &tv);
		return;
	}
	kill(-c->pid, SIGKILL);
}

/* The child exited: finish its output (without waiting for EOF: a
 * grandchild may hold the pipe) and report. */
static void
child_exited(struct child *c, int status)
{
	struct child_result	res;

	if (c->timed_out || c->abandoned)
		kill(-c->pid, SIGKILL);		/* the rest of its group too */
	if (c->outfd >= 0)
		(void)child_read_output(c);
	child_close_output(c);
	if (!c->abandoned) {
		memset(&res, 0, sizeof(res));
		res.status = status;
		res.timed_out = c->timed_out;
		res.timeout_ms = c->timeout_ms;
		res.output = c->out.data != NULL ? c->out.data : "";
		res.outlen = c->out.len;
		res.duration_ms = mono_ms() - c->started;
		c->cb(c->arg, &res);
	}
	child_free(c);
}

static void
childmgr_sigchld_cb(evutil_socket_t sig, short what, void *arg)
{
	struct childmgr	*m = arg;
	struct child	*c;
	pid_t		 pid;
	int		 status;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		TAILQ_FOREACH(c, &m->children, link)
			if (c->pid == pid)
				break;
		if (c != NULL)
			child_exited(c, status);
	}
}

struct childmgr *
childmgr_new(struct event_base *base)
{
	struct childmgr	*m = xcalloc(1, sizeof(*m));

	m->base = base;
	TAILQ_INIT(&m->children);
	m->sigchld = evsignal_new(base, SIGCHLD, childmgr_sigchld_cb, m);
	evsignal_add(m->sigchld, NULL);
	return m;
}

void
childmgr_free(struct childmgr *m)
{
	struct timespec	 ts = { 0, 10 * 1000 * 1000 };
	struct child	*c, *next;
	int		 tries;

	if (m == NULL)
		return;
	TAILQ_FOREACH(c, &m->children, link)
		if (c->pid > 0)
			kill(-c->pid, SIGKILL);
	/*
	 * SIGKILL takes effect within microseconds: reap them, so that none
	 * outlives us as a zombie. But wait at most half a second (a child
	 * stuck in the kernel must not hang the stop): init reaps the rest.
	 */
	for (tries = 0; tries < 50 && !TAILQ_EMPTY(&m->children); tries++) {
		for (c = TAILQ_FIRST(&m->children); c != NULL; c = next) {
			next = TAILQ_NEXT(c, link);
			if (c->pid <= 0 || waitpid(c->pid, NULL, WNOHANG) != 0)
				child_free(c);
		}
		if (!TAILQ_EMPTY(&m->children))
			nanosleep(&ts, NULL);
	}
	while ((c = TAILQ_FIRST(&m->children)) != NULL)
		child_free(c);
	event_free(m->sigchld);
	free(m);
}

static int
child_posix_spawn(pid_t *pid, char *const argv[], char *const envp[],
    int outfd)
{
	posix_spawn_file_actions_t	fa;
	posix_spawnattr_t		attr;
	sigset_t			none, all;
	int				rc;

	sigemptyset(&none);
	sigfillset(&all);
	posix_spawnattr_init(&attr);
	/* New group (so a timeout kills it whole), clean signal state: we
	 * ignore SIGPIPE, and ignored signals would survive the exec. */
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP |
	    POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
	posix_spawnattr_setpgroup(&attr, 0);
	posix_spawnattr_setsigmask(&attr, &none);
	posix_spawnattr_setsigdefault(&attr, &all);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, outfd, 1);
	posix_spawn_file_actions_adddup2(&fa, outfd, 2);
	posix_spawn_file_actions_addclosefrom_np(&fa, 3);
	rc = posix_spawn(pid, argv[0], &fa, &attr, argv,
	    envp != NULL ? envp : environ);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	return rc;
}

/* Report a failure to start from the loop, as every other outcome. */
static void
child_failed_cb(evutil_socket_t fd, short what, void *arg)
{
	struct child		*c = arg;
	struct child_result	 res;

	memset(&res, 0, sizeof(res));
	res.spawn_err = c->spawn_err;
	res.output = "";
	c->cb(c->arg, &res);
	child_free(c);
}

struct child *
child_spawn(struct childmgr *m, char *const argv[], char *const envp[],
    int64_t timeout_ms, size_t max_output, child_cb *cb, void *arg)
{
	struct child	*c = xcalloc(1, sizeof(*c));
	struct timeval	 tv = tv_ms(timeout_ms);
	int		 p[2] = { -1, -1 }, rc;

	c->m = m;
	c->cb = cb;
	c->arg = arg;
	c->outfd = -1;
	c->max_output = max_output;
	c->timeout_ms = timeout_ms;
	c->started = mono_ms();
	TAILQ_INSERT_TAIL(&m->children, c, link);
	rc = pipe2(p, O_CLOEXEC | O_NONBLOCK) < 0 ? errno :
	    child_posix_spawn(&c->pid, argv, envp, p[1]);
	if (p[1] >= 0)
		close(p[1]);
	if (rc != 0) {
		if (p[0] >= 0)
			close(p[0]);
		c->spawn_err = rc;
		c->timer = evtimer_new(m->base, child_failed_cb, c);
		tv.tv_sec = tv.tv_usec = 0;
		evtimer_add(c->timer, &tv);
		return c;
	}
	c->outfd = p[0];
	c->out_ev = event_new(m->base, c->outfd, EV_READ | EV_PERSIST,
	    child_output_cb, c);
	event_add(c->out_ev, NULL);
	c->timer = evtimer_new(m->base, child_timer_cb, c);
	evtimer_add(c->timer, &tv);
	return c;
}

void
child_abandon(struct child *c)
{
	if (c->pid <= 0) {
		child_free(c);		/* never started: nothing to reap */
		return;
	}
	c->abandoned = true;
	kill(-c->pid, SIGKILL);
	evtimer_del(c->timer);
}

void
child_describe(const struct child_result *r, char *buf, size_t len)
{
	if (r->spawn_err != 0)
		snprintf(buf, len, "cannot run: %s", strerror(r->spawn_err));
	else if (r->timed_out)
		snprintf(buf, len, "timed out after %lldms, killed after %lldms",
		    (long long)r->timeout_ms, (long long)r->duration_ms);
	else if (WIFEXITED(r->status))
		snprintf(buf, len, "exit %d", WEXITSTATUS(r->status));
	else if (WIFSIGNALED(r->status))
		snprintf(buf, len, "killed by signal %d", WTERMSIG(r->status));
	else
		snprintf(buf, len, "status %d", r->status);
}
