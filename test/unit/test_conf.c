/*
 * test_conf.c: agent/conf*.c, the config loader.
 *
 * test/conf/bad-*.json: each file starts with one line per error the
 * loader must report, in the order it must report them, and no more:
 *
 *   // expect: services.web.require[1]: unknown key "min_precent" (...)
 *
 * The message is written without its file prefix; the test adds the path
 * it passed to conf_load() and ": ". Syntax errors carry a position right
 * after the path ("PATH:3:7: ..."), so their expectation starts with ':'
 * and gets the path alone: "// expect: :3:7: expected ':'". The expect
 * lines come first in the file (they are JSON comments, so the file still
 * parses up to its mistake), and count in the line numbers.
 *
 * test/conf/good-*.json must load without error; each has its own test of
 * the fields it exists for.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <errno.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "conf.h"
#include "conf_int.h"
#include "service.h"

#define CONF_DIR	TEST_DATA_DIR "/conf"
#define GOOD(f)		CONF_DIR "/good-" f ".json"
#define ANNOTATED	TEST_DATA_DIR "/../conf/hapwatch.json"
#define EXPECT		"// expect: "

/* ---- helpers ---------------------------------------------------------- */

static struct conf *
load_ok(const char *path, const struct conf_overrides *ov)
{
	struct conf_errors	 errs = { 0 };
	struct conf		*c;
	size_t			 i;

	c = conf_load(path, ov, &errs);
	for (i = 0; i < errs.n; i++)
		print_error("%s\n", errs.msgs[i]);
	assert_int_equal(errs.n, 0);
	assert_non_null(c);
	conf_errors_free(&errs);
	return c;
}

static struct conf *
load_str_ok(const char *text, const struct conf_overrides *ov)
{
	struct conf_errors	 errs = { 0 };
	struct conf		*c;
	size_t			 i;

	c = conf_load_string("test.json", text, ov, &errs);
	for (i = 0; i < errs.n; i++)
		print_error("%s\n", errs.msgs[i]);
	assert_int_equal(errs.n, 0);
	assert_non_null(c);
	conf_errors_free(&errs);
	return c;
}

/* Load text, which must fail with exactly the errors given (NULL-ended),
 * each prefixed with "test.json: ". */
static void
load_str_fails(const char *text, const struct conf_overrides *ov, ...)
{
	struct conf_errors	 errs = { 0 };
	struct conf		*c;
	const char		*want;
	char			*full;
	size_t			 i = 0;
	va_list			 ap;

	c = conf_load_string("test.json", text, ov, &errs);
	assert_null(c);
	va_start(ap, ov);
	while ((want = va_arg(ap, const char *)) != NULL) {
		full = xasprintf("test.json: %s", want);
		if (i >= errs.n)
			fail_msg("missing error: %s", full);
		assert_string_equal(errs.msgs[i], full);
		free(full);
		i++;
	}
	va_end(ap);
	for (; i < errs.n; i++)
		fail_msg("unexpected error: %s", errs.msgs[i]);
	conf_errors_free(&errs);
}

/* One service "web" and whatever else; for small inline configs. */
#define SVC	"\"services\": { \"web\": { \"require\": " \
		"[ { \"backend\": \"webapp\" } ] } }"

/* ---- bad files -------------------------------------------------------- */

/* The "// expect: " lines at the top of path, each made a full message. */
static size_t
read_expects(const char *path, char ***out)
{
	char	 line[1024], **exp = NULL;
	size_t	 n = 0, len;
	FILE	*f = fopen(path, "r");

	assert_non_null(f);
	while (fgets(line, sizeof(line), f) != NULL &&
	    strncmp(line, EXPECT, strlen(EXPECT)) == 0) {
		len = strcspn(line, "\n");
		line[len] = '\0';
		exp = xrealloc(exp, (n + 1) * sizeof(char *));
		exp[n++] = xasprintf("%s%s%s", path,
		    line[strlen(EXPECT)] == ':' ? "" : ": ",
		    line + strlen(EXPECT));
	}
	fclose(f);
	*out = exp;
	return n;
}

/* Compare one bad file's errors with its expectations; print every
 * difference. Returns the number of expected errors, or 0 on mismatch. */
static size_t
check_bad_file(const char *path)
{
	struct conf_errors	 errs = { 0 };
	struct conf		*c;
	char			**exp;
	size_t			  nexp, i;
	bool			  ok;

	nexp = read_expects(path, &exp);
	c = conf_load(path, NULL, &errs);
	ok = c == NULL && nexp > 0 && errs.n == nexp;
	for (i = 0; i < nexp && i < errs.n; i++)
		ok = ok && strcmp(exp[i], errs.msgs[i]) == 0;
	if (!ok) {
		print_error("%s:\n", path);
		for (i = 0; i < nexp; i++)
			print_error("  expected: %s\n", exp[i]);
		for (i = 0; i < errs.n; i++)
			print_error("  got:      %s\n", errs.msgs[i]);
		if (nexp == 0)
			print_error("  (no \"" EXPECT "\" line at the top)\n");
	}
	for (i = 0; i < nexp; i++)
		free(exp[i]);
	free(exp);
	conf_errors_free(&errs);
	conf_free(c);
	return ok ? nexp : 0;
}

