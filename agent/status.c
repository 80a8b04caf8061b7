/*
 * status.c: /status, the daemon's view as one JSON object.
 */
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "drain.h"
#include "fectl.h"
#include "jsonw.h"
#include "listener.h"
#include "metrics.h"
#include "ovfile.h"
#include "probe.h"
#include "probers.h"
#include "probeset.h"
#include "service.h"
#include "statefile.h"
#include "status.h"
#include "view.h"

#define STATUS_PROBERS	64	/* shown in /status */

static json_object *
status_reload_failure(const struct view_haproxy *h)
{
	json_object	*o;

	if (h->reload_failure_wall <= 0)
		return NULL;
	o = json_object_new_object();
	json_object_object_add(o, "time", jsonw_time(h->reload_failure_wall));
	json_object_object_add(o, "message",
	    json_object_new_string(h->reload_failure));
	return o;
}

/* HAProxy's master: its pid, the current worker, its reloads. */
static json_object *
status_master(const struct view *v)
{
	const struct view_haproxy	*h = &v->haproxy;
	const struct master_proc	*p = h->master_proc;
	json_object			*o;

	if (h->master == NULL)
		return NULL;
	o = json_object_new_object();
	json_object_object_add(o, "source", json_object_new_string(h->master));
	json_object_object_add(o, "up", json_object_new_boolean(p != NULL &&
	    h->master_error == POLL_OK));
	json_object_object_add(o, "pid", p != NULL ?
	    json_object_new_int(p->master_pid) : NULL);
	json_object_object_add(o, "worker", p != NULL ?
	    json_object_new_int(p->worker_pid) : NULL);
	json_object_object_add(o, "reloads", p != NULL ?
	    json_object_new_int64(p->reloads) : NULL);
	json_object_object_add(o, "errors",
	    jsonw_u64(metrics_master_errors(v->metrics)));
	json_object_object_add(o, "last_error", h->master_error == POLL_OK ?
	    NULL : json_object_new_string(h->master_detail));
	return o;
}

static json_object *
status_haproxy(const struct view *v)
{
	const struct view_haproxy	*h = &v->haproxy;
	const struct poll_counters	*pc = metrics_polls(v->metrics);
	json_object			*o = json_object_new_object();
	json_object			*errs = json_object_new_object();
	int64_t				 settling;
	size_t				 i;

	json_object_object_add(o, "source", json_object_new_string(h->source));
	/* Agent mode: no service watches HAProxy, nothing is polled. */
	json_object_object_add(o, "watched", json_object_new_boolean(h->polled));
	json_object_object_add(o, "up", json_object_new_boolean(h->fresh));
	json_object_object_add(o, "pid", h->pid > 0 ?
	    json_object_new_int(h->pid) : NULL);
	if (h->snap != NULL) {
		json_object_object_add(o, "version",
		    json_object_new_string(h->snap->info.version));
		json_object_object_add(o, "uptime_sec",
		    json_object_new_int64(h->snap->info.uptime_sec));
	}
	json_object_object_add(o, "last_poll", jsonw_time(h->last_poll_wall));
	json_object_object_add(o, "last_success", jsonw_time(h->last_ok_wall));
	json_object_object_add(o, "polls", jsonw_u64(pc->polls));
	json_object_object_add(o, "reloads",
	    jsonw_u64(metrics_get(v->metrics, MC_HAPROXY_PROCESSES)));
	/* How long HAProxy's word still may not bring a service up. */
	settling = h->settle_until - mono_ms();
	json_object_object_add(o, "settling_ms",
	    json_object_new_int64(settling > 0 ? settling : 0));
	json_object_object_add(o, "errors", jsonw_u64(pc->errors));
	for (i = 1; i < POLL_NERRORS; i++)
		json_object_object_add(errs, poll_error_str((enum poll_error)i),
		    jsonw_u64(pc->errors_by[i]));
	json_object_object_add(o, "errors_by_reason", errs);
	json_object_object_add(o, "last_error", h->last_error == POLL_OK ? NULL :
	    json_object_new_string(h->last_detail));
	json_object_object_add(o, "reload_failures", jsonw_u64(metrics_get(
	    v->metrics, MC_HAPROXY_RELOAD_FAILURES)));
	json_object_object_add(o, "last_reload_failure", status_reload_failure(h));
	json_object_object_add(o, "master", status_master(v));
	return o;
}

