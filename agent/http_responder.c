/*
 * http_responder.c: HTTP/1.x health endpoints, and admin routes (admin.c)
 * on admin listeners.
 *
 * The hot path is a load balancer's probe: one small request, one small
 * answer. Requests are read into one shared buffer and parsed in place;
 * a connection keeps its own buffer only for a partial request or an
 * unsent answer. Health answers are rendered once per (path, service
 * answer, connection mode, method) and replayed until the service's
 * answer changes. Limits (DESIGN.md): head <= 8 KiB (431), no body on
 * health routes, 5s to send a request (408 if part of one came, a silent
 * close if none), 30s idle between keep-alive requests.
 *
 * A long-poll of /events parks its connection: no answer, no further
 * request read, until an event comes (events_wake) or its wait ends. A
 * parked connection counts against max_connections like any other.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>

#include "admin.h"
#include "events.h"
#include "http_parse.h"
#include "listener.h"
#include "metrics.h"
#include "probers.h"
#include "proxyproto.h"
#include "responder.h"
#include "service.h"

#define READ_TIMEOUT_MS		5000
#define IDLE_TIMEOUT_MS		30000
#define LINGER_TIMEOUT_MS	1000
#define MAX_ADMIN_BODY		4096
#define READ_CHUNK		16384

enum conn_mode {
	CM_KEEP11,		/* HTTP/1.1 keep-alive: no Connection header */
	CM_KEEP10,		/* HTTP/1.0 keep-alive: "Connection: keep-alive" */
	CM_CLOSE,		/* "Connection: close" */
	CM_N
};

/* Rendered answers of one health path. */
struct path_answer {
	unsigned	version;	/* service version rendered; 0: none */
	struct sbuf	resp[CM_N][2];	/* [mode][is HEAD] */
};

struct http_responder {
	const struct conf_listen	*conf;
	struct responder_env		 env;
	struct path_answer		*cache;		/* one per conf path */
	size_t				 ncache;
	/* libevent's common timeouts (O(1) for the many connections that
	 * share them; the base hands out one per duration). */
	const struct timeval		*tv_read;
	const struct timeval		*tv_idle;
};

struct hconn {
	struct lconn	 lc;		/* first: the listener's view */
	struct http_responder *r;
	struct event	*ev;		/* read, with the current timeout; it
					 * lives at the end of this allocation */
	struct event	*wev;		/* write, while an answer is blocked */
	char		*in;		/* partial request */
	size_t		 inlen;
	char		*out;		/* unsent answer */
	size_t		 outlen;
	size_t		 outoff;
	int64_t		 req_start;	/* first byte of a partial request, or
					 * the accept, or the end of a stall */
	int64_t		 linger_until;
	struct prober_addr src;		/* the peer, or its PROXY source */
	bool		 pp_pending;	/* PROXY header still expected */
	bool		 answered;	/* an answer was sent: idle rules now */
	bool		 closing;	/* close once out is sent */
	bool		 unread;	/* closing with input maybe unread */
	bool		 lingering;	/* write side shut, draining input */
	/* a long-poll of /events waiting for its answer */
	bool		 parked;
	struct events_waiter ew;
	int64_t		 park_until;	/* mono ms */
	enum conn_mode	 park_cm;
};

static const char *
http_reason(int code)
{
	switch (code) {
	case 200: return "OK";
	case 202: return "Accepted";
	case 204: return "No Content";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 408: return "Request Timeout";
	case 409: return "Conflict";
	case 413: return "Content Too Large";
	case 429: return "Too Many Requests";
	case 431: return "Request Header Fields Too Large";
	case 503: return "Service Unavailable";
	case 505: return "HTTP Version Not Supported";
	default: return code < 400 ? "OK" : code < 500 ? "Bad Request" :
	    "Service Unavailable";
	}
}

static const char *const conn_headers[CM_N] = {
	[CM_KEEP11] = "",
	[CM_KEEP10] = "Connection: keep-alive\r\n",
	[CM_CLOSE] = "Connection: close\r\n",
};