static void
test_bad_files(void **state)
{
	glob_t	g;
	size_t	i, n, failed = 0, most = 0;

	assert_int_equal(glob(CONF_DIR "/bad-*.json", 0, NULL, &g), 0);
	assert_true(g.gl_pathc >= 20);
	for (i = 0; i < g.gl_pathc; i++) {
		if ((n = check_bad_file(g.gl_pathv[i])) == 0)
			failed++;
		most = n > most ? n : most;
	}
	globfree(&g);
	assert_int_equal(failed, 0);
	/* Some file proves that every error is reported, not the first. */
	assert_true(most >= 5);
}

static void
test_good_files_load(void **state)
{
	glob_t	 g;
	size_t	 i;

	assert_int_equal(glob(CONF_DIR "/good-*.json", 0, NULL, &g), 0);
	assert_true(g.gl_pathc >= 6);
	for (i = 0; i < g.gl_pathc; i++) {
		print_message("loading %s\n", g.gl_pathv[i]);
		conf_free(load_ok(g.gl_pathv[i], NULL));
	}
	globfree(&g);
}

/* ---- good files ------------------------------------------------------- */

static void
test_good_minimal(void **state)
{
	struct conf	*c = load_ok(GOOD("minimal"), NULL);

	assert_string_equal(c->file, GOOD("minimal"));
	assert_int_equal(c->nservices, 1);
	assert_string_equal(c->services[0].name, "web");
	assert_int_equal(c->services[0].nconds, 1);
	assert_int_equal(c->services[0].conds[0].kind, COND_BACKEND);
	assert_string_equal(c->services[0].conds[0].name, "webapp");
	assert_int_equal(c->services[0].conds[0].min, 1);
	assert_int_equal(c->services[0].conds[0].min_percent, -1);
	assert_int_equal(c->services[0].conds[0].check, CONF_NONE);
	assert_int_equal(c->nlistens, 1);
	assert_int_equal(c->listens[0].kind, LISTEN_HTTP);
	assert_string_equal(c->listens[0].address, "0.0.0.0:8080");
	assert_string_equal(c->listens[0].addr.text, "0.0.0.0:8080");
	assert_int_equal(c->listens[0].npaths, 1);
	assert_string_equal(c->listens[0].paths[0].path, "/haproxy_status");
	assert_int_equal(c->listens[0].paths[0].svc, 0);
	assert_int_equal(c->nchecks, 0);
	assert_int_equal(c->nfrontends, 0);
	assert_int_equal(c->nnotifies, 0);
	assert_int_equal(c->haproxy.stats_kind, STATS_UNIX);
	conf_free(c);
}

static void
test_good_elb(void **state)
{
	struct conf		*c = load_ok(GOOD("elb"), NULL);
	struct conf_haproxy	*h = &c->haproxy;
	struct conf_service	*s = &c->services[0];
	struct conf_listen	*l = c->listens;

	assert_int_equal(h->interval, 2000);
	assert_int_equal(h->timeout, 1000);
	assert_int_equal(h->grace, 15000);
	assert_int_equal(h->settle, 10000);
	assert_string_equal(h->log_listen, "udp:127.0.0.1:5140");
	assert_string_equal(h->log_addr.text, "127.0.0.1:5140");
	assert_string_equal(h->state_file, "/var/lib/haproxy/server-state");
	assert_int_equal(h->state_file_interval, 60000);
	assert_int_equal(s->conds[0].min, -1);
	assert_int_equal(s->conds[0].min_percent, 50);
	assert_false(s->conds[0].allbackups);
	assert_int_equal(s->conds[1].min, 1);
	assert_int_equal(s->conds[1].min_percent, -1);
	assert_true(s->conds[1].allbackups);
	assert_int_equal(s->up_after, 2000);
	assert_int_equal(s->down_after, 500);
	assert_int_equal(c->nlistens, 3);
	assert_int_equal(l[0].npaths, 2);
	assert_string_equal(l[0].paths[1].path, "/health");
	assert_int_equal(l[0].codes[SVC_UP], 200);
	assert_int_equal(l[0].codes[SVC_DRAIN], 429);
	assert_int_equal(l[0].max_connections, 256);
	assert_true(l[1].admin);
	assert_int_equal(l[1].addr.family, AF_UNIX);
	assert_null(l[1].token);
	assert_string_equal(l[2].token, "s3cr3t-t0ken");
	conf_free(c);
}

static void
test_good_agent_tier(void **state)
{
	struct conf		*c = load_ok(GOOD("agent-tier"), NULL);
	struct conf_listen	*l = c->listens;

	assert_int_equal(c->haproxy.stats_kind, STATS_TCP);
	assert_string_equal(c->haproxy.stats_addr.text, "127.0.0.1:9999");
	assert_int_equal(c->services[0].conds[1].min, 2);
	assert_int_equal(c->services[0].conds[1].min_percent, 50);
	assert_int_equal(l[0].kind, LISTEN_AGENT);
	assert_int_equal(l[0].svc, CONF_NONE);
	assert_int_equal(l[0].weight, 0);
	assert_false(l[0].admin_words);
	assert_int_equal(l[1].svc, 1);
	assert_int_equal(l[1].weight, 100);
	assert_true(l[1].admin_words);
	assert_int_equal(l[1].addr.family, AF_INET6);
	assert_string_equal(l[2].addr.text, "0.0.0.0:9709");
	assert_int_equal(l[2].svc, 0);
	assert_int_equal(l[2].max_connections, 64);
	conf_free(c);
}

