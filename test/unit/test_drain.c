/*
 * test_drain.c: a drain's frontends across a config reload, its quiet
 * judged from HAProxy's totals, a drain kept across a restart, and the
 * prober table's bound under a flood.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "drain.h"
#include "probers.h"
#include "stats.h"

static const struct conf_let_go let_go = {
	.failures = 2, .quiet = 1000, .tcp = 5000,
};

static void
watch(struct drain_watch *w, const char *const *names, size_t n)
{
	memset(w, 0, sizeof(*w));
	w->let_go = let_go;
	w->frontends = names;
	w->nfrontends = n;
}

/* A snapshot whose frontends have these session totals. */
static void
snap_fronts(struct stats_snapshot *s, const char *const *names,
    const long *stot, size_t n)
{
	size_t	i;

	memset(s, 0, sizeof(*s));
	s->frontends = xcalloc(n, sizeof(*s->frontends));
	s->nfrontends = n;
	for (i = 0; i < n; i++) {
		s->frontends[i].name = xstrdup(names[i]);
		s->frontends[i].stot = stot[i];
		s->frontends[i].req_tot = -1;
		s->frontends[i].open = true;
	}
}

/* A reload that keeps two frontends, in another order, then drops one:
 * each keeps its quiet so far (a crash once: a taken one was compared). */
static void
test_rewatch_keeps_quiet(void **state)
{
	static const char *const two[] = { "fe_a", "fe_b" };
	static const char *const swapped[] = { "fe_b", "fe_a" };
	static const char *const one[] = { "fe_b" };
	static const long totals[] = { 10, 20 };
	struct probers		*p = probers_new(16);
	struct stats_snapshot	 snap;
	struct drain_watch	 w;
	struct drain		*d;
	int64_t			 next = INT64_MAX;

	watch(&w, two, 2);
	d = drain_begin(0, &w, p, 10000);
	snap_fronts(&snap, two, totals, 2);
	assert_false(drain_judge(d, p, &snap, 10000, &next));
	assert_int_equal(next, 11000);
	watch(&w, swapped, 2);
	drain_rewatch(d, 0, &w);
	watch(&w, two, 2);
	drain_rewatch(d, 0, &w);
	watch(&w, one, 1);
	drain_rewatch(d, 0, &w);
	/* fe_b has been quiet since 10000: let go at 11000, not later. */
	next = INT64_MAX;
	assert_true(drain_judge(d, p, &snap, 11000, &next));
	assert_true(drain_let_go(d));
	stats_snapshot_clear(&snap);
	drain_end(d, p);
	probers_free(p);
}

/* A drain kept across a restart: let go before, it stays so; not, it
 * watches the probers that come and waits out its window. */
static void
test_resume(void **state)
{
	struct probers		*p = probers_new(16);
	struct prober_addr	 a = { .family = AF_INET, .bytes = { 10, 0, 0, 5 } };
	struct drain_watch	 w;
	const struct drain_item	*items;
	struct drain		*d;
	int64_t			 next = INT64_MAX;
	size_t			 n;

	watch(&w, NULL, 0);
	d = drain_resume(0, &w, p, 1000, 1700000000000);
	assert_true(drain_let_go(d));
	assert_int_equal(drain_let_go_at(d), 1700000000000);
	assert_string_equal(drain_summary(d), "let go before the restart");
	assert_false(drain_judge(d, p, NULL, 2000, &next));
	drain_end(d, p);

	d = drain_resume(0, &w, p, 1000, 0);
	assert_false(drain_judge(d, p, NULL, 1000, &next));
	assert_false(drain_let_go(d));
	/* A load balancer probes twice (refused: the service is drained). */
	probers_seen(p, 0, PROBER_HTTP, &a, false);
	probers_seen(p, 0, PROBER_HTTP, &a, false);
	next = INT64_MAX;
	assert_false(drain_judge(d, p, NULL, 2000, &next));
	n = drain_items(d, &items);
	assert_int_equal(n, 2);
	assert_int_equal(items[0].kind, DRAIN_RESTART);
	assert_false(items[0].let_go);
	assert_int_equal(items[1].kind, DRAIN_HTTP);
	assert_string_equal(items[1].what, "10.0.0.5");
	assert_true(items[1].let_go);		/* refused twice */
	assert_true(next <= 3000);		/* looks again each second */
	/* The window after the start is over: let go. */
	assert_true(drain_judge(d, p, NULL, 1000 + DRAIN_PROBER_WINDOW_MS,
	    &next));
	drain_end(d, p);
	probers_free(p);
}

