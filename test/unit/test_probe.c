/*
 * test_probe.c: checks/probe.c. The rise/fall judgement (probe_judge) on
 * tables of results; then real exec and tcp probes on an event loop:
 * states, reasons, counters and change callbacks, and probe_inherit().
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>
#include <event2/event.h>

#include "child.h"
#include "probe.h"
#include "util.h"

/* ---- probe_judge ------------------------------------------------------ */

/*
 * Feed results ('P' pass, 'F' fail) from the unknown state; want holds
 * the state after each ('U' up, 'D' down) and streaks the streak.
 */
static void
judge_walk(int rise, int fall, const char *results, const char *want,
    const int *streaks)
{
	enum probe_state	st = PROBE_UNKNOWN;
	int			streak = 0;
	size_t			i;

	assert_int_equal(strlen(results), strlen(want));
	for (i = 0; results[i] != '\0'; i++) {
		st = probe_judge(st, &streak, rise, fall, results[i] == 'P');
		if (st != (want[i] == 'U' ? PROBE_UP : PROBE_DOWN))
			fail_msg("rise %d fall %d, %.*s: state %d, want %c", rise,
			    fall, (int)i + 1, results, st, want[i]);
		if (streaks != NULL)
			assert_int_equal(streak, streaks[i]);
	}
}

static void
test_judge_first_result(void **state)
{
	int	streak = 0;

	/* The first result is taken at once, whatever rise and fall. */
	assert_int_equal(probe_judge(PROBE_UNKNOWN, &streak, 5, 5, true),
	    PROBE_UP);
	assert_int_equal(streak, 1);
	streak = 0;
	assert_int_equal(probe_judge(PROBE_UNKNOWN, &streak, 5, 5, false),
	    PROBE_DOWN);
	assert_int_equal(streak, -1);
}

static void
test_judge_rise_fall(void **state)
{
	static const int	s1[] = { -1, 1, 2, -1, -2, -3, 1, -1, 1, 2 };
	static const int	s2[] = { 1, -1, -2, 1, -1, -2, -3, -4, 1 };

	judge_walk(2, 3, "FPPFFFPFPP", "DDUUUDDDDU", s1);
	/* Up first: two failures keep it up, a pass resets the count. */
	judge_walk(2, 3, "PFFPFFFFP", "UUUUUUDDD", s2);
	/* rise 1, fall 1: every result is taken. */
	judge_walk(1, 1, "PFPFFP", "UDUDDU", NULL);
	/* Alternating never reaches rise 2 or fall 2. */
	judge_walk(2, 2, "PFPFPF", "UUUUUU", NULL);
	judge_walk(2, 2, "FPFPFP", "DDDDDD", NULL);
	/* A long streak stays where it is, counting on. */
	judge_walk(3, 3, "PPPPPP", "UUUUUU", NULL);
}

static void
test_judge_streak_carried(void **state)
{
	/* A streak carried over (probe_inherit) counts towards rise. */
	int	streak = 2;

	assert_int_equal(probe_judge(PROBE_DOWN, &streak, 3, 3, true),
	    PROBE_UP);
	assert_int_equal(streak, 3);
	streak = -2;
	assert_int_equal(probe_judge(PROBE_UP, &streak, 3, 3, false),
	    PROBE_DOWN);
	assert_int_equal(streak, -3);
	/* The other way, a streak starts over. */
	streak = -2;
	assert_int_equal(probe_judge(PROBE_DOWN, &streak, 3, 3, true),
	    PROBE_DOWN);
	assert_int_equal(streak, 1);
}

/* ---- real probes on a loop -------------------------------------------- */

#define MAX_SEEN	32

struct world {
	struct event_base	*base;
	struct childmgr		*children;
	struct probe_env	 env;
	struct event		*tick;
	/* what the change callback saw */
	size_t			 ncb;
	enum probe_state	 states[MAX_SEEN];
	char			 reasons[MAX_SEEN][128];
	uint64_t		 counts[MAX_SEEN];
};

static void
tick_cb(evutil_socket_t fd, short what, void *arg)
{
}

static void
world_init(struct world *w)
{
	memset(w, 0, sizeof(*w));
	w->base = event_base_new();
	assert_non_null(w->base);
	w->children = childmgr_new(w->base);
	w->env.base = w->base;
	w->env.children = w->children;
	w->tick = evtimer_new(w->base, tick_cb, NULL);
}