static void
test_good_nlb_tcp(void **state)
{
	struct conf		*c = load_ok(GOOD("nlb-tcp"), NULL);
	struct conf_listen	*l = c->listens;

	assert_int_equal(c->services[0].conds[0].kind, COND_ALL_BACKENDS);
	assert_string_equal(c->services[0].conds[0].name, "*");
	assert_int_equal(c->services[0].down_after, 1000);
	assert_int_equal(l[0].kind, LISTEN_TCP);
	assert_int_equal(l[0].svc, 0);
	assert_true(l[0].accept_proxy);
	assert_int_equal(l[1].kind, LISTEN_HTTP);
	assert_true(l[1].close_when_down);
	assert_true(l[1].accept_proxy);
	assert_false(l[1].admin);
	conf_free(c);
}

static void
test_good_frontends(void **state)
{
	struct conf	*c = load_ok(GOOD("frontends"), NULL);

	assert_int_equal(c->nlistens, 0);
	assert_int_equal(c->nfrontends, 2);
	assert_string_equal(c->frontends[0].name, "fe_main");
	assert_int_equal(c->frontends[0].svc, 0);
	assert_string_equal(c->frontends[1].name, "fe-tls:443");
	conf_free(c);
}

static void
test_good_checks_notify(void **state)
{
	struct conf		*c = load_ok(GOOD("checks-notify"), NULL);
	struct conf_check	*ch = c->checks;
	struct conf_notify	*n = c->notifies;

	assert_int_equal(c->nchecks, 3);
	assert_int_equal(ch[0].kind, CHECK_HTTP);
	assert_string_equal(ch[0].target,
	    "http://10.0.0.12:8080/haproxy_status");
	assert_int_equal(ch[0].nexpect, 2);
	assert_int_equal(ch[0].expect[1], 204);
	assert_int_equal(ch[0].nheaders, 2);
	assert_string_equal(ch[0].headers[0].name, "Host");
	assert_string_equal(ch[0].headers[0].value, "peer.example.com");
	assert_false(ch[0].tls_verify);
	assert_int_equal(ch[0].interval, 10000);
	assert_int_equal(ch[0].timeout, 3000);
	assert_int_equal(ch[1].kind, CHECK_TCP);
	assert_string_equal(ch[1].addr.text, "10.0.0.20:5432");
	assert_int_equal(ch[2].kind, CHECK_EXEC);
	assert_string_equal(ch[2].target, "/usr/local/bin/check-disk");
	assert_string_equal(ch[2].argv[1], "/var");
	assert_null(ch[2].argv[2]);
	assert_int_equal(c->services[0].conds[1].kind, COND_CHECK);
	assert_int_equal(c->services[0].conds[1].check, 1);
	assert_int_equal(c->services[0].conds[1].min, -1);
	assert_int_equal(c->services[1].conds[1].check, 2);
	assert_int_equal(c->services[1].up_after, 30000);
	assert_int_equal(c->nnotifies, 4);
	assert_int_equal(n[0].kind, NOTIFY_WEBHOOK);
	assert_int_equal(n[0].nsvcs, 1);
	assert_int_equal(n[0].timeout, 10000);
	assert_true(n[0].tls_verify);
	assert_int_equal(n[1].kind, NOTIFY_EXEC);
	assert_int_equal(n[1].svcs[1], 1);
	assert_int_equal(n[1].timeout, 60000);
	assert_string_equal(n[1].argv[1], "--verbose");
	assert_int_equal(n[2].kind, NOTIFY_TRACK_FILE);
	assert_string_equal(n[2].target, "/run/hapwatch/web.track");
	assert_null(n[3].svcs);
	assert_int_equal(n[3].nsvcs, 0);
	assert_int_equal(n[3].timeout, 2000);
	assert_false(n[3].tls_verify);
	conf_free(c);
}

/* ---- the default ------------------------------------------------------ */

static void
check_default(const struct conf *c)
{
	const struct conf_haproxy	*h = &c->haproxy;
	const struct conf_listen	*l = c->listens;

	assert_string_equal(h->stats, "unix:/run/haproxy/admin.sock");
	assert_int_equal(h->stats_kind, STATS_UNIX);
	assert_string_equal(h->stats_addr.text, "unix:/run/haproxy/admin.sock");
	assert_int_equal(h->interval, 1000);
	assert_int_equal(h->timeout, 500);
	assert_int_equal(h->grace, 10000);
	assert_int_equal(h->settle, 5000);
	assert_null(h->log_listen);
	assert_null(h->state_file);
	assert_int_equal(h->state_file_interval, 30000);
	assert_int_equal(c->nservices, 1);
	assert_string_equal(c->services[0].name, "default");
	assert_int_equal(c->services[0].nconds, 1);
	assert_int_equal(c->services[0].conds[0].kind, COND_ALL_BACKENDS);
	assert_int_equal(c->services[0].conds[0].min, 1);
	assert_int_equal(c->nlistens, 3);
	assert_int_equal(l[0].kind, LISTEN_HTTP);
	assert_string_equal(l[0].address, "0.0.0.0:8080");
	assert_string_equal(l[0].paths[0].path, "/haproxy_status");
	assert_int_equal(l[1].kind, LISTEN_AGENT);
	assert_string_equal(l[1].address, "0.0.0.0:9707");
	assert_int_equal(l[1].svc, 0);
	assert_int_equal(l[2].kind, LISTEN_HTTP);
	assert_true(l[2].admin);
	assert_string_equal(l[2].address, "unix:/run/hapwatch/admin.sock");
	assert_int_equal(c->nchecks + c->nfrontends + c->nnotifies, 0);
}

