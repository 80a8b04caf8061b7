/*
 * status.c: the admin views of the daemon, /status (JSON) and /metrics
 * (Prometheus text format 0.0.4), rendered on demand from struct hw.
 */
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "check.h"
#include "checkset.h"
#include "frontend.h"
#include "hapwatch.h"
#include "listener.h"
#include "logtrig.h"
#include "notify.h"
#include "statefile.h"

static json_object *
json_time(int64_t wall)
{
	char	buf[32];

	if (wall <= 0)
		return NULL;
	fmt_rfc3339(wall, buf, sizeof(buf));
	return json_object_new_string(buf);
}

static json_object *
status_haproxy(struct hw *hw)
{
	const struct hw_stats	*st = &hw->stats;
	json_object		*o = json_object_new_object();
	json_object		*errs = json_object_new_object();
	int64_t			 settling;
	size_t			 i;

	json_object_object_add(o, "source",
	    json_object_new_string(hw->stats_shown));
	json_object_object_add(o, "up", json_object_new_boolean(st->fresh));
	json_object_object_add(o, "pid", st->pid > 0 ?
	    json_object_new_int(st->pid) : NULL);
	if (st->snap != NULL) {
		json_object_object_add(o, "version",
		    json_object_new_string(st->snap->info.version));
		json_object_object_add(o, "uptime_sec",
		    json_object_new_int64(st->snap->info.uptime_sec));
	}
	json_object_object_add(o, "last_poll", json_time(st->last_poll_wall));
	json_object_object_add(o, "last_success", json_time(st->last_ok_wall));
	json_object_object_add(o, "polls", json_object_new_int64((int64_t)st->polls));
	json_object_object_add(o, "reloads",
	    json_object_new_int64((int64_t)st->reloads));
	/* How long HAProxy's word still may not bring a service up. */
	settling = st->settle_until - mono_ms();
	json_object_object_add(o, "settling_ms",
	    json_object_new_int64(settling > 0 ? settling : 0));
	json_object_object_add(o, "errors", json_object_new_int64((int64_t)st->errors));
	for (i = 1; i < POLL_NERRORS; i++)
		json_object_object_add(errs, poll_error_str((enum poll_error)i),
		    json_object_new_int64((int64_t)st->errors_by[i]));
	json_object_object_add(o, "errors_by_reason", errs);
	json_object_object_add(o, "last_error", st->last_error == POLL_OK ? NULL :
	    json_object_new_string(st->last_detail));
	return o;
}

static json_object *
status_condition(const struct cond_result *r)
{
	json_object	*o = json_object_new_object();

	if (r->kind == COND_CHECK) {
		json_object_object_add(o, "check", json_object_new_string(r->name));
		json_object_object_add(o, "ok", json_object_new_boolean(r->ok));
		return o;
	}
	json_object_object_add(o, "backend", json_object_new_string(r->name));
	json_object_object_add(o, "nbsrv", r->present ?
	    json_object_new_int(r->nbsrv) : NULL);
	if (r->servers >= 0)
		json_object_object_add(o, "servers", json_object_new_int(r->servers));
	if (r->capacity >= 0)
		json_object_object_add(o, "capacity",
		    json_object_new_int(r->capacity));
	if (r->min >= 0)
		json_object_object_add(o, "min", json_object_new_int(r->min));
	if (r->min_percent >= 0)
		json_object_object_add(o, "min_percent",
		    json_object_new_int(r->min_percent));
	json_object_object_add(o, "ok", json_object_new_boolean(r->ok));
	return o;
}

static json_object *
status_service(const struct svc *s)
{
	json_object	*o = json_object_new_object();
	json_object	*conds = json_object_new_array();
	size_t		 i;

	json_object_object_add(o, "state",
	    json_object_new_string(svc_state_name(s->state)));
	json_object_object_add(o, "verdict",
	    json_object_new_string(s->up ? "up" : "down"));
	json_object_object_add(o, "override", s->override == OVR_NONE ? NULL :
	    json_object_new_string(svc_override_name(s->override)));
	json_object_object_add(o, "reason", json_object_new_string(s->reason));
	json_object_object_add(o, "since", json_time(s->since));
	json_object_object_add(o, "weight", json_object_new_int(s->weight));
	json_object_object_add(o, "transitions",
	    json_object_new_int64((int64_t)s->transitions));
	for (i = 0; i < s->nresults; i++)
		json_object_array_add(conds, status_condition(&s->results[i]));
	json_object_object_add(o, "conditions", conds);
	return o;
}

