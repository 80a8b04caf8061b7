/*
 * admin.c: the admin routes, as a table.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <json-c/json.h>

#include "admin.h"
#include "conf.h"
#include "events.h"
#include "http_parse.h"
#include "metrics.h"
#include "status.h"
#include "view.h"

struct admin_ctx {
	const struct admin_ops	*ops;
	void			*arg;
	const struct events	*events;
	const struct conf_listen *listen;
	const struct conf	*conf;
	const struct http_req	*req;
	const char		*rest;		/* path after a prefix route */
	size_t			 restlen;
	struct admin_answer	*ans;
};

typedef void admin_handler(struct admin_ctx *x);

struct admin_route {
	const char	*path;		/* exact, or a prefix ending in '/' */
	bool		 post;		/* POST; else GET and HEAD */
	admin_handler	*handle;
};

static void
answer_text(struct admin_answer *ans, int code, const char *headers,
    const char *text)
{
	ans->code = code;
	ans->ctype = "text/plain";
	ans->headers = headers;
	sbuf_printf(&ans->body, "%s\n", text);
}

static void
handle_status(struct admin_ctx *x)
{
	struct view	v;

	x->ops->view(x->arg, &v);
	status_render(&v, &x->ans->body);
	x->ans->code = 200;
	x->ans->ctype = "application/json";
}

static void
handle_metrics(struct admin_ctx *x)
{
	struct view	v;

	x->ops->view(x->arg, &v);
	metrics_render(&v, &x->ans->body);
	x->ans->code = 200;
	x->ans->ctype = "text/plain; version=0.0.4; charset=utf-8";
}

/* A string member of the body, copied into dst; false if not a string. */
static bool
body_string(json_object *v, char *dst, size_t len)
{
	if (!json_object_is_type(v, json_type_string))
		return false;
	/* It ends up in one-line answers and logs. */
	str_sanitize(dst, len, json_object_get_string(v));
	return dst[0] != '\0';
}

/* The optional body of an override: {"by", "for", "if_by"}. */
static bool
override_body(struct admin_ctx *x, struct override_req *rq, char *by,
    char *if_by, size_t len, char *err, size_t errlen)
{
	json_object	*root;
	char		*text;
	bool		 ok = true;

	if (x->req->bodylen == 0)
		return true;
	text = xstrndup(x->req->body, x->req->bodylen);
	root = json_tokener_parse(text);
	free(text);
	if (root == NULL || !json_object_is_type(root, json_type_object)) {
		snprintf(err, errlen, "the body must be a JSON object");
		json_object_put(root);
		return false;
	}
	json_object_object_foreach(root, key, v) {
		char	dur[32];

		if (strcmp(key, "by") == 0 && body_string(v, by, len))
			rq->by = by;
		else if (strcmp(key, "if_by") == 0 && body_string(v, if_by, len))
			rq->if_by = if_by;
		else if (strcmp(key, "for") == 0 &&
		    body_string(v, dur, sizeof(dur)) &&
		    parse_duration(dur, &rq->for_ms) && rq->for_ms > 0)
			continue;
		else {
			snprintf(err, errlen, "bad \"%s\" (by and if_by: a "
			    "name; for: a duration such as \"10m\")", key);
			ok = false;
			break;
		}
	}
	json_object_put(root);
	return ok;
}

