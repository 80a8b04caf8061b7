/*
 * test_rules.c: rules across backends ("any", "at_least N of"), nested,
 * their reasons and capacity, and the degraded state, over configs
 * parsed as an operator writes them.
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
#include "service.h"
#include "util.h"

/* A backend as the stats show it: usable actives of configured ones. */
struct be {
	const char	*name;
	int		 usable;
	int		 servers;
};

/* Check states by index: 1 up, 0 down. */
struct world {
	struct conf		*conf;
	struct stats_snapshot	 snap;
	int			 checks[4];
};

static int
check_state(void *arg, size_t idx, const char **reason)
{
	struct world	*w = arg;

	*reason = w->checks[idx] ? NULL : "connection refused";
	return w->checks[idx];
}

static int
be_cmp(const void *a, const void *b)
{
	return strcmp(((const struct stats_backend *)a)->name,
	    ((const struct stats_backend *)b)->name);
}

/* The snapshot of bes (NULL-terminated), sorted as the parser leaves it. */
static void
world_snap(struct world *w, const struct be *bes)
{
	size_t	n = 0, i;

	while (bes[n].name != NULL)
		n++;
	memset(&w->snap, 0, sizeof(w->snap));
	w->snap.backends = xcalloc(n, sizeof(*w->snap.backends));
	w->snap.nbackends = w->snap.cap = n;
	for (i = 0; i < n; i++) {
		struct stats_backend *b = &w->snap.backends[i];

		b->name = xstrdup(bes[i].name);
		b->act = bes[i].usable;
		b->has_row = true;
		b->status_up = bes[i].usable > 0;
		b->has_servers = true;
		b->have_servers_rows = true;
		b->srv_active = bes[i].servers;
		b->srv_active_usable = bes[i].usable;
	}
	qsort(w->snap.backends, n, sizeof(*w->snap.backends), be_cmp);
}

static struct conf *
load(const char *svc_json)
{
	struct conf_errors	 errs = { 0 };
	struct conf		*c;
	char			 text[2048];

	snprintf(text, sizeof(text),
	    "{ \"checks\": { \"db\": { \"tcp\": \"127.0.0.1:1\" },"
	    "               \"mq\": { \"tcp\": \"127.0.0.1:2\" } },"
	    "  \"services\": { \"web\": %s },"
	    "  \"listen\": [ { \"agent\": \"127.0.0.1:9707\", "
	    "\"service\": \"web\" } ] }", svc_json);
	c = conf_load_string("test", text, NULL, &errs);
	if (c == NULL)
		fail_msg("config refused: %s", svc_json);
	conf_errors_free(&errs);
	return c;
}

/* Evaluate web once in w: its first verdict, taken at once. */
static void
judge(struct world *w, struct svc *s)
{
	struct svc_input	in = { 0 };
	int64_t			next = INT64_MAX;

	in.now = 1000;
	in.answered = true;
	in.stats_fresh = true;
	in.alive = true;
	in.snap = &w->snap;
	in.check_state = check_state;
	in.check_arg = w;
	svc_init(s, &w->conf->services[0]);
	(void)svc_evaluate(s, &in, &next);
}

static const struct be three_pools[] = {
	{ "pool_a", 0, 2 },	/* down */
	{ "pool_b", 1, 3 },	/* 33% */
	{ "pool_c", 3, 4 },	/* 75% */
	{ NULL, 0, 0 },
};

/* One case: a service, the world, what the service answers. */
struct rule_case {
	const char	*svc;
	int		 db, mq;	/* check states */
	enum svc_state	 state;
	int		 weight;
	const char	*reason;
};

