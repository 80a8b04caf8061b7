/*
 * test_service.c: conditions, hysteresis, settle, overrides and reasons;
 * the agent-check reply table; durations.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "agentcheck.h"
#include "service.h"
#include "util.h"

/* A snapshot with one backend. */
static void
snap_one(struct stats_snapshot *snap, const char *name, int act, int bck,
    int srv_active, int srv_active_usable)
{
	memset(snap, 0, sizeof(*snap));
	snap->backends = xcalloc(1, sizeof(*snap->backends));
	snap->nbackends = snap->cap = 1;
	snap->backends[0].name = xstrdup(name);
	snap->backends[0].act = act;
	snap->backends[0].bck = bck;
	snap->backends[0].has_row = true;
	snap->backends[0].status_up = act + bck > 0;
	snap->backends[0].has_servers = true;
	if (srv_active >= 0) {
		snap->backends[0].have_servers_rows = true;
		snap->backends[0].srv_active = srv_active;
		snap->backends[0].srv_active_usable = srv_active_usable;
	}
}

static char name_webapp[] = "webapp", name_web[] = "web", name_peer[] = "peer";

struct fixture {
	struct conf_cond	 cond;
	struct conf_service	 conf;
	struct svc		 s;
	struct stats_snapshot	 snap;
	struct svc_input	 in;
	int64_t			 next;
};

static void
fx_init(struct fixture *f, int min, int min_percent, int64_t up_after,
    int64_t down_after)
{
	memset(f, 0, sizeof(*f));
	f->cond.kind = COND_BACKEND;
	f->cond.name = name_webapp;
	f->cond.min = min;
	f->cond.min_percent = min_percent;
	f->conf.name = name_web;
	f->conf.conds = &f->cond;
	f->conf.nconds = 1;
	f->conf.up_after = up_after;
	f->conf.down_after = down_after;
	f->conf.weight_from = CONF_NONE;
	svc_init(&f->s, &f->conf);
	f->in.now = 1000;
	f->in.answered = true;
	f->in.stats_fresh = true;
	f->in.snap = &f->snap;
}

static int
fx_eval(struct fixture *f, int64_t now)
{
	f->in.now = now;
	f->next = INT64_MAX;
	return svc_evaluate(&f->s, &f->in, &f->next);
}

static void
fx_free(struct fixture *f)
{
	svc_clear(&f->s);
	stats_snapshot_clear(&f->snap);
}

static void
test_starting(void **state)
{
	struct fixture	f;

	fx_init(&f, 1, -1, 0, 0);
	snap_one(&f.snap, "webapp", 3, 0, 3, 3);
	f.in.answered = false;
	fx_eval(&f, 1000);
	assert_int_equal(f.s.state, SVC_DOWN);
	assert_string_equal(f.s.reason, "starting");
	fx_free(&f);
}

static void
test_first_verdict_at_once(void **state)
{
	struct fixture	f;
	int		chg;

	/* up_after does not delay the first verdict. */
	fx_init(&f, 1, -1, 5000, 0);
	snap_one(&f.snap, "webapp", 3, 0, 3, 3);
	chg = fx_eval(&f, 1000);
	assert_true(chg & SVC_CHG_FIRST);
	assert_true(chg & SVC_CHG_VERDICT);
	assert_int_equal(f.s.state, SVC_UP);
	assert_string_equal(f.s.reason, "all conditions hold");
	assert_int_equal(f.s.weight, 100);
	fx_free(&f);
}

static void
test_down_reasons(void **state)
{
	struct fixture	f;

	fx_init(&f, 1, -1, 0, 0);
	snap_one(&f.snap, "webapp", 0, 0, 3, 0);
	f.snap.backends[0].status_up = false;
	fx_eval(&f, 1000);
	assert_int_equal(f.s.state, SVC_DOWN);
	assert_string_equal(f.s.reason, "webapp: 0 of 3 servers usable");
	fx_free(&f);

	fx_init(&f, 1, -1, 0, 0);
	snap_one(&f.snap, "other", 3, 0, -1, 0);
	fx_eval(&f, 1000);
	assert_string_equal(f.s.reason, "webapp: no such backend");
	fx_free(&f);

	fx_init(&f, 2, -1, 0, 0);
	snap_one(&f.snap, "webapp", 1, 0, -1, 0);
	fx_eval(&f, 1000);
	assert_string_equal(f.s.reason, "webapp: 1 usable servers, need 2");
	fx_free(&f);

	fx_init(&f, -1, 50, 0, 0);
	snap_one(&f.snap, "webapp", 1, 0, 3, 1);
	fx_eval(&f, 1000);
	assert_string_equal(f.s.reason,
	    "webapp: 1 of 3 servers usable (33%, need 50%)");
	fx_free(&f);

	fx_init(&f, 1, -1, 0, 0);
	snap_one(&f.snap, "webapp", 3, 0, 3, 3);
	f.in.stats_fresh = false;
	fx_eval(&f, 1000);
	assert_string_equal(f.s.reason, "stats unavailable");
	fx_free(&f);
}