/* /services/[NAME/]drain|ready|maint: rest is after "/services/". */
static void
handle_override(struct admin_ctx *x)
{
	const char		*p = x->rest, *slash;
	size_t			 plen = x->restlen, idx = CONF_NONE;
	char			 name[128], action[16], text[192];
	char			 by[64], if_by[64], err[160];
	struct override_req	 rq;
	int			 code;

	slash = memrchr(p, '/', plen);
	if (slash != NULL) {
		size_t nl = (size_t)(slash - p);

		if (nl > 0 && nl < sizeof(name)) {
			memcpy(name, p, nl);
			name[nl] = '\0';
			idx = conf_service_index(x->conf, name);
		}
		if (idx == CONF_NONE) {
			answer_text(x->ans, 404, NULL, "no such service");
			return;
		}
		plen -= nl + 1;
		p = slash + 1;
	}
	if (plen == 0 || plen >= sizeof(action)) {
		answer_text(x->ans, 404, NULL, "not found");
		return;
	}
	memcpy(action, p, plen);
	action[plen] = '\0';
	memset(&rq, 0, sizeof(rq));
	if (!svc_override_parse(action, &rq.o)) {
		answer_text(x->ans, 404, NULL, "not found");
		return;
	}
	if (!override_body(x, &rq, by, if_by, sizeof(by), err, sizeof(err))) {
		answer_text(x->ans, 400, NULL, err);
		return;
	}
	if ((rq.for_ms > 0 && rq.o == OVR_NONE) ||
	    (rq.if_by != NULL && rq.o != OVR_NONE)) {
		answer_text(x->ans, 400, NULL, rq.for_ms > 0 ? "\"for\" applies "
		    "to drain and maint" : "\"if_by\" applies to ready");
		return;
	}
	rq.route = x->listen->address;
	code = x->ops->override(x->arg, idx, &rq, text, sizeof(text));
	answer_text(x->ans, code, NULL, text);
}

/* 202 with the save's sequence number, which /status's
 * state_file.completed and .saved reach when it is done. */
static void
handle_save_state(struct admin_ctx *x)
{
	uint64_t	seq;
	char		text[64];

	if (!x->ops->save_state(x->arg, &seq)) {
		answer_text(x->ans, 404, NULL, "no haproxy.state_file configured");
		return;
	}
	snprintf(text, sizeof(text), "save %llu requested",
	    (unsigned long long)seq);
	answer_text(x->ans, 202, NULL, text);
}

/* The next "key=value" of a query string, not decoded (what /events
 * takes has no use for '%'); false at its end. */
static bool
query_next(const char **q, const char *end, const char **key, size_t *klen,
    const char **val, size_t *vlen)
{
	const char	*p = *q, *amp, *eq;

	while (p < end && *p == '&')
		p++;
	if (p >= end)
		return false;
	if ((amp = memchr(p, '&', (size_t)(end - p))) == NULL)
		amp = end;
	eq = memchr(p, '=', (size_t)(amp - p));
	*key = p;
	*klen = (size_t)((eq != NULL ? eq : amp) - p);
	*val = eq != NULL ? eq + 1 : amp;
	*vlen = (size_t)(amp - *val);
	*q = amp;
	return true;
}

/* since (a sequence number) and wait (a duration up to 60s); false with
 * why in err. */
static bool
events_params(const struct http_req *req, uint64_t *since, int64_t *wait,
    char *err, size_t errlen)
{
	const char	*q = req->query, *end = q + req->querylen, *k, *v;
	size_t		 kl, vl;
	char		 val[32], *ep;

	*since = 0;
	*wait = 0;
	if (q == NULL)
		return true;
	while (query_next(&q, end, &k, &kl, &v, &vl)) {
		snprintf(val, sizeof(val), "%.*s", (int)(vl < sizeof(val) ?
		    vl : sizeof(val) - 1), v);
		if (kl == 5 && memcmp(k, "since", 5) == 0) {
			errno = 0;
			if (vl == 0 || vl > 20 || val[0] < '0' || val[0] > '9' ||
			    (*since = strtoull(val, &ep, 10), *ep != '\0') ||
			    errno == ERANGE) {
				snprintf(err, errlen, "since=%s: not an event's "
				    "sequence number (0 or more)", val);
				return false;
			}
		} else if (kl == 4 && memcmp(k, "wait", 4) == 0) {
			if (vl >= sizeof(val) || !parse_duration(val, wait) ||
			    *wait > ADMIN_EVENTS_WAIT_MAX) {
				snprintf(err, errlen, "wait=%s: not a duration "
				    "from 0s to 60s (such as 30s)", val);
				return false;
			}
		} else {
			snprintf(err, errlen, "unknown parameter \"%.*s\" "
			    "(since, wait)", (int)(kl < 32 ? kl : 32), k);
			return false;
		}
	}
	return true;
}

