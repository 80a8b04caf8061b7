/*
 * test_events.c: the history ring (its bound, order, since) and the
 * long-polls waiting on it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <json-c/json.h>

#include "events.h"

static void
add(struct events *ev, enum event_kind k, const char *svc, int n)
{
	struct event	e;

	memset(&e, 0, sizeof(e));
	e.kind = k;
	snprintf(e.service, sizeof(e.service), "%s", svc);
	snprintf(e.reason, sizeof(e.reason), "#%d", n);
	(void)events_add(ev, &e);
}

/* The rendered array, parsed. */
static json_object *
render(struct events *ev, uint64_t since)
{
	struct sbuf	 out = { 0 };
	json_object	*a;

	events_render(ev, since, &out);
	a = json_tokener_parse(out.data);
	sbuf_free(&out);
	assert_non_null(a);
	assert_true(json_object_is_type(a, json_type_array));
	return a;
}

static int64_t
seq_at(json_object *a, size_t i)
{
	json_object	*v;

	assert_true(json_object_object_get_ex(json_object_array_get_idx(a, i),
	    "seq", &v));
	return json_object_get_int64(v);
}

static const char *
str_at(json_object *a, size_t i, const char *key)
{
	json_object	*v;

	if (!json_object_object_get_ex(json_object_array_get_idx(a, i), key,
	    &v) || v == NULL)
		return NULL;
	return json_object_get_string(v);
}

static void
test_order_and_since(void **state)
{
	struct events	*ev = events_new();
	json_object	*a;

	assert_int_equal(events_last(ev), 0);
	assert_false(events_newer(ev, 0));
	a = render(ev, 0);
	assert_int_equal(json_object_array_length(a), 0);
	json_object_put(a);
	add(ev, EV_START, "", 1);
	add(ev, EV_TRANSITION, "web", 2);
	add(ev, EV_LET_GO, "web", 3);
	assert_int_equal(events_last(ev), 3);
	a = render(ev, 0);
	assert_int_equal(json_object_array_length(a), 3);
	assert_int_equal(seq_at(a, 0), 1);
	assert_int_equal(seq_at(a, 2), 3);
	assert_string_equal(str_at(a, 0, "event"), "start");
	assert_null(str_at(a, 0, "service"));	/* none: null */
	assert_string_equal(str_at(a, 1, "event"), "transition");
	assert_string_equal(str_at(a, 2, "event"), "let_go");
	assert_string_equal(str_at(a, 2, "reason"), "#3");
	/* "2026-12-02T03:12:04.250Z" */
	assert_int_equal(strlen(str_at(a, 0, "time")), 24);
	json_object_put(a);
	a = render(ev, 2);
	assert_int_equal(json_object_array_length(a), 1);
	assert_int_equal(seq_at(a, 0), 3);
	json_object_put(a);
	assert_true(events_newer(ev, 2));
	assert_false(events_newer(ev, 3));
	/* A reader from another run (ahead of us) gets everything. */
	assert_true(events_newer(ev, 40));
	a = render(ev, 40);
	assert_int_equal(json_object_array_length(a), 3);
	json_object_put(a);
	events_free(ev);
}

static void
test_bound(void **state)
{
	struct events	*ev = events_new();
	json_object	*a;
	int		 i;

	for (i = 1; i <= EVENTS_MAX + 234; i++)
		add(ev, EV_TRANSITION, "web", i);
	a = render(ev, 0);
	assert_int_equal(json_object_array_length(a), EVENTS_MAX);
	assert_int_equal(seq_at(a, 0), 235);
	assert_int_equal(seq_at(a, EVENTS_MAX - 1), EVENTS_MAX + 234);
	for (i = 1; i < EVENTS_MAX; i++)
		assert_int_equal(seq_at(a, (size_t)i), seq_at(a, 0) + i);
	json_object_put(a);
	/* since older than the oldest kept: what is kept. */
	a = render(ev, 10);
	assert_int_equal(json_object_array_length(a), EVENTS_MAX);
	json_object_put(a);
	events_free(ev);
}

struct waiter {
	struct events_waiter	 w;
	struct events		*ev;
	int			 woken;
	bool			 rewait;	/* wait again when woken */
};

static void
wake(struct events_waiter *w)
{
	struct waiter	*x = (struct waiter *)(void *)w;

	x->woken++;
	if (x->rewait) {
		x->rewait = false;
		x->w.since = events_last(x->ev);
		events_wait(x->ev, &x->w);
	}
}

static void
test_waiters(void **state)
{
	struct events	*ev = events_new();
	struct waiter	 a = { .w.wake = wake }, b = { .w.wake = wake },
			 c = { .w.wake = wake };

	a.ev = b.ev = c.ev = ev;
	add(ev, EV_START, "", 1);
	a.w.since = b.w.since = 1;
	c.w.since = 0;
	events_wait(ev, &a.w);
	events_wait(ev, &b.w);
	events_wait(ev, &c.w);
	/* c has something to read already; a and b wait. */
	events_wake(ev);
	assert_int_equal(c.woken, 1);
	assert_false(c.w.waiting);
	assert_int_equal(a.woken + b.woken, 0);
	events_unwait(ev, &b.w);
	a.rewait = true;
	add(ev, EV_TRANSITION, "web", 2);
	events_wake(ev);
	/* a was woken once and waits again, since 2; b had left. */
	assert_int_equal(a.woken, 1);
	assert_true(a.w.waiting);
	assert_int_equal(b.woken, 0);
	events_wake(ev);
	assert_int_equal(a.woken, 1);
	add(ev, EV_STOP, "", 3);
	events_wake(ev);
	assert_int_equal(a.woken, 2);
	assert_false(a.w.waiting);
	events_free(ev);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_order_and_since),
		cmocka_unit_test(test_bound),
		cmocka_unit_test(test_waiters),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
