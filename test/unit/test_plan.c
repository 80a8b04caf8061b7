/*
 * test_plan.c: what a config asks HAProxy for. agent/plan.c turns the
 * services' conditions into a poll plan (which backends, which with their
 * server rows); checks/source_cli.c turns a plan into the CLI line.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "conf.h"
#include "hacli.h"
#include "plan.h"
#include "source.h"

/* ---- helpers ---------------------------------------------------------- */

static struct conf *
load(const char *text)
{
	struct conf_errors	 errs = { 0 };
	struct conf		*c;
	size_t			 i;

	c = conf_load_string("test.json", text, NULL, &errs);
	for (i = 0; i < errs.n; i++)
		print_error("%s\n", errs.msgs[i]);
	assert_int_equal(errs.n, 0);
	assert_non_null(c);
	conf_errors_free(&errs);
	return c;
}

/* The plan's targets, rendered "name:servers,..." in plan order. */
static void
targets_str(const struct poll_plan *p, char *buf, size_t len)
{
	size_t	i, o = 0;

	buf[0] = '\0';
	for (i = 0; i < p->ntargets; i++)
		o += (size_t)snprintf(buf + o, len - o, "%s%s:%d", i ? "," : "",
		    p->targets[i].backend, p->targets[i].servers);
}

/* Build the plan of text and check it. */
static void
check_plan(const char *text, const char *want_targets, bool all,
    bool all_servers)
{
	struct conf		*c = load(text);
	struct poll_plan	 p;
	char			 got[512];

	plan_build(c, &p);
	targets_str(&p, got, sizeof(got));
	assert_string_equal(got, want_targets);
	assert_int_equal(p.all, all);
	assert_int_equal(p.all_servers, all_servers);
	plan_free(&p);
	assert_null(p.targets);
	assert_int_equal(p.ntargets, 0);
	conf_free(c);
}

#define STATS	"\"haproxy\": { \"stats\": \"unix:/tmp/hw-no.sock\" }, "
#define HTTP	"\"listen\": [ { \"http\": \"127.0.0.1:8080\", " \
		"\"paths\": { \"/\": \"web\" } } ]"

/* ---- plan_build ------------------------------------------------------- */

static void
test_plan_backends(void **state)
{
	/* Config order, each backend once; nbsrv alone needs no server rows. */
	check_plan("{ " STATS "\"services\": {"
	    " \"web\": { \"require\": [ { \"backend\": \"webapp\" },"
	    "   { \"backend\": \"static\", \"min\": 2 } ] },"
	    " \"api\": { \"require\": [ { \"backend\": \"api\" },"
	    "   { \"backend\": \"webapp\", \"min\": 3 } ] } }, " HTTP " }",
	    "webapp:0,static:0,api:0", false, false);
}

static void
test_plan_min_percent(void **state)
{
	/* min_percent needs the server rows; a duplicate merges and keeps
	 * the need, whichever condition comes first. */
	check_plan("{ " STATS "\"services\": {"
	    " \"web\": { \"require\": [ { \"backend\": \"webapp\" },"
	    "   { \"backend\": \"static\", \"min_percent\": 50 } ] },"
	    " \"api\": { \"require\": [ { \"backend\": \"webapp\","
	    "   \"min_percent\": 10 }, { \"backend\": \"static\" } ] } }, "
	    HTTP " }",
	    "webapp:1,static:1", false, false);
}

static void
test_plan_checks_ignored(void **state)
{
	check_plan("{ " STATS "\"checks\": { \"db\": { \"tcp\": \"127.0.0.1:1\" } },"
	    " \"services\": {"
	    " \"web\": { \"require\": [ { \"check\": \"db\" },"
	    "   { \"backend\": \"webapp\" } ] } }, " HTTP " }",
	    "webapp:0", false, false);
	/* Checks only: nothing to ask but "show info". */
	check_plan("{ " STATS "\"checks\": { \"db\": { \"tcp\": \"127.0.0.1:1\" } },"
	    " \"services\": {"
	    " \"web\": { \"require\": [ { \"check\": \"db\" } ] } }, " HTTP " }",
	    "", false, false);
}