static void
test_capacity_weight(void **state)
{
	struct fixture	f;

	fx_init(&f, 1, -1, 0, 0);
	snap_one(&f.snap, "webapp", 2, 0, 3, 2);
	fx_eval(&f, 1000);
	assert_int_equal(f.s.state, SVC_UP);
	assert_int_equal(f.s.weight, 66);
	/* Only backups left: up, and the weight is at least 1%. */
	f.snap.backends[0].act = 0;
	f.snap.backends[0].bck = 1;
	f.snap.backends[0].srv_active_usable = 0;
	fx_eval(&f, 1100);
	assert_int_equal(f.s.state, SVC_UP);
	assert_int_equal(f.s.weight, 1);
	fx_free(&f);
}

static void
test_hysteresis(void **state)
{
	struct fixture	f;

	fx_init(&f, 1, -1, 2000, 1000);
	snap_one(&f.snap, "webapp", 3, 0, -1, 0);
	fx_eval(&f, 1000);
	assert_int_equal(f.s.state, SVC_UP);
	/* Failing: still up for down_after, and a deadline is armed. */
	f.snap.backends[0].act = 0;
	fx_eval(&f, 2000);
	assert_int_equal(f.s.state, SVC_UP);
	assert_int_equal(f.next, 3000);
	assert_non_null(strstr(f.s.reason, "down_after 1s pending"));
	/* It held again before the deadline: the clock starts over. */
	f.snap.backends[0].act = 3;
	fx_eval(&f, 2500);
	f.snap.backends[0].act = 0;
	fx_eval(&f, 2900);
	assert_int_equal(f.s.state, SVC_UP);
	fx_eval(&f, 3899);
	assert_int_equal(f.s.state, SVC_UP);
	assert_true(fx_eval(&f, 3900) & SVC_CHG_STATE);
	assert_int_equal(f.s.state, SVC_DOWN);
	/* Recovery needs up_after. */
	f.snap.backends[0].act = 3;
	fx_eval(&f, 4000);
	assert_int_equal(f.s.state, SVC_DOWN);
	assert_int_equal(f.next, 6000);
	fx_eval(&f, 6000);
	assert_int_equal(f.s.state, SVC_UP);
	assert_int_equal(f.s.transitions, 3);
	fx_free(&f);
}

static void
test_settle(void **state)
{
	struct fixture	f;

	fx_init(&f, 1, -1, 0, 0);
	snap_one(&f.snap, "webapp", 0, 0, -1, 0);
	f.snap.backends[0].status_up = false;
	fx_eval(&f, 1000);
	assert_int_equal(f.s.state, SVC_DOWN);
	/* A reload at 1500: its early word may not bring the service up... */
	f.in.settle_until = 6500;
	f.snap.backends[0].act = 3;
	fx_eval(&f, 1600);
	assert_int_equal(f.s.state, SVC_DOWN);
	assert_int_equal(f.next, 6500);
	assert_non_null(strstr(f.s.reason, "settling"));
	/* ...but may bring it down, and after settle, up. */
	fx_eval(&f, 6500);
	assert_int_equal(f.s.state, SVC_UP);
	f.in.settle_until = 20000;
	f.snap.backends[0].act = 0;
	fx_eval(&f, 7000);
	assert_int_equal(f.s.state, SVC_DOWN);
	fx_free(&f);
}