static json_object *
status_listeners(struct hw *hw)
{
	json_object	*a = json_object_new_array();
	size_t		 i;

	for (i = 0; i < hw->nlisteners; i++) {
		const struct listener	*l = hw->listeners[i];
		json_object		*o = json_object_new_object();

		json_object_object_add(o, "kind",
		    json_object_new_string(listen_kind_name(l->conf->kind)));
		json_object_object_add(o, "address",
		    json_object_new_string(l->conf->address));
		json_object_object_add(o, "open",
		    json_object_new_boolean(listener_is_open(l)));
		json_object_object_add(o, "connections",
		    json_object_new_int(l->nconns));
		if (l->want_open && !listener_is_open(l) && l->error[0] != '\0')
			json_object_object_add(o, "error",
			    json_object_new_string(l->error));
		json_object_array_add(a, o);
	}
	return a;
}

static json_object *
status_frontends(struct hw *hw)
{
	static const char *const applied[] = {
		[FE_UNKNOWN] = "unknown", [FE_ENABLED] = "enabled",
		[FE_DISABLED] = "disabled", [FE_ERROR] = "error",
	};
	json_object	*o = json_object_new_object();
	size_t		 i;

	for (i = 0; i < fectl_count(hw->fectl); i++) {
		struct fe_status	 st;
		json_object		*f = json_object_new_object();

		fectl_status(hw->fectl, i, &st);
		json_object_object_add(f, "service", st.svc == CONF_NONE ? NULL :
		    json_object_new_string(hw->conf->services[st.svc].name));
		json_object_object_add(f, "state",
		    json_object_new_string(applied[st.applied]));
		json_object_object_add(f, "error", st.error != NULL ?
		    json_object_new_string(st.error) : NULL);
		json_object_object_add(o, st.name, f);
	}
	return o;
}

static json_object *
status_checks(struct hw *hw)
{
	json_object	*o = json_object_new_object();
	size_t		 i;

	for (i = 0; i < checks_count(hw->checks); i++) {
		const struct chk	*c = checks_get(hw->checks, i);
		json_object		*j = json_object_new_object();

		json_object_object_add(j, "up", chk_state(c) == CHK_UNKNOWN ? NULL :
		    json_object_new_boolean(chk_state(c) == CHK_UP));
		json_object_object_add(j, "reason",
		    json_object_new_string(chk_reason(c)));
		json_object_object_add(j, "probes",
		    json_object_new_int64((int64_t)chk_probes(c)));
		json_object_object_add(j, "failures",
		    json_object_new_int64((int64_t)chk_failures(c)));
		json_object_object_add(o, chk_name(c), j);
	}
	return o;
}

static json_object *
status_statefile(struct hw *hw)
{
	struct statefile_status	 st;
	json_object		*o;

	if (hw->statefile == NULL)
		return NULL;
	statefile_status(hw->statefile, &st);
	o = json_object_new_object();
	json_object_object_add(o, "path",
	    json_object_new_string(hw->conf->haproxy.state_file));
	json_object_object_add(o, "requested",
	    json_object_new_int64((int64_t)st.requested));
	json_object_object_add(o, "completed",
	    json_object_new_int64((int64_t)st.completed));
	json_object_object_add(o, "saved", json_object_new_int64((int64_t)st.saved));
	json_object_object_add(o, "failures",
	    json_object_new_int64((int64_t)st.failures));
	json_object_object_add(o, "last_save", json_time(st.last_save_wall));
	json_object_object_add(o, "last_error", st.last_error != NULL ?
	    json_object_new_string(st.last_error) : NULL);
	return o;
}

static json_object *
status_config(struct hw *hw)
{
	json_object	*o = json_object_new_object();

	json_object_object_add(o, "file", hw->conf_path != NULL ?
	    json_object_new_string(hw->conf_path) : NULL);
	json_object_object_add(o, "reloads",
	    json_object_new_int64((int64_t)hw->reloads));
	json_object_object_add(o, "reload_failures",
	    json_object_new_int64((int64_t)hw->reload_failures));
	json_object_object_add(o, "started", json_time(hw->started_wall));
	return o;
}

