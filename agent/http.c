/*
 * http.c: HTTP/1.x health endpoints and admin routes.
 *
 * The hot path is a load balancer's probe: one small request, one small
 * answer. Requests are read into one shared buffer and parsed in place;
 * a connection keeps its own buffer only for a partial request or an
 * unsent answer. Health answers are rendered once per (path, service
 * answer, connection mode, method) and replayed until the service's
 * answer changes. Limits (DESIGN.md): head <= 8 KiB (431), no body on
 * health routes, 5s to send a request (408 if part of one came, a silent
 * close if none), 30s idle between keep-alive requests.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>

#include "hapwatch.h"
#include "http_parse.h"
#include "listener.h"
#include "log.h"
#include "proxyproto.h"
#include "statefile.h"

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

struct http_path_cache {
	struct path_answer	*paths;		/* one per conf path */
};

struct hconn {
	struct lconn	 lc;		/* first: the listener's view */
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
	bool		 pp_pending;	/* PROXY header still expected */
	bool		 answered;	/* an answer was sent: idle rules now */
	bool		 closing;	/* close once out is sent */
	bool		 unread;	/* closing with input maybe unread */
	bool		 lingering;	/* write side shut, draining input */
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
	case 413: return "Content Too Large";
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
http_simple(struct hw *hw, struct sbuf *out, int code, enum conn_mode cm,
    bool head, const char *extra, const char *text)
{
	char	body[128];
	int	n = snprintf(body, sizeof(body), "%s\n", text);

	hw_count_http(hw, code);
	http_render(out, code, cm, head, "text/plain", extra, body, (size_t)n);
}

/* libevent's common timeouts (O(1) for the many connections that share
 * them), made once per daemon. */
static const struct timeval *
common_timeout(struct hw *hw, int ms)
{
	struct timeval	tv = tv_ms(ms);

	if (ms == READ_TIMEOUT_MS) {
		if (hw->tv_read == NULL)
			hw->tv_read = event_base_init_common_timeout(hw->base, &tv);
		return hw->tv_read;
	}
	if (hw->tv_idle == NULL)
		hw->tv_idle = event_base_init_common_timeout(hw->base, &tv);
	return hw->tv_idle;
}

static void
hconn_free(struct hconn *c)
{
	listener_conn_del(&c->lc);
	event_del(c->ev);		/* embedded: not event_free()d */
	if (c->wev != NULL)
		event_free(c->wev);
	close(c->lc.fd);
	free(c->in);
	free(c->out);
	free(c);
}

static void
hconn_close_cb(struct lconn *lc)
{
	hconn_free((struct hconn *)lc);
}

/* ---- routing ---- */

static void
http_health(struct listener *l, size_t pi, const struct http_req *req,
    enum conn_mode cm, struct sbuf *out)
{
	const struct conf_path	*p = &l->conf->paths[pi];
	struct svc		*s = &l->hw->svcs[p->svc];
	struct path_answer	*a;
	bool			 head = req->method == HTTP_HEAD;
	struct sbuf		*r;
	int			 code = l->conf->codes[s->state];

	if (l->cache == NULL) {
		l->cache = xcalloc(1, sizeof(*l->cache));
		l->cache->paths = xcalloc(l->conf->npaths + 1,
		    sizeof(*l->cache->paths));
	}
	a = &l->cache->paths[pi];
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
	hw_count_http(l->hw, code);
	sbuf_append(out, r->data, r->len);
}

/* Constant-time token check of "Authorization: Bearer <token>". */
static bool
http_authorized(const struct conf_listen *c, const struct http_req *req)
{
	static const char	 bearer[] = "Bearer ";
	size_t			 tl, i;
	unsigned char		 diff = 0;

	if (c->token == NULL)
		return true;
	tl = strlen(c->token);
	if (req->auth == NULL || req->authlen != sizeof(bearer) - 1 + tl ||
	    strncasecmp(req->auth, bearer, sizeof(bearer) - 1) != 0)
		return false;
	for (i = 0; i < tl; i++)
		diff |= (unsigned char)(req->auth[sizeof(bearer) - 1 + i] ^
		    c->token[i]);
	return diff == 0;
}

static bool
path_is(const struct http_req *req, const char *p)
{
	size_t	pl = strlen(p);

	return req->pathlen == pl && memcmp(req->path, p, pl) == 0;
}

/* POST /services/[NAME/]drain|ready|maint */
static void
http_admin_override(struct listener *l, const struct http_req *req,
    enum conn_mode cm, struct sbuf *out)
{
	struct hw		*hw = l->hw;
	const char		*p = req->path + 10, *slash;
	size_t			 plen = req->pathlen - 10, idx = CONF_NONE;
	char			 name[128], action[16], text[192];
	enum svc_override	 o;