/* Append a whole answer: status line, headers, and body unless HEAD. */
static void
http_render(struct sbuf *out, int code, enum conn_mode cm, bool head,
    const char *ctype, const char *extra, const char *body, size_t blen)
{
	sbuf_printf(out, "HTTP/1.1 %d %s\r\n"
	    "Content-Type: %s\r\nContent-Length: %zu\r\n"
	    "Cache-Control: no-store\r\n%s%s\r\n", code, http_reason(code),
	    ctype, blen, extra != NULL ? extra : "", conn_headers[cm]);
	if (!head)
		sbuf_append(out, body, blen);
}

/* A short text answer ("404 not found\n"). */
static void
http_simple(struct http_responder *r, struct sbuf *out, int code,
    enum conn_mode cm, bool head, const char *extra, const char *text)
{
	char	body[128];
	int	n = snprintf(body, sizeof(body), "%s\n", text);

	metrics_http_code(r->env.metrics, code);
	http_render(out, code, cm, head, "text/plain", extra, body, (size_t)n);
}

static void
hconn_reap(void *arg)
{
	struct hconn	*c = arg;

	if (c->wev != NULL)
		event_free(c->wev);
	free(c->in);
	free(c->out);
	free(c);		/* the read event lives in this allocation */
}

/* Close c; its memory goes after this loop turn (it may be inside its own
 * callbacks now). */
static void
hconn_close(struct hconn *c)
{
	if (c->parked)
		events_unwait(c->r->env.events, &c->ew);
	c->parked = false;
	event_del(c->ev);
	if (c->wev != NULL)
		event_del(c->wev);
	close(c->lc.fd);
	listener_conn_del(&c->lc);
	reap_later(hconn_reap, c);
}

static void
hconn_close_cb(struct lconn *lc)
{
	hconn_close((struct hconn *)lc);
}

/* c ends without its answer: count why, and close. */
static void
hconn_fail(struct hconn *c, enum conn_error e)
{
	metrics_conn_error(c->r->env.metrics, e);
	hconn_close(c);
}

/* ---- routing ---- */

static void
http_health(struct hconn *c, size_t pi, const struct http_req *req,
    enum conn_mode cm, struct sbuf *out)
{
	struct http_responder	*hr = c->r;
	const struct conf_path	*p = &hr->conf->paths[pi];
	const struct svc	*s = &hr->env.svcs[p->svc];
	struct path_answer	*a;
	bool			 head = req->method == HTTP_HEAD;
	struct sbuf		*r;
	int			 code = hr->conf->codes[s->state];

	if (hr->cache == NULL) {
		hr->ncache = hr->conf->npaths;
		hr->cache = xcalloc(hr->ncache, sizeof(*hr->cache));
	}
	a = &hr->cache[pi];
	/* Rendered for another version of the service's answer: redo. A
	 * reload gives new services with versions carried over, and a new
	 * cache, so a stale answer is never replayed. */
	if (a->version != s->version + 1) {
		for (int m = 0; m < CM_N; m++)
			for (int h = 0; h < 2; h++)
				sbuf_reset(&a->resp[m][h]);
		a->version = s->version + 1;
	}
	r = &a->resp[cm][head];
	if (r->len == 0) {
		char	body[SVC_REASON_MAX + 16];
		int	n = snprintf(body, sizeof(body), "%s %s\n",
			    svc_state_name(s->state), s->reason);

		http_render(r, code, cm, head, "text/plain", NULL, body,
		    (size_t)n);
	}
	metrics_http_code(hr->env.metrics, code);
	if (c->src.family != 0)
		probers_seen(hr->env.probers, p->svc, PROBER_HTTP, &c->src,
		    code >= 200 && code < 300);
	sbuf_append(out, r->data, r->len);
}

static bool
path_is(const struct http_req *req, const char *p)
{
	size_t	pl = strlen(p);

	return req->pathlen == pl && memcmp(req->path, p, pl) == 0;
}

static void hconn_wake(struct events_waiter *w);

/* An admin route, or false. */
static bool
http_admin(struct hconn *c, const struct http_req *req, enum conn_mode cm,
    struct sbuf *out)
{
	struct http_responder	*hr = c->r;
	struct admin_answer	 ans = { 0 };
	bool			 auth_failed;