static void
test_plan_agent_weighs(void **state)
{
	/* An agent listener for "web" weighting by capacity: web's backends
	 * need server rows, api's do not. */
	check_plan("{ " STATS "\"services\": {"
	    " \"web\": { \"require\": [ { \"backend\": \"webapp\" } ] },"
	    " \"api\": { \"require\": [ { \"backend\": \"api\" } ] } },"
	    " \"listen\": [ { \"agent\": \"127.0.0.1:9707\","
	    "   \"service\": \"web\" } ] }",
	    "webapp:1,api:0", false, false);
	/* A fixed weight reads no capacity. */
	check_plan("{ " STATS "\"services\": {"
	    " \"web\": { \"require\": [ { \"backend\": \"webapp\" } ] },"
	    " \"api\": { \"require\": [ { \"backend\": \"api\" } ] } },"
	    " \"listen\": [ { \"agent\": \"127.0.0.1:9707\","
	    "   \"service\": \"web\", \"weight\": 100 } ] }",
	    "webapp:0,api:0", false, false);
	/* Without "service" the agent-send line may name any service. */
	check_plan("{ " STATS "\"services\": {"
	    " \"web\": { \"require\": [ { \"backend\": \"webapp\" } ] },"
	    " \"api\": { \"require\": [ { \"backend\": \"api\" } ] } },"
	    " \"listen\": [ { \"agent\": \"127.0.0.1:9707\" } ] }",
	    "webapp:1,api:1", false, false);
	/* A tcp listener weighs nothing. */
	check_plan("{ " STATS "\"services\": {"
	    " \"web\": { \"require\": [ { \"backend\": \"webapp\" } ] } },"
	    " \"listen\": [ { \"tcp\": \"127.0.0.1:9707\","
	    "   \"service\": \"web\" } ] }",
	    "webapp:0", false, false);
}

static void
test_plan_all_backends(void **state)
{
	check_plan("{ " STATS "\"services\": {"
	    " \"web\": { \"require\": [ { \"backend\": \"*\" } ] } }, " HTTP " }",
	    "", true, false);
	check_plan("{ " STATS "\"services\": {"
	    " \"web\": { \"require\": [ { \"backend\": \"*\","
	    "   \"min_percent\": 50 } ] } }, " HTTP " }",
	    "", true, true);
	/* With "*", one named backend that needs its servers means every
	 * server row (one "show stat -1 6 -1" serves both). */
	check_plan("{ " STATS "\"services\": {"
	    " \"web\": { \"require\": [ { \"backend\": \"*\" } ] },"
	    " \"api\": { \"require\": [ { \"backend\": \"api\","
	    "   \"min_percent\": 50 } ] } }, " HTTP " }",
	    "api:1", true, true);
	check_plan("{ " STATS "\"services\": {"
	    " \"web\": { \"require\": [ { \"backend\": \"*\" } ] },"
	    " \"api\": { \"require\": [ { \"backend\": \"api\" } ] } }, "
	    HTTP " }",
	    "api:0", true, false);
}

static void
test_plan_names_point_into_conf(void **state)
{
	struct conf		*c;
	struct poll_plan	 p;

	c = load("{ " STATS "\"services\": {"
	    " \"web\": { \"require\": [ { \"backend\": \"webapp\" } ] } }, "
	    HTTP " }");
	plan_build(c, &p);
	assert_int_equal(p.ntargets, 1);
	assert_ptr_equal(p.targets[0].backend, c->services[0].conds[0].name);
	plan_free(&p);
	conf_free(c);
}

/* ---- source_cli_build_line ------------------------------------------- */

static size_t
line(const struct poll_plan *p, struct sbuf *b, bool *targeted)
{
	struct cli_shape	shape;

	/* Whatever was in the buffer goes. */
	sbuf_puts(b, "garbage;");
	source_cli_build_line(p, b, &shape);
	*targeted = shape.targeted;
	assert_int_equal(shape.nfe, p->nfrontends);
	return shape.nstat;
}

static void
test_line_targeted(void **state)
{
	struct poll_target	t[] = { { "webapp", false }, { "static", true } };
	struct poll_plan	p = { .targets = t, .ntargets = 2 };
	struct sbuf		b = { 0 };
	bool			targeted = false;

	assert_int_equal(line(&p, &b, &targeted), 2);
	assert_true(targeted);
	assert_string_equal(b.data,
	    "show info;show stat webapp 2 -1;show stat static 6 -1");
	assert_int_equal(b.len, strlen(b.data));
	p.ntargets = 1;
	assert_int_equal(line(&p, &b, &targeted), 1);
	assert_true(targeted);
	assert_string_equal(b.data, "show info;show stat webapp 2 -1");
	sbuf_free(&b);
}