void
admin_events_answer(const struct events *events, uint64_t since,
    struct admin_answer *ans)
{
	ans->code = 200;
	ans->ctype = "application/json";
	ans->wait_ms = 0;
	events_render(events, since, &ans->body);
}

/* GET /events[?since=SEQ][&wait=DUR] */
static void
handle_events(struct admin_ctx *x)
{
	uint64_t	since;
	int64_t		wait;
	char		err[160];

	if (!events_params(x->req, &since, &wait, err, sizeof(err))) {
		answer_text(x->ans, 400, NULL, err);
		return;
	}
	if (wait > 0 && x->req->method == HTTP_GET &&
	    !events_newer(x->events, since)) {
		x->ans->code = 200;
		x->ans->wait_ms = wait;
		x->ans->since = since;
		return;
	}
	admin_events_answer(x->events, since, x->ans);
}

static const struct admin_route routes[] = {
	{ "/events", false, handle_events },
	{ "/status", false, handle_status },
	{ "/metrics", false, handle_metrics },
	{ "/services/", true, handle_override },
	{ "/haproxy/save-state", true, handle_save_state },
};

/* The route of req's path, and what follows a prefix route's path. */
static const struct admin_route *
route_find(const struct http_req *req, const char **rest, size_t *restlen)
{
	size_t	i, l;

	for (i = 0; i < ARRAY_SIZE(routes); i++) {
		l = strlen(routes[i].path);
		if (routes[i].path[l - 1] == '/') {
			if (req->pathlen <= l || memcmp(req->path,
			    routes[i].path, l) != 0)
				continue;
		} else if (req->pathlen != l || memcmp(req->path,
		    routes[i].path, l) != 0) {
			continue;
		}
		*rest = req->path + l;
		*restlen = req->pathlen - l;
		return &routes[i];
	}
	return NULL;
}

bool
admin_is_route(const char *path)
{
	struct http_req	 req = { .path = path, .pathlen = strlen(path) };
	const char	*rest;
	size_t		 restlen;

	return route_find(&req, &rest, &restlen) != NULL;
}

bool
admin_is_post(const struct http_req *req)
{
	const struct admin_route	*r;
	const char			*rest;
	size_t				 restlen;

	r = route_find(req, &rest, &restlen);
	return req->method == HTTP_POST && r != NULL && r->post;
}

/* Constant-time token check of "Authorization: Bearer <token>". */
static bool
admin_authorized(const struct conf_listen *c, const struct http_req *req)
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

bool
admin_route(const struct admin_ops *ops, void *arg,
    const struct events *events, const struct conf_listen *c,
    const struct conf *conf, const struct http_req *req,
    struct admin_answer *ans, bool *auth_failed)
{
	struct admin_ctx		 x = { ops, arg, events, c, conf, req,
					       NULL, 0, ans };
	const struct admin_route	*r;

	*auth_failed = false;
	r = route_find(req, &x.rest, &x.restlen);
	if (r == NULL)
		return false;
	if (!admin_authorized(c, req)) {
		*auth_failed = true;
		answer_text(ans, 401, "WWW-Authenticate: Bearer\r\n",
		    "unauthorized");
		return true;
	}
	if (r->post && req->method != HTTP_POST)
		answer_text(ans, 405, "Allow: POST\r\n", "method not allowed");
	else if (!r->post && req->method != HTTP_GET &&
	    req->method != HTTP_HEAD)
		answer_text(ans, 405, "Allow: GET, HEAD\r\n",
		    "method not allowed");
	else
		r->handle(&x);
	return true;
}