static const struct rule_case cases[] = {
	/* any: one holding is enough; its capacity is the best one's. */
	{ "{\"require\": [ {\"any\": [ {\"backend\": \"pool_a\"},"
	  " {\"backend\": \"pool_b\"} ] } ] }", 1, 1,
	  SVC_UP, 33, "all conditions hold" },
	{ "{\"require\": [ {\"any\": [ {\"backend\": \"pool_a\"},"
	  " {\"check\": \"db\"} ] } ] }", 0, 1,
	  SVC_DOWN, 0, "any of: pool_a: 0 of 2 servers usable; db: "
	  "connection refused" },
	{ "{\"require\": [ {\"any\": [ {\"backend\": \"pool_b\"},"
	  " {\"backend\": \"pool_c\"} ] } ] }", 1, 1,
	  SVC_UP, 75, "all conditions hold" },
	/* A check that holds is a full path; one that fails is none. */
	{ "{\"require\": [ {\"any\": [ {\"backend\": \"pool_b\"},"
	  " {\"check\": \"db\"} ] } ] }", 1, 1,
	  SVC_UP, 100, "all conditions hold" },
	/* at_least: the N-th best capacity. */
	{ "{\"require\": [ {\"at_least\": 2, \"of\": [ {\"backend\": \"pool_a\"},"
	  " {\"backend\": \"pool_b\"}, {\"backend\": \"pool_c\"} ] } ] }", 1, 1,
	  SVC_UP, 33, "all conditions hold" },
	{ "{\"require\": [ {\"at_least\": 3, \"of\": [ {\"backend\": \"pool_a\"},"
	  " {\"backend\": \"pool_b\"}, {\"backend\": \"pool_c\"} ] } ] }", 1, 1,
	  SVC_DOWN, 0, "at least 3 of 3 (2 hold): pool_a: 0 of 2 servers "
	  "usable" },
	{ "{\"require\": [ {\"at_least\": 1, \"of\": [ {\"backend\": \"pool_a\"},"
	  " {\"backend\": \"pool_b\", \"min_percent\": 50} ] } ] }", 1, 1,
	  SVC_DOWN, 0, "at least 1 of 2 (0 hold): pool_a: 0 of 2 servers "
	  "usable; pool_b: 1 of 3 servers usable (33%, need 50%)" },
	/* Nested: at least 2 of (pool_c, any(pool_a, db), mq). */
	{ "{\"require\": [ {\"at_least\": 2, \"of\": [ {\"backend\": \"pool_c\"},"
	  " {\"any\": [ {\"backend\": \"pool_a\"}, {\"check\": \"db\"} ] },"
	  " {\"check\": \"mq\"} ] } ] }", 0, 0,
	  SVC_DOWN, 0, "at least 2 of 3 (1 holds): any of: pool_a: 0 of 2 "
	  "servers usable; db: connection refused; mq: connection refused" },
	{ "{\"require\": [ {\"at_least\": 2, \"of\": [ {\"backend\": \"pool_c\"},"
	  " {\"any\": [ {\"backend\": \"pool_a\"}, {\"check\": \"db\"} ] },"
	  " {\"check\": \"mq\"} ] } ] }", 1, 0,
	  SVC_UP, 75, "all conditions hold" },
	/* A rule of all: the smallest of its backends and combinators. */
	{ "{\"require\": [ {\"backend\": \"pool_c\"}, {\"any\": ["
	  " {\"backend\": \"pool_b\"}, {\"backend\": \"pool_a\"} ] } ] }", 1, 1,
	  SVC_UP, 33, "all conditions hold" },
	/* The first failing condition of the rule gives the reason. */
	{ "{\"require\": [ {\"backend\": \"pool_c\"}, {\"any\": ["
	  " {\"backend\": \"pool_a\"}, {\"backend\": \"nosuch\"} ] } ] }", 1, 1,
	  SVC_DOWN, 0, "any of: pool_a: 0 of 2 servers usable; nosuch: no "
	  "such backend" },
	/* A backend missing (fresh stats) is a condition that fails: 0, not
	 * an unknown that would freeze the weight. */
	{ "{\"require\": [ {\"at_least\": 2, \"of\": [ {\"backend\": \"pool_c\"},"
	  " {\"backend\": \"pool_b\"}, {\"backend\": \"nosuch\"} ] } ],"
	  " \"degraded_below\": 30 }", 1, 1, SVC_UP, 33, "all conditions hold" },
	{ "{\"require\": [ {\"any\": [ {\"backend\": \"pool_c\"},"
	  " {\"backend\": \"nosuch\"} ] } ] }", 1, 1,
	  SVC_UP, 75, "all conditions hold" },
	/* Degraded: up, with its weight under degraded_below. */
	{ "{\"require\": [ {\"any\": [ {\"backend\": \"pool_a\"},"
	  " {\"backend\": \"pool_b\"} ] } ], \"degraded_below\": 50 }", 1, 1,
	  SVC_DEGRADED, 33, "capacity 33% (pool_b: 1 of 3 servers usable), "
	  "under 50%" },
	{ "{\"require\": [ {\"backend\": \"pool_c\"} ], \"degraded_below\": 75 }",
	  1, 1, SVC_UP, 75, "all conditions hold" },
	{ "{\"require\": [ {\"backend\": \"pool_c\"} ], \"degraded_below\": 76 }",
	  1, 1, SVC_DEGRADED, 75, "capacity 75% (pool_c: 3 of 4 servers usable), "
	  "under 76%" },
	/* Down is down, whatever degraded_below says. */
	{ "{\"require\": [ {\"backend\": \"pool_a\"} ], \"degraded_below\": 50 }",
	  1, 1, SVC_DOWN, 0, "pool_a: 0 of 2 servers usable" },
	/* "*" in an any: one condition, the smallest of all backends. */
	{ "{\"require\": [ {\"any\": [ {\"backend\": \"*\"},"
	  " {\"check\": \"db\"} ] } ], \"degraded_below\": 50 }", 1, 1,
	  SVC_UP, 100, "all conditions hold" },
	{ "{\"require\": [ {\"at_least\": 1, \"of\": [ {\"backend\": \"*\","
	  " \"min\": 0}, {\"check\": \"db\"} ] } ], \"degraded_below\": 50 }",
	  0, 1, SVC_DEGRADED, 1, "capacity 0% (pool_a: 0 of 2 servers usable), "
	  "under 50%" },
};