	if (!admin_route(hr->env.admin, hr->env.admin_arg, hr->env.events,
	    hr->conf, hr->env.conf, req, &ans, &auth_failed))
		return false;
	if (auth_failed)
		metrics_conn_error(hr->env.metrics, CONN_ERR_AUTH);
	if (ans.wait_ms > 0) {
		/* A long-poll: answered by hconn_wake, or at park_until. */
		c->parked = true;
		/* +1: mono_ms() is truncated; never answer before the wait. */
		c->park_until = mono_ms() + ans.wait_ms + 1;
		c->park_cm = cm;
		c->ew.since = ans.since;
		c->ew.wake = hconn_wake;
		events_wait(hr->env.events, &c->ew);
		sbuf_free(&ans.body);
		return true;
	}
	metrics_http_code(hr->env.metrics, ans.code);
	http_render(out, ans.code, cm, req->method == HTTP_HEAD, ans.ctype,
	    ans.headers, ans.body.data != NULL ? ans.body.data : "", ans.body.len);
	sbuf_free(&ans.body);
	return true;
}

/* Answer one parsed request into out. */
static void
http_route(struct hconn *hc, const struct http_req *req, enum conn_mode cm,
    struct sbuf *out)
{
	struct http_responder		*hr = hc->r;
	const struct conf_listen	*c = hr->conf;
	size_t				 i;

	for (i = 0; i < c->npaths; i++) {
		if (!path_is(req, c->paths[i].path))
			continue;
		if (req->method == HTTP_GET || req->method == HTTP_HEAD)
			http_health(hc, i, req, cm, out);
		else
			http_simple(hr, out, 405, cm, false,
			    "Allow: GET, HEAD\r\n", "method not allowed");
		return;
	}
	if (c->admin && http_admin(hc, req, cm, out))
		return;
	http_simple(hr, out, 404, cm, req->method == HTTP_HEAD, NULL,
	    "not found");
}

/*
 * Answer every complete request in data[0..len) into out. Returns the
 * bytes consumed; sets c->closing when the connection must close after
 * the answers.
 */
static size_t
http_process(struct hconn *c, const char *data, size_t len, struct sbuf *out)
{
	struct http_responder	*hr = c->r;
	struct http_req		 req;
	size_t		 pos = 0, need;
	int		 r;

	if (c->parked)
		return 0;		/* read on, answer after the wait */
	if (c->pp_pending) {
		struct pp_info	pp;

		r = pp_parse((const uint8_t *)data, len, &pp);
		if (r == PP_INCOMPLETE)
			return 0;
		if (r == PP_INVALID) {
			metrics_conn_error(hr->env.metrics, CONN_ERR_PROXY);
			c->closing = true;
			return len;
		}
		pos = (size_t)r;
		c->pp_pending = false;
		/* The load balancer's own address; v2 LOCAL (HAProxy's
		 * check-send-proxy) has none: the connection's stands. */
		if (!pp.local)
			(void)prober_addr_of((const struct sockaddr *)&pp.src,
			    &c->src);
	}
	while (pos < len && !c->closing && !c->parked) {
		switch (http_parse_head(data + pos, len - pos, HTTP_MAX_HEAD, &req)) {
		case HTTP_PARSE_INCOMPLETE:
			return pos;
		case HTTP_PARSE_BAD:
			c->closing = c->unread = true;
			http_simple(hr, out, 400, CM_CLOSE, false, NULL,
			    "bad request");
			return len;
		case HTTP_PARSE_TOO_BIG:
			c->closing = c->unread = true;
			http_simple(hr, out, 431, CM_CLOSE, false, NULL,
			    "request head too large");
			return len;
		case HTTP_PARSE_VERSION:
			c->closing = c->unread = true;
			http_simple(hr, out, 505, CM_CLOSE, false, NULL,
			    "HTTP/1.0 or HTTP/1.1 only");
			return len;
		case HTTP_PARSE_OK:
			break;
		}
		need = req.head_len;
		if (req.chunked || req.content_length > 0) {
			if (req.chunked || !hr->conf->admin || !admin_is_post(&req) ||
			    req.content_length > MAX_ADMIN_BODY) {
				c->closing = c->unread = true;
				http_simple(hr, out, 413, CM_CLOSE, false, NULL,
				    "no request body allowed here");
				return len;
			}
			need += (size_t)req.content_length;
			if (len - pos < need)
				return pos;	/* wait for the body */
		}
		req.body = data + pos + req.head_len;
		req.bodylen = need - req.head_len;
		if (!req.keepalive)
			c->closing = true;
		http_route(c, &req, c->closing ? CM_CLOSE :
		    req.minor == 0 ? CM_KEEP10 : CM_KEEP11, out);
		pos += need;
	}
	return pos;
}

