/*
 * view_fixture.h: a daemon's view (agent/view.h) built without a daemon,
 * for test_status.c and test_metrics.c, and golden-file comparison.
 *
 * The view: the config below; its services evaluated by svc_evaluate()
 * over a snapshot parsed from the HAProxy 2.6.12 captures in data/
 * (hap26_show_info.txt, hap26_show_stat.csv); one service drained by the
 * operator; a metrics object with counts of every kind; the config's
 * checks as a probeset that is never started; frontend control with no
 * I/O; no listener, state file or log trigger. Every time in it is fixed
 * (VF_WALL), and settle_until is 0, so that the rendering is the same on
 * every run.
 *
 * Golden files: data/golden_<name>. Rendered output is compared with the
 * file after "@VERSION@" in the file is replaced by HW_VERSION. To write
 * them anew after a deliberate change of the output, run the tests with
 * HAPWATCH_UPDATE_GOLDEN=1 (see data/README.md) and review the diff.
 */
#ifndef HW_VIEW_FIXTURE_H
#define HW_VIEW_FIXTURE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "drain.h"
#include "fectl.h"
#include "metrics.h"
#include "ovfile.h"
#include "probe.h"
#include "probers.h"
#include "probeset.h"
#include "service.h"
#include "view.h"

/* For helpers that not every test uses. */
#define VF_UNUSED	__attribute__((unused))

#define VF_DATA(f)	TEST_DATA_DIR "/unit/data/" f
#define VF_WALL		1795000000000LL		/* 2026-11-18T11:06:40Z */

#define VF_CONF "{\n" \
	"  \"haproxy\": { \"stats\": \"unix:/run/haproxy/admin.sock\" },\n" \
	"  \"checks\": {\n" \
	"    \"db\": { \"tcp\": \"127.0.0.1:5432\" },\n" \
	"    \"disk\": { \"exec\": [\"/bin/true\"] }\n" \
	"  },\n" \
	"  \"services\": {\n" \
	"    \"web\": { \"require\": [ { \"backend\": \"web\"," \
	" \"min_percent\": 50 } ] },\n" \
	"    \"first\": { \"require\": [ { \"backend\": \"bk_first\"," \
	" \"min\": 2 }, { \"backend\": \"bk_all\", \"allbackups\": true } ] },\n" \
	"    \"gone\": { \"require\": [ { \"backend\": \"nosuch\" } ] },\n" \
	"    \"be\": { \"require\": [ { \"backend\": \"be\" } ] },\n" \
	"    \"peer\": { \"require\": [ { \"check\": \"db\" } ] }\n" \
	"  },\n" \
	"  \"listen\": [ { \"http\": \"127.0.0.1:8080\"," \
	" \"paths\": { \"/\": \"web\" } } ],\n" \
	"  \"frontends\": { \"fe_only\": \"web\", \"fe_other\": \"first\" }\n" \
	"}\n"

struct vfix {
	struct conf		*conf;
	struct event_base	*base;
	struct stats_snapshot	*snap;
	struct svc		*svcs;
	struct metrics		*metrics;
	struct probeset		*probes;
	struct fectl		*fectl;
	struct probers		*probers;
	struct drain		**drains;
	struct ovfile		*ovfile;
	struct view		 v;
};

static char *
vf_slurp(const char *path, size_t *len)
{
	FILE	*f = fopen(path, "rb");
	char	*buf;
	long	 n;

	if (f == NULL)
		return NULL;
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	assert_true(n >= 0);
	rewind(f);
	buf = xmalloc((size_t)n + 1);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	if (len != NULL)
		*len = (size_t)n;
	return buf;
}

static void
vf_snapshot(struct vfix *x)
{
	char	*buf, err[128] = "";
	size_t	 len;

	x->snap = stats_snapshot_new();
	buf = vf_slurp(VF_DATA("hap26_show_info.txt"), &len);
	assert_non_null(buf);
	if (!stats_parse_info(buf, len, &x->snap->info, err, sizeof(err)))
		fail_msg("show info: %s", err);
	x->snap->has_info = true;
	free(buf);
	buf = vf_slurp(VF_DATA("hap26_show_stat.csv"), &len);
	assert_non_null(buf);
	if (!stats_parse_csv(buf, len, x->snap, err, sizeof(err)))
		fail_msg("show stat: %s", err);
	stats_snapshot_finish(x->snap);
	free(buf);
}

static int
vf_check_state(void *arg, size_t idx, const char **reason)
{
	return probeset_state(arg, idx, reason);
}

static void
vf_no_change(void *arg)
{
}

