/*
 * hacli.c: one-shot HAProxy CLI requests over a bufferevent.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "hacli.h"

struct hacli_req {
	struct bufferevent	*bev;
	struct event		*deadline;
	hacli_cb		*cb;
	void			*arg;
	size_t			 max_reply;
	int64_t			 started;	/* mono_us() */
	int			 connect_err;	/* errno of a failed connect() */
	bool			 connected;
	bool			 shut;		/* half-close once sent */
};

static void
hacli_reap(void *arg)
{
	struct hacli_req	*req = arg;

	if (req->bev != NULL)
		bufferevent_free(req->bev);
	free(req);
}

/* Silence req and free it after the loop turn: it may be inside its own
 * bufferevent's or timer's callback. */
static void
hacli_free(struct hacli_req *req)
{
	if (req == NULL)
		return;
	if (req->bev != NULL) {
		bufferevent_setcb(req->bev, NULL, NULL, NULL, NULL);
		bufferevent_disable(req->bev, EV_READ | EV_WRITE);
	}
	reap_event(req->deadline);
	reap_later(hacli_reap, req);
}

/* Report and free: the single exit of every request. */
static void
hacli_finish(struct hacli_req *req, enum hacli_status st, int err)
{
	struct hacli_result	 res;
	struct evbuffer		*in = bufferevent_get_input(req->bev);

	memset(&res, 0, sizeof(res));
	res.status = st;
	res.err = err;
	res.duration_us = mono_us() - req->started;
	if (st == HACLI_OK) {
		/* Contiguous, in place: the reply is bounded by max_reply. (The
		 * end of a bufferevent's input is frozen: nothing can be added.) */
		res.len = evbuffer_get_length(in);
		res.reply = (const char *)evbuffer_pullup(in, -1);
		if (res.reply == NULL)
			res.reply = "";
	}
	bufferevent_disable(req->bev, EV_READ | EV_WRITE);
	req->cb(req->arg, &res);
	hacli_free(req);
}

static void
hacli_read_cb(struct bufferevent *bev, void *arg)
{
	struct hacli_req	*req = arg;

	if (evbuffer_get_length(bufferevent_get_input(bev)) > req->max_reply)
		hacli_finish(req, HACLI_ETOOBIG, 0);
}

static void
hacli_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct hacli_req	*req = arg;
	int			 err = EVUTIL_SOCKET_ERROR();

	if (req->connect_err != 0)
		err = req->connect_err;

	if (what & BEV_EVENT_CONNECTED) {
		req->connected = true;
		return;
	}
	if (what & BEV_EVENT_EOF) {
		/* Drain what came with the EOF before judging the size. */
		if (evbuffer_get_length(bufferevent_get_input(bev)) >
		    req->max_reply)
			hacli_finish(req, HACLI_ETOOBIG, 0);
		else
			hacli_finish(req, HACLI_OK, 0);
		return;
	}
	if (what & BEV_EVENT_ERROR)
		hacli_finish(req, req->connected ? HACLI_EIO : HACLI_ECONNECT,
		    err);
}

/* The line is out: half-close, for the master CLI. */
static void
hacli_write_cb(struct bufferevent *bev, void *arg)
{
	struct hacli_req	*req = arg;

	if (req->shut && evbuffer_get_length(bufferevent_get_output(bev)) == 0) {
		req->shut = false;
		shutdown(bufferevent_getfd(bev), SHUT_WR);
	}
}

static void
hacli_deadline_cb(evutil_socket_t fd, short what, void *arg)
{
	struct hacli_req	*req = arg;

	if (req->connect_err != 0)
		hacli_finish(req, HACLI_ECONNECT, req->connect_err);
	else
		hacli_finish(req, HACLI_ETIMEOUT, ETIMEDOUT);
}

static struct hacli_req *
hacli_start(struct event_base *base, const struct addr *addr,
    const char *line, size_t max_reply, int64_t timeout_ms, hacli_cb *cb,
    void *arg, bool shut)
{
	struct hacli_req	*req = xcalloc(1, sizeof(*req));
	struct timeval		 tv;

	req->shut = shut;
	req->cb = cb;
	req->arg = arg;
	req->max_reply = max_reply;
	req->started = mono_us();
	/*
	 * Deferred callbacks: a connect() that fails at once (no such unix
	 * socket) is then reported from the loop, not from inside this call.
	 */
	req->bev = bufferevent_socket_new(base, -1,
	    BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
	req->deadline = evtimer_new(base, hacli_deadline_cb, req);
	if (req->bev == NULL || req->deadline == NULL)
		abort();
	bufferevent_setcb(req->bev, hacli_read_cb, shut ? hacli_write_cb : NULL,
	    hacli_event_cb, req);
	bufferevent_write(req->bev, line, strlen(line));
	bufferevent_write(req->bev, "\n", 1);
	tv = tv_ms(timeout_ms);
	evtimer_add(req->deadline, &tv);
	if (bufferevent_socket_connect(req->bev,
	    (const struct sockaddr *)&addr->ss, (int)addr->len) < 0) {
		/*
		 * Failed at once (no such socket, permission denied, out of
		 * fds). libevent reports ECONNREFUSED through the event
		 * callback, but these through nothing: finish from the loop
		 * now, not at the deadline.
		 */
		req->connect_err = errno != 0 ? errno : ECONNREFUSED;
		tv.tv_sec = tv.tv_usec = 0;
		evtimer_add(req->deadline, &tv);
	} else {
		bufferevent_enable(req->bev, EV_READ);
	}
	return req;
}

struct hacli_req *
hacli_request(struct event_base *base, const struct addr *addr,
    const char *line, size_t max_reply, int64_t timeout_ms, hacli_cb *cb,
    void *arg)
{
	return hacli_start(base, addr, line, max_reply, timeout_ms, cb, arg,
	    false);
}

struct hacli_req *
hacli_request_shut(struct event_base *base, const struct addr *addr,
    const char *line, size_t max_reply, int64_t timeout_ms, hacli_cb *cb,
    void *arg)
{
	return hacli_start(base, addr, line, max_reply, timeout_ms, cb, arg,
	    true);
}

void
hacli_cancel(struct hacli_req *req)
{
	hacli_free(req);
}

const char *
hacli_status_str(enum hacli_status s)
{
	switch (s) {
	case HACLI_OK:
		return "ok";
	case HACLI_ECONNECT:
		return "connect";
	case HACLI_ETIMEOUT:
		return "timeout";
	case HACLI_ETOOBIG:
		return "too_large";
	case HACLI_EIO:
		return "io";
	}
	return "?";
}

int
hacli_split(const char *reply, size_t len, const char **starts, size_t *lens,
    size_t max)
{
	size_t	 n = 0, pos = 0, out_start = 0;

	while (pos < len) {
		const char *nl = memchr(reply + pos, '\n', len - pos);

		if (nl == NULL)
			return -1;		/* a line cut short */
		if ((size_t)(nl - reply) == pos) {
			/* Empty line: the current output ends here. */
			if (n == max)
				return -1;
			starts[n] = reply + out_start;
			lens[n] = pos - out_start;
			n++;
			out_start = pos + 1;
		}
		pos = (size_t)(nl - reply) + 1;
	}
	return out_start == len ? (int)n : -1;
}