static void
world_free(struct world *w)
{
	event_free(w->tick);
	childmgr_free(w->children);
	reap_now();
	event_base_free(w->base);
}

static void
change_cb(void *arg, struct probe *c)
{
	struct world	*w = arg;

	assert_true(w->ncb < MAX_SEEN);
	w->states[w->ncb] = probe_state(c);
	snprintf(w->reasons[w->ncb], sizeof(w->reasons[0]), "%s",
	    probe_reason(c));
	w->counts[w->ncb] = probe_count(c);
	w->ncb++;
}

/* Turn the loop (reaping after each turn, as the daemon does) until
 * probe c has finished n probes, or fail after a deadline. */
static void
run_until_count(struct world *w, const struct probe *c, uint64_t n)
{
	int64_t		deadline = mono_ms() + 10000;
	struct timeval	tv = tv_ms(50);

	while (probe_count(c) < n) {
		if (mono_ms() > deadline)
			fail_msg("%llu probes after 10s, want %llu",
			    (unsigned long long)probe_count(c),
			    (unsigned long long)n);
		evtimer_add(w->tick, &tv);	/* never block for long */
		event_base_loop(w->base, EVLOOP_ONCE);
		reap_now();
	}
}

static struct probe *
exec_probe(struct world *w, char *const *argv, int rise, int fall)
{
	struct probe_params	p = { 0 };

	p.name = "x";
	p.kind = PROBE_EXEC;
	p.argv = argv;
	p.interval = 10;
	p.timeout = 5000;
	p.rise = rise;
	p.fall = fall;
	return probe_new(&w->env, &p, change_cb, w);
}

static char	path_true[] = "/bin/true", path_false[] = "/bin/false";
static char	path_sh[] = "/bin/sh", opt_c[] = "-c";

static void
test_exec_true_false(void **state)
{
	struct world	 w;
	char		*t[] = { path_true, NULL }, *f[] = { path_false, NULL };
	struct probe	*pt, *pf;

	world_init(&w);
	pt = exec_probe(&w, t, 3, 3);
	assert_int_equal(probe_state(pt), PROBE_UNKNOWN);
	assert_string_equal(probe_reason(pt), "not probed yet");
	assert_string_equal(probe_name(pt), "x");
	probe_start(pt);
	run_until_count(&w, pt, 1);
	/* The first result is taken at once, and told once. */
	assert_int_equal(probe_state(pt), PROBE_UP);
	assert_string_equal(probe_reason(pt), "exit 0");
	assert_int_equal(w.ncb, 1);
	assert_int_equal(w.states[0], PROBE_UP);
	/* Nothing changes after: no more callbacks. */
	run_until_count(&w, pt, 4);
	assert_int_equal(w.ncb, 1);
	assert_int_equal(probe_failures(pt), 0);
	probe_free(pt);

	w.ncb = 0;
	pf = exec_probe(&w, f, 3, 3);
	probe_start(pf);
	run_until_count(&w, pf, 3);
	assert_int_equal(probe_state(pf), PROBE_DOWN);
	assert_string_equal(probe_reason(pf), "exit 1");
	assert_int_equal(probe_failures(pf), probe_count(pf));
	assert_int_equal(w.ncb, 1);
	assert_int_equal(w.states[0], PROBE_DOWN);
	probe_free(pf);
	world_free(&w);
}

/*
 * A script whose n-th run exits with the n-th line of "$0.seq" and prints
 * "run n": every run has its own reason, so each one is told.
 */
static char seq_script[] =
    "n=$(cat \"$0.n\" 2>/dev/null || echo 0); n=$((n + 1));"
    " echo $n > \"$0.n\"; echo \"run $n\"; exit $(sed -n \"${n}p\" \"$0.seq\")";

struct seq {
	char	dir[32];
	char	tag[64];	/* $0 of the script */
	char	*argv[5];
};