static void
test_builtin_default(void **state)
{
	struct conf	*c;

	c = load_str_ok(conf_default_text(), NULL);
	check_default(c);
	conf_free(c);
	if (access(CONF_DEFAULT_PATH, F_OK) == 0)
		skip();		/* this machine has a real config */
	c = load_ok(NULL, NULL);
	assert_null(c->file);
	check_default(c);
	conf_free(c);
}

static void
assert_listen_equal(const struct conf_listen *a, const struct conf_listen *b)
{
	size_t	i;

	assert_int_equal(a->kind, b->kind);
	assert_string_equal(a->address, b->address);
	assert_true(addr_equal(&a->addr, &b->addr));
	assert_int_equal(a->npaths, b->npaths);
	for (i = 0; i < a->npaths; i++) {
		assert_string_equal(a->paths[i].path, b->paths[i].path);
		assert_int_equal(a->paths[i].svc, b->paths[i].svc);
	}
	assert_int_equal(a->admin, b->admin);
	assert_true((a->token == NULL) == (b->token == NULL));
	assert_memory_equal(a->codes, b->codes, sizeof(a->codes));
	assert_int_equal(a->close_when_down, b->close_when_down);
	assert_int_equal(a->accept_proxy, b->accept_proxy);
	assert_int_equal(a->max_connections, b->max_connections);
	assert_int_equal(a->svc, b->svc);
	assert_int_equal(a->weight, b->weight);
	assert_int_equal(a->admin_words, b->admin_words);
}

static void
assert_service_equal(const struct conf_service *a,
    const struct conf_service *b)
{
	size_t	i;

	assert_string_equal(a->name, b->name);
	assert_int_equal(a->up_after, b->up_after);
	assert_int_equal(a->down_after, b->down_after);
	assert_int_equal(a->nconds, b->nconds);
	for (i = 0; i < a->nconds; i++) {
		assert_int_equal(a->conds[i].kind, b->conds[i].kind);
		assert_string_equal(a->conds[i].name, b->conds[i].name);
		assert_int_equal(a->conds[i].min, b->conds[i].min);
		assert_int_equal(a->conds[i].min_percent,
		    b->conds[i].min_percent);
		assert_int_equal(a->conds[i].allbackups,
		    b->conds[i].allbackups);
		assert_int_equal(a->conds[i].check, b->conds[i].check);
	}
}

/* conf/hapwatch.json writes out every default: it must mean the same. */
static void
test_annotated_default(void **state)
{
	struct conf	*a = load_ok(ANNOTATED, NULL);
	struct conf	*b = load_str_ok(conf_default_text(), NULL);
	size_t		 i;

	check_default(a);
	assert_string_equal(a->haproxy.stats, b->haproxy.stats);
	assert_true(addr_equal(&a->haproxy.stats_addr, &b->haproxy.stats_addr));
	assert_int_equal(a->haproxy.interval, b->haproxy.interval);
	assert_int_equal(a->haproxy.timeout, b->haproxy.timeout);
	assert_int_equal(a->haproxy.grace, b->haproxy.grace);
	assert_int_equal(a->haproxy.settle, b->haproxy.settle);
	assert_int_equal(a->haproxy.state_file_interval,
	    b->haproxy.state_file_interval);
	assert_string_equal(a->haproxy.master, b->haproxy.master);
	assert_true(addr_equal(&a->haproxy.master_addr,
	    &b->haproxy.master_addr));
	assert_int_equal(a->nservices, b->nservices);
	for (i = 0; i < a->nservices; i++)
		assert_service_equal(&a->services[i], &b->services[i]);
	assert_int_equal(a->nlistens, b->nlistens);
	for (i = 0; i < a->nlistens; i++)
		assert_listen_equal(&a->listens[i], &b->listens[i]);
	assert_int_equal(a->nchecks, b->nchecks);
	assert_int_equal(a->nfrontends, b->nfrontends);
	assert_int_equal(a->nnotifies, b->nnotifies);
	conf_free(a);
	conf_free(b);
}