void
status_render_json(struct hw *hw, struct sbuf *out)
{
	json_object	*root = json_object_new_object();
	json_object	*svcs = json_object_new_object();
	size_t		 i;

	json_object_object_add(root, "version", json_object_new_string(HW_VERSION));
	json_object_object_add(root, "haproxy", status_haproxy(hw));
	for (i = 0; i < hw->nsvcs; i++)
		json_object_object_add(svcs, hw->svcs[i].conf->name,
		    status_service(&hw->svcs[i]));
	json_object_object_add(root, "services", svcs);
	json_object_object_add(root, "checks", status_checks(hw));
	json_object_object_add(root, "listeners", status_listeners(hw));
	json_object_object_add(root, "frontends", status_frontends(hw));
	json_object_object_add(root, "state_file", status_statefile(hw));
	json_object_object_add(root, "config", status_config(hw));
	sbuf_puts(out, json_object_to_json_string_ext(root,
	    JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
	sbuf_puts(out, "\n");
	json_object_put(root);
}

/* ---- /metrics ---- */

/* Label values: escape backslash, quote and newline. */
static void
metric_label(struct sbuf *out, const char *v)
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
metric_head(struct sbuf *out, const char *name, const char *type,
    const char *help)
{
	sbuf_printf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void
metrics_services(struct hw *hw, struct sbuf *out)
{
	size_t	i, j;
	int	st;

	metric_head(out, "hapwatch_service_up", "gauge",
	    "1 if the service's effective state is up.");
	for (i = 0; i < hw->nsvcs; i++) {
		sbuf_puts(out, "hapwatch_service_up{service=\"");
		metric_label(out, hw->svcs[i].conf->name);
		sbuf_printf(out, "\"} %d\n", hw->svcs[i].state == SVC_UP);
	}
	metric_head(out, "hapwatch_service_state", "gauge",
	    "1 for the service's current effective state.");
	for (i = 0; i < hw->nsvcs; i++) {
		for (st = 0; st < SVC_NSTATES; st++) {
			sbuf_puts(out, "hapwatch_service_state{service=\"");
			metric_label(out, hw->svcs[i].conf->name);
			sbuf_printf(out, "\",state=\"%s\"} %d\n",
			    svc_state_name((enum svc_state)st),
			    hw->svcs[i].state == (enum svc_state)st);
		}
	}
	metric_head(out, "hapwatch_service_transitions_total", "counter",
	    "Effective state changes of the service.");
	for (i = 0; i < hw->nsvcs; i++) {
		sbuf_puts(out, "hapwatch_service_transitions_total{service=\"");
		metric_label(out, hw->svcs[i].conf->name);
		sbuf_printf(out, "\"} %llu\n",
		    (unsigned long long)hw->svcs[i].transitions);
	}
	metric_head(out, "hapwatch_condition_nbsrv", "gauge",
	    "HAProxy's nbsrv() for each backend a service requires.");
	for (i = 0; i < hw->nsvcs; i++) {
		for (j = 0; j < hw->svcs[i].nresults; j++) {
			const struct cond_result *r = &hw->svcs[i].results[j];

			if (r->kind == COND_CHECK || !r->present)
				continue;
			sbuf_puts(out, "hapwatch_condition_nbsrv{service=\"");
			metric_label(out, hw->svcs[i].conf->name);
			sbuf_puts(out, "\",proxy=\"");
			metric_label(out, r->name);
			sbuf_printf(out, "\"} %d\n", r->nbsrv);
		}
	}
}

static void
metrics_backend_gauge(struct sbuf *out, const struct hap_snapshot *snap,
    const char *name, const char *help, int which)
{
	size_t	i;

	metric_head(out, name, "gauge", help);
	for (i = 0; snap != NULL && i < snap->nbackends; i++) {
		const struct hap_backend *be = &snap->backends[i];
		int v = which == 0 ? be->act : which == 1 ? be->bck : be->srv_active;

		if (!be->has_row || (which == 2 && !be->have_servers_rows))
			continue;
		sbuf_printf(out, "%s{proxy=\"", name);
		metric_label(out, be->name);
		sbuf_printf(out, "\"} %d\n", v);
	}
}

static void
metrics_stats(struct hw *hw, struct sbuf *out)
{
	static const int	 bounds[POLL_HIST_N] = POLL_HIST_BUCKETS;
	const struct hw_stats	*st = &hw->stats;
	uint64_t		 cum = 0;
	size_t			 i;

	metrics_backend_gauge(out, st->snap, "hapwatch_backend_active_servers",
	    "HAProxy's act: usable active servers of the backend.", 0);
	metrics_backend_gauge(out, st->snap, "hapwatch_backend_backup_servers",
	    "HAProxy's bck: usable backup servers of the backend.", 1);
	metrics_backend_gauge(out, st->snap, "hapwatch_backend_servers",
	    "Configured active servers of the backend, where known.", 2);
	metric_head(out, "hapwatch_stats_up", "gauge",
	    "1 while HAProxy's stats are fresh (within grace).");
	sbuf_printf(out, "hapwatch_stats_up %d\n", st->fresh);
	metric_head(out, "hapwatch_stats_poll_duration_seconds", "histogram",
	    "Time from sending a stats poll to its complete reply.");
	for (i = 0; i <= POLL_HIST_N; i++) {
		cum += st->hist[i];
		if (i < POLL_HIST_N)
			sbuf_printf(out, "hapwatch_stats_poll_duration_seconds_bucket"
			    "{le=\"%g\"} %llu\n", bounds[i] / 1000.0,
			    (unsigned long long)cum);
		else
			sbuf_printf(out, "hapwatch_stats_poll_duration_seconds_bucket"
			    "{le=\"+Inf\"} %llu\n", (unsigned long long)cum);
	}
	sbuf_printf(out, "hapwatch_stats_poll_duration_seconds_sum %.6f\n"
	    "hapwatch_stats_poll_duration_seconds_count %llu\n", st->dur_sum,
	    (unsigned long long)cum);
	metric_head(out, "hapwatch_stats_errors_total", "counter",
	    "Failed stats polls by reason.");
	for (i = 1; i < POLL_NERRORS; i++)
		sbuf_printf(out, "hapwatch_stats_errors_total{reason=\"%s\"} %llu\n",
		    poll_error_str((enum poll_error)i),
		    (unsigned long long)st->errors_by[i]);
	metric_head(out, "hapwatch_haproxy_reloads_total", "counter",
	    "HAProxy reloads seen (a new Pid in show info).");
	sbuf_printf(out, "hapwatch_haproxy_reloads_total %llu\n",
	    (unsigned long long)st->reloads);
}

static void
metrics_listeners(struct hw *hw, struct sbuf *out)
{
	static const int	codes[] = HTTP_CODES;
	const struct hw_counters *c = &hw->counters;
	size_t			i;

	metric_head(out, "hapwatch_listener_open", "gauge",
	    "1 while the listener's socket is listening.");
	for (i = 0; i < hw->nlisteners; i++) {
		sbuf_puts(out, "hapwatch_listener_open{listener=\"");
		metric_label(out, hw->listeners[i]->conf->address);
		sbuf_printf(out, "\",kind=\"%s\"} %d\n",
		    listen_kind_name(hw->listeners[i]->conf->kind),
		    listener_is_open(hw->listeners[i]));
	}
	metric_head(out, "hapwatch_http_requests_total", "counter",
	    "HTTP answers by status code.");
	for (i = 0; i < HTTP_NCODES; i++)
		sbuf_printf(out, "hapwatch_http_requests_total{code=\"%d\"} %llu\n",
		    codes[i], (unsigned long long)c->http_codes[i]);
	sbuf_printf(out, "hapwatch_http_requests_total{code=\"other\"} %llu\n",
	    (unsigned long long)c->http_codes[HTTP_NCODES]);
	metric_head(out, "hapwatch_agent_replies_total", "counter",
	    "Agent-check replies by the state they carried.");
	for (i = 0; i < SVC_NSTATES; i++)
		sbuf_printf(out, "hapwatch_agent_replies_total{state=\"%s\"} %llu\n",
		    svc_state_name((enum svc_state)i),
		    (unsigned long long)c->agent_replies[i]);
	metric_head(out, "hapwatch_connection_errors_total", "counter",
	    "Connections refused or cut: bad PROXY header, accept failures "
	    "(EMFILE), bad admin token, timeouts.");
	sbuf_printf(out, "hapwatch_connection_errors_total{reason=\"proxy\"} %llu\n"
	    "hapwatch_connection_errors_total{reason=\"accept\"} %llu\n"
	    "hapwatch_connection_errors_total{reason=\"auth\"} %llu\n"
	    "hapwatch_connection_errors_total{reason=\"timeout\"} %llu\n",
	    (unsigned long long)c->proxy_errors,
	    (unsigned long long)c->accept_errors,
	    (unsigned long long)c->auth_failures,
	    (unsigned long long)c->timeouts);
}

static void
metrics_checks(struct hw *hw, struct sbuf *out)
{
	size_t	i;

	metric_head(out, "hapwatch_check_up", "gauge",
	    "1 if the check passes (after rise/fall), 0 if not or not yet probed.");
	for (i = 0; i < checks_count(hw->checks); i++) {
		const struct chk *c = checks_get(hw->checks, i);

		sbuf_puts(out, "hapwatch_check_up{check=\"");
		metric_label(out, chk_name(c));
		sbuf_printf(out, "\"} %d\n", chk_state(c) == CHK_UP);
	}
}

static void
metric_counter(struct sbuf *out, const char *name, const char *help,
    uint64_t v)
{
	metric_head(out, name, "counter", help);
	sbuf_printf(out, "%s %llu\n", name, (unsigned long long)v);
}

static void
metrics_misc(struct hw *hw, struct sbuf *out)
{
	const struct notify_counters	*n = &hw->counters.notify;
	struct statefile_status		 st;

	metric_counter(out, "hapwatch_hook_runs_total",
	    "Exec hooks started.", n->exec_runs);
	metric_counter(out, "hapwatch_hook_failures_total",
	    "Exec hooks that failed, timed out or could not start.",
	    n->exec_failures);
	metric_counter(out, "hapwatch_webhooks_sent_total",
	    "Webhooks delivered (2xx).", n->webhook_sent);
	metric_counter(out, "hapwatch_webhook_retries_total",
	    "Webhook attempts that failed and were retried.", n->webhook_retries);
	metric_counter(out, "hapwatch_webhook_failures_total",
	    "Webhooks given up after every retry, or dropped from a full queue.",
	    n->webhook_failures + n->webhook_dropped);
	metric_counter(out, "hapwatch_track_file_writes_total",
	    "Track files written.", n->track_writes);
	metric_counter(out, "hapwatch_config_reloads_total",
	    "Config reloads (SIGHUP) applied.", hw->reloads);
	metric_counter(out, "hapwatch_config_reload_failures_total",
	    "Config reloads refused (invalid config, cannot bind).",
	    hw->reload_failures);
	if (hw->logtrig != NULL) {
		const struct logtrig_counters *lc = logtrig_counters(hw->logtrig);

		metric_counter(out, "hapwatch_log_lines_total",
		    "Syslog datagrams received from HAProxy.", lc->received);
		metric_counter(out, "hapwatch_log_triggers_total",
		    "State-change log lines that triggered a poll.", lc->matched);
	}
	if (hw->statefile != NULL) {
		statefile_status(hw->statefile, &st);
		metric_counter(out, "hapwatch_state_file_saves_total",
		    "Server state file saves requested.", st.requested);
		metric_counter(out, "hapwatch_state_file_failures_total",
		    "Server state file saves that failed (file kept).", st.failures);
	}
}

void
metrics_render(struct hw *hw, struct sbuf *out)
{
	metrics_services(hw, out);
	metrics_stats(hw, out);
	metrics_checks(hw, out);
	metrics_listeners(hw, out);
	metrics_misc(hw, out);
	metric_head(out, "hapwatch_build_info", "gauge",
	    "Always 1; the version is in the label.");
	sbuf_printf(out, "hapwatch_build_info{version=\"%s\"} 1\n", HW_VERSION);
}