/* Exit codes, one a run: codes[i] for run i + 1. */
static void
seq_init(struct seq *q, const char *codes)
{
	char	path[96];
	FILE	*f;
	size_t	i;

	snprintf(q->dir, sizeof(q->dir), "/tmp/hw-probe-XXXXXX");
	assert_non_null(mkdtemp(q->dir));
	snprintf(q->tag, sizeof(q->tag), "%s/s", q->dir);
	snprintf(path, sizeof(path), "%s.seq", q->tag);
	f = fopen(path, "w");
	assert_non_null(f);
	for (i = 0; codes[i] != '\0'; i++)
		fprintf(f, "%c\n", codes[i]);
	fclose(f);
	q->argv[0] = path_sh;
	q->argv[1] = opt_c;
	q->argv[2] = seq_script;
	q->argv[3] = q->tag;
	q->argv[4] = NULL;
}

static void
seq_free(struct seq *q)
{
	char	path[96];

	snprintf(path, sizeof(path), "%s.seq", q->tag);
	unlink(path);
	snprintf(path, sizeof(path), "%s.n", q->tag);
	unlink(path);
	rmdir(q->dir);
}

/* What the callback saw after each probe: state and reason. */
static void
assert_seen(const struct world *w, size_t from, const char *codes,
    const char *want)
{
	char	reason[64];
	size_t	i;

	for (i = from; i < w->ncb; i++) {
		assert_int_equal(w->counts[i], i + 1);
		if (w->states[i] != (want[i] == 'U' ? PROBE_UP : PROBE_DOWN))
			fail_msg("after probe %zu: state %d, want %c", i + 1,
			    w->states[i], want[i]);
		snprintf(reason, sizeof(reason), "exit %c: run %zu", codes[i],
		    i + 1);
		assert_string_equal(w->reasons[i], reason);
	}
}

/* An output with a control character (a CRLF script): its reason is kept
 * cleaned, and a probe that says the same again is no change. */
static void
test_exec_reason_with_cr(void **state)
{
	struct world	 w;
	char		 cmd[] = "printf 'disk full\\r\\n'; exit 1";
	char		*argv[] = { path_sh, opt_c, cmd, NULL };
	struct probe	*c;

	world_init(&w);
	c = exec_probe(&w, argv, 1, 1);
	probe_start(c);
	run_until_count(&w, c, 4);
	assert_int_equal(probe_state(c), PROBE_DOWN);
	assert_null(strchr(probe_reason(c), '\r'));
	assert_int_equal(w.ncb, 1);
	probe_free(c);
	world_free(&w);
}

static void
test_exec_rise_fall(void **state)
{
	/* rise 2, fall 3 */
	static const char	codes[] = "1001110100";
	static const char	want[] = "DDUUUDDDDU";
	struct world		w;
	struct seq		q;
	struct probe		*c;

	seq_init(&q, codes);
	world_init(&w);
	c = exec_probe(&w, q.argv, 2, 3);
	probe_start(c);
	run_until_count(&w, c, strlen(codes));
	assert_int_equal(w.ncb, strlen(codes));
	assert_seen(&w, 0, codes, want);
	assert_int_equal(probe_failures(c), 5);
	probe_free(c);
	world_free(&w);
	seq_free(&q);
}

static void
test_exec_cannot_run(void **state)
{
	struct world	 w;
	static char	 missing[] = "/nonexistent/hw-probe";
	char		*argv[] = { missing, NULL };
	struct probe	*c;

	world_init(&w);
	c = exec_probe(&w, argv, 2, 2);
	probe_start(c);
	run_until_count(&w, c, 1);
	assert_int_equal(probe_state(c), PROBE_DOWN);
	assert_string_equal(probe_reason(c),
	    "cannot run: No such file or directory");
	probe_free(c);
	world_free(&w);
}

