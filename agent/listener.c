/*
 * listener.c: bind, accept with backoff, open and close on demand; the
 * responder does the rest.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <event2/event.h>

#include "listener.h"
#include "log.h"
#include "metrics.h"

#define ACCEPT_BATCH		64	/* accepts per wakeup: fairness */
#define BACKLOG			4096
#define RETRY_MIN_MS		100
#define RETRY_MAX_MS		30000

struct listener {
	struct event_base		*base;
	struct metrics			*metrics;
	const struct conf_listen	*conf;
	const struct responder_ops	*ops;
	void				*resp;		/* the responder */
	int				 fd;		/* -1 while closed */
	struct event			*ev;		/* accept */
	struct event			*retry;		/* re-bind or EMFILE */
	bool				 want_open;
	bool				 full;		/* at max_connections */
	bool				 backoff;	/* EMFILE pause */
	int64_t				 retry_ms;	/* current backoff */
	int				 nconns;
	TAILQ_HEAD(, lconn)		 conns;
	char				 error[128];	/* last bind error */
};

static const char *const kind_names[] = {
	[LISTEN_HTTP] = "http", [LISTEN_AGENT] = "agent", [LISTEN_TCP] = "tcp",
};

const char *
listen_kind_name(enum listen_kind k)
{
	return kind_names[k];
}

/* A unix socket path in use by a live process must not be stolen. The
 * probe does not block: a full backlog (EAGAIN) also means in use. */
static bool
unix_path_in_use(const struct addr *a)
{
	int	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	bool	used;

	if (fd < 0)
		return false;
	used = connect(fd, (const struct sockaddr *)&a->ss, a->len) == 0 ||
	    errno == EAGAIN;
	close(fd);
	return used;
}

/* Run by hand, nothing made /run/hapwatch (systemd's RuntimeDirectory
 * does): make the socket's own directory if it is missing, one level. */
static void
unix_make_dir(const char *path)
{
	char	dir[sizeof(((struct sockaddr_un *)0)->sun_path)];
	char	*slash;

	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (slash == NULL || slash == dir)
		return;
	*slash = '\0';
	if (mkdir(dir, 0750) == 0)
		log_info("made directory %s for %s", dir, path);
}

static int
listener_bind_fd(const struct conf_listen *c, bool defer, char *err,
    size_t errlen)
{
	const struct sockaddr_un *sun = (const struct sockaddr_un *)&c->addr.ss;
	int	fd, one = 1;

	if (c->addr.family == AF_UNIX) {
		if (unix_path_in_use(&c->addr)) {
			snprintf(err, errlen, "%s: in use by another process",
			    c->addr.text);
			return -1;
		}
		unlink(sun->sun_path);
		unix_make_dir(sun->sun_path);
	}
	fd = socket(c->addr.family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0);
	if (fd < 0)
		goto fail;
	if (c->addr.family != AF_UNIX)
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (c->addr.family == AF_UNIX) {
		/* Created 0660 from the start: no moment when it is open to
		 * all. (The writer thread's files are 0640: no harm.) */
		mode_t	old = umask(0117);
		int	rc = bind(fd, (const struct sockaddr *)&c->addr.ss,
			    c->addr.len);

		umask(old);
		if (rc < 0)
			goto fail;
	} else if (bind(fd, (const struct sockaddr *)&c->addr.ss,
	    c->addr.len) < 0)
		goto fail;
	if (listen(fd, BACKLOG) < 0)
		goto fail;
	/* Its clients speak first: the kernel hands over a connection with
	 * its request already there (or, from a silent client, after about
	 * a second), so answering takes no wakeup and no epoll change of its
	 * own: about 40% less CPU per probe (test/bench/RESULTS.md). */
	if (defer && c->addr.family != AF_UNIX)
		setsockopt(fd, IPPROTO_TCP, TCP_DEFER_ACCEPT, &one, sizeof(one));
	return fd;
fail:
	snprintf(err, errlen, "cannot listen on %s: %s", c->addr.text,
	    strerror(errno));
	if (fd >= 0)
		close(fd);
	return -1;
}