/* Every optional key absent: the documented defaults. */
static void
test_field_defaults(void **state)
{
	struct conf	*c = load_str_ok("{" SVC ","
	    "\"checks\": { \"h\": { \"http\": \"https://x.example/\" },"
	    "  \"t\": { \"tcp\": \"127.0.0.1:1\" },"
	    "  \"e\": { \"exec\": [\"/bin/true\"] } },"
	    "\"listen\": [ { \"http\": \"127.0.0.1:1\","
	    "  \"paths\": {\"/\": \"web\"} },"
	    "  { \"agent\": \"127.0.0.1:2\" }, { \"tcp\": \"127.0.0.1:3\","
	    "  \"service\": \"web\" } ],"
	    "\"notify\": [ { \"webhook\": \"http://x/\" },"
	    "  { \"exec\": [\"/x\"] },"
	    "  { \"track_file\": \"/x\" } ] }", NULL);
	struct conf_check	*ch = c->checks;
	struct conf_listen	*l = c->listens;
	struct conf_notify	*n = c->notifies;
	size_t			 i;

	for (i = 0; i < 3; i++) {
		assert_int_equal(ch[i].interval, 2000);
		assert_int_equal(ch[i].timeout, 1000);
		assert_int_equal(ch[i].rise, 2);
		assert_int_equal(ch[i].fall, 3);
		assert_int_equal(l[i].max_connections, 4096);
		assert_false(l[i].accept_proxy);
	}
	assert_int_equal(ch[0].nexpect, 1);
	assert_int_equal(ch[0].expect[0], 200);
	assert_int_equal(ch[0].nheaders, 0);
	assert_true(ch[0].tls_verify);
	assert_null(ch[1].expect);
	assert_null(ch[1].argv);
	assert_string_equal(ch[1].target, "127.0.0.1:1");
	assert_null(ch[2].argv[1]);
	assert_int_equal(l[0].codes[SVC_UP], 200);
	assert_int_equal(l[0].codes[SVC_DOWN], 503);
	assert_int_equal(l[0].codes[SVC_DRAIN], 503);
	assert_int_equal(l[0].codes[SVC_MAINT], 503);
	assert_false(l[0].admin);
	assert_false(l[0].close_when_down);
	assert_null(l[0].token);
	assert_int_equal(l[1].svc, CONF_NONE);
	assert_int_equal(l[1].weight, 0);
	assert_false(l[1].admin_words);
	assert_int_equal(n[0].timeout, 10000);
	assert_true(n[0].tls_verify);
	assert_int_equal(n[1].timeout, 30000);
	assert_null(n[2].svcs);
	assert_null(n[2].argv);
	conf_free(c);
}

/* ---- quick options ---------------------------------------------------- */

static void
test_override_stats(void **state)
{
	struct conf_overrides	 ov = { .stats = "tcp:127.0.0.1:9999" };
	struct conf		*c = load_str_ok(conf_default_text(), &ov);

	assert_string_equal(c->haproxy.stats, "tcp:127.0.0.1:9999");
	assert_int_equal(c->haproxy.stats_kind, STATS_TCP);
	conf_free(c);
	ov.stats = "https://127.0.0.1:8404/stats;csv";
	c = load_str_ok("{" SVC "}", &ov);
	assert_int_equal(c->haproxy.stats_kind, STATS_HTTP);
	assert_string_equal(c->haproxy.stats, ov.stats);
	conf_free(c);
}

static void
test_override_http(void **state)
{
	struct conf_overrides	 ov = { .http = "127.0.0.1:18080" };
	struct conf		*c = load_str_ok(conf_default_text(), &ov);

	/* The first non-admin http listener moves. */
	assert_int_equal(c->nlistens, 3);
	assert_string_equal(c->listens[0].address, "127.0.0.1:18080");
	assert_string_equal(c->listens[2].address,
	    "unix:/run/hapwatch/admin.sock");
	conf_free(c);
	/* None (only an admin one): one is appended for the first service. */
	c = load_str_ok("{ \"services\": { \"b\": { \"require\": [ {"
	    "\"backend\": \"x\" } ] }, \"a\": { \"require\": [ {"
	    "\"backend\": \"y\" } ] } }, \"listen\": [ { \"http\": "
	    "\"127.0.0.1:1\", \"admin\": true } ] }", &ov);
	assert_int_equal(c->nlistens, 2);
	assert_int_equal(c->listens[1].kind, LISTEN_HTTP);
	assert_string_equal(c->listens[1].address, "127.0.0.1:18080");
	assert_int_equal(c->listens[1].npaths, 1);
	assert_string_equal(c->listens[1].paths[0].path, "/haproxy_status");
	assert_int_equal(c->listens[1].paths[0].svc, 0);
	conf_free(c);
	/* No "listen" at all. */
	c = load_str_ok("{" SVC "}", &ov);
	assert_int_equal(c->nlistens, 1);
	assert_string_equal(c->listens[0].address, "127.0.0.1:18080");
	conf_free(c);
}

static void
test_override_agent(void **state)
{
	struct conf_overrides	 ov = { .agent = "127.0.0.1:19707" };
	struct conf		*c = load_str_ok(conf_default_text(), &ov);

	assert_int_equal(c->nlistens, 3);
	assert_int_equal(c->listens[1].kind, LISTEN_AGENT);
	assert_string_equal(c->listens[1].address, "127.0.0.1:19707");
	conf_free(c);
	c = load_str_ok("{" SVC "}", &ov);
	assert_int_equal(c->nlistens, 1);
	assert_int_equal(c->listens[0].kind, LISTEN_AGENT);
	assert_int_equal(c->listens[0].svc, 0);
	conf_free(c);
}