/* ---- I/O ---- */

static void hconn_read_cb(evutil_socket_t fd, short what, void *arg);
static void hconn_write_cb(evutil_socket_t fd, short what, void *arg);

/* Arm the read event with the timeout that applies now. */
static void
hconn_arm(struct hconn *c)
{
	struct timeval	tv;
	int64_t		left;

	/* Absolute deadlines: a peer dribbling bytes must not extend them
	 * (a persistent event would restart its timeout on every read). */
	if (c->lingering)
		left = c->linger_until - mono_ms();
	else if (c->parked)
		left = c->park_until - mono_ms();
	else if (c->inlen > 0 || c->pp_pending || !c->answered)
		left = c->req_start + READ_TIMEOUT_MS - mono_ms();
	else {
		event_add(c->ev, c->r->tv_idle);
		return;
	}
	if (left < 1)
		left = 1;
	tv = tv_ms(left);
	event_add(c->ev, &tv);
}

/* Shut our side and drain the peer's for a moment, so that unread input
 * does not turn our close into a reset that destroys the answer. */
static void
hconn_linger(struct hconn *c)
{
	shutdown(c->lc.fd, SHUT_WR);
	c->lingering = true;
	c->linger_until = mono_ms() + LINGER_TIMEOUT_MS;
	hconn_arm(c);
}

/* Send out; keep what the socket does not take, behind what it has not
 * taken yet. false: connection gone. */
static bool
hconn_send(struct hconn *c, const char *data, size_t len)
{
	ssize_t	n = 0;

	if (c->outlen > 0) {
		c->out = xrealloc(c->out, c->outlen + len);
		memcpy(c->out + c->outlen, data, len);
		c->outlen += len;
		return true;
	}
	if (len > 0)
		n = send(c->lc.fd, data, len, MSG_NOSIGNAL);
	if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
		return false;
	if (n < 0)
		n = 0;
	if ((size_t)n < len) {
		c->out = xrealloc(c->out, len - (size_t)n);
		memcpy(c->out, data + n, len - (size_t)n);
		c->outlen = len - (size_t)n;
		c->outoff = 0;
		if (c->wev == NULL)
			c->wev = event_new(event_get_base(c->ev), c->lc.fd, EV_WRITE,
			    hconn_write_cb, c);
		event_del(c->ev);
		event_add(c->wev, c->r->tv_read);
	}
	return true;
}

/* After answers are sent: close, linger, or wait for the next request. */
static void
hconn_after_send(struct hconn *c, bool unread)
{
	if (c->outlen > 0)
		return;			/* the write event carries on */
	if (c->closing && !c->parked) {
		if (unread)
			hconn_linger(c);
		else
			hconn_close(c);
		return;
	}
	hconn_arm(c);
}

static void hconn_feed(struct hconn *c, const char *data, size_t len);

/* A parked long-poll's answer, now: the events since its since (none
 * when its wait ran out). Then the requests that came behind it. */
static void
hconn_unpark(struct hconn *c)
{
	struct http_responder	*hr = c->r;
	struct admin_answer	 ans = { 0 };
	struct sbuf		 out = { 0 };
	bool			 ok;

	events_unwait(hr->env.events, &c->ew);
	c->parked = false;
	admin_events_answer(hr->env.events, c->ew.since, &ans);
	metrics_http_code(hr->env.metrics, ans.code);
	http_render(&out, ans.code, c->park_cm, false, ans.ctype, NULL,
	    ans.body.data, ans.body.len);
	sbuf_free(&ans.body);
	c->answered = true;
	ok = hconn_send(c, out.data, out.len);
	sbuf_free(&out);
	if (!ok) {
		hconn_close(c);
		return;
	}
	if (c->inlen > 0 && !c->closing) {
		/* What came while it waited has its full read time from now. */
		c->req_start = mono_ms();
		hconn_feed(c, c->in, c->inlen);
	} else {
		hconn_after_send(c, c->unread);
	}
}