static void
listener_arm_retry(struct listener *l)
{
	struct timeval	tv;

	l->retry_ms = l->retry_ms == 0 ? RETRY_MIN_MS : l->retry_ms * 2;
	if (l->retry_ms > RETRY_MAX_MS)
		l->retry_ms = RETRY_MAX_MS;
	tv = tv_ms(l->retry_ms);
	evtimer_add(l->retry, &tv);
}

/* Accept events are on while open, not full and not backing off. */
static void
listener_sync_accept(struct listener *l)
{
	if (l->fd < 0)
		return;
	if (l->full || l->backoff)
		event_del(l->ev);
	else
		event_add(l->ev, NULL);
}

static void
listener_accept_cb(evutil_socket_t lfd, short what, void *arg)
{
	struct listener	*l = arg;
	int		 i, fd;

	for (i = 0; i < ACCEPT_BATCH && !l->full; i++) {
		struct sockaddr_storage	peer;
		socklen_t		plen = sizeof(peer);

		fd = accept4(lfd, (struct sockaddr *)&peer, &plen,
		    SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd >= 0) {
			l->retry_ms = 0;	/* EMFILE is over */
			l->ops->accept(l->resp, l, fd, (struct sockaddr *)&peer);
			continue;
		}
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return;
		if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
		    errno == ENOMEM) {
			/* Keep what we have; stop accepting for a while. */
			metrics_conn_error(l->metrics, CONN_ERR_ACCEPT);
			if (l->retry_ms == 0 || l->retry_ms >= RETRY_MAX_MS)
				log_warn("%s listener %s: accept",
				    listen_kind_name(l->conf->kind), l->conf->addr.text);
			l->backoff = true;
			listener_sync_accept(l);
			listener_arm_retry(l);
			return;
		}
		/* ECONNABORTED, EINTR, EPROTO...: that one is gone, go on. */
	}
}

static bool
listener_open(struct listener *l, char *err, size_t errlen)
{
	l->fd = listener_bind_fd(l->conf, l->ops->client_speaks_first, err,
	    errlen);
	if (l->fd < 0)
		return false;
	event_assign(l->ev, l->base, l->fd, EV_READ | EV_PERSIST,
	    listener_accept_cb, l);
	l->error[0] = '\0';
	l->backoff = false;
	listener_sync_accept(l);
	return true;
}

static void
listener_close_socket(struct listener *l)
{
	if (l->fd < 0)
		return;
	event_del(l->ev);
	close(l->fd);
	if (l->conf->addr.family == AF_UNIX)
		unlink(((const struct sockaddr_un *)&l->conf->addr.ss)->sun_path);
	l->fd = -1;
}

static void
listener_retry_cb(evutil_socket_t fd, short what, void *arg)
{
	struct listener	*l = arg;

	if (l->backoff && l->fd >= 0) {
		/* EMFILE pause over: try again, keep the backoff if it recurs. */
		l->backoff = false;
		listener_sync_accept(l);
		return;
	}
	if (!l->want_open || l->fd >= 0)
		return;
	if (listener_open(l, l->error, sizeof(l->error))) {
		log_notice("%s listener %s: open again",
		    listen_kind_name(l->conf->kind), l->conf->addr.text);
		l->retry_ms = 0;
	} else {
		log_warnx("%s listener: %s (retrying in %llds)",
		    listen_kind_name(l->conf->kind), l->error,
		    (long long)(l->retry_ms * 2 / 1000));
		listener_arm_retry(l);
	}
}

static struct listener *
listener_alloc(const struct conf_listen *c, const struct responder_env *env)
{
	struct listener	*l = xcalloc(1, sizeof(*l));

	l->base = env->base;
	l->metrics = env->metrics;
	l->conf = c;
	l->fd = -1;
	l->want_open = true;
	TAILQ_INIT(&l->conns);
	l->ev = event_new(l->base, -1, 0, listener_accept_cb, l);
	l->retry = evtimer_new(l->base, listener_retry_cb, l);
	l->ops = responder_for(c->kind);
	l->resp = l->ops->make(c, env);
	return l;
}