/* Evaluate every service once, as the first poll would, at fixed times. */
static void
vf_evaluate(struct vfix *x)
{
	struct svc_input	in = { 0 };
	int64_t			next = INT64_MAX;
	size_t			i;

	in.now = 1000;
	in.answered = true;
	in.snap = x->snap;
	in.stats_fresh = true;
	in.check_state = vf_check_state;
	in.check_arg = x->probes;
	x->svcs = xcalloc(x->conf->nservices, sizeof(*x->svcs));
	for (i = 0; i < x->conf->nservices; i++) {
		svc_init(&x->svcs[i], &x->conf->services[i]);
		(void)svc_evaluate(&x->svcs[i], &in, &next);
	}
	/* The operator drains "be". */
	(void)svc_set_override(&x->svcs[3], OVR_DRAIN, NULL);
	for (i = 0; i < x->conf->nservices; i++)
		x->svcs[i].since = VF_WALL - 60000 * (int64_t)i;
}

/* Counts of every kind, some at bucket bounds. */
static void
vf_count(struct metrics *m)
{
	static const struct { enum metric_counter c; int n; } incs[] = {
		{ MC_HOOK_RUNS, 3 }, { MC_HOOK_FAILURES, 1 },
		{ MC_WEBHOOK_SENT, 2 }, { MC_WEBHOOK_RETRIES, 4 },
		{ MC_WEBHOOK_FAILURES, 1 }, { MC_WEBHOOK_DROPPED, 2 },
		{ MC_TRACK_WRITES, 5 }, { MC_CONFIG_RELOADS, 1 },
		{ MC_CONFIG_RELOAD_FAILURES, 1 }, { MC_HAPROXY_PROCESSES, 2 },
	};
	static const int	codes[] = { 200, 200, 200, 503, 404, 401, 418 };
	size_t			i;
	int			k;

	for (i = 0; i < ARRAY_SIZE(incs); i++)
		for (k = 0; k < incs[i].n; k++)
			metrics_inc(m, incs[i].c);
	for (i = 0; i < ARRAY_SIZE(codes); i++)
		metrics_http_code(m, codes[i]);
	metrics_agent_reply(m, SVC_UP);
	metrics_agent_reply(m, SVC_UP);
	metrics_agent_reply(m, SVC_DRAIN);
	metrics_conn_error(m, CONN_ERR_SILENT);
	metrics_conn_error(m, CONN_ERR_SILENT);
	metrics_conn_error(m, CONN_ERR_AUTH);
	metrics_poll(m, POLL_OK, 800);		/* le 0.001 */
	metrics_poll(m, POLL_OK, 1000);		/* le 0.001: the bound itself */
	metrics_poll(m, POLL_OK, 1001);		/* le 0.002 */
	metrics_poll(m, POLL_OK, 30000);	/* le 0.05 */
	metrics_poll(m, POLL_ETIMEOUT, 600000);	/* le 1 */
	metrics_poll(m, POLL_ECONNECT, 2500000);	/* +Inf */
}

/* The view, as daemon_view() fills it. */
static void
vf_view(struct vfix *x)
{
	x->v.conf = x->conf;
	x->v.conf_path = "/etc/hapwatch/hapwatch.json";
	x->v.started_wall = VF_WALL - 3600000;
	x->v.svcs = x->svcs;
	x->v.nsvcs = x->conf->nservices;
	x->v.haproxy.source = "unix:/run/haproxy/admin.sock";
	x->v.haproxy.snap = x->snap;
	x->v.haproxy.polled = true;
	x->v.haproxy.fresh = true;
	x->v.haproxy.pid = x->snap->info.pid;
	x->v.haproxy.last_poll_wall = VF_WALL;
	x->v.haproxy.last_ok_wall = VF_WALL - 1000;
	x->v.haproxy.settle_until = 0;
	x->v.haproxy.last_error = POLL_ETIMEOUT;
	x->v.haproxy.last_detail =
	    "no reply from unix:/run/haproxy/admin.sock within 500ms";
	x->v.fectl = x->fectl;
	x->v.probes = x->probes;
	x->v.metrics = x->metrics;
	x->v.drains = (const struct drain *const *)x->drains;
	x->v.probers = x->probers;
	x->v.ovfile = x->ovfile;
}