static void
hconn_wake(struct events_waiter *w)
{
	hconn_unpark((struct hconn *)(void *)((char *)w -
	    offsetof(struct hconn, ew)));
}

static void
hconn_timeout(struct hconn *c)
{
	struct sbuf	out = { 0 };

	if (c->parked) {
		hconn_unpark(c);
		return;
	}
	if (c->lingering || (c->inlen == 0 && c->answered)) {
		hconn_close(c);		/* done, or idle after its answers */
		return;
	}
	if (c->inlen == 0) {
		/* Nothing came: a silent close, as a load balancer expects. */
		hconn_fail(c, CONN_ERR_SILENT);
		return;
	}
	metrics_conn_error(c->r->env.metrics, CONN_ERR_TIMEOUT);
	c->closing = true;
	http_simple(c->r, &out, 408, CM_CLOSE, false, NULL, "request timeout");
	if (!hconn_send(c, out.data, out.len))
		hconn_close(c);
	else
		hconn_after_send(c, true);
	sbuf_free(&out);
}

/* Process data, keeping a partial request in c->in. */
static void
hconn_feed(struct hconn *c, const char *data, size_t len)
{
	static struct sbuf	out;
	size_t			used;

	sbuf_reset(&out);
	used = http_process(c, data, len, &out);
	if (used < len && !c->closing) {
		if (c->inlen == 0)
			c->req_start = mono_ms();
		if (data != c->in) {
			c->in = xrealloc(c->in, c->inlen + len - used);
			memcpy(c->in + c->inlen, data + used, len - used);
			c->inlen += len - used;
		} else {
			memmove(c->in, c->in + used, len - used);
			c->inlen = len - used;
		}
	} else {
		c->inlen = 0;
		FREE(c->in);
	}
	if (!hconn_send(c, out.data, out.len)) {
		hconn_close(c);
		return;
	}
	if (c->parked) {
		if (out.len > 0)
			c->answered = true;
		hconn_after_send(c, false);
		return;
	}
	if (c->closing && out.len == 0 && !c->lingering) {
		hconn_close(c);		/* bad PROXY header: no answer */
		return;
	}
	if (out.len > 0)
		c->answered = true;
	c->unread = c->unread || used < len;
	hconn_after_send(c, c->unread);
}

/*
 * Read what has come and answer it. Returns false when nothing was there
 * yet (EAGAIN), true when the data was handled (c may be closed then).
 */
static bool
hconn_read(struct hconn *c, evutil_socket_t fd)
{
	static char	 buf[READ_CHUNK];
	ssize_t		 n;
	size_t		 room;

	if (c->lingering) {
		n = recv(fd, buf, sizeof(buf), 0);
		if (n <= 0 && !(n < 0 && errno == EAGAIN))
			hconn_close(c);
		else
			hconn_arm(c);
		return true;
	}
	/* Bound what a partial request may hold: head + PROXY + body. */
	room = HTTP_MAX_HEAD + PP_MAX_HEADER + MAX_ADMIN_BODY + 1 - c->inlen;
	if (room == 0 && c->parked) {
		/* That much pipelined behind a long-poll: it answers now (what
		 * there is), and the requests behind it are read on. */
		hconn_unpark(c);
		return true;
	}
	if (room > sizeof(buf))
		room = sizeof(buf);
	n = recv(fd, buf, room, 0);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return false;
	if (n <= 0) {
		/* The peer is gone: between requests, that is the end; before
		 * its first, or in the middle of one, it got no answer. A
		 * long-poll's client may give up waiting. */
		if (c->parked)
			hconn_close(c);
		else if (c->inlen > 0)
			hconn_fail(c, CONN_ERR_INCOMPLETE);
		else if (!c->answered)
			hconn_fail(c, CONN_ERR_SILENT);
		else
			hconn_close(c);
		return true;
	}
	if (c->inlen == 0) {
		hconn_feed(c, buf, (size_t)n);
		return true;
	}
	c->in = xrealloc(c->in, c->inlen + (size_t)n);
	memcpy(c->in + c->inlen, buf, (size_t)n);
	c->inlen += (size_t)n;
	hconn_feed(c, c->in, c->inlen);
	return true;
}

static void
hconn_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct hconn	*c = arg;

	if (what & EV_TIMEOUT)
		hconn_timeout(c);
	else
		(void)hconn_read(c, fd);
}