/* While a drain runs, its frontends' rows are asked for too, each by
 * name, after the backends; past HACLI_MAX_LINE the rest wait. */
static void
test_line_frontends(void **state)
{
	struct poll_target	 t[] = { { "webapp", false } };
	const char		*fe[] = { "fe_main", "fe_tls" };
	struct poll_plan	 p = { .targets = t, .ntargets = 1,
				    .frontends = fe, .nfrontends = 2 };
	struct sbuf		 b = { 0 };
	struct cli_shape	 shape;
	char			*big[200], name[64];
	bool			 targeted;
	size_t			 i;

	assert_int_equal(line(&p, &b, &targeted), 1);
	assert_true(targeted);
	assert_string_equal(b.data, "show info;show stat webapp 2 -1;"
	    "show stat fe_main 1 -1;show stat fe_tls 1 -1");
	p.all = true;
	assert_int_equal(line(&p, &b, &targeted), 1);
	assert_false(targeted);
	assert_string_equal(b.data, "show info;show stat -1 2 -1;"
	    "show stat fe_main 1 -1;show stat fe_tls 1 -1");
	/* 200 frontends of 60 bytes: as many as fit. */
	for (i = 0; i < 200; i++) {
		snprintf(name, sizeof(name), "fe_%056zu", i);
		big[i] = xstrdup(name);
	}
	p.frontends = (const char *const *)big;
	p.nfrontends = 200;
	source_cli_build_line(&p, &b, &shape);
	assert_true(b.len <= HACLI_MAX_LINE);
	assert_true(shape.nfe > 100 && shape.nfe < 200);
	assert_int_equal(b.len, strlen("show info;show stat -1 2 -1") +
	    shape.nfe * strlen(";show stat  1 -1") + shape.nfe * 59);
	for (i = 0; i < 200; i++)
		free(big[i]);
	sbuf_free(&b);
}

static void
test_line_all(void **state)
{
	struct poll_target	t[] = { { "webapp", false }, { "static", true } };
	struct poll_plan	p = { 0 };
	struct sbuf		b = { 0 };
	bool			targeted = true;

	/* Nothing named: every backend row (HAProxy's word on all). */
	assert_int_equal(line(&p, &b, &targeted), 1);
	assert_false(targeted);
	assert_string_equal(b.data, "show info;show stat -1 2 -1");
	p.all = true;
	targeted = true;
	assert_int_equal(line(&p, &b, &targeted), 1);
	assert_false(targeted);
	assert_string_equal(b.data, "show info;show stat -1 2 -1");
	p.all_servers = true;
	assert_int_equal(line(&p, &b, &targeted), 1);
	assert_string_equal(b.data, "show info;show stat -1 6 -1");
	/* "*" and named backends: one command; servers if any wants them. */
	p.all_servers = false;
	p.targets = t;
	p.ntargets = 1;
	assert_int_equal(line(&p, &b, &targeted), 1);
	assert_false(targeted);
	assert_string_equal(b.data, "show info;show stat -1 2 -1");
	p.ntargets = 2;
	assert_int_equal(line(&p, &b, &targeted), 1);
	assert_string_equal(b.data, "show info;show stat -1 6 -1");
	sbuf_free(&b);
}

/* n targets named "b0", "b1", ...; server rows for those with i % 3 == 0. */
static struct poll_target *
targets_n(size_t n, char ***names)
{
	struct poll_target	*t = xcalloc(n, sizeof(*t));
	size_t			 i;

	*names = xcalloc(n, sizeof(**names));
	for (i = 0; i < n; i++) {
		(*names)[i] = xasprintf("b%zu", i);
		t[i].backend = (*names)[i];
		t[i].servers = i % 3 == 0;
	}
	return t;
}

