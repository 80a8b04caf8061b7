/*
 * test_http_responder.c: what agent/http_responder.c answers, without
 * sockets: requests go through http_process() on a connection that has
 * no socket, and the answers it appends are compared byte for byte.
 * Health paths (each state, codes, GET/HEAD, HTTP/1.0 and 1.1 keep-alive,
 * the answer cache and its version), 404 and 405, bad requests (400,
 * 413, 431, 505), pipelining, partial input, admin routes on an admin
 * listener (a POST with a body, 401), the PROXY header, and which
 * listeners want to listen (close_when_down). The services are those of
 * view_fixture.h.
 *
 * It includes http_responder.c to reach http_process().
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "view_fixture.h"
#include "http_responder.c"

/* ---- a responder without sockets ------------------------------------------ */

struct world {
	struct vfix		 x;
	struct conf_path	 paths[4];
	struct conf_listen	 c;
	struct responder_env	 env;
	struct http_responder	*hr;
	int			 overrides;
};

static char p_web[] = "/web", p_first[] = "/first", p_be[] = "/be",
	    p_peer[] = "/peer", tok[] = "t0k";

static void
w_view(void *arg, struct view *v)
{
	*v = ((struct world *)arg)->x.v;
}

static int
w_override(void *arg, size_t idx, const struct override_req *rq, char *msg,
    size_t msglen)
{
	struct world	*w = arg;

	w->overrides++;
	snprintf(msg, msglen, "%s %s", idx == CONF_NONE ? "all services" :
	    w->x.conf->services[idx].name, svc_override_name(rq->o));
	return 200;
}

static bool
w_save_state(void *arg, uint64_t *seq)
{
	return false;
}

static const struct admin_ops w_ops = { w_view, w_override, w_save_state };

/* Services of view_fixture.h: web 0 (up), first 1 (down), be 3 (drain),
 * peer 4 (down, starting). */
static void
world_init(struct world *w)
{
	static const struct conf_path	paths[] = {
		{ p_web, 0 }, { p_first, 1 }, { p_be, 3 }, { p_peer, 4 },
	};

	memset(w, 0, sizeof(*w));
	vf_init(&w->x);
	memcpy(w->paths, paths, sizeof(paths));
	w->c.kind = LISTEN_HTTP;
	w->c.paths = w->paths;
	w->c.npaths = ARRAY_SIZE(paths);
	w->c.codes[SVC_UP] = 200;
	w->c.codes[SVC_DOWN] = 503;
	w->c.codes[SVC_DRAIN] = 429;
	w->c.codes[SVC_MAINT] = 503;
	w->env.base = w->x.base;
	w->env.metrics = w->x.metrics;
	w->env.probers = w->x.probers;
	w->env.conf = w->x.conf;
	w->env.svcs = w->x.svcs;
	w->env.admin = &w_ops;
	w->env.admin_arg = w;
	w->hr = http_make(&w->c, &w->env);
}

static void
world_free(struct world *w)
{
	http_free(w->hr);
	vf_free(&w->x);
}

struct reply {
	char	*out;
	size_t	 used;
	bool	 closing;
	bool	 unread;
};

/* Feed in to a new connection; what it answers. */
static void
feed(struct world *w, const char *in, size_t len, struct reply *r)
{
	struct hconn	c;
	struct sbuf	out = { 0 };

	memset(&c, 0, sizeof(c));
	c.r = w->hr;
	c.lc.fd = -1;
	c.pp_pending = w->c.accept_proxy;
	r->used = http_process(&c, in, len, &out);
	r->out = out.data != NULL ? out.data : xstrdup("");
	r->closing = c.closing;
	r->unread = c.unread;
}

/* The whole answer to one request, which must be used whole. */
static char *
ask(struct world *w, const char *in)
{
	struct reply	r;

	feed(w, in, strlen(in), &r);
	assert_int_equal(r.used, strlen(in));
	return r.out;
}

/* "HTTP/1.1 <code> <reason>" and the usual headers, then body. */
static char *
answer(const char *status, const char *extra, const char *conn,
    const char *body, bool head)
{
	return xasprintf("HTTP/1.1 %s\r\nContent-Type: text/plain\r\n"
	    "Content-Length: %zu\r\nCache-Control: no-store\r\n%s%s\r\n%s",
	    status, strlen(body), extra, conn, head ? "" : body);
}

