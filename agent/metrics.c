/*
 * metrics.c: counters that outlive reloads, and /metrics rendered from
 * them and from the daemon's view.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "drain.h"
#include "listener.h"
#include "logtrig.h"
#include "metrics.h"
#include "probe.h"
#include "probers.h"
#include "probeset.h"
#include "service.h"
#include "statefile.h"
#include "view.h"

/* HTTP status codes counted one by one; others go to "other". */
static const int http_codes[] = {
	200, 202, 400, 401, 404, 405, 408, 409, 413, 429, 431, 503, 505
};
#define HTTP_NCODES	ARRAY_SIZE(http_codes)

static const char *const conn_error_names[CONN_NERRORS] = {
	[CONN_ERR_ACCEPT] = "accept", [CONN_ERR_PROXY] = "proxy",
	[CONN_ERR_SILENT] = "silent", [CONN_ERR_INCOMPLETE] = "incomplete",
	[CONN_ERR_TIMEOUT] = "timeout", [CONN_ERR_AUTH] = "auth",
};

struct metrics {
	uint64_t		counters[MC_NCOUNTERS];
	uint64_t		http[HTTP_NCODES + 1];	/* last: other */
	uint64_t		agent[SVC_NSTATES];
	uint64_t		conn_errors[CONN_NERRORS];
	struct poll_counters	poll;
	uint64_t		master_errors[POLL_NERRORS];
};

struct metrics *
metrics_new(void)
{
	return xcalloc(1, sizeof(struct metrics));
}

void
metrics_free(struct metrics *m)
{
	free(m);
}

void
metrics_inc(struct metrics *m, enum metric_counter c)
{
	m->counters[c]++;
}

uint64_t
metrics_get(const struct metrics *m, enum metric_counter c)
{
	return m->counters[c];
}

void
metrics_http_code(struct metrics *m, int code)
{
	size_t	i;

	for (i = 0; i < HTTP_NCODES && http_codes[i] != code; i++)
		;
	m->http[i]++;
}

void
metrics_agent_reply(struct metrics *m, enum svc_state st)
{
	m->agent[st]++;
}

void
metrics_conn_error(struct metrics *m, enum conn_error e)
{
	m->conn_errors[e]++;
}

uint64_t
metrics_conn_errors(const struct metrics *m, enum conn_error e)
{
	return m->conn_errors[e];
}

void
metrics_poll(struct metrics *m, enum poll_error e, int64_t us)
{
	static const int	bounds[METRICS_POLL_NBUCKETS] = METRICS_POLL_BUCKETS;
	struct poll_counters	*p = &m->poll;
	size_t			 i;

	p->polls++;
	if (e != POLL_OK) {
		p->errors++;
		p->errors_by[e]++;
	}
	p->dur_sum += (double)us / 1e6;
	for (i = 0; i < METRICS_POLL_NBUCKETS && us > bounds[i] * 1000LL; i++)
		;
	p->hist[i]++;
}

const struct poll_counters *
metrics_polls(const struct metrics *m)
{
	return &m->poll;
}

void
metrics_master_error(struct metrics *m, enum poll_error e)
{
	m->master_errors[e]++;
}

uint64_t
metrics_master_errors(const struct metrics *m)
{
	uint64_t	n = 0;
	size_t		i;

	for (i = 0; i < POLL_NERRORS; i++)
		n += m->master_errors[i];
	return n;
}

/* ---- rendering ---- */

/* Label values: escape backslash, quote and newline. */
static void
label(struct sbuf *out, const char *v)
{
	for (; *v != '\0'; v++) {
		if (*v == '\\' || *v == '"')
			sbuf_printf(out, "\\%c", *v);
		else if (*v == '\n')
			sbuf_puts(out, "\\n");
		else
			sbuf_append(out, v, 1);
	}
}

