/*
 * test_status.c: /status (agent/status.c) rendered from a view built
 * without a daemon (view_fixture.h): against data/golden_status.json,
 * then read back as JSON for the facts that matter, the clock-dependent
 * settling_ms, and what is null when the daemon knows nothing yet.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <json-c/json.h>

#include "status.h"
#include "view_fixture.h"

/* Render v and parse it back; the caller puts the result. */
static json_object *
render(const struct view *v)
{
	struct sbuf	 out = { 0 };
	json_object	*o;

	status_render(v, &out);
	assert_true(out.len > 0 && out.data[out.len - 1] == '\n');
	o = json_tokener_parse(out.data);
	if (o == NULL)
		fail_msg("/status is not JSON:\n%s", out.data);
	sbuf_free(&out);
	return o;
}

/* The value at a path of keys ("haproxy", "pid", NULL). */
static json_object *
at(json_object *o, ...)
{
	const char	*k;
	va_list		 ap;

	va_start(ap, o);
	while ((k = va_arg(ap, const char *)) != NULL) {
		json_object	*next;

		if (!json_object_object_get_ex(o, k, &next))
			fail_msg("no key \"%s\"", k);
		o = next;
	}
	va_end(ap);
	return o;
}

#define STR(...)	json_object_get_string(at(__VA_ARGS__, NULL))
#define INT(...)	json_object_get_int64(at(__VA_ARGS__, NULL))
#define IS_NULL(...)	(at(__VA_ARGS__, NULL) == NULL)

static void
test_status_golden(void **state)
{
	struct vfix	x;
	struct sbuf	out = { 0 };

	char		*text;

	vf_init(&x);
	status_render(&x.v, &out);
	/* json-c 0.16 (Debian 12) prints an empty array or object over two
	 * lines, 0.18 (Debian 13) as "[]": the golden file has the short. */
	text = vf_squeeze_empty(out.data);
	vf_golden("status.json", text, "\"version\":\"", "\"");
	free(text);
	sbuf_free(&out);
	vf_free(&x);
}

static void
test_status_facts(void **state)
{
	struct vfix	 x;
	json_object	*o, *conds;

	vf_init(&x);
	o = render(&x.v);
	assert_string_equal(STR(o, "version"), HW_VERSION);
	assert_int_equal(INT(o, "haproxy", "pid"), 21356);
	assert_string_equal(STR(o, "haproxy", "version"), "2.6.12-1+deb12u4");
	assert_string_equal(STR(o, "haproxy", "last_poll"),
	    "2026-11-18T11:06:40Z");
	assert_int_equal(INT(o, "haproxy", "polls"), 6);
	assert_int_equal(INT(o, "haproxy", "errors"), 2);
	assert_int_equal(INT(o, "haproxy", "errors_by_reason", "timeout"), 1);
	assert_int_equal(INT(o, "haproxy", "errors_by_reason", "connect"), 1);
	assert_int_equal(INT(o, "haproxy", "reloads"), 2);
	/* Services in config order, with their conditions. */
	assert_string_equal(STR(o, "services", "web", "state"), "up");
	assert_int_equal(INT(o, "services", "web", "weight"), 66);
	conds = at(o, "services", "web", "conditions", NULL);
	assert_int_equal(json_object_array_length(conds), 1);
	assert_int_equal(INT(json_object_array_get_idx(conds, 0), "capacity"),
	    66);
	assert_string_equal(STR(o, "services", "first", "reason"),
	    "bk_first: 1 usable servers, need 2");
	assert_true(IS_NULL(json_object_array_get_idx(at(o, "services", "gone",
	    "conditions", NULL), 0), "nbsrv"));
	assert_string_equal(STR(o, "services", "be", "state"), "drain");
	assert_string_equal(STR(o, "services", "be", "verdict"), "up");
	assert_string_equal(STR(o, "services", "be", "override"), "drain");
	assert_true(IS_NULL(o, "services", "web", "override"));
	assert_string_equal(STR(o, "services", "peer", "reason"), "starting");
	/* Checks not probed yet, frontends not applied yet. */
	assert_true(IS_NULL(o, "checks", "db", "up"));
	assert_string_equal(STR(o, "checks", "disk", "reason"), "not probed yet");
	assert_string_equal(STR(o, "frontends", "fe_other", "service"), "first");
	assert_string_equal(STR(o, "frontends", "fe_only", "state"), "unknown");
	assert_true(IS_NULL(o, "state_file"));
	assert_int_equal(json_object_array_length(at(o, "listeners", NULL)), 0);
	assert_int_equal(INT(o, "config", "reload_failures"), 1);
	json_object_put(o);
	vf_free(&x);
}

static void
test_status_settling(void **state)
{
	struct vfix	 x;
	json_object	*o;
	int64_t		 ms;

	vf_init(&x);
	/* HAProxy's word is young for 5s more. */
	x.v.haproxy.settle_until = mono_ms() + 5000;
	o = render(&x.v);
	ms = INT(o, "haproxy", "settling_ms");
	if (ms <= 3000 || ms > 5000)
		fail_msg("settling_ms %lld, want just under 5000", (long long)ms);
	json_object_put(o);
	/* Settled a moment ago: 0, never negative. */
	x.v.haproxy.settle_until = mono_ms() - 1;
	o = render(&x.v);
	assert_int_equal(INT(o, "haproxy", "settling_ms"), 0);
	json_object_put(o);
	vf_free(&x);
}

/* Before the first poll: no pid, no HAProxy version, times null. */
static void
test_status_nothing_yet(void **state)
{
	struct vfix	 x;
	json_object	*o, *h;

	vf_init(&x);
	x.v.haproxy.snap = NULL;
	x.v.haproxy.pid = 0;
	x.v.haproxy.fresh = false;
	x.v.haproxy.last_poll_wall = 0;
	x.v.haproxy.last_ok_wall = 0;
	x.v.haproxy.last_error = POLL_OK;
	x.v.conf_path = NULL;
	o = render(&x.v);
	h = at(o, "haproxy", NULL);
	assert_false(json_object_get_boolean(at(h, "up", NULL)));
	assert_true(IS_NULL(h, "pid"));
	assert_true(IS_NULL(h, "last_poll"));
	assert_true(IS_NULL(h, "last_success"));
	assert_true(IS_NULL(h, "last_error"));
	assert_false(json_object_object_get_ex(h, "version", NULL));
	assert_false(json_object_object_get_ex(h, "uptime_sec", NULL));
	assert_true(IS_NULL(o, "config", "file"));
	json_object_put(o);
	vf_free(&x);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_status_golden),
		cmocka_unit_test(test_status_facts),
		cmocka_unit_test(test_status_settling),
		cmocka_unit_test(test_status_nothing_yet),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
