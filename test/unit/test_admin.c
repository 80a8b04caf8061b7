/*
 * test_admin.c: the admin route table (agent/admin.c): every route, its
 * methods (405 with Allow), the bearer token (401), paths that are no
 * route, and /services/[NAME/]action parsing, with admin_ops callbacks
 * that record what they were asked. /status and /metrics render the view
 * of view_fixture.h.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "admin.h"
#include "events.h"
#include "http_parse.h"
#include "status.h"
#include "view_fixture.h"

/* ---- admin_ops that record ---------------------------------------------- */

struct rec {
	struct vfix		 x;
	int			 views;
	int			 overrides;
	size_t			 idx;		/* the last override's */
	enum svc_override	 o;
	bool			 has_state_file;
	int			 saves;
};

static void
rec_view(void *arg, struct view *v)
{
	struct rec	*r = arg;

	r->views++;
	*v = r->x.v;
}

static int
rec_override(void *arg, size_t idx, const struct override_req *rq, char *msg,
    size_t msglen)
{
	struct rec	*r = arg;

	r->overrides++;
	r->idx = idx;
	r->o = rq->o;
	snprintf(msg, msglen, "%s %s", idx == CONF_NONE ? "all services" :
	    r->x.conf->services[idx].name, svc_override_name(rq->o));
	return 200;
}

static bool
rec_save_state(void *arg, uint64_t *seq)
{
	struct rec	*r = arg;

	if (!r->has_state_file)
		return false;
	*seq = 41 + (uint64_t)++r->saves;
	return true;
}

static const struct admin_ops rec_ops = {
	.view = rec_view,
	.override = rec_override,
	.save_state = rec_save_state,
};

/* ---- one request through the table ---------------------------------------- */

/* The history the routes read (GET /events). */
static struct events	*evs;

struct result {
	bool			handled;
	bool			auth_failed;
	struct admin_answer	ans;
};

/* Route "METHOD PATH" with an Authorization value (or NULL), through the
 * real request parser. */
static void
route(struct rec *r, char *token, const char *req_line,
    const char *auth, struct result *res)
{
	struct conf_listen	 c = { 0 };
	struct http_req		 req;
	char			*head;

	c.kind = LISTEN_HTTP;
	c.admin = true;
	c.token = token;
	head = auth != NULL ?
	    xasprintf("%s HTTP/1.1\r\nHost: h\r\nAuthorization: %s\r\n\r\n",
	    req_line, auth) :
	    xasprintf("%s HTTP/1.1\r\nHost: h\r\n\r\n", req_line);
	assert_int_equal(http_parse_head(head, strlen(head), HTTP_MAX_HEAD,
	    &req), HTTP_PARSE_OK);
	memset(res, 0, sizeof(*res));
	res->auth_failed = true;	/* must be set either way */
	res->handled = admin_route(&rec_ops, r, evs, &c, r->x.conf, &req,
	    &res->ans, &res->auth_failed);
	free(head);
}

static void
result_free(struct result *res)
{
	sbuf_free(&res->ans.body);
}

struct route_case {
	const char	*req;		/* "METHOD PATH" */
	int		 code;		/* 0: not an admin route */
	const char	*headers;	/* extra header lines, or NULL */
	const char	*body;		/* text answers, or NULL: not checked */
	int		 overrides;	/* override calls it makes (0 or 1) */
	size_t		 idx;
	enum svc_override o;
};

static void
run_case(struct rec *r, const struct route_case *k)
{
	struct result	res;
	int		before = r->overrides;

	route(r, NULL, k->req, NULL, &res);
	if (res.handled != (k->code != 0))
		fail_msg("%s: handled %d", k->req, res.handled);
	assert_false(res.auth_failed);
	if (k->code == 0) {
		assert_int_equal(res.ans.code, 0);
		assert_null(res.ans.body.data);
		result_free(&res);
		return;
	}
	if (res.ans.code != k->code)
		fail_msg("%s: %d, want %d", k->req, res.ans.code, k->code);
	if (k->headers == NULL)
		assert_null(res.ans.headers);
	else
		assert_string_equal(res.ans.headers, k->headers);
	if (k->body != NULL) {
		assert_string_equal(res.ans.ctype, "text/plain");
		assert_string_equal(res.ans.body.data, k->body);
	}
	if (r->overrides - before != k->overrides)
		fail_msg("%s: %d override calls", k->req, r->overrides - before);
	if (k->overrides > 0) {
		assert_int_equal(r->idx, k->idx);
		assert_int_equal(r->o, k->o);
	}
	result_free(&res);
}