static void
test_rule_cases(void **state)
{
	struct world	w;
	struct svc	s;
	size_t		i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		const struct rule_case *c = &cases[i];

		memset(&w, 0, sizeof(w));
		w.conf = load(c->svc);
		world_snap(&w, three_pools);
		w.checks[0] = c->db;
		w.checks[1] = c->mq;
		judge(&w, &s);
		if (s.state != c->state || s.weight != c->weight ||
		    strcmp(s.reason, c->reason) != 0)
			fail_msg("case %zu: %s\n  got  %s %d%% \"%s\"\n  want %s "
			    "%d%% \"%s\"", i, c->svc, svc_state_name(s.state),
			    s.weight, s.reason, svc_state_name(c->state),
			    c->weight, c->reason);
		svc_clear(&s);
		stats_snapshot_clear(&w.snap);
		conf_free(w.conf);
	}
}

/* /status's tree: a combinator's results hold its conditions'. */
static void
test_result_tree(void **state)
{
	struct world		 w = { 0 };
	struct svc		 s;
	const struct cond_result *r;

	w.conf = load("{\"require\": [ {\"at_least\": 2, \"of\": ["
	    " {\"backend\": \"pool_c\"}, {\"any\": [ {\"backend\": \"pool_a\"},"
	    " {\"check\": \"db\"} ] }, {\"check\": \"mq\"} ] } ] }");
	world_snap(&w, three_pools);
	w.checks[0] = 1;
	judge(&w, &s);
	assert_int_equal(s.nresults, 1);
	r = &s.results[0];
	assert_int_equal(r->kind, COND_AT_LEAST);
	assert_int_equal(r->at_least, 2);
	assert_int_equal(r->of, 3);
	assert_int_equal(r->holding, 2);
	assert_int_equal(r->capacity, 75);
	assert_true(r->ok);
	assert_int_equal(r->nsub, 3);
	assert_int_equal(r->sub[1].kind, COND_ANY);
	assert_int_equal(r->sub[1].holding, 1);
	assert_int_equal(r->sub[1].capacity, 100);
	assert_int_equal(r->sub[1].nsub, 2);
	assert_string_equal(r->sub[1].sub[0].name, "pool_a");
	assert_false(r->sub[1].sub[0].ok);
	assert_true(r->sub[1].sub[1].ok);
	assert_false(r->sub[2].ok);
	svc_clear(&s);
	stats_snapshot_clear(&w.snap);
	conf_free(w.conf);
}