static void
test_cold_start_settle(void **state)
{
	struct fixture	f;
	int		chg;

	/* HAProxy younger than settle, servers (optimistically) up: no
	 * verdict yet, still starting, until settle ends. */
	fx_init(&f, 1, -1, 0, 0);
	snap_one(&f.snap, "webapp", 3, 0, -1, 0);
	f.in.settle_until = 5000;
	chg = fx_eval(&f, 1000);
	assert_false(chg & SVC_CHG_FIRST);
	assert_false(f.s.evaluated);
	assert_int_equal(f.s.state, SVC_DOWN);
	assert_string_equal(f.s.reason,
	    "starting (waiting for HAProxy's first checks)");
	assert_int_equal(f.next, 5000);
	chg = fx_eval(&f, 5000);
	assert_true(chg & SVC_CHG_FIRST);
	assert_int_equal(f.s.state, SVC_UP);
	fx_free(&f);

	/* A failing rule is HAProxy's word at once. */
	fx_init(&f, 1, -1, 0, 0);
	snap_one(&f.snap, "webapp", 0, 0, -1, 0);
	f.snap.backends[0].status_up = false;
	f.in.settle_until = 5000;
	assert_true(fx_eval(&f, 1000) & SVC_CHG_FIRST);
	assert_true(f.s.evaluated);
	assert_string_equal(f.s.reason, "webapp: no usable server");
	fx_free(&f);
}

static void
test_override(void **state)
{
	struct fixture	f;

	fx_init(&f, 1, -1, 0, 0);
	snap_one(&f.snap, "webapp", 3, 0, -1, 0);
	fx_eval(&f, 1000);
	assert_true(svc_set_override(&f.s, OVR_DRAIN, NULL) & SVC_CHG_STATE);
	assert_int_equal(f.s.state, SVC_DRAIN);
	assert_string_equal(f.s.reason, "drained by operator");
	/* The verdict goes on underneath. */
	f.snap.backends[0].act = 0;
	fx_eval(&f, 1100);
	assert_int_equal(f.s.state, SVC_DRAIN);
	assert_false(f.s.up);
	svc_set_override(&f.s, OVR_MAINT, NULL);
	assert_int_equal(f.s.state, SVC_MAINT);
	svc_set_override(&f.s, OVR_NONE, NULL);
	assert_int_equal(f.s.state, SVC_DOWN);
	assert_string_equal(f.s.reason, "webapp: no usable server");
	fx_free(&f);
}

static int
check_state_cb(void *arg, size_t idx, const char **reason)
{
	*reason = "HTTP 503";
	return *(int *)arg;
}

static void
test_check_condition(void **state)
{
	struct fixture	f;
	int		cs = -1;

	fx_init(&f, 1, -1, 0, 0);
	f.cond.kind = COND_CHECK;
	f.cond.name = name_peer;
	f.in.check_state = check_state_cb;
	f.in.check_arg = &cs;
	/* Not probed yet: still starting. */
	fx_eval(&f, 1000);
	assert_string_equal(f.s.reason, "starting");
	cs = 0;
	assert_true(fx_eval(&f, 1100) & SVC_CHG_FIRST);
	assert_string_equal(f.s.reason, "peer: HTTP 503");
	cs = 1;
	fx_eval(&f, 1200);
	assert_int_equal(f.s.state, SVC_UP);
	fx_free(&f);
}

static void
test_agent_replies(void **state)
{
	char	buf[256];

	agentcheck_format_reply(buf, sizeof(buf), SVC_UP, "x", 66, 0, false);
	assert_string_equal(buf, "up 66%\n");
	agentcheck_format_reply(buf, sizeof(buf), SVC_UP, "x", 66, 25, false);
	assert_string_equal(buf, "up 25%\n");
	agentcheck_format_reply(buf, sizeof(buf), SVC_UP, "x", 0, 0, false);
	assert_string_equal(buf, "up 1%\n");
	agentcheck_format_reply(buf, sizeof(buf), SVC_DOWN,
	    "webapp: 0 of 3 servers usable", 0, 0, false);
	assert_string_equal(buf, "down #webapp: 0 of 3 servers usable\n");
	agentcheck_format_reply(buf, sizeof(buf), SVC_DRAIN, "x", 66, 0, false);
	assert_string_equal(buf, "up 0% #drain\n");
	agentcheck_format_reply(buf, sizeof(buf), SVC_MAINT, "x", 66, 0, false);
	assert_string_equal(buf, "stopped #maint\n");
	agentcheck_format_reply(buf, sizeof(buf), SVC_UP, "x", 66, 0, true);
	assert_string_equal(buf, "up ready 66%\n");
	agentcheck_format_reply(buf, sizeof(buf), SVC_DRAIN, "x", 66, 0, true);
	assert_string_equal(buf, "drain\n");
	agentcheck_format_reply(buf, sizeof(buf), SVC_MAINT, "x", 66, 0, true);
	assert_string_equal(buf, "maint\n");
	/* A newline in a reason would end the reply early. */
	agentcheck_format_reply(buf, sizeof(buf), SVC_DOWN, "a\nb\rc", 0, 0, false);
	assert_string_equal(buf, "down #a b c\n");
}