static void
rec_init(struct rec *r)
{
	memset(r, 0, sizeof(*r));
	vf_init(&r->x);
}

/* ---- tests ---------------------------------------------------------------- */

#define A405G	"Allow: GET, HEAD\r\n"
#define A405P	"Allow: POST\r\n"
#define M405	"method not allowed\n"

static void
test_routes(void **state)
{
	/* Services of view_fixture.h: web 0, first 1, gone 2, be 3, peer 4. */
	static const struct route_case cases[] = {
		{ "GET /status", 200, NULL, NULL, 0, 0, 0 },
		{ "HEAD /status", 200, NULL, NULL, 0, 0, 0 },
		{ "GET /metrics", 200, NULL, NULL, 0, 0, 0 },
		{ "GET /metrics?name[]=x", 200, NULL, NULL, 0, 0, 0 },
		{ "POST /status", 405, A405G, M405, 0, 0, 0 },
		{ "PUT /metrics", 405, A405G, M405, 0, 0, 0 },
		{ "POST /services/web/drain", 200, NULL, "web drain\n", 1, 0,
		    OVR_DRAIN },
		{ "POST /services/be/ready", 200, NULL, "be ready\n", 1, 3,
		    OVR_NONE },
		{ "POST /services/peer/maint", 200, NULL, "peer maint\n", 1, 4,
		    OVR_MAINT },
		{ "POST /services/maint", 200, NULL, "all services maint\n", 1,
		    CONF_NONE, OVR_MAINT },
		{ "POST /services/ready?x=1", 200, NULL, "all services ready\n", 1,
		    CONF_NONE, OVR_NONE },
		{ "POST /services/nosuch/drain", 404, NULL, "no such service\n",
		    0, 0, 0 },
		{ "POST /services//drain", 404, NULL, "no such service\n", 0, 0,
		    0 },
		{ "POST /services/web/x/drain", 404, NULL, "no such service\n", 0,
		    0, 0 },
		{ "POST /services/web/explode", 404, NULL, "not found\n", 0, 0,
		    0 },
		{ "POST /services/web/Drain", 404, NULL, "not found\n", 0, 0, 0 },
		{ "POST /services/web/", 404, NULL, "not found\n", 0, 0, 0 },
		{ "POST /services/web/drainage-and-more", 404, NULL,
		    "not found\n", 0, 0, 0 },
		{ "POST /services/drainx", 404, NULL, "not found\n", 0, 0, 0 },
		{ "GET /services/web/drain", 405, A405P, M405, 0, 0, 0 },
		{ "HEAD /services/drain", 405, A405P, M405, 0, 0, 0 },
		{ "POST /haproxy/save-state", 404, NULL,
		    "no haproxy.state_file configured\n", 0, 0, 0 },
		{ "GET /haproxy/save-state", 405, A405P, M405, 0, 0, 0 },
		/* Not admin routes: the caller answers 404. */
		{ "GET /", 0, NULL, NULL, 0, 0, 0 },
		{ "GET /statusx", 0, NULL, NULL, 0, 0, 0 },
		{ "GET /status/", 0, NULL, NULL, 0, 0, 0 },
		{ "GET /Status", 0, NULL, NULL, 0, 0, 0 },
		{ "POST /services", 0, NULL, NULL, 0, 0, 0 },
		{ "POST /services/", 0, NULL, NULL, 0, 0, 0 },
		{ "POST /haproxy/save-state/", 0, NULL, NULL, 0, 0, 0 },
		{ "POST /haproxy", 0, NULL, NULL, 0, 0, 0 },
	};
	struct rec	r;
	size_t		i;

	rec_init(&r);
	for (i = 0; i < ARRAY_SIZE(cases); i++)
		run_case(&r, &cases[i]);
	/* Only /status and /metrics looked at the daemon. */
	assert_int_equal(r.views, 4);
	vf_free(&r.x);
}