struct listener *
listener_new(const struct conf_listen *c, const struct responder_env *env,
    char *err, size_t errlen)
{
	struct listener	*l = listener_alloc(c, env);

	if (!listener_open(l, err, errlen)) {
		listener_free(l);
		return NULL;
	}
	return l;
}

struct listener *
listener_take(struct listener *old, const struct conf_listen *c,
    const struct responder_env *env)
{
	struct listener	*l = listener_alloc(c, env);

	/* The socket moves: old must not close or unlink it. */
	if (old->fd >= 0) {
		event_del(old->ev);
		l->fd = old->fd;
		old->fd = -1;
		event_assign(l->ev, l->base, l->fd, EV_READ | EV_PERSIST,
		    listener_accept_cb, l);
		listener_sync_accept(l);
	} else {
		l->want_open = false;	/* listener_update() opens it */
	}
	listener_free(old);
	return l;
}

/* Whether the responder allows the socket to listen now. */
static bool
listener_wanted(const struct listener *l, bool stopping)
{
	return !stopping && l->ops->wanted(l->resp);
}

void
listener_update(struct listener *l, bool stopping)
{
	bool	want = listener_wanted(l, stopping);

	if (want == l->want_open)
		return;
	l->want_open = want;
	if (!want) {
		listener_close_socket(l);
		evtimer_del(l->retry);
		l->retry_ms = 0;
		log_info("%s listener %s: closed", listen_kind_name(l->conf->kind),
		    l->conf->addr.text);
		return;
	}
	if (l->fd >= 0)
		return;
	if (listener_open(l, l->error, sizeof(l->error))) {
		log_info("%s listener %s: open", listen_kind_name(l->conf->kind),
		    l->conf->addr.text);
		return;
	}
	log_warnx("%s listener: %s (retrying)", listen_kind_name(l->conf->kind),
	    l->error);
	listener_arm_retry(l);
}

void
listener_adopt(struct listener *l, const struct conf_listen *c,
    const struct responder_env *env)
{
	l->conf = c;
	l->metrics = env->metrics;
	l->ops->adopt(l->resp, c, env);
	l->full = l->nconns >= c->max_connections;
	listener_sync_accept(l);
}

const struct conf_listen *
listener_conf(const struct listener *l)
{
	return l->conf;
}

bool
listener_is_open(const struct listener *l)
{
	return l->fd >= 0;
}

int
listener_connections(const struct listener *l)
{
	return l->nconns;
}

const char *
listener_error(const struct listener *l)
{
	return l->want_open && l->fd < 0 && l->error[0] != '\0' ? l->error :
	    NULL;
}

void
listener_conn_add(struct listener *l, struct lconn *c)
{
	c->ls = l;
	TAILQ_INSERT_TAIL(&l->conns, c, link);
	if (++l->nconns >= l->conf->max_connections && !l->full) {
		l->full = true;
		listener_sync_accept(l);
	}
}

void
listener_conn_del(struct lconn *c)
{
	struct listener	*l = c->ls;

	TAILQ_REMOVE(&l->conns, c, link);
	if (--l->nconns < l->conf->max_connections && l->full) {
		l->full = false;
		listener_sync_accept(l);
	}
}

static void
listener_reap(void *arg)
{
	struct listener	*l = arg;

	l->ops->free(l->resp);
	free(l);
}

void
listener_free(struct listener *l)
{
	struct lconn	*c;

	if (l == NULL)
		return;
	while ((c = TAILQ_FIRST(&l->conns)) != NULL)
		c->close(c);
	listener_close_socket(l);
	event_free(l->ev);
	event_free(l->retry);
	reap_later(listener_reap, l);
}