static void
test_override_backends(void **state)
{
	const char		*be[] = { "webapp", "api" };
	struct conf_overrides	 ov = { .backends = be, .nbackends = 2 };
	struct conf		*c = load_str_ok(conf_default_text(), &ov);
	struct conf_service	*s = &c->services[0];

	assert_int_equal(s->nconds, 2);
	assert_int_equal(s->conds[0].kind, COND_BACKEND);
	assert_string_equal(s->conds[0].name, "webapp");
	assert_int_equal(s->conds[0].min, 1);
	assert_string_equal(s->conds[1].name, "api");
	conf_free(c);
}

static void
test_override_errors(void **state)
{
	const char		*be[] = { "ok", "bad name", "x;y" };
	struct conf_overrides	 ov = {
		.stats = "/run/haproxy.sock",
		.http = "0.0.0.0:99999",
		.agent = "0.0.0.0:8080",
		.backends = be, .nbackends = 3,
	};
	struct conf_errors	 errs = { 0 };

	load_str_fails(conf_default_text(), &ov,
	    "--stats: \"/run/haproxy.sock\" must start with unix:, tcp:, "
	    "http:// or https://",
	    "--backend: invalid backend name \"bad name\" (use 1 to 127 "
	    "letters, digits, \"_\", \".\", \":\" or \"-\", or \"*\" for all)",
	    "--backend: invalid backend name \"x;y\" (use 1 to 127 letters, "
	    "digits, \"_\", \".\", \":\" or \"-\", or \"*\" for all)",
	    "--http: invalid address \"0.0.0.0:99999\": port must be 1 to "
	    "65535",
	    NULL);
	/* An appended listener is the option's, whole. */
	ov = (struct conf_overrides){ .http = "127.0.0.1:8080",
	    .agent = "127.0.0.1:8080" };
	load_str_fails("{" SVC "}", &ov,
	    "--agent: address 127.0.0.1:8080 is already used by listen[0]",
	    NULL);
	/* The built-in default is named so. */
	ov = (struct conf_overrides){ .http = "nowhere" };
	assert_null(conf_load(access(CONF_DEFAULT_PATH, F_OK) == 0 ?
	    "/nonexistent" : NULL, &ov, &errs));
	assert_int_equal(errs.n, 1);
	if (access(CONF_DEFAULT_PATH, F_OK) != 0)
		assert_string_equal(errs.msgs[0], "(built-in default): --http: "
		    "invalid address \"nowhere\": expected HOST:PORT");
	conf_errors_free(&errs);
}

/* ---- values ----------------------------------------------------------- */

/* haproxy.KEY: VALUE must load (or fail with MSG). */
static void
try_haproxy(const char *key, const char *value, const char *msg)
{
	char	*text = xasprintf("{ \"haproxy\": { \"%s\": \"%s\" }, " SVC
	    " }", key, value);
	char	*full;

	if (msg == NULL)
		conf_free(load_str_ok(text, NULL));
	else {
		full = xasprintf("haproxy.%s: \"%s\" %s", key, value, msg);
		load_str_fails(text, NULL, full, NULL);
		free(full);
	}
	free(text);
}

static void
test_duration_bounds(void **state)
{
	const char	*iv = "is out of range (10ms to 1h)";
	const char	*z = "is out of range (0s to 1h)";
	struct conf	*c;

	try_haproxy("interval", "10ms", NULL);
	try_haproxy("interval", "9ms", iv);
	try_haproxy("interval", "1h", NULL);
	try_haproxy("interval", "60m", NULL);
	try_haproxy("interval", "3600000ms", NULL);
	try_haproxy("interval", "3600001ms", iv);
	try_haproxy("interval", "61m", iv);
	try_haproxy("interval", "0s", iv);
	try_haproxy("timeout", "10ms", NULL);
	try_haproxy("grace", "0s", NULL);
	try_haproxy("grace", "0ms", NULL);
	try_haproxy("settle", "1h", NULL);
	try_haproxy("settle", "2h", z);
	try_haproxy("state_file_interval", "1s", NULL);
	try_haproxy("state_file_interval", "999ms", "is out of range "
	    "(1s to 1h)");
	try_haproxy("interval", "1.5s", "is not a duration (a whole number "
	    "and a unit: ms, s, m or h, like \"1s\")");
	try_haproxy("interval", "", "is not a duration (a whole number "
	    "and a unit: ms, s, m or h, like \"1s\")");
	try_haproxy("interval", "1S", "is not a duration (a whole number "
	    "and a unit: ms, s, m or h, like \"1s\")");
	try_haproxy("interval", "99999999999999999999s", iv);
	c = load_str_ok("{ \"haproxy\": { \"interval\": \"250ms\","
	    "\"timeout\": \"2m\" }, " SVC " }", NULL);
	assert_int_equal(c->haproxy.interval, 250);
	assert_int_equal(c->haproxy.timeout, 120000);
	conf_free(c);
}

