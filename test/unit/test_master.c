/*
 * test_master.c: checks/master.c's parsers, over "show proc" and "show
 * startup-logs" as HAProxy 2.6, 3.0, 3.2 and 3.4 printed them (captured
 * in master-worker mode: at start, after a good reload, after a reload of
 * a broken config; test/unit/data/hapXX_show_proc_*.txt).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "master.h"
#include "probe.h"

static char *
slurp(const char *name, size_t *len)
{
	char	path[512], *buf;
	FILE	*f;
	long	n;

	snprintf(path, sizeof(path), "%s/unit/data/%s", TEST_DATA_DIR, name);
	f = fopen(path, "rb");
	if (f == NULL)
		fail_msg("cannot open %s", path);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	assert_true(n > 0);
	rewind(f);
	buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	*len = (size_t)n;
	return buf;
}

static void
parse_file(const char *name, struct master_proc *p)
{
	char	*buf, err[128];
	size_t	 len;

	buf = slurp(name, &len);
	if (!master_parse_proc(buf, len, p, err, sizeof(err)))
		fail_msg("%s: %s", name, err);
	free(buf);
}

/* Each version: reloads counted, "[failed: N]" read (reset by a good
 * reload), the current worker (3.2+ list the one that serves on after a
 * failed reload under "old workers" only). */
static void
test_show_proc_versions(void **state)
{
	static const char *const vers[] = { "hap26", "hap30", "hap32",
	    "hap34" };
	struct master_proc	 start, reloaded, failed;
	char			 name[64];
	size_t			 i;

	for (i = 0; i < 4; i++) {
		snprintf(name, sizeof(name), "%s_show_proc_start.txt", vers[i]);
		parse_file(name, &start);
		snprintf(name, sizeof(name), "%s_show_proc_reloaded.txt",
		    vers[i]);
		parse_file(name, &reloaded);
		snprintf(name, sizeof(name), "%s_show_proc_failed.txt", vers[i]);
		parse_file(name, &failed);
		assert_int_equal(start.reloads, 0);
		assert_int_equal(start.failed, 0);
		assert_true(start.worker_pid > 0);
		assert_int_equal(start.worker_reloads, 0);
		assert_int_equal(reloaded.master_pid, start.master_pid);
		assert_int_equal(reloaded.reloads, 1);
		assert_int_equal(reloaded.failed, 0);
		assert_true(reloaded.worker_pid != start.worker_pid);
		assert_int_equal(reloaded.worker_reloads, 0);
		/* The broken config: counted, the old worker serves on. */
		assert_int_equal(failed.master_pid, start.master_pid);
		assert_int_equal(failed.reloads, 2);
		assert_int_equal(failed.failed, 1);
		assert_int_equal(failed.worker_pid, reloaded.worker_pid);
		assert_int_equal(failed.worker_reloads, 1);
		assert_true(strlen(failed.version) > 3);
	}
}

static void
test_show_proc_not(void **state)
{
	static const char *const bad[] = {
		"",
		"Unknown command, but maybe one of the following ones\n",
		"#<PID> <type> <reloads>\n",
		"#<PID> <type> <reloads>\n12 worker 0 0d 3.0\n",
		"#<PID> <type> <reloads>\nx master 0 0d 3.0\n",
	};
	struct master_proc	p;
	char			err[128];
	size_t			i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_false(master_parse_proc(bad[i], strlen(bad[i]), &p, err,
		    sizeof(err)));
}

/* 3.0+ keep the failed load's log: its first ALERT is the why; 2.6 has
 * no such command. */
static void
test_startup_logs(void **state)
{
	char	*buf, why[256];
	size_t	 len;

	buf = slurp("hap34_startup_logs_failed.txt", &len);
	assert_true(master_parse_startup_logs(buf, len, why, sizeof(why)));
	assert_string_equal(why, "config : parsing [/tmp/mw/cap-3.4/h.cfg:10] "
	    ": unknown keyword 'garbage' in 'backend' section");
	free(buf);
	buf = slurp("hap30_startup_logs_failed.txt", &len);
	assert_true(master_parse_startup_logs(buf, len, why, sizeof(why)));
	assert_non_null(strstr(why, "unknown keyword 'garbage'"));
	free(buf);
	buf = slurp("hap26_startup_logs_failed.txt", &len);
	assert_false(master_parse_startup_logs(buf, len, why, sizeof(why)));
	free(buf);
}