static void
assert_answer(struct world *w, const char *in, const char *status,
    const char *extra, const char *conn, const char *body, bool head)
{
	char	*got = ask(w, in), *want = answer(status, extra, conn, body, head);

	assert_string_equal(got, want);
	free(got);
	free(want);
}

/* How many answers with this code /metrics counts. */
static long
http_count(struct world *w, int code)
{
	struct sbuf	 page = { 0 };
	char		*key = xasprintf("\nhapwatch_http_requests_total{code=\"%d\"} ",
			    code);
	const char	*at;
	long		 n;

	metrics_render(&w->x.v, &page);
	at = strstr(page.data, key);
	assert_non_null(at);
	n = strtol(at + strlen(key), NULL, 10);
	free(key);
	sbuf_free(&page);
	return n;
}

#define FEED(w, s, r)	feed((w), (s), strlen(s), (r))

/* ---- tests ------------------------------------------------------------------ */

static void
test_health(void **state)
{
	struct world	w;

	world_init(&w);
	assert_answer(&w, "GET /web HTTP/1.1\r\nHost: h\r\n\r\n", "200 OK", "",
	    "", "up all conditions hold\n", false);
	assert_answer(&w, "GET /first HTTP/1.1\r\n\r\n", "503 Service Unavailable",
	    "", "", "down bk_first: 1 usable servers, need 2\n", false);
	/* drain has its own code here. */
	assert_answer(&w, "GET /be HTTP/1.1\r\n\r\n", "429 Too Many Requests", "", "",
	    "drain drained by operator\n", false);
	assert_answer(&w, "GET /peer HTTP/1.1\r\n\r\n", "503 Service Unavailable",
	    "", "", "down starting\n", false);
	/* HEAD: the same head, Content-Length of the body it does not send. */
	assert_answer(&w, "HEAD /web HTTP/1.1\r\n\r\n", "200 OK", "", "",
	    "up all conditions hold\n", true);
	/* The query is not part of the path. */
	assert_answer(&w, "GET /web?elb=1 HTTP/1.1\r\n\r\n", "200 OK", "", "",
	    "up all conditions hold\n", false);
	world_free(&w);
}

static void
test_connection_modes(void **state)
{
	struct world	w;
	struct reply	r;

	world_init(&w);
	/* HTTP/1.0 closes unless asked to keep alive. */
	FEED(&w, "GET /web HTTP/1.0\r\n\r\n", &r);
	assert_true(r.closing);
	assert_non_null(strstr(r.out, "\r\nConnection: close\r\n\r\n"));
	free(r.out);
	assert_answer(&w, "GET /web HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
	    "200 OK", "", "Connection: keep-alive\r\n",
	    "up all conditions hold\n", false);
	assert_answer(&w, "GET /web HTTP/1.1\r\nConnection: close\r\n\r\n",
	    "200 OK", "", "Connection: close\r\n", "up all conditions hold\n",
	    false);
	/* Each mode from the cache, as rendered the first time. */
	assert_answer(&w, "HEAD /web HTTP/1.1\r\nConnection: close\r\n\r\n",
	    "200 OK", "", "Connection: close\r\n", "up all conditions hold\n",
	    true);
	world_free(&w);
}

static void
test_cache_follows_version(void **state)
{
	struct world	 w;
	struct svc	*web;

	world_init(&w);
	web = &w.x.svcs[0];
	assert_answer(&w, "GET /web HTTP/1.1\r\n\r\n", "200 OK", "", "",
	    "up all conditions hold\n", false);
	/* A change the service did not announce (no new version): the
	 * rendered answer is replayed. */
	web->state = SVC_DOWN;
	snprintf(web->reason, sizeof(web->reason), "webapp: gone");
	assert_answer(&w, "GET /web HTTP/1.1\r\n\r\n", "200 OK", "", "",
	    "up all conditions hold\n", false);
	/* Announced: rendered anew, for every mode. */
	web->version++;
	assert_answer(&w, "GET /web HTTP/1.1\r\n\r\n", "503 Service Unavailable",
	    "", "", "down webapp: gone\n", false);
	assert_answer(&w, "HEAD /web HTTP/1.0\r\n\r\n", "503 Service Unavailable",
	    "", "Connection: close\r\n", "down webapp: gone\n", true);
	world_free(&w);
}