static void
test_long_service_name(void **state)
{
	struct rec	 r;
	struct result	 res;
	char		*req, name[300];

	rec_init(&r);
	memset(name, 'w', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	req = xasprintf("POST /services/%s/drain", name);
	route(&r, NULL, req, NULL, &res);
	assert_true(res.handled);
	assert_int_equal(res.ans.code, 404);
	assert_string_equal(res.ans.body.data, "no such service\n");
	assert_int_equal(r.overrides, 0);
	result_free(&res);
	free(req);
	vf_free(&r.x);
}

static void
test_status_and_metrics_bodies(void **state)
{
	struct rec	r;
	struct result	res;
	struct sbuf	want = { 0 };

	rec_init(&r);
	route(&r, NULL, "GET /status", NULL, &res);
	assert_string_equal(res.ans.ctype, "application/json");
	status_render(&r.x.v, &want);
	assert_string_equal(res.ans.body.data, want.data);
	result_free(&res);
	sbuf_reset(&want);
	route(&r, NULL, "GET /metrics", NULL, &res);
	assert_string_equal(res.ans.ctype,
	    "text/plain; version=0.0.4; charset=utf-8");
	metrics_render(&r.x.v, &want);
	assert_string_equal(res.ans.body.data, want.data);
	result_free(&res);
	sbuf_free(&want);
	vf_free(&r.x);
}

static void
test_save_state(void **state)
{
	struct rec	r;
	struct result	res;

	rec_init(&r);
	r.has_state_file = true;
	route(&r, NULL, "POST /haproxy/save-state", NULL, &res);
	assert_int_equal(res.ans.code, 202);
	assert_string_equal(res.ans.body.data, "save 42 requested\n");
	result_free(&res);
	route(&r, NULL, "POST /haproxy/save-state", NULL, &res);
	assert_string_equal(res.ans.body.data, "save 43 requested\n");
	result_free(&res);
	assert_int_equal(r.saves, 2);
	vf_free(&r.x);
}

struct token_case {
	const char	*auth;		/* Authorization value, or NULL */
	bool		 ok;
};

static char	token[] = "s3cret-T0ken";

static void
test_token(void **state)
{
	static const struct token_case cases[] = {
		{ "Bearer s3cret-T0ken", true },
		{ "bearer s3cret-T0ken", true },
		{ "BEARER s3cret-T0ken", true },
		{ NULL, false },
		{ "", false },
		{ "Bearer", false },
		{ "Bearer ", false },
		{ "Bearer s3cret-T0ke", false },
		{ "Bearer s3cret-T0kenn", false },
		{ "Bearer s3cret-T0keN", false },
		{ "Bearer S3cret-T0ken", false },
		{ "Bearer  s3cret-T0ken", false },
		{ "Basic s3cret-T0ken", false },
		{ "s3cret-T0ken", false },
		{ "Bearer s3cret-t0ken", false },
	};
	struct rec	r;
	struct result	res;
	size_t		i;

	rec_init(&r);
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		route(&r, token, "POST /services/web/drain",
		    cases[i].auth, &res);
		assert_true(res.handled);
		if (res.auth_failed == cases[i].ok)
			fail_msg("Authorization \"%s\": auth_failed %d",
			    cases[i].auth ? cases[i].auth : "(none)",
			    res.auth_failed);
		if (cases[i].ok) {
			assert_int_equal(res.ans.code, 200);
		} else {
			assert_int_equal(res.ans.code, 401);
			assert_string_equal(res.ans.headers,
			    "WWW-Authenticate: Bearer\r\n");
			assert_string_equal(res.ans.body.data, "unauthorized\n");
		}
		result_free(&res);
	}
	/* Only the authorized ones acted. */
	assert_int_equal(r.overrides, 3);
	/* The token is checked before the method (no hint without it)... */
	route(&r, token, "POST /status", NULL, &res);
	assert_int_equal(res.ans.code, 401);
	result_free(&res);
	route(&r, token, "GET /metrics", "Bearer nope", &res);
	assert_int_equal(res.ans.code, 401);
	assert_int_equal(r.views, 0);
	result_free(&res);
	/* ...but after the route: a path that is none is not refused. */
	route(&r, token, "GET /nothing", NULL, &res);
	assert_false(res.handled);
	assert_false(res.auth_failed);
	result_free(&res);
	/* Without a token configured, any Authorization is fine. */
	route(&r, NULL, "GET /status", "Bearer whatever", &res);
	assert_int_equal(res.ans.code, 200);
	result_free(&res);
	vf_free(&r.x);
}