static void
test_integers(void **state)
{
	struct conf	*c;

	c = load_str_ok("{ \"services\": { \"w\": { \"require\": [ {"
	    "\"backend\": \"b\", \"min\": 0 }, { \"backend\": \"b\","
	    "\"min\": 100000, \"min_percent\": 100 } ] } } }", NULL);
	assert_int_equal(c->services[0].conds[0].min, 0);
	assert_int_equal(c->services[0].conds[1].min, 100000);
	assert_int_equal(c->services[0].conds[1].min_percent, 100);
	conf_free(c);
	load_str_fails("{ \"services\": { \"w\": { \"require\": [ {"
	    "\"backend\": \"b\", \"min\": 99999999999999999999 },"
	    "{ \"backend\": \"b\", \"min\": 1e3 } ] } } }", NULL,
	    "services.w.require[0].min: 18446744073709551615 is out of "
	    "range (0 to 100000)",
	    "services.w.require[1].min: expected an integer", NULL);
}

static void
test_syntax(void **state)
{
	struct conf_errors	 errs = { 0 };

	assert_null(conf_load_string("x", "{\n  \"services\" {}\n}", NULL,
	    &errs));
	assert_int_equal(errs.n, 1);
	assert_string_equal(errs.msgs[0], "x:2:14: expected ':'");
	conf_errors_free(&errs);
	assert_null(conf_load_string("x", "", NULL, &errs));
	assert_string_equal(errs.msgs[0], "x:1:1: unexpected end of file");
	conf_errors_free(&errs);
	assert_null(conf_load_string("x", "{} {}", NULL, &errs));
	assert_string_equal(errs.msgs[0],
	    "x:1:4: unexpected text after the top-level object");
	conf_errors_free(&errs);
	assert_null(conf_load_string("x", "\"str\"", NULL, &errs));
	assert_string_equal(errs.msgs[0],
	    "x: expected an object at the top level");
	conf_errors_free(&errs);
	assert_null(conf_load_string("x", "{ \"a\": tru }", NULL, &errs));
	assert_string_equal(errs.msgs[0],
	    "x:1:11: invalid literal (expected true or false)");
	conf_errors_free(&errs);
	/* Comments anywhere, a last one without its newline, and a NUL. */
	conf_free(load_str_ok("/* a */ { // b\n" SVC " /* c */ } // d",
	    NULL));
	load_str_fails("{ \"services\": { \"w\": { \"require\": [ {"
	    "\"backend\": \"a\\u0000b\" } ] } } }", NULL,
	    "services.w.require[0].backend: a NUL character is not allowed "
	    "here", NULL);
}

/* Keys written twice in one object: json-c would keep the last silently. */
static void
test_duplicate_keys(void **state)
{
	struct conf_errors	 errs = { 0 };

	(void)state;
	/* Equal keys in different objects, keys as values, in strings and in
	 * comments are not duplicates. */
	conf_free(load_str_ok("{ \"services\": {\n"
	    "  \"web\": { \"require\": [ { \"backend\": \"a\" },\n"
	    "    { \"backend\": \"b\" } ] },\n"
	    "  \"api\": { \"require\": [ { \"backend\": \"web\" } ] } },\n"
	    "  // \"services\": {}\n"
	    "  /* \"services\", { */\n"
	    "  \"listen\": [ { \"http\": \"127.0.0.1:1\", \"paths\": {\n"
	    "    \"/services\": \"web\", \"/a\\\"{,\": \"web\" } },\n"
	    "    { \"http\": \"127.0.0.1:2\", \"paths\": {\n"
	    "    \"/services\": \"api\" } } ] }", NULL));
	/* In an array's object, with single quotes, and the first of three
	 * named by both others. */
	assert_null(conf_load_string("x", "{ " SVC ",\n"
	    "  'frontends': { \"fe\": \"web\", 'fe': \"web\",\n"
	    "  \"fe\": \"web\" },\n"
	    "  \"listen\": [ { \"agent\": \"127.0.0.1:1\", \"service\": \"web\",\n"
	    "    \"agent\": \"127.0.0.1:2\" } ],\n"
	    "  \"frontends\": {} }", NULL, &errs));
	assert_int_equal(errs.n, 4);
	assert_string_equal(errs.msgs[0], "x:2:31: duplicate key \"fe\": the "
	    "first is at 2:18, and only one can count");
	assert_string_equal(errs.msgs[1], "x:3:3: duplicate key \"fe\": the "
	    "first is at 2:18, and only one can count");
	assert_string_equal(errs.msgs[2], "x:5:5: duplicate key \"agent\": the "
	    "first is at 4:17, and only one can count");
	assert_string_equal(errs.msgs[3], "x:6:3: duplicate key \"frontends\": "
	    "the first is at 2:3, and only one can count");
	conf_errors_free(&errs);
}