/* The failure arithmetic between two reads of "show proc". */
static void
test_compare(void **state)
{
	static const struct {
		const char	*what;
		struct master_proc last, now;	/* last.master_pid 0: none */
		bool		 first, restarted, new_worker;
		unsigned	 failures;
	} cases[] = {
		{ "first read, clean", { 0 }, { 10, 0, 0, 20, 0, "" },
		  true, false, false, 0 },
		{ "first read, a failure before we came", { 0 },
		  { 10, 3, 1, 20, 2, "" }, true, false, false, 1 },
		{ "nothing happened", { 10, 2, 0, 20, 2, "" },
		  { 10, 2, 0, 20, 2, "" }, false, false, false, 0 },
		{ "a good reload", { 10, 2, 0, 20, 2, "" },
		  { 10, 3, 0, 21, 0, "" }, false, false, true, 0 },
		{ "a failed reload: same worker, failed 0 -> 1",
		  { 10, 2, 0, 20, 2, "" }, { 10, 3, 1, 20, 3, "" },
		  false, false, false, 1 },
		{ "two failed reloads between polls", { 10, 3, 1, 20, 3, "" },
		  { 10, 5, 3, 20, 5, "" }, false, false, false, 2 },
		{ "a good reload, then a failed one", { 10, 3, 1, 20, 3, "" },
		  { 10, 5, 1, 21, 0, "" }, false, false, true, 1 },
		{ "a good reload clears the count", { 10, 3, 1, 20, 3, "" },
		  { 10, 4, 0, 21, 0, "" }, false, false, true, 0 },
		{ "the master restarted, clean", { 10, 5, 1, 20, 5, "" },
		  { 11, 0, 0, 30, 0, "" }, false, true, true, 0 },
		{ "no [failed: N]: a reload with no new worker failed",
		  { 10, 2, -1, 20, 2, "" }, { 10, 3, -1, 20, 3, "" },
		  false, false, false, 1 },
		{ "no [failed: N]: a reload with a new worker worked",
		  { 10, 2, -1, 20, 2, "" }, { 10, 3, -1, 21, 0, "" },
		  false, false, true, 0 },
	};
	struct master_report	r;
	size_t			i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memset(&r, 0xa5, sizeof(r));
		r.proc = cases[i].now;
		master_compare(cases[i].last.master_pid != 0 ? &cases[i].last :
		    NULL, &r);
		if (r.first != cases[i].first || r.restarted !=
		    cases[i].restarted || r.new_worker != cases[i].new_worker ||
		    r.failures != cases[i].failures)
			fail_msg("%s: first %d restarted %d new_worker %d "
			    "failures %u", cases[i].what, r.first, r.restarted,
			    r.new_worker, r.failures);
	}
}

/* An exec check's first line as a weight. */
static void
test_parse_weight(void **state)
{
	static const struct { const char *line; int w; } cases[] = {
		{ "66%", 66 }, { " 40% ", 40 }, { "0%", 0 }, { "100%", 100 },
		{ "weight:70", 70 }, { "weight:7%", 7 }, { "66%\r", 66 },
		{ "101%", -1 }, { "3 disks", -1 }, { "66", -1 },
		{ "weight:", -1 }, { "up 66%", -1 }, { "66%!", -1 },
		{ "", -1 }, { "-5%", -1 },
	};
	size_t	i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (probe_parse_weight(cases[i].line) != cases[i].w)
			fail_msg("\"%s\": %d, want %d", cases[i].line,
			    probe_parse_weight(cases[i].line), cases[i].w);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_show_proc_versions),
		cmocka_unit_test(test_show_proc_not),
		cmocka_unit_test(test_startup_logs),
		cmocka_unit_test(test_compare),
		cmocka_unit_test(test_parse_weight),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