static void
test_is_post(void **state)
{
	static const struct {
		const char	*req;
		bool		 post;
	} cases[] = {
		{ "POST /services/web/drain", true },
		{ "POST /services/drain", true },
		{ "POST /services/nosuch/x", true },	/* a route, even so */
		{ "POST /haproxy/save-state", true },
		{ "GET /services/web/drain", false },
		{ "PUT /services/web/drain", false },
		{ "POST /status", false },
		{ "POST /metrics", false },
		{ "POST /services/", false },
		{ "POST /", false },
		{ "POST /web", false },
	};
	struct http_req	 req;
	char		*head;
	size_t		 i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		head = xasprintf("%s HTTP/1.1\r\n\r\n", cases[i].req);
		assert_int_equal(http_parse_head(head, strlen(head),
		    HTTP_MAX_HEAD, &req), HTTP_PARSE_OK);
		if (admin_is_post(&req) != cases[i].post)
			fail_msg("admin_is_post(%s) != %d", cases[i].req,
			    cases[i].post);
		free(head);
	}
}

/* GET /events: since and wait checked; a long-poll is left to the caller
 * (wait_ms) only while there is nothing newer to say. */
static void
test_events_route(void **state)
{
	static const struct {
		const char	*req;
		int		 code;
		int64_t		 wait_ms;	/* a long-poll to hold */
		const char	*body;		/* its start */
	} cases[] = {
		{ "GET /events", 200, 0, "[{\"seq\":1," },
		{ "GET /events?since=1", 200, 0, "[{\"seq\":2," },
		{ "GET /events?since=2", 200, 0, "[]\n" },
		{ "GET /events?since=2&wait=30s", 200, 30000, "" },
		{ "GET /events?wait=250ms&since=2", 200, 250, "" },
		{ "GET /events?since=1&wait=30s", 200, 0, "[{\"seq\":2," },
		{ "GET /events?since=2&wait=0s", 200, 0, "[]\n" },
		/* A number from another run (larger than any here): all. */
		{ "GET /events?since=99", 200, 0, "[{\"seq\":1," },
		{ "HEAD /events?since=2&wait=30s", 200, 0, "[]\n" },
		{ "GET /events?since=-1", 400, 0, "since=-1: not an event's "
		  "sequence number (0 or more)\n" },
		{ "GET /events?since=", 400, 0, "since=: not an event's" },
		{ "GET /events?since=1x", 400, 0, "since=1x: not" },
		{ "GET /events?since=99999999999999999999", 400, 0,
		  "since=99999999999999999999: not" },
		{ "GET /events?wait=61s", 400, 0, "wait=61s: not a duration "
		  "from 0s to 60s (such as 30s)\n" },
		{ "GET /events?wait=30", 400, 0, "wait=30: not a duration" },
		{ "GET /events?wait", 400, 0, "wait=: not a duration" },
		{ "GET /events?follow=1", 400, 0, "unknown parameter "
		  "\"follow\" (since, wait)\n" },
		{ "POST /events", 405, 0, "method not allowed\n" },
	};
	struct event	e = { .kind = EV_TRANSITION };
	struct rec	r;
	struct result	res;
	size_t		i;

	rec_init(&r);
	snprintf(e.service, sizeof(e.service), "web");
	snprintf(e.from, sizeof(e.from), "up");
	snprintf(e.to, sizeof(e.to), "down");
	(void)events_add(evs, &e);
	e.kind = EV_OVERRIDE;
	snprintf(e.by, sizeof(e.by), "deploy");
	(void)events_add(evs, &e);
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		route(&r, NULL, cases[i].req, NULL, &res);
		assert_true(res.handled);
		if (res.ans.code != cases[i].code ||
		    res.ans.wait_ms != cases[i].wait_ms ||
		    strncmp(res.ans.body.data != NULL ? res.ans.body.data : "",
		    cases[i].body, strlen(cases[i].body)) != 0)
			fail_msg("%s: got %d wait %lld \"%s\"", cases[i].req,
			    res.ans.code, (long long)res.ans.wait_ms,
			    res.ans.body.data != NULL ? res.ans.body.data : "");
		if (cases[i].wait_ms > 0)
			assert_int_equal(res.ans.since, 2);
		result_free(&res);
	}
	vf_free(&r.x);
}

static int
events_setup(void **state)
{
	evs = events_new();
	return 0;
}

static int
events_teardown(void **state)
{
	events_free(evs);
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_routes),
		cmocka_unit_test(test_events_route),
		cmocka_unit_test(test_long_service_name),
		cmocka_unit_test(test_status_and_metrics_bodies),
		cmocka_unit_test(test_save_state),
		cmocka_unit_test(test_token),
		cmocka_unit_test(test_is_post),
	};

	return cmocka_run_group_tests(tests, events_setup, events_teardown);
}
