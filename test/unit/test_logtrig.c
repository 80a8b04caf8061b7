/*
 * test_logtrig.c: which HAProxy log lines trigger a poll (HAPROXY.md
 * section 6 has the exact lines, from HAProxy 2.6.12 and 3.4.0).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "logtrig.h"
#include "util.h"

static bool
match(const char *s)
{
	return logtrig_match(s, strlen(s));
}

static void
test_state_lines(void **state)
{
	static const char *const yes[] = {
		"<129>Nov 22 02:04:58 haproxy[9332]: Server be2/x1 is DOWN, reason: "
		"Layer4 connection problem, info: \"Connection refused\", check "
		"duration: 0ms. 0 active and 0 backup servers left. 0 sessions "
		"active, 0 requeued, 0 remaining in queue.\n",
		"<128>Nov 22 02:04:58 haproxy[9332]: backend be2 has no server "
		"available!\n",
		"<128>Nov 22 02:04:58 haproxy[9332]: proxy ls has no server "
		"available!\n",
		"<133>Nov 22 02:06:01 haproxy[9332]: Server be/s1 is UP, reason: "
		"Layer7 check passed, code: 200, check duration: 1ms. 1 active and "
		"0 backup servers online. 0 sessions requeued, 0 total in queue.\n",
		"<129>Nov 22 02:06:01 haproxy[9332]: Backup Server be/b1 is DOWN, "
		"reason: Layer4 timeout. 0 active and 0 backup servers left.\n",
		"<129>Nov 22 02:07:00 haproxy[9332]: Server be/s1 is going DOWN for "
		"maintenance. 2 active and 0 backup servers left.\n",
		"<133>Nov 22 02:07:10 haproxy[9332]: Server be/s1 is UP/READY "
		"(leaving forced maintenance).\n",
		"<133>Nov 22 02:07:20 haproxy[9332]: Server be/s1 enters drain "
		"state. 2 active and 0 backup servers online.\n",
		"<133>Nov 22 02:07:30 haproxy[9332]: Server be/s1 is UP (leaving "
		"forced drain).\n",
		/* 3.1+ connection-error wording */
		"<129>Nov 22 02:04:58 haproxy[9]: Server be/s is DOWN, reason: Layer4 "
		"connection problem, info: \"ECONNREFUSED returned by OS (Connection "
		"refused)\", check duration: 0ms.\n",
	};
	static const char *const no[] = {
		"<132>Nov 22 02:08:00 haproxy[9332]: Paused frontend fe.\n",
		"<132>Nov 22 02:08:01 haproxy[9332]: Resumed frontend fe.\n",
		"<134>Nov 22 02:08:02 haproxy[9332]: 127.0.0.1:51234 [22/Nov/2026:"
		"02:08:02.000] fe be/s1 0/0/0/1/1 200 120 - - ---- 1/1/0/0/0 0/0 "
		"\"GET / HTTP/1.1\"\n",
		"<133>Nov 22 02:08:03 haproxy[9332]: Proxy fe started.\n",
		"",
		"Server",
	};
	size_t	i;

	for (i = 0; i < ARRAY_SIZE(yes); i++)
		assert_true(match(yes[i]));
	for (i = 0; i < ARRAY_SIZE(no); i++)
		assert_false(match(no[i]));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_state_lines),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