static void
hconn_write_cb(evutil_socket_t fd, short what, void *arg)
{
	struct hconn	*c = arg;
	ssize_t		 n;

	if (what & EV_TIMEOUT) {
		hconn_close(c);		/* the peer stopped reading */
		return;
	}
	n = send(fd, c->out + c->outoff, c->outlen - c->outoff, MSG_NOSIGNAL);
	if (n < 0 && errno != EAGAIN && errno != EINTR) {
		hconn_close(c);
		return;
	}
	if (n > 0)
		c->outoff += (size_t)n;
	if (c->outoff < c->outlen) {
		event_add(c->wev, c->r->tv_read);
		return;
	}
	c->outlen = c->outoff = 0;
	/* Our own backpressure held the rest: it gets a full read timeout. */
	if (c->inlen > 0)
		c->req_start = mono_ms();
	hconn_after_send(c, c->unread || c->inlen > 0);
}

static void
http_accept(void *arg, struct listener *l, int fd, const struct sockaddr *peer)
{
	struct http_responder	*hr = arg;
	/* One allocation: the connection, then its read event. */
	size_t			 esz = event_get_struct_event_size();
	size_t			 off = (sizeof(struct hconn) + 15) & ~(size_t)15;
	struct hconn		*c = xcalloc(1, off + esz);

	c->r = hr;
	c->lc.fd = fd;
	c->lc.close = hconn_close_cb;
	(void)prober_addr_of(peer, &c->src);
	c->pp_pending = hr->conf->accept_proxy;
	c->req_start = mono_ms();
	c->ev = (struct event *)(void *)((char *)c + off);
	event_assign(c->ev, hr->env.base, fd, EV_READ | EV_PERSIST,
	    hconn_read_cb, c);
	listener_conn_add(l, &c->lc);
	/*
	 * A load balancer's probe has usually arrived by the time we accept:
	 * answer it now, without registering the socket with epoll at all.
	 * Otherwise wait for it, for READ_TIMEOUT_MS.
	 */
	if (hconn_read(c, fd))
		return;
	if (c->pp_pending)
		hconn_arm(c);
	else
		event_add(c->ev, hr->tv_read);
}

static void
http_cache_free(struct http_responder *hr)
{
	size_t	i;

	/* (Not conf's npaths: a deferred free may come after the conf.) */
	if (hr->cache == NULL)
		return;
	for (i = 0; i < hr->ncache; i++)
		for (int m = 0; m < CM_N; m++)
			for (int h = 0; h < 2; h++)
				sbuf_free(&hr->cache[i].resp[m][h]);
	FREE(hr->cache);
}

static void *
http_make(const struct conf_listen *c, const struct responder_env *env)
{
	struct http_responder	*hr = xcalloc(1, sizeof(*hr));
	struct timeval		 rd = tv_ms(READ_TIMEOUT_MS);
	struct timeval		 idle = tv_ms(IDLE_TIMEOUT_MS);

	hr->conf = c;
	hr->env = *env;
	hr->tv_read = event_base_init_common_timeout(env->base, &rd);
	hr->tv_idle = event_base_init_common_timeout(env->base, &idle);
	return hr;
}

/* After a reload: the paths may have changed, and the services are new
 * (their answers' versions carried over): render anew. */
static void
http_adopt(void *arg, const struct conf_listen *c,
    const struct responder_env *env)
{
	struct http_responder	*hr = arg;

	http_cache_free(hr);
	hr->conf = c;
	hr->env = *env;
}

/* close_when_down: listen only while one of its services is up. */
static bool
http_wanted(const void *arg)
{
	const struct http_responder	*hr = arg;
	const struct conf_listen	*c = hr->conf;
	size_t				 i;

	if (!c->close_when_down)
		return true;
	for (i = 0; i < c->npaths; i++)
		if (svc_state_serves(hr->env.svcs[c->paths[i].svc].state))
			return true;
	return false;
}

static void
http_free(void *arg)
{
	http_cache_free(arg);
	free(arg);
}

const struct responder_ops http_responder_ops = {
	.make = http_make,
	.adopt = http_adopt,
	.wanted = http_wanted,
	.accept = http_accept,
	.free = http_free,
	.client_speaks_first = true,
};