/* Stats gone: a combinator's capacity is unknown, the last weight stands
 * while down_after holds the verdict up. */
static void
test_unknown_capacity(void **state)
{
	struct world		w = { 0 };
	struct svc		s;
	struct svc_input	in = { 0 };
	int64_t			next = INT64_MAX;

	w.conf = load("{\"require\": [ {\"any\": [ {\"backend\": \"pool_b\"},"
	    " {\"backend\": \"pool_a\"} ] } ], \"down_after\": \"10s\" }");
	world_snap(&w, three_pools);
	judge(&w, &s);
	assert_int_equal(s.state, SVC_UP);
	assert_int_equal(s.weight, 33);
	in.now = 2000;
	in.answered = true;
	in.check_state = check_state;
	in.check_arg = &w;
	(void)svc_evaluate(&s, &in, &next);
	assert_int_equal(s.state, SVC_UP);
	assert_int_equal(s.capacity, -1);
	assert_int_equal(s.weight, 33);
	svc_clear(&s);
	stats_snapshot_clear(&w.snap);
	conf_free(w.conf);
}

/* Degraded with an override: the override wins; without, the state
 * follows the weight both ways. */
static void
test_degraded_transitions(void **state)
{
	static const struct be full[] = {
		{ "pool_a", 2, 2 }, { "pool_b", 3, 3 }, { "pool_c", 4, 4 },
		{ NULL, 0, 0 },
	};
	struct world		w = { 0 };
	struct svc		s;
	struct svc_input	in = { 0 };
	int64_t			next = INT64_MAX;
	int			chg;

	w.conf = load("{\"require\": [ {\"backend\": \"pool_b\"} ],"
	    " \"degraded_below\": 50 }");
	world_snap(&w, full);
	judge(&w, &s);
	assert_int_equal(s.state, SVC_UP);
	stats_snapshot_clear(&w.snap);
	world_snap(&w, three_pools);
	in.now = 2000;
	in.answered = true;
	in.stats_fresh = true;
	in.snap = &w.snap;
	in.check_state = check_state;
	in.check_arg = &w;
	chg = svc_evaluate(&s, &in, &next);
	assert_int_equal(s.state, SVC_DEGRADED);
	assert_true(chg & SVC_CHG_STATE);
	assert_false(chg & SVC_CHG_VERDICT);	/* still up: frontends stay */
	assert_true(s.up);
	assert_true(svc_state_serves(s.state));
	(void)svc_set_override(&s, OVR_DRAIN, NULL);
	assert_int_equal(s.state, SVC_DRAIN);
	(void)svc_set_override(&s, OVR_NONE, NULL);
	assert_int_equal(s.state, SVC_DEGRADED);
	stats_snapshot_clear(&w.snap);
	world_snap(&w, full);
	in.now = 3000;
	in.snap = &w.snap;
	chg = svc_evaluate(&s, &in, &next);
	assert_int_equal(s.state, SVC_UP);
	assert_true(chg & SVC_CHG_STATE);
	svc_clear(&s);
	stats_snapshot_clear(&w.snap);
	conf_free(w.conf);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rule_cases),
		cmocka_unit_test(test_result_tree),
		cmocka_unit_test(test_unknown_capacity),
		cmocka_unit_test(test_degraded_transitions),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