static void
test_agent_request(void **state)
{
	char	name[AGENTCHECK_LINE_MAX + 1], big[400];

	assert_int_equal(agentcheck_parse_request("web\n", 4, name, sizeof(name)),
	    AGENTCHECK_REQ_OK);
	assert_string_equal(name, "web");
	assert_int_equal(agentcheck_parse_request("web\r\n", 5, name, sizeof(name)),
	    AGENTCHECK_REQ_OK);
	assert_string_equal(name, "web");
	assert_int_equal(agentcheck_parse_request("we", 2, name, sizeof(name)),
	    AGENTCHECK_REQ_MORE);
	assert_int_equal(agentcheck_parse_request("w\0b\n", 4, name, sizeof(name)),
	    AGENTCHECK_REQ_BAD);
	memset(big, 'a', sizeof(big));
	assert_int_equal(agentcheck_parse_request(big, 256, name, sizeof(name)),
	    AGENTCHECK_REQ_MORE);
	assert_int_equal(agentcheck_parse_request(big, 257, name, sizeof(name)),
	    AGENTCHECK_REQ_BAD);
	big[256] = '\n';
	assert_int_equal(agentcheck_parse_request(big, 300, name, sizeof(name)),
	    AGENTCHECK_REQ_OK);
	assert_int_equal(strlen(name), 256);
}

static void
test_url_redact(void **state)
{
	char	buf[256];

	url_redact("http://admin:s3cret@127.0.0.1:8404/stats;csv", false, buf,
	    sizeof(buf));
	assert_string_equal(buf, "http://admin:***@127.0.0.1:8404/stats;csv");
	url_redact("http://127.0.0.1:8404/stats", false, buf, sizeof(buf));
	assert_string_equal(buf, "http://127.0.0.1:8404/stats");
	url_redact("https://hooks.slack.com/services/T0/B0/XyZ", true, buf,
	    sizeof(buf));
	assert_string_equal(buf, "https://hooks.slack.com/...");
	url_redact("https://u:p@h/x", true, buf, sizeof(buf));
	assert_string_equal(buf, "https://u:***@h/...");
	url_redact("https://h", true, buf, sizeof(buf));
	assert_string_equal(buf, "https://h");
	url_redact("/not/a/url", true, buf, sizeof(buf));
	assert_string_equal(buf, "/not/a/url");
}

static void
test_durations(void **state)
{
	static const struct {
		const char	*in;
		bool		 ok;
		int64_t		 ms;
	} cases[] = {
		{ "0s", true, 0 }, { "250ms", true, 250 }, { "10s", true, 10000 },
		{ "2m", true, 120000 }, { "1h", true, 3600000 },
		{ "168h", true, 604800000 }, { "169h", false, 0 },
		{ "1.5s", false, 0 }, { "1s500ms", false, 0 }, { "-1s", false, 0 },
		{ "+1s", false, 0 }, { " 1s", false, 0 }, { "1s ", false, 0 },
		{ "1", false, 0 }, { "s", false, 0 }, { "", false, 0 },
		{ "1S", false, 0 }, { "1d", false, 0 }, { "1ms0", false, 0 },
		{ "99999999999999999999s", false, 0 },
	};
	char	buf[32];
	int64_t	ms;
	size_t	i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		ms = -1;
		assert_int_equal(parse_duration(cases[i].in, &ms), cases[i].ok);
		if (cases[i].ok)
			assert_int_equal(ms, cases[i].ms);
	}
	fmt_duration(1500, buf, sizeof(buf));
	assert_string_equal(buf, "1500ms");
	fmt_duration(120000, buf, sizeof(buf));
	assert_string_equal(buf, "2m");
	fmt_duration(0, buf, sizeof(buf));
	assert_string_equal(buf, "0s");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_starting),
		cmocka_unit_test(test_first_verdict_at_once),
		cmocka_unit_test(test_down_reasons),
		cmocka_unit_test(test_capacity_weight),
		cmocka_unit_test(test_hysteresis),
		cmocka_unit_test(test_settle),
		cmocka_unit_test(test_cold_start_settle),
		cmocka_unit_test(test_override),
		cmocka_unit_test(test_check_condition),
		cmocka_unit_test(test_agent_replies),
		cmocka_unit_test(test_agent_request),
		cmocka_unit_test(test_url_redact),
		cmocka_unit_test(test_durations),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