	slash = memrchr(p, '/', plen);
	if (slash != NULL) {
		size_t nl = (size_t)(slash - p);

		if (nl == 0 || nl >= sizeof(name)) {
			http_simple(hw, out, 404, cm, false, NULL, "no such service");
			return;
		}
		memcpy(name, p, nl);
		name[nl] = '\0';
		idx = conf_service_index(hw->conf, name);
		if (idx == CONF_NONE) {
			http_simple(hw, out, 404, cm, false, NULL, "no such service");
			return;
		}
		plen -= nl + 1;
		p = slash + 1;
	}
	if (plen == 0 || plen >= sizeof(action)) {
		http_simple(hw, out, 404, cm, false, NULL, "not found");
		return;
	}
	memcpy(action, p, plen);
	action[plen] = '\0';
	if (!svc_override_parse(action, &o)) {
		http_simple(hw, out, 404, cm, false, NULL, "not found");
		return;
	}
	hw_set_override(hw, idx, o);
	snprintf(text, sizeof(text), "%s %s", idx == CONF_NONE ? "all services" :
	    hw->conf->services[idx].name, action);
	http_simple(hw, out, 200, cm, false, NULL, text);
}

/* POST /haproxy/save-state: 202 with the save's sequence number, which
 * /status's state_file.completed and .saved reach when it is done. */
static void
http_admin_save_state(struct listener *l, enum conn_mode cm,
    struct sbuf *out)
{
	char	text[64];

	if (l->hw->statefile == NULL) {
		http_simple(l->hw, out, 404, cm, false, NULL,
		    "no haproxy.state_file configured");
		return;
	}
	snprintf(text, sizeof(text), "save %llu requested",
	    (unsigned long long)statefile_request(l->hw->statefile));
	http_simple(l->hw, out, 202, cm, false, NULL, text);
}

/* Admin routes; false if the path is not one. */
static bool
http_admin(struct listener *l, const struct http_req *req,
    enum conn_mode cm, struct sbuf *out)
{
	struct hw	*hw = l->hw;
	bool		 status = path_is(req, "/status");
	bool		 metrics = path_is(req, "/metrics");
	bool		 save = path_is(req, "/haproxy/save-state");
	bool		 post = req->pathlen > 10 &&
			    memcmp(req->path, "/services/", 10) == 0;
	struct sbuf	 body = { 0 };

	if (!status && !metrics && !post && !save)
		return false;
	if (!http_authorized(l->conf, req)) {
		hw->counters.auth_failures++;
		http_simple(hw, out, 401, cm, req->method == HTTP_HEAD,
		    "WWW-Authenticate: Bearer\r\n", "unauthorized");
		return true;
	}
	if (save) {
		if (req->method != HTTP_POST)
			http_simple(hw, out, 405, cm, req->method == HTTP_HEAD,
			    "Allow: POST\r\n", "method not allowed");
		else
			http_admin_save_state(l, cm, out);
		return true;
	}
	if (post) {
		if (req->method != HTTP_POST)
			http_simple(hw, out, 405, cm, req->method == HTTP_HEAD,
			    "Allow: POST\r\n", "method not allowed");
		else
			http_admin_override(l, req, cm, out);
		return true;
	}
	if (req->method != HTTP_GET && req->method != HTTP_HEAD) {
		http_simple(hw, out, 405, cm, false, "Allow: GET, HEAD\r\n",
		    "method not allowed");
		return true;
	}
	if (status)
		status_render_json(hw, &body);
	else
		metrics_render(hw, &body);
	hw_count_http(hw, 200);
	http_render(out, 200, cm, req->method == HTTP_HEAD, status ?
	    "application/json" : "text/plain; version=0.0.4; charset=utf-8",
	    NULL, body.data != NULL ? body.data : "", body.len);
	sbuf_free(&body);
	return true;
}

/* Answer one parsed request into out. */
static void
http_route(struct listener *l, const struct http_req *req, enum conn_mode cm,
    struct sbuf *out)
{
	const struct conf_listen	*c = l->conf;
	size_t				 i;