static void
vf_init(struct vfix *x)
{
	struct conf_errors	 errs = { 0 };
	struct probe_env	 penv = { 0 };
	struct fectl_env	 fenv = { 0 };
	size_t			 i;

	memset(x, 0, sizeof(*x));
	x->conf = conf_load_string("view.json", VF_CONF, NULL, &errs);
	for (i = 0; i < errs.n; i++)
		print_error("%s\n", errs.msgs[i]);
	assert_non_null(x->conf);
	conf_errors_free(&errs);
	x->base = event_base_new();
	penv.base = fenv.base = x->base;
	fenv.stats = x->conf->haproxy.stats_addr;
	fenv.timeout = 500;
	x->probes = probeset_new(&penv, x->conf, vf_no_change, NULL);
	vf_snapshot(x);
	vf_evaluate(x);
	x->fectl = fectl_new(&fenv, x->conf, x->svcs);
	x->metrics = metrics_new();
	vf_count(x->metrics);
	/* No prober yet (their times are the clock's), no drain watch. */
	x->probers = probers_new(16);
	x->drains = xcalloc(x->conf->nservices, sizeof(*x->drains));
	x->ovfile = ovfile_new(x->base, "/nonexistent/hapwatch-view-test");
	vf_view(x);
}

static void
vf_free(struct vfix *x)
{
	size_t	i;

	fectl_free(x->fectl);
	probeset_free(x->probes);
	probers_free(x->probers);
	free(x->drains);
	ovfile_free(x->ovfile);
	for (i = 0; i < x->conf->nservices; i++)
		svc_clear(&x->svcs[i]);
	free(x->svcs);
	stats_snapshot_free(x->snap);
	metrics_free(x->metrics);
	conf_free(x->conf);
	reap_now();
	event_base_free(x->base);
}

/* s with every occurrence of from replaced by to; the caller frees it. */
static VF_UNUSED char *
vf_replace(const char *s, const char *from, const char *to)
{
	struct sbuf	 b = { 0 };
	const char	*p;
	size_t		 fl = strlen(from);

	while ((p = strstr(s, from)) != NULL) {
		sbuf_append(&b, s, (size_t)(p - s));
		sbuf_puts(&b, to);
		s = p + fl;
	}
	sbuf_puts(&b, s);
	return b.data;
}

/* s with each empty array or object written over lines ("[\n  ]") made
 * "[]" (or "{}"); the caller frees it. */
static VF_UNUSED char *
vf_squeeze_empty(const char *s)
{
	struct sbuf	 b = { 0 };
	const char	*p;

	while (*s != '\0') {
		if (*s == '[' || *s == '{') {
			for (p = s + 1; *p == ' ' || *p == '\n'; p++)
				;
			if (p > s + 1 && *p == (*s == '[' ? ']' : '}')) {
				sbuf_append(&b, s, 1);
				sbuf_append(&b, p, 1);
				s = p + 1;
				continue;
			}
		}
		sbuf_append(&b, s, 1);
		s++;
	}
	return b.data;
}

/*
 * Compare got with data/golden_<name>, HW_VERSION standing for each
 * "@VERSION@" of the file between pre and post (the text around it, so
 * that only the daemon's own version is replaced). With
 * HAPWATCH_UPDATE_GOLDEN=1 in the environment, write the file first.
 */
static VF_UNUSED void
vf_golden(const char *name, const char *got, const char *pre,
    const char *post)
{
	char	 path[512], *want, *file, *ver, *at;
	FILE	*f;
	size_t	 line = 1, i;

	snprintf(path, sizeof(path), VF_DATA("golden_%s"), name);
	ver = xasprintf("%s%s%s", pre, HW_VERSION, post);
	at = xasprintf("%s@VERSION@%s", pre, post);
	if (getenv("HAPWATCH_UPDATE_GOLDEN") != NULL) {
		file = vf_replace(got, ver, at);
		f = fopen(path, "w");
		assert_non_null(f);
		fputs(file, f);
		assert_int_equal(fclose(f), 0);
		print_message("rewrote %s\n", path);
		free(file);
	}
	file = vf_slurp(path, NULL);
	if (file == NULL)
		fail_msg("%s: missing; HAPWATCH_UPDATE_GOLDEN=1 writes it", path);
	want = vf_replace(file, at, ver);
	for (i = 0; got[i] != '\0' && got[i] == want[i]; i++)
		line += got[i] == '\n';
	if (got[i] != want[i]) {
		while (i > 0 && got[i - 1] != '\n')
			i--;
		print_error("%s differs from line %zu:\n--- want\n%.300s\n"
		    "--- got\n%.300s\n", path, line, want + i, got + i);
		fail_msg("%s: rendered output differs (HAPWATCH_UPDATE_GOLDEN=1 "
		    "rewrites it)", name);
	}
	free(want);
	free(file);
	free(ver);
	free(at);
}

#endif