/* More probers than items: the frontend is judged all the same. */
static void
test_frontend_not_crowded_out(void **state)
{
	static const char *const fe[] = { "fe_main" };
	static const long busy[] = { 5 };
	struct probers		*p = probers_new(1024);
	struct stats_snapshot	 snap;
	struct drain_watch	 w;
	const struct drain_item	*items;
	struct drain		*d;
	struct prober_addr	 a = { .family = AF_INET };
	int64_t			 next = INT64_MAX;
	size_t			 i, n;
	bool			 seen = false;

	for (i = 0; i < DRAIN_MAX_ITEMS + 10; i++) {
		a.bytes[2] = (uint8_t)(i >> 8);
		a.bytes[3] = (uint8_t)i;
		probers_seen(p, 0, PROBER_HTTP, &a, true);
		probers_seen(p, 0, PROBER_HTTP, &a, true);
		probers_seen(p, 0, PROBER_HTTP, &a, false);
		probers_seen(p, 0, PROBER_HTTP, &a, false);
	}
	watch(&w, fe, 1);
	d = drain_begin(0, &w, p, mono_ms());
	snap_fronts(&snap, fe, busy, 1);
	assert_false(drain_judge(d, p, &snap, mono_ms(), &next));
	n = drain_items(d, &items);
	for (i = 0; i < n; i++)
		seen = seen || items[i].kind == DRAIN_FRONTEND;
	assert_true(seen);
	stats_snapshot_clear(&snap);
	drain_end(d, p);
	probers_free(p);
}

/* A scan from many addresses: the table keeps its bound, evicts the
 * stalest, counts it, and never the prober a drain watches. */
static void
test_probers_bounded(void **state)
{
	struct probers		*p = probers_new(8);
	struct prober_addr	 lb = { .family = AF_INET, .bytes = { 10, 0, 0, 5 } };
	struct prober_addr	 a = { .family = AF_INET6 };
	const struct prober	*w[4];
	uint32_t		 i;

	probers_seen(p, 0, PROBER_HTTP, &lb, true);
	probers_seen(p, 0, PROBER_HTTP, &lb, true);
	assert_int_equal(probers_watch(p, 0, 0), 1);
	for (i = 0; i < 10000; i++) {
		memcpy(a.bytes, &i, sizeof(i));
		probers_seen(p, 0, PROBER_HTTP, &a, false);
		assert_true(probers_count(p) <= 8);
	}
	assert_int_equal(probers_count(p), 8);
	assert_int_equal(probers_evictions(p), 10000 - 7);
	assert_non_null(probers_find(p, 0, PROBER_HTTP, &lb));
	assert_int_equal(probers_watched(p, 0, w, 4), 1);
	assert_memory_equal(w[0]->addr.bytes, lb.bytes, 4);
	/* The freshest stay; the first of the scan went first. */
	assert_non_null(probers_find(p, 0, PROBER_HTTP, &a));
	i = 0;
	memcpy(a.bytes, &i, sizeof(i));
	assert_null(probers_find(p, 0, PROBER_HTTP, &a));
	probers_unwatch(p, 0);
	probers_free(p);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rewatch_keeps_quiet),
		cmocka_unit_test(test_resume),
		cmocka_unit_test(test_frontend_not_crowded_out),
		cmocka_unit_test(test_probers_bounded),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