static void
test_cannot_read(void **state)
{
	struct conf_errors	 errs = { 0 };
	char			*want;

	assert_null(conf_load(CONF_DIR "/nonexistent.json", NULL, &errs));
	assert_int_equal(errs.n, 1);
	want = xasprintf("%s: cannot read: %s", CONF_DIR "/nonexistent.json",
	    strerror(ENOENT));
	assert_string_equal(errs.msgs[0], want);
	free(want);
	conf_errors_free(&errs);
	assert_null(conf_load(CONF_DIR, NULL, &errs));
	assert_int_equal(errs.n, 1);
	conf_errors_free(&errs);
	/* No error list: still NULL, nothing leaks. */
	assert_null(conf_load(CONF_DIR "/nonexistent.json", NULL, NULL));
	assert_null(conf_load_string("x", "{", NULL, NULL));
}

static void
test_did_you_mean(void **state)
{
	const char *const keys[] = { "interval", "timeout", "min",
	    "min_percent", "http", "tcp", "exec", "up_after" };
	size_t	n = sizeof(keys) / sizeof(keys[0]);

	assert_string_equal(conf_suggest("intervall", keys, n), "interval");
	assert_string_equal(conf_suggest("itnerval", keys, n), "interval");
	assert_string_equal(conf_suggest("intrvl", keys, n), "interval");
	assert_null(conf_suggest("intv", keys, n));
	assert_string_equal(conf_suggest("min_precent", keys, n),
	    "min_percent");
	assert_string_equal(conf_suggest("upafter", keys, n), "up_after");
	assert_string_equal(conf_suggest("htp", keys, n), "http");
	assert_string_equal(conf_suggest("tpc", keys, n), "tcp");
	assert_null(conf_suggest("hxxp", keys, n));
	assert_null(conf_suggest("ex", keys, n));
	assert_null(conf_suggest("colour", keys, n));
	/* Closest wins; ties go to the first. */
	assert_string_equal(conf_suggest("mim", keys, n), "min");
	assert_string_equal(conf_suggest("tc", keys, n), "tcp");
	assert_null(conf_suggest("x", keys, 0));
}

static void
test_misc(void **state)
{
	struct conf	*c = load_str_ok(conf_default_text(), NULL);

	assert_int_equal(conf_service_index(c, "default"), 0);
	assert_int_equal(conf_service_index(c, "nope"), CONF_NONE);
	assert_string_equal(svc_state_name(SVC_UP), "up");
	assert_string_equal(svc_state_name(SVC_DOWN), "down");
	assert_string_equal(svc_state_name(SVC_DRAIN), "drain");
	assert_string_equal(svc_state_name(SVC_MAINT), "maint");
	conf_free(c);
	conf_free(NULL);
	conf_errors_free(NULL);
}

/* Agent mode: HAProxy is watched only when something needs its word. */
static void
test_watches_haproxy(void **state)
{
	static const struct {
		const char	*services;
		const char	*extra;
		bool		 watched;
	} cases[] = {
		{ "\"a\": {\"require\": [{\"check\": \"c\"}]}", "", false },
		{ "\"a\": {\"require\": [{\"any\": [{\"check\": \"c\"},"
		  " {\"at_least\": 1, \"of\": [{\"check\": \"c\"}]}]}]}", "",
		  false },
		{ "\"a\": {\"require\": [{\"any\": [{\"check\": \"c\"},"
		  " {\"at_least\": 1, \"of\": [{\"backend\": \"b\"}]}]}]}", "",
		  true },
		{ "\"a\": {\"require\": [{\"haproxy\": \"alive\"}]}", "", true },
		{ "\"a\": {\"require\": [{\"check\": \"c\"}],"
		  " \"drain_frontends\": [\"fe\"]}", "", true },
		{ "\"a\": {\"require\": [{\"check\": \"c\"}]}",
		  ", \"frontends\": {\"fe\": \"a\"}", true },
	};
	struct conf	*c;
	char		 text[1024];
	size_t		 i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		snprintf(text, sizeof(text), "{\"checks\": {\"c\": {\"tcp\": "
		    "\"127.0.0.1:1\"}}, \"services\": {%s}%s}", cases[i].services,
		    cases[i].extra);
		c = load_str_ok(text, NULL);
		if (conf_watches_haproxy(c) != cases[i].watched)
			fail_msg("case %zu: %s", i, text);
		conf_free(c);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bad_files),
		cmocka_unit_test(test_good_files_load),
		cmocka_unit_test(test_good_minimal),
		cmocka_unit_test(test_good_elb),
		cmocka_unit_test(test_good_agent_tier),
		cmocka_unit_test(test_good_nlb_tcp),
		cmocka_unit_test(test_good_frontends),
		cmocka_unit_test(test_good_checks_notify),
		cmocka_unit_test(test_builtin_default),
		cmocka_unit_test(test_annotated_default),
		cmocka_unit_test(test_field_defaults),
		cmocka_unit_test(test_override_stats),
		cmocka_unit_test(test_override_http),
		cmocka_unit_test(test_override_agent),
		cmocka_unit_test(test_override_backends),
		cmocka_unit_test(test_override_errors),
		cmocka_unit_test(test_duration_bounds),
		cmocka_unit_test(test_integers),
		cmocka_unit_test(test_syntax),
		cmocka_unit_test(test_duplicate_keys),
		cmocka_unit_test(test_cannot_read),
		cmocka_unit_test(test_did_you_mean),
		cmocka_unit_test(test_misc),
		cmocka_unit_test(test_watches_haproxy),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