static void
test_not_found_and_methods(void **state)
{
	struct world	w;
	long		n404, n405;

	world_init(&w);
	n404 = http_count(&w, 404);
	n405 = http_count(&w, 405);
	assert_answer(&w, "GET /nothing HTTP/1.1\r\n\r\n", "404 Not Found", "",
	    "", "not found\n", false);
	assert_answer(&w, "HEAD /nothing HTTP/1.1\r\n\r\n", "404 Not Found", "",
	    "", "not found\n", true);
	/* Admin routes exist only on admin listeners. */
	assert_answer(&w, "GET /status HTTP/1.1\r\n\r\n", "404 Not Found", "", "",
	    "not found\n", false);
	assert_answer(&w, "POST /web HTTP/1.1\r\n\r\n", "405 Method Not Allowed",
	    "Allow: GET, HEAD\r\n", "", "method not allowed\n", false);
	assert_answer(&w, "DELETE /web HTTP/1.1\r\n\r\n",
	    "405 Method Not Allowed", "Allow: GET, HEAD\r\n", "",
	    "method not allowed\n", false);
	/* Counted by code. */
	assert_int_equal(http_count(&w, 404), n404 + 3);
	assert_int_equal(http_count(&w, 405), n405 + 2);
	world_free(&w);
}

struct bad_case {
	const char	*in;
	const char	*status;
	const char	*body;
};

static void
test_bad_requests(void **state)
{
	static const struct bad_case	cases[] = {
		{ "GET /web HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\n"
		    "Content-Length: 2\r\n\r\n", "400 Bad Request",
		    "bad request\n" },
		{ "GET /web HTTP/2.0\r\n\r\n", "505 HTTP Version Not Supported",
		    "HTTP/1.0 or HTTP/1.1 only\n" },
		{ "GET /web HTTP/1.1\r\nContent-Length: 2\r\n\r\nhi",
		    "413 Content Too Large", "no request body allowed here\n" },
		{ "GET /web HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n",
		    "413 Content Too Large", "no request body allowed here\n" },
		/* Admin routes take a body only on admin listeners. */
		{ "POST /services/drain HTTP/1.1\r\nContent-Length: 2\r\n\r\nhi",
		    "413 Content Too Large", "no request body allowed here\n" },
	};
	struct world	 w;
	struct reply	 r;
	char		*big, *want;
	size_t		 i;

	world_init(&w);
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		feed(&w, cases[i].in, strlen(cases[i].in), &r);
		want = answer(cases[i].status, "", "Connection: close\r\n",
		    cases[i].body, false);
		assert_string_equal(r.out, want);
		assert_true(r.closing);
		assert_true(r.unread);
		assert_int_equal(r.used, strlen(cases[i].in));
		free(want);
		free(r.out);
	}
	/* A head past 8 KiB with no end in sight: 431. */
	big = xcalloc(1, HTTP_MAX_HEAD + 64);
	snprintf(big, HTTP_MAX_HEAD + 64, "GET /web HTTP/1.1\r\nX: ");
	memset(big + strlen(big), 'x', HTTP_MAX_HEAD);
	feed(&w, big, strlen(big), &r);
	assert_non_null(strstr(r.out, "HTTP/1.1 431 "));
	assert_true(r.closing);
	free(r.out);
	free(big);
	world_free(&w);
}

static void
test_pipelining_and_partial(void **state)
{
	static const char	two[] = "GET /web HTTP/1.1\r\n\r\n"
				    "HEAD /first HTTP/1.1\r\n\r\nGET /w";
	struct world		w;
	struct reply		r;
	char			*a, *b;

	world_init(&w);
	/* Nothing complete yet: nothing used, nothing answered. */
	FEED(&w, "GET /web HTTP/1.1\r\nHost:", &r);
	assert_int_equal(r.used, 0);
	assert_string_equal(r.out, "");
	assert_false(r.closing);
	free(r.out);
	/* Two requests and the start of a third: two answers, in order. */
	feed(&w, two, strlen(two), &r);
	assert_int_equal(r.used, strlen(two) - strlen("GET /w"));
	a = answer("200 OK", "", "", "up all conditions hold\n", false);
	b = answer("503 Service Unavailable", "", "",
	    "down bk_first: 1 usable servers, need 2\n", true);
	assert_memory_equal(r.out, a, strlen(a));
	assert_string_equal(r.out + strlen(a), b);
	free(a);
	free(b);
	free(r.out);
	/* Connection: close stops at the first. */
	FEED(&w, "GET /web HTTP/1.1\r\nConnection: close\r\n\r\n"
	    "GET /web HTTP/1.1\r\n\r\n", &r);
	assert_true(r.closing);
	assert_int_equal(r.used,
	    strlen("GET /web HTTP/1.1\r\nConnection: close\r\n\r\n"));
	assert_null(strstr(r.out + 1, "HTTP/1.1 200"));
	free(r.out);
	world_free(&w);
}