static json_object *
status_condition(const struct cond_result *r)
{
	json_object	*o = json_object_new_object();
	json_object	*sub;
	size_t		 i;

	if (r->kind == COND_ANY || r->kind == COND_AT_LEAST) {
		sub = json_object_new_array();
		for (i = 0; i < r->nsub; i++)
			json_object_array_add(sub, status_condition(&r->sub[i]));
		if (r->kind == COND_AT_LEAST)
			json_object_object_add(o, "at_least",
			    json_object_new_int(r->at_least));
		json_object_object_add(o, r->kind == COND_ANY ? "any" : "of", sub);
		json_object_object_add(o, "holding",
		    json_object_new_int(r->holding));
		if (r->capacity >= 0)
			json_object_object_add(o, "capacity",
			    json_object_new_int(r->capacity));
		json_object_object_add(o, "ok", json_object_new_boolean(r->ok));
		return o;
	}
	if (r->kind == COND_CHECK || r->kind == COND_HAPROXY_ALIVE) {
		json_object_object_add(o, r->kind == COND_CHECK ? "check" :
		    "haproxy", json_object_new_string(r->name));
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

/* "drain": what a drained service waits for, and since when. */
static json_object *
status_drain(const struct svc *s, const struct drain *d)
{
	json_object		*o = json_object_new_object();
	json_object		*pending = json_object_new_array();
	json_object		*done = json_object_new_array();
	const struct drain_item	*items;
	size_t			 i, n = drain_items(d, &items);

	json_object_object_add(o, "since", jsonw_time(s->ovr.since));
	json_object_object_add(o, "until", jsonw_time(s->ovr.until));
	json_object_object_add(o, "by", json_object_new_string(
	    s->ovr.by[0] != '\0' ? s->ovr.by : "operator"));
	json_object_object_add(o, "let_go", json_object_new_boolean(
	    drain_let_go(d)));
	json_object_object_add(o, "at", jsonw_time(drain_let_go_at(d)));
	json_object_object_add(o, "summary",
	    json_object_new_string(drain_summary(d)));
	for (i = 0; i < n; i++) {
		json_object *it = json_object_new_object();

		json_object_object_add(it, "kind", json_object_new_string(
		    drain_kind_name(items[i].kind)));
		json_object_object_add(it, items[i].kind == DRAIN_FRONTEND ?
		    "frontend" : "source", json_object_new_string(items[i].what));
		json_object_object_add(it, "progress",
		    json_object_new_string(items[i].progress));
		json_object_array_add(items[i].let_go ? done : pending, it);
	}
	json_object_object_add(o, "pending", pending);
	json_object_object_add(o, "done", done);
	return o;
}

/* "override": who set it, how, since and until when. */
static json_object *
status_override(const struct svc *s)
{
	json_object	*o;

	if (s->override == OVR_NONE)
		return NULL;
	o = json_object_new_object();
	json_object_object_add(o, "by", json_object_new_string(
	    s->ovr.by[0] != '\0' ? s->ovr.by : "operator"));
	json_object_object_add(o, "route", s->ovr.route[0] != '\0' ?
	    json_object_new_string(s->ovr.route) : NULL);
	json_object_object_add(o, "since", jsonw_time(s->ovr.since));
	json_object_object_add(o, "until", jsonw_time(s->ovr.until));
	return o;
}

static json_object *
status_service(const struct svc *s, const struct drain *d)
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
	json_object_object_add(o, "override_by", status_override(s));
	if (d != NULL)
		json_object_object_add(o, "drain", status_drain(s, d));
	json_object_object_add(o, "reason", json_object_new_string(s->reason));
	json_object_object_add(o, "since", jsonw_time(s->since));
	json_object_object_add(o, "weight", json_object_new_int(s->weight));
	if (s->conf->degraded_below > 0)
		json_object_object_add(o, "degraded_below",
		    json_object_new_int(s->conf->degraded_below));
	json_object_object_add(o, "transitions",
	    json_object_new_int64((int64_t)s->transitions));
	for (i = 0; i < s->nresults; i++)
		json_object_array_add(conds, status_condition(&s->results[i]));
	json_object_object_add(o, "conditions", conds);
	return o;
}

static json_object *
status_listeners(const struct view *v)
{
	json_object	*a = json_object_new_array();
	size_t		 i;

	for (i = 0; i < v->nlisteners; i++) {
		const struct listener		*l = v->listeners[i];
		const struct conf_listen	*c = listener_conf(l);
		json_object			*o = json_object_new_object();
		const char			*err = listener_error(l);

		json_object_object_add(o, "kind",
		    json_object_new_string(listen_kind_name(c->kind)));
		json_object_object_add(o, "address",
		    json_object_new_string(c->address));
		json_object_object_add(o, "open",
		    json_object_new_boolean(listener_is_open(l)));
		json_object_object_add(o, "connections",
		    json_object_new_int(listener_connections(l)));
		if (err != NULL)
			json_object_object_add(o, "error",
			    json_object_new_string(err));
		json_object_array_add(a, o);
	}
	return a;
}

static json_object *
status_frontends(const struct view *v)
{
	static const char *const applied[] = {
		[FE_UNKNOWN] = "unknown", [FE_ENABLED] = "enabled",
		[FE_DISABLED] = "disabled", [FE_ERROR] = "error",
	};
	json_object	*o = json_object_new_object();
	size_t		 i;

	for (i = 0; i < fectl_count(v->fectl); i++) {
		struct fe_status	 st;
		json_object		*f = json_object_new_object();

		fectl_status(v->fectl, i, &st);
		json_object_object_add(f, "service", st.svc == CONF_NONE ? NULL :
		    json_object_new_string(v->conf->services[st.svc].name));
		json_object_object_add(f, "state",
		    json_object_new_string(applied[st.applied]));
		json_object_object_add(f, "error", st.error != NULL ?
		    json_object_new_string(st.error) : NULL);
		json_object_object_add(o, st.name, f);
	}
	return o;
}

static json_object *
status_checks(const struct view *v)
{
	json_object	*o = json_object_new_object();
	size_t		 i;

	for (i = 0; i < probeset_count(v->probes); i++) {
		const struct probe	*c = probeset_get(v->probes, i);
		json_object		*j = json_object_new_object();

		json_object_object_add(j, "up", probe_state(c) == PROBE_UNKNOWN ?
		    NULL : json_object_new_boolean(probe_state(c) == PROBE_UP));
		json_object_object_add(j, "reason",
		    json_object_new_string(probe_reason(c)));
		json_object_object_add(j, "probes", jsonw_u64(probe_count(c)));
		json_object_object_add(j, "failures", jsonw_u64(probe_failures(c)));
		json_object_object_add(o, probe_name(c), j);
	}
	return o;
}

static json_object *
status_statefile(const struct view *v)
{
	struct statefile_status	 st;
	json_object		*o;

	if (v->statefile == NULL)
		return NULL;
	statefile_status(v->statefile, &st);
	o = json_object_new_object();
	json_object_object_add(o, "path",
	    json_object_new_string(v->conf->haproxy.state_file));
	json_object_object_add(o, "requested",
	    json_object_new_int64((int64_t)st.requested));
	json_object_object_add(o, "completed",
	    json_object_new_int64((int64_t)st.completed));
	json_object_object_add(o, "saved", json_object_new_int64((int64_t)st.saved));
	json_object_object_add(o, "failures",
	    json_object_new_int64((int64_t)st.failures));
	json_object_object_add(o, "last_save", jsonw_time(st.last_save_wall));
	json_object_object_add(o, "last_error", st.last_error != NULL ?
	    json_object_new_string(st.last_error) : NULL);
	return o;
}

/* Who probes: the most recent probers (the table holds up to
 * PROBERS_MAX). */
static json_object *
status_probers(const struct view *v)
{
	const struct prober	*ps[STATUS_PROBERS];
	json_object		*a = json_object_new_array();
	int64_t			 now = mono_ms();
	size_t			 i, n = probers_recent(v->probers, ps,
				    STATUS_PROBERS);
	char			 addr[64];

	for (i = 0; i < n; i++) {
		json_object *o = json_object_new_object();

		prober_addr_str(&ps[i]->addr, addr, sizeof(addr));
		json_object_object_add(o, "service", json_object_new_string(
		    v->conf->services[ps[i]->svc].name));
		json_object_object_add(o, "kind", json_object_new_string(
		    ps[i]->kind == PROBER_AGENT ? "agent" : "http"));
		json_object_object_add(o, "source", json_object_new_string(addr));
		json_object_object_add(o, "probes", jsonw_u64(ps[i]->probes));
		json_object_object_add(o, "interval_ms",
		    json_object_new_int64(ps[i]->interval));
		json_object_object_add(o, "last_ms_ago",
		    json_object_new_int64(now - ps[i]->last_seen));
		json_object_object_add(o, "refused",
		    json_object_new_int64(ps[i]->refused));
		json_object_array_add(a, o);
	}
	return a;
}

static json_object *
status_overrides(const struct view *v)
{
	struct ovfile_status	 st;
	json_object		*o = json_object_new_object();

	ovfile_status(v->ovfile, &st);
	json_object_object_add(o, "path", json_object_new_string(st.path));
	json_object_object_add(o, "saves", jsonw_u64(st.saves));
	json_object_object_add(o, "failures", jsonw_u64(st.failures));
	json_object_object_add(o, "error", st.error != NULL ?
	    json_object_new_string(st.error) : NULL);
	json_object_object_add(o, "kept_aside", st.kept_aside != NULL ?
	    json_object_new_string(st.kept_aside) : NULL);
	return o;
}

static json_object *
status_config(const struct view *v)
{
	json_object	*o = json_object_new_object();

	json_object_object_add(o, "file", v->conf_path != NULL ?
	    json_object_new_string(v->conf_path) : NULL);
	json_object_object_add(o, "reloads",
	    jsonw_u64(metrics_get(v->metrics, MC_CONFIG_RELOADS)));
	json_object_object_add(o, "reload_failures",
	    jsonw_u64(metrics_get(v->metrics, MC_CONFIG_RELOAD_FAILURES)));
	json_object_object_add(o, "started", jsonw_time(v->started_wall));
	return o;
}

void
status_render(const struct view *v, struct sbuf *out)
{
	json_object	*root = json_object_new_object();
	json_object	*svcs = json_object_new_object();
	size_t		 i;

	json_object_object_add(root, "version", json_object_new_string(HW_VERSION));
	json_object_object_add(root, "haproxy", status_haproxy(v));
	for (i = 0; i < v->nsvcs; i++)
		json_object_object_add(svcs, v->svcs[i].conf->name,
		    status_service(&v->svcs[i], v->drains[i]));
	json_object_object_add(root, "services", svcs);
	json_object_object_add(root, "checks", status_checks(v));
	json_object_object_add(root, "listeners", status_listeners(v));
	json_object_object_add(root, "probers", status_probers(v));
	json_object_object_add(root, "frontends", status_frontends(v));
	json_object_object_add(root, "state_file", status_statefile(v));
	json_object_object_add(root, "overrides_file", status_overrides(v));
	json_object_object_add(root, "config", status_config(v));
	sbuf_puts(out, json_object_to_json_string_ext(root,
	    JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
	sbuf_puts(out, "\n");
	json_object_put(root);
}