static void
head(struct sbuf *out, const char *name, const char *type, const char *help)
{
	sbuf_printf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* name{service="<s>"<rest> */
static void
svc_series(struct sbuf *out, const char *name, const struct svc *s)
{
	sbuf_printf(out, "%s{service=\"", name);
	label(out, s->conf->name);
	sbuf_puts(out, "\"");
}

/* The backend results of a service, depth first (any/at_least's too). */
struct nbsrv_list {
	const struct cond_result	**v;
	size_t				  n, cap;
};

static void
nbsrv_collect(struct nbsrv_list *l, const struct cond_result *res, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++) {
		if (res[i].nsub > 0)
			nbsrv_collect(l, res[i].sub, res[i].nsub);
		if (res[i].kind != COND_BACKEND || !res[i].present)
			continue;
		if (l->n == l->cap) {
			l->cap = l->cap ? l->cap * 2 : 16;
			l->v = xrealloc(l->v, l->cap * sizeof(*l->v));
		}
		l->v[l->n++] = &res[i];
	}
}

/* Indices into v (arg) by name, then by position: the first of each
 * name first. */
static int
nbsrv_cmp(const void *a, const void *b, void *arg)
{
	const struct cond_result **v = arg;
	size_t	x = *(const size_t *)a, y = *(const size_t *)b;
	int	c = strcmp(v[x]->name, v[y]->name);

	return c != 0 ? c : (x < y ? -1 : x > y);
}

/*
 * One series per backend a service requires, those inside any/at_least
 * included: a backend named twice (once by name, once in an any) gives
 * one, or the page is invalid. O(n log n): "*" over thousands of backends
 * must not stall the loop.
 */
static void
render_nbsrv(struct sbuf *out, const struct svc *s)
{
	struct nbsrv_list	 l = { 0 };
	size_t			*idx, i;
	bool			*dup;

	nbsrv_collect(&l, s->results, s->nresults);
	idx = xcalloc(l.n + 1, sizeof(*idx));
	dup = xcalloc(l.n + 1, sizeof(*dup));
	for (i = 0; i < l.n; i++)
		idx[i] = i;
	qsort_r(idx, l.n, sizeof(*idx), nbsrv_cmp, l.v);
	for (i = 1; i < l.n; i++)
		dup[idx[i]] = strcmp(l.v[idx[i]]->name, l.v[idx[i - 1]]->name) == 0;
	for (i = 0; i < l.n; i++) {
		if (dup[i])
			continue;
		svc_series(out, "hapwatch_condition_nbsrv", s);
		sbuf_puts(out, ",proxy=\"");
		label(out, l.v[i]->name);
		sbuf_printf(out, "\"} %d\n", l.v[i]->nbsrv);
	}
	free(dup);
	free(idx);
	free(l.v);
}

static void
render_services(const struct view *v, struct sbuf *out)
{
	size_t	i;
	int	st;

	head(out, "hapwatch_service_up", "gauge",
	    "1 if the service's effective state takes traffic: up or "
	    "degraded.");
	for (i = 0; i < v->nsvcs; i++) {
		svc_series(out, "hapwatch_service_up", &v->svcs[i]);
		sbuf_printf(out, "} %d\n", svc_state_serves(v->svcs[i].state));
	}
	head(out, "hapwatch_service_state", "gauge",
	    "1 for the service's current effective state.");
	for (i = 0; i < v->nsvcs; i++) {
		for (st = 0; st < SVC_NSTATES; st++) {
			svc_series(out, "hapwatch_service_state", &v->svcs[i]);
			sbuf_printf(out, ",state=\"%s\"} %d\n",
			    svc_state_name((enum svc_state)st),
			    v->svcs[i].state == (enum svc_state)st);
		}
	}
	head(out, "hapwatch_service_transitions_total", "counter",
	    "Effective state changes of the service.");
	for (i = 0; i < v->nsvcs; i++) {
		svc_series(out, "hapwatch_service_transitions_total", &v->svcs[i]);
		sbuf_printf(out, "} %llu\n",
		    (unsigned long long)v->svcs[i].transitions);
	}
	head(out, "hapwatch_service_drain_let_go", "gauge",
	    "1 once the service's drain has let go (every load balancer, "
	    "agent and frontend watched), 0 while pending or not drained.");
	for (i = 0; i < v->nsvcs; i++) {
		svc_series(out, "hapwatch_service_drain_let_go", &v->svcs[i]);
		sbuf_printf(out, "} %d\n", v->drains[i] != NULL &&
		    drain_let_go(v->drains[i]));
	}
	head(out, "hapwatch_condition_nbsrv", "gauge",
	    "HAProxy's nbsrv() for each backend a service requires.");
	for (i = 0; i < v->nsvcs; i++)
		render_nbsrv(out, &v->svcs[i]);
}

enum be_field { BE_ACT, BE_BCK, BE_SERVERS };

static void
render_backend_gauge(struct sbuf *out, const struct stats_snapshot *snap,
    const char *name, const char *help, enum be_field which)
{
	size_t	i;

	head(out, name, "gauge", help);
	for (i = 0; snap != NULL && i < snap->nbackends; i++) {
		const struct stats_backend *be = &snap->backends[i];
		int n = which == BE_ACT ? be->act : which == BE_BCK ? be->bck :
		    be->srv_active;

		if (!be->has_row || (which == BE_SERVERS && !be->have_servers_rows))
			continue;
		sbuf_printf(out, "%s{proxy=\"", name);
		label(out, be->name);
		sbuf_printf(out, "\"} %d\n", n);
	}
}

static void
render_stats(const struct view *v, const struct metrics *m, struct sbuf *out)
{
	static const int		 bounds[METRICS_POLL_NBUCKETS] =
					    METRICS_POLL_BUCKETS;
	const struct view_haproxy	*h = &v->haproxy;
	const struct poll_counters	*p = &m->poll;
	uint64_t			 cum = 0;
	size_t				 i;

	render_backend_gauge(out, h->snap, "hapwatch_backend_active_servers",
	    "HAProxy's act: usable active servers of the backend.", BE_ACT);
	render_backend_gauge(out, h->snap, "hapwatch_backend_backup_servers",
	    "HAProxy's bck: usable backup servers of the backend.", BE_BCK);
	render_backend_gauge(out, h->snap, "hapwatch_backend_servers",
	    "Configured active servers of the backend, where known.",
	    BE_SERVERS);
	/* Agent mode polls nothing: no stats_up to say 0 for good. */
	if (h->polled) {
		head(out, "hapwatch_stats_up", "gauge",
		    "1 while HAProxy's stats are fresh (within grace).");
		sbuf_printf(out, "hapwatch_stats_up %d\n", h->fresh);
	}
	head(out, "hapwatch_stats_poll_duration_seconds", "histogram",
	    "Time from sending a stats poll to its complete reply.");
	for (i = 0; i < METRICS_POLL_NBUCKETS; i++) {
		cum += p->hist[i];
		sbuf_printf(out, "hapwatch_stats_poll_duration_seconds_bucket"
		    "{le=\"%g\"} %llu\n", bounds[i] / 1000.0,
		    (unsigned long long)cum);
	}
	cum += p->hist[METRICS_POLL_NBUCKETS];
	sbuf_printf(out, "hapwatch_stats_poll_duration_seconds_bucket"
	    "{le=\"+Inf\"} %llu\n", (unsigned long long)cum);
	sbuf_printf(out, "hapwatch_stats_poll_duration_seconds_sum %.6f\n"
	    "hapwatch_stats_poll_duration_seconds_count %llu\n", p->dur_sum,
	    (unsigned long long)cum);
	head(out, "hapwatch_stats_errors_total", "counter",
	    "Failed stats polls by reason.");
	for (i = 1; i < POLL_NERRORS; i++)
		sbuf_printf(out, "hapwatch_stats_errors_total{reason=\"%s\"} %llu\n",
		    poll_error_str((enum poll_error)i),
		    (unsigned long long)p->errors_by[i]);
	head(out, "hapwatch_haproxy_reloads_total", "counter",
	    "New HAProxy processes seen (reloads and restarts).");
	sbuf_printf(out, "hapwatch_haproxy_reloads_total %llu\n",
	    (unsigned long long)m->counters[MC_HAPROXY_PROCESSES]);
	head(out, "hapwatch_haproxy_reload_failures_total", "counter",
	    "HAProxy reloads that failed (its master says so): the old worker "
	    "goes on with the old config.");
	sbuf_printf(out, "hapwatch_haproxy_reload_failures_total %llu\n",
	    (unsigned long long)m->counters[MC_HAPROXY_RELOAD_FAILURES]);
	if (v->haproxy.master != NULL) {
		head(out, "hapwatch_master_up", "gauge",
		    "1 while HAProxy's master CLI answers (its last poll did).");
		sbuf_printf(out, "hapwatch_master_up %d\n",
		    v->haproxy.master_proc != NULL &&
		    v->haproxy.master_error == POLL_OK);
		head(out, "hapwatch_master_errors_total", "counter",
		    "Failed polls of HAProxy's master CLI, by reason.");
		for (i = 1; i < POLL_NERRORS; i++)
			sbuf_printf(out, "hapwatch_master_errors_total{reason=\"%s\"}"
			    " %llu\n", poll_error_str((enum poll_error)i),
			    (unsigned long long)m->master_errors[i]);
	}
}

static void
render_responders(const struct view *v, const struct metrics *m,
    struct sbuf *out)
{
	size_t	i;

	head(out, "hapwatch_listener_open", "gauge",
	    "1 while the listener's socket is listening.");
	for (i = 0; i < v->nlisteners; i++) {
		const struct conf_listen *c = listener_conf(v->listeners[i]);

		sbuf_puts(out, "hapwatch_listener_open{listener=\"");
		label(out, c->address);
		sbuf_printf(out, "\",kind=\"%s\"} %d\n", listen_kind_name(c->kind),
		    listener_is_open(v->listeners[i]));
	}
	head(out, "hapwatch_http_requests_total", "counter",
	    "HTTP answers by status code.");
	for (i = 0; i < HTTP_NCODES; i++)
		sbuf_printf(out, "hapwatch_http_requests_total{code=\"%d\"} %llu\n",
		    http_codes[i], (unsigned long long)m->http[i]);
	sbuf_printf(out, "hapwatch_http_requests_total{code=\"other\"} %llu\n",
	    (unsigned long long)m->http[HTTP_NCODES]);
	head(out, "hapwatch_agent_replies_total", "counter",
	    "Agent-check replies by the state they carried.");
	for (i = 0; i < SVC_NSTATES; i++)
		sbuf_printf(out, "hapwatch_agent_replies_total{state=\"%s\"} %llu\n",
		    svc_state_name((enum svc_state)i),
		    (unsigned long long)m->agent[i]);
	head(out, "hapwatch_connection_errors_total", "counter",
	    "Connections that ended without their answer, by reason: accept "
	    "failed, bad PROXY header, silent (nothing sent), incomplete "
	    "(closed mid-request), timeout (408), auth (401).");
	for (i = 0; i < CONN_NERRORS; i++)
		sbuf_printf(out, "hapwatch_connection_errors_total{reason=\"%s\"} "
		    "%llu\n", conn_error_names[i],
		    (unsigned long long)m->conn_errors[i]);
}

static void
render_probes(const struct view *v, struct sbuf *out)
{
	size_t	i;

	head(out, "hapwatch_check_up", "gauge",
	    "1 if the check passes (after rise/fall), 0 if not or not yet probed.");
	for (i = 0; i < probeset_count(v->probes); i++) {
		const struct probe *c = probeset_get(v->probes, i);

		sbuf_puts(out, "hapwatch_check_up{check=\"");
		label(out, probe_name(c));
		sbuf_printf(out, "\"} %d\n", probe_state(c) == PROBE_UP);
	}
}

static void
gauge(struct sbuf *out, const char *name, const char *help, uint64_t n)
{
	head(out, name, "gauge", help);
	sbuf_printf(out, "%s %llu\n", name, (unsigned long long)n);
}

static void
counter(struct sbuf *out, const char *name, const char *help, uint64_t n)
{
	head(out, name, "counter", help);
	sbuf_printf(out, "%s %llu\n", name, (unsigned long long)n);
}

static void
render_misc(const struct view *v, const struct metrics *m, struct sbuf *out)
{
	const uint64_t		*c = m->counters;
	struct statefile_status	 st;

	counter(out, "hapwatch_hook_runs_total", "Exec hooks started.",
	    c[MC_HOOK_RUNS]);
	counter(out, "hapwatch_hook_failures_total",
	    "Exec hooks that failed, timed out or could not start.",
	    c[MC_HOOK_FAILURES]);
	counter(out, "hapwatch_webhooks_sent_total", "Webhooks delivered (2xx).",
	    c[MC_WEBHOOK_SENT]);
	counter(out, "hapwatch_webhook_retries_total",
	    "Webhook attempts that failed and were retried.",
	    c[MC_WEBHOOK_RETRIES]);
	counter(out, "hapwatch_webhook_failures_total",
	    "Webhooks given up after every retry, or dropped from a full queue.",
	    c[MC_WEBHOOK_FAILURES] + c[MC_WEBHOOK_DROPPED]);
	counter(out, "hapwatch_track_file_writes_total", "Track files written.",
	    c[MC_TRACK_WRITES]);
	counter(out, "hapwatch_track_file_failures_total",
	    "Track files that could not be written (retried on the next "
	    "change).", c[MC_TRACK_FAILURES]);
	gauge(out, "hapwatch_probers", "Probers (load balancers' health "
	    "checks, agent-checks) in the table, by source address.",
	    probers_count(v->probers));
	counter(out, "hapwatch_prober_evictions_total", "Probers evicted from "
	    "the full table (a scan or a flood from many addresses).",
	    probers_evictions(v->probers));
	counter(out, "hapwatch_config_reloads_total",
	    "Config reloads (SIGHUP) applied.", c[MC_CONFIG_RELOADS]);
	counter(out, "hapwatch_config_reload_failures_total",
	    "Config reloads refused (invalid config, cannot bind).",
	    c[MC_CONFIG_RELOAD_FAILURES]);
	if (v->logtrig != NULL) {
		const struct logtrig_counters *lc = logtrig_counters(v->logtrig);

		counter(out, "hapwatch_log_lines_total",
		    "Syslog datagrams received from HAProxy.", lc->received);
		counter(out, "hapwatch_log_triggers_total",
		    "State-change log lines that triggered a poll.", lc->matched);
	}
	if (v->statefile != NULL) {
		statefile_status(v->statefile, &st);
		counter(out, "hapwatch_state_file_saves_total",
		    "Server state file saves requested.", st.requested);
		counter(out, "hapwatch_state_file_failures_total",
		    "Server state file saves that failed (file kept).", st.failures);
	}
}

void
metrics_render(const struct view *v, struct sbuf *out)
{
	render_services(v, out);
	render_stats(v, v->metrics, out);
	render_probes(v, out);
	render_responders(v, v->metrics, out);
	render_misc(v, v->metrics, out);
	head(out, "hapwatch_build_info", "gauge",
	    "Always 1; the version is in the label.");
	sbuf_printf(out, "hapwatch_build_info{version=\"%s\"} 1\n", HW_VERSION);
}