	for (i = 0; i < c->npaths; i++) {
		if (!path_is(req, c->paths[i].path))
			continue;
		if (req->method == HTTP_GET || req->method == HTTP_HEAD)
			http_health(l, i, req, cm, out);
		else
			http_simple(l->hw, out, 405, cm, false,
			    "Allow: GET, HEAD\r\n", "method not allowed");
		return;
	}
	if (c->admin && http_admin(l, req, cm, out))
		return;
	http_simple(l->hw, out, 404, cm, req->method == HTTP_HEAD, NULL,
	    "not found");
}

static bool
http_is_admin_post(const struct listener *l, const struct http_req *req)
{
	return l->conf->admin && req->method == HTTP_POST &&
	    ((req->pathlen > 10 && memcmp(req->path, "/services/", 10) == 0) ||
	    path_is(req, "/haproxy/save-state"));
}

/*
 * Answer every complete request in data[0..len) into out. Returns the
 * bytes consumed; sets c->closing when the connection must close after
 * the answers.
 */
static size_t
http_process(struct hconn *c, const char *data, size_t len, struct sbuf *out)
{
	struct listener	*l = c->lc.ls;
	struct http_req	 req;
	size_t		 pos = 0, need;
	int		 r;

	if (c->pp_pending) {
		struct pp_info	pp;

		r = pp_parse((const uint8_t *)data, len, &pp);
		if (r == PP_INCOMPLETE)
			return 0;
		if (r == PP_INVALID) {
			l->hw->counters.proxy_errors++;
			c->closing = true;
			return len;
		}
		pos = (size_t)r;
		c->pp_pending = false;
	}
	while (pos < len && !c->closing) {
		switch (http_parse_head(data + pos, len - pos, HTTP_MAX_HEAD, &req)) {
		case HTTP_PARSE_INCOMPLETE:
			return pos;
		case HTTP_PARSE_BAD:
			c->closing = c->unread = true;
			http_simple(l->hw, out, 400, CM_CLOSE, false, NULL,
			    "bad request");
			return len;
		case HTTP_PARSE_TOO_BIG:
			c->closing = c->unread = true;
			http_simple(l->hw, out, 431, CM_CLOSE, false, NULL,
			    "request head too large");
			return len;
		case HTTP_PARSE_VERSION:
			c->closing = c->unread = true;
			http_simple(l->hw, out, 505, CM_CLOSE, false, NULL,
			    "HTTP/1.0 or HTTP/1.1 only");
			return len;
		case HTTP_PARSE_OK:
			break;
		}
		need = req.head_len;
		if (req.chunked || req.content_length > 0) {
			if (req.chunked || !http_is_admin_post(l, &req) ||
			    req.content_length > MAX_ADMIN_BODY) {
				c->closing = c->unread = true;
				http_simple(l->hw, out, 413, CM_CLOSE, false, NULL,
				    "no request body allowed here");
				return len;
			}
			need += (size_t)req.content_length;
			if (len - pos < need)
				return pos;	/* wait for the body */
		}
		if (!req.keepalive)
			c->closing = true;
		http_route(l, &req, c->closing ? CM_CLOSE :
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
	else if (c->inlen > 0 || c->pp_pending || !c->answered)
		left = c->req_start + READ_TIMEOUT_MS - mono_ms();
	else {
		event_add(c->ev, common_timeout(c->lc.ls->hw, IDLE_TIMEOUT_MS));
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

/* Send out; keep what the socket does not take. false: connection gone. */
static bool
hconn_send(struct hconn *c, const char *data, size_t len)
{
	ssize_t	n = 0;

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
		event_add(c->wev, common_timeout(c->lc.ls->hw, READ_TIMEOUT_MS));
	}
	return true;
}

/* After answers are sent: close, linger, or wait for the next request. */
static void
hconn_after_send(struct hconn *c, bool unread)
{
	if (c->outlen > 0)
		return;			/* the write event carries on */
	if (c->closing) {
		if (unread)
			hconn_linger(c);
		else
			hconn_free(c);
		return;
	}
	hconn_arm(c);
}

static void
hconn_timeout(struct hconn *c)
{
	struct sbuf	out = { 0 };

	if (c->lingering || c->inlen == 0) {
		/* Nothing came: a silent close, as a load balancer expects. */
		hconn_free(c);
		return;
	}
	c->lc.ls->hw->counters.timeouts++;
	c->closing = true;
	http_simple(c->lc.ls->hw, &out, 408, CM_CLOSE, false, NULL,
	    "request timeout");
	if (!hconn_send(c, out.data, out.len))
		hconn_free(c);
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
		hconn_free(c);
		return;
	}
	if (c->closing && out.len == 0 && !c->lingering) {
		hconn_free(c);		/* bad PROXY header: no answer */
		return;
	}
	if (out.len > 0)
		c->answered = true;
	c->unread = c->unread || used < len;
	hconn_after_send(c, c->unread);
}

/*
 * Read what has come and answer it. Returns false when nothing was there
 * yet (EAGAIN), true when the data was handled (c may be gone then).
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
			hconn_free(c);
		else
			hconn_arm(c);
		return true;
	}
	/* Bound what a partial request may hold: head + PROXY + body. */
	room = HTTP_MAX_HEAD + PP_MAX_HEADER + MAX_ADMIN_BODY + 1 - c->inlen;
	if (room > sizeof(buf))
		room = sizeof(buf);
	n = recv(fd, buf, room, 0);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return false;
	if (n <= 0) {
		hconn_free(c);
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
		hconn_free(c);		/* the peer stopped reading */
		return;
	}
	n = send(fd, c->out + c->outoff, c->outlen - c->outoff, MSG_NOSIGNAL);
	if (n < 0 && errno != EAGAIN && errno != EINTR) {
		hconn_free(c);
		return;
	}
	if (n > 0)
		c->outoff += (size_t)n;
	if (c->outoff < c->outlen) {
		event_add(c->wev, common_timeout(c->lc.ls->hw, READ_TIMEOUT_MS));
		return;
	}
	c->outlen = c->outoff = 0;
	/* Our own backpressure held the rest: it gets a full read timeout. */
	if (c->inlen > 0)
		c->req_start = mono_ms();
	hconn_after_send(c, c->unread || c->inlen > 0);
}

void
http_accept(struct listener *l, int fd)
{
	/* One allocation: the connection, then its read event. */
	size_t		 esz = event_get_struct_event_size();
	size_t		 off = (sizeof(struct hconn) + 15) & ~(size_t)15;
	struct hconn	*c = xcalloc(1, off + esz);

	c->lc.fd = fd;
	c->lc.close = hconn_close_cb;
	c->pp_pending = l->conf->accept_proxy;
	c->req_start = mono_ms();
	c->ev = (struct event *)(void *)((char *)c + off);
	event_assign(c->ev, l->hw->base, fd, EV_READ | EV_PERSIST,
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
		event_add(c->ev, common_timeout(l->hw, READ_TIMEOUT_MS));
}

void
http_cache_free(struct listener *l)
{
	size_t	i;

	if (l->cache == NULL)
		return;
	for (i = 0; i < l->conf->npaths; i++)
		for (int m = 0; m < CM_N; m++)
			for (int h = 0; h < 2; h++)
				sbuf_free(&l->cache->paths[i].resp[m][h]);
	free(l->cache->paths);
	FREE(l->cache);
}