static void
names_free(char **names, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

static void
test_line_max_targeted(void **state)
{
	struct poll_plan	 p = { 0 };
	struct sbuf		 b = { 0 }, want = { 0 };
	char			**names;
	bool			 targeted;
	size_t			 i;

	p.targets = targets_n(POLL_MAX_TARGETED + 1, &names);
	p.ntargets = POLL_MAX_TARGETED;
	assert_int_equal(line(&p, &b, &targeted), POLL_MAX_TARGETED);
	assert_true(targeted);
	sbuf_puts(&want, "show info");
	for (i = 0; i < POLL_MAX_TARGETED; i++)
		sbuf_printf(&want, ";show stat b%zu %d -1", i, i % 3 == 0 ? 6 : 2);
	assert_string_equal(b.data, want.data);
	/* One more: a single command for every backend, with server rows
	 * since some target wants them. */
	p.ntargets = POLL_MAX_TARGETED + 1;
	assert_int_equal(line(&p, &b, &targeted), 1);
	assert_false(targeted);
	assert_string_equal(b.data, "show info;show stat -1 6 -1");
	/* The same without any server rows wanted. */
	for (i = 0; i < p.ntargets; i++)
		p.targets[i].servers = false;
	assert_int_equal(line(&p, &b, &targeted), 1);
	assert_string_equal(b.data, "show info;show stat -1 2 -1");
	names_free(names, p.ntargets);
	free(p.targets);
	sbuf_free(&b);
	sbuf_free(&want);
}

/*
 * Three targets whose names make the targeted line exactly total bytes:
 * "show info" (9) + 3 x (";show stat " (11) + name + " 2 -1" (5)).
 */
static void
line_of_len(size_t total, struct sbuf *b, bool *targeted, size_t *nstat)
{
	char			*n[3];
	struct poll_target	 t[3];
	struct poll_plan	 p = { .targets = t, .ntargets = 3 };
	size_t			 each = (total - 9) / 3 - 16, last, i;

	last = total - 9 - 2 * (each + 16) - 16;
	for (i = 0; i < 3; i++) {
		size_t l = i < 2 ? each : last;

		n[i] = xmalloc(l + 1);
		memset(n[i], 'a' + (int)i, l);
		n[i][l] = '\0';
		t[i].backend = n[i];
		t[i].servers = false;
	}
	*nstat = line(&p, b, targeted);
	for (i = 0; i < 3; i++)
		free(n[i]);
}

static void
test_line_max_bytes(void **state)
{
	struct sbuf	b = { 0 };
	bool		targeted;
	size_t		nstat;

	line_of_len(HACLI_MAX_LINE, &b, &targeted, &nstat);
	assert_true(targeted);
	assert_int_equal(nstat, 3);
	assert_int_equal(b.len, HACLI_MAX_LINE);
	assert_int_equal(strlen(b.data), HACLI_MAX_LINE);
	line_of_len(HACLI_MAX_LINE + 1, &b, &targeted, &nstat);
	assert_false(targeted);
	assert_int_equal(nstat, 1);
	assert_string_equal(b.data, "show info;show stat -1 2 -1");
	sbuf_free(&b);
}

/* From the config to the line, as the daemon does it. */
static void
test_conf_to_line(void **state)
{
	struct conf		*c;
	struct poll_plan	 p;
	struct sbuf		 b = { 0 };
	bool			 targeted;

	c = load("{ " STATS "\"services\": {"
	    " \"web\": { \"require\": [ { \"backend\": \"webapp\" },"
	    "   { \"backend\": \"static\", \"min_percent\": 50 } ] },"
	    " \"api\": { \"require\": [ { \"backend\": \"webapp\" } ] } }, "
	    HTTP " }");
	plan_build(c, &p);
	assert_int_equal(line(&p, &b, &targeted), 2);
	assert_true(targeted);
	assert_string_equal(b.data,
	    "show info;show stat webapp 2 -1;show stat static 6 -1");
	plan_free(&p);
	conf_free(c);
	sbuf_free(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plan_backends),
		cmocka_unit_test(test_plan_min_percent),
		cmocka_unit_test(test_plan_checks_ignored),
		cmocka_unit_test(test_plan_agent_weighs),
		cmocka_unit_test(test_plan_all_backends),
		cmocka_unit_test(test_plan_names_point_into_conf),
		cmocka_unit_test(test_line_targeted),
		cmocka_unit_test(test_line_all),
		cmocka_unit_test(test_line_frontends),
		cmocka_unit_test(test_line_max_targeted),
		cmocka_unit_test(test_line_max_bytes),
		cmocka_unit_test(test_conf_to_line),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