static void
test_admin_listener(void **state)
{
	struct world	 w;
	struct reply	 r;
	uint64_t	 auth;
	static const char post[] = "POST /services/web/drain HTTP/1.1\r\n"
			    "Authorization: Bearer t0k\r\nContent-Length: 10\r\n\r\n"
			    "{\"by\":\"t\"}";

	world_init(&w);
	w.c.admin = true;
	w.c.token = tok;
	/* Health paths still work, without the token. */
	assert_answer(&w, "GET /web HTTP/1.1\r\n\r\n", "200 OK", "", "",
	    "up all conditions hold\n", false);
	/* An admin POST may carry a small body; it waits for all of it. */
	feed(&w, post, strlen(post) - 2, &r);
	assert_int_equal(r.used, 0);
	assert_int_equal(w.overrides, 0);
	free(r.out);
	assert_answer(&w, post, "200 OK", "", "", "web drain\n", false);
	assert_int_equal(w.overrides, 1);
	/* No token: 401, counted as an auth error. */
	auth = metrics_conn_errors(w.x.metrics, CONN_ERR_AUTH);
	assert_answer(&w, "POST /services/web/drain HTTP/1.1\r\n\r\n",
	    "401 Unauthorized", "WWW-Authenticate: Bearer\r\n", "",
	    "unauthorized\n", false);
	assert_int_equal(metrics_conn_errors(w.x.metrics, CONN_ERR_AUTH),
	    auth + 1);
	assert_int_equal(w.overrides, 1);
	/* /status: JSON, with its own Content-Type. */
	r.out = ask(&w, "GET /status HTTP/1.1\r\nAuthorization: Bearer t0k\r\n"
	    "\r\n");
	assert_non_null(strstr(r.out, "HTTP/1.1 200 OK\r\n"
	    "Content-Type: application/json\r\n"));
	free(r.out);
	/* A body over 4 KiB is refused even there. */
	FEED(&w, "POST /services/drain HTTP/1.1\r\nContent-Length: 4097\r\n\r\n",
	    &r);
	assert_non_null(strstr(r.out, "HTTP/1.1 413 "));
	free(r.out);
	world_free(&w);
}

static void
test_proxy_header(void **state)
{
	struct world	 w;
	struct reply	 r;
	static const char v1[] = "PROXY TCP4 10.0.0.1 10.0.0.2 40000 8080\r\n"
			    "GET /web HTTP/1.1\r\n\r\n";

	world_init(&w);
	w.c.accept_proxy = true;
	r.out = ask(&w, v1);
	assert_non_null(strstr(r.out, "HTTP/1.1 200 OK\r\n"));
	free(r.out);
	/* Only the header so far: wait. */
	feed(&w, v1, 20, &r);
	assert_int_equal(r.used, 0);
	free(r.out);
	/* Not a PROXY header: closed without an answer, counted. */
	assert_int_equal(metrics_conn_errors(w.x.metrics, CONN_ERR_PROXY), 0);
	FEED(&w, "GET /web HTTP/1.1\r\n\r\n", &r);
	assert_true(r.closing);
	assert_string_equal(r.out, "");
	assert_int_equal(metrics_conn_errors(w.x.metrics, CONN_ERR_PROXY), 1);
	free(r.out);
	world_free(&w);
}

static void
test_wanted(void **state)
{
	struct world	w;

	world_init(&w);
	assert_true(http_wanted(w.hr));
	/* close_when_down: listen while one of its services is up. */
	w.c.close_when_down = true;
	assert_true(http_wanted(w.hr));		/* web is up */
	w.x.svcs[0].state = SVC_DRAIN;
	assert_false(http_wanted(w.hr));	/* first down, be drain, ... */
	w.x.svcs[3].state = SVC_UP;
	assert_true(http_wanted(w.hr));
	w.c.npaths = 1;				/* only /web */
	assert_false(http_wanted(w.hr));
	world_free(&w);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_health),
		cmocka_unit_test(test_connection_modes),
		cmocka_unit_test(test_cache_follows_version),
		cmocka_unit_test(test_not_found_and_methods),
		cmocka_unit_test(test_bad_requests),
		cmocka_unit_test(test_pipelining_and_partial),
		cmocka_unit_test(test_admin_listener),
		cmocka_unit_test(test_proxy_header),
		cmocka_unit_test(test_wanted),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