/* A listening socket on 127.0.0.1, any port; its address in a. */
static int
tcp_listen(struct addr *a)
{
	struct sockaddr_in	sin = { .sin_family = AF_INET };
	socklen_t		len = sizeof(sin);
	int			fd;

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(listen(fd, 8), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	memset(a, 0, sizeof(*a));
	memcpy(&a->ss, &sin, sizeof(sin));
	a->len = sizeof(sin);
	a->family = AF_INET;
	return fd;
}

static struct probe *
tcp_probe(struct world *w, const struct addr *a)
{
	struct probe_params	p = { 0 };

	p.name = "tcp";
	p.kind = PROBE_TCP;
	p.addr = *a;
	p.interval = 10;
	p.timeout = 5000;
	p.rise = 2;
	p.fall = 2;
	return probe_new(&w->env, &p, change_cb, w);
}

static void
test_tcp(void **state)
{
	struct world	 w;
	struct addr	 a;
	struct probe	*c, *n;
	int		 fd;

	world_init(&w);
	fd = tcp_listen(&a);
	c = tcp_probe(&w, &a);
	probe_start(c);
	run_until_count(&w, c, 1);
	assert_int_equal(probe_state(c), PROBE_UP);
	assert_string_equal(probe_reason(c), "connected");
	/* The port closes: one refusal is not enough with fall 2. */
	close(fd);
	run_until_count(&w, c, 2);
	assert_int_equal(probe_state(c), PROBE_UP);
	assert_string_equal(probe_reason(c), "Connection refused");
	run_until_count(&w, c, 3);
	assert_int_equal(probe_state(c), PROBE_DOWN);
	assert_int_equal(probe_failures(c), 2);

	/* After a reload, a probe of the same target takes over its state
	 * and counters; one of another kind or target starts over. */
	n = tcp_probe(&w, &a);
	probe_inherit(n, c);
	assert_int_equal(probe_state(n), PROBE_DOWN);
	assert_string_equal(probe_reason(n), "Connection refused");
	assert_int_equal(probe_count(n), probe_count(c));
	assert_int_equal(probe_failures(n), 2);
	probe_free(n);
	((struct sockaddr_in *)&a.ss)->sin_port ^= htons(1);
	n = tcp_probe(&w, &a);
	probe_inherit(n, c);
	assert_int_equal(probe_state(n), PROBE_UNKNOWN);
	assert_int_equal(probe_count(n), 0);
	probe_free(n);
	probe_free(c);
	world_free(&w);
}

/*
 * After a reload, a probe of the same command takes the old one's state,
 * streak and counters: down with one pass in a row, it needs one more
 * pass for rise 3, where a new probe would need three (or none at all:
 * its first result would be taken at once).
 */
static void
test_inherit_exec(void **state)
{
	static const char	codes[] = "10000";
	static const char	want[] = "DDDUU";
	char			*other[] = { path_false, NULL };
	struct world		w;
	struct seq		q;
	struct probe		*c, *n;

	seq_init(&q, codes);
	world_init(&w);
	c = exec_probe(&w, q.argv, 3, 3);
	probe_start(c);
	run_until_count(&w, c, 2);
	assert_int_equal(probe_state(c), PROBE_DOWN);

	n = exec_probe(&w, other, 3, 3);
	probe_inherit(n, c);
	assert_int_equal(probe_state(n), PROBE_UNKNOWN);
	assert_string_equal(probe_reason(n), "not probed yet");
	probe_free(n);

	n = exec_probe(&w, q.argv, 3, 3);
	probe_inherit(n, c);
	probe_free(c);
	assert_int_equal(probe_state(n), PROBE_DOWN);
	assert_string_equal(probe_reason(n), "exit 0: run 2");
	assert_int_equal(probe_count(n), 2);
	assert_int_equal(probe_failures(n), 1);
	probe_start(n);
	run_until_count(&w, n, 4);
	assert_int_equal(w.ncb, 4);
	assert_seen(&w, 0, codes, want);
	probe_free(n);
	world_free(&w);
	seq_free(&q);
}

/* Freed with its child running: the child is killed, nothing leaks, the
 * callback never runs. */
static void
test_free_in_flight(void **state)
{
	static char	 sleep_path[] = "/bin/sleep", ten[] = "10";
	char		*argv[] = { sleep_path, ten, NULL };
	struct world	 w;
	struct probe	*c;

	world_init(&w);
	c = exec_probe(&w, argv, 2, 2);
	probe_start(c);
	event_base_loop(w.base, EVLOOP_ONCE);	/* the first tick: spawn */
	reap_now();
	probe_free(c);
	world_free(&w);
	assert_int_equal(w.ncb, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_judge_first_result),
		cmocka_unit_test(test_judge_rise_fall),
		cmocka_unit_test(test_judge_streak_carried),
		cmocka_unit_test(test_exec_true_false),
		cmocka_unit_test(test_exec_rise_fall),
		cmocka_unit_test(test_exec_reason_with_cr),
		cmocka_unit_test(test_exec_cannot_run),
		cmocka_unit_test(test_tcp),
		cmocka_unit_test(test_inherit_exec),
		cmocka_unit_test(test_free_in_flight),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
