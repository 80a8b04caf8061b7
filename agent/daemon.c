/*
 * daemon.c: the running daemon. Poll results feed the services; a change
 * of a service reaches the listeners, frontend control and notify.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "checkset.h"
#include "child.h"
#include "curlev.h"
#include "curlshim.h"
#include "frontend.h"
#include "hapwatch.h"
#include "notify.h"
#include "listener.h"
#include "log.h"
#include "logtrig.h"
#include "sdnotify.h"
#include "statefile.h"

static void
hw_arm_eval(struct hw *hw, int64_t at)
{
	struct timeval	tv;
	int64_t		left = at - mono_ms();

	if (left < 0)
		left = 0;
	tv = tv_ms(left);
	evtimer_add(hw->eval_ev, &tv);
}

static void
hw_log_transition(const struct svc *s, enum svc_state from)
{
	log_msg(s->state == SVC_UP ? LOG_LVL_NOTICE : LOG_LVL_WARNING,
	    "service %s: %s -> %s: %s", s->conf->name, svc_state_name(from),
	    svc_state_name(s->state), s->reason);
}

/* Tell everyone what changed after evaluations or overrides. */
static void
hw_propagate(struct hw *hw, bool states, bool verdicts)
{
	size_t	i;

	if (states)
		for (i = 0; i < hw->nlisteners; i++)
			listener_update(hw->listeners[i]);
	if (verdicts)
		fectl_update(hw->fectl);
}

static int
hw_check_state(void *arg, size_t idx, const char **reason)
{
	struct hw	*hw = arg;

	return checks_state(hw->checks, idx, reason);
}

/*
 * Until when the last good snapshot stands: grace after the last good
 * poll, and at least until the next poll is due while the last one was
 * good (a grace shorter than the interval must not make stats look
 * stale between two good polls).
 */
static int64_t
hw_fresh_until(const struct hw *hw)
{
	const struct conf_haproxy	*h = &hw->conf->haproxy;
	int64_t				 span = h->grace;

	if (hw->stats.last_error == POLL_OK && span < h->interval + h->timeout)
		span = h->interval + h->timeout;
	return hw->stats.last_ok + span;
}

void
hw_evaluate(struct hw *hw)
{
	struct svc_input	in;
	int64_t			next = INT64_MAX;
	bool			states = false, verdicts = false;
	size_t			i;

	/* Stopping: nothing new is judged or acted on (no new hooks). */
	if (hw->stopping)
		return;
	memset(&in, 0, sizeof(in));
	in.now = mono_ms();
	in.snap = hw->stats.snap;
	in.stats_fresh = hw->stats.snap != NULL &&
	    in.now <= hw_fresh_until(hw);
	/* After a reload, the snapshot at hand was polled with the old plan:
	 * a newly required backend is not in it. Judge nothing on it (unless
	 * it has gone stale: then everything fails alike). */
	in.answered = hw->stats.answered &&
	    !(hw->stats.await_plan && in.stats_fresh);
	in.settle_until = hw->stats.settle_until;
	in.check_state = hw_check_state;
	in.check_arg = hw;
	if (in.stats_fresh)
		next = hw_fresh_until(hw) + 1;
	hw->stats.fresh = in.stats_fresh;
	for (i = 0; i < hw->nsvcs; i++) {
		struct svc	*s = &hw->svcs[i];
		enum svc_state	 from = s->state;
		int		 chg = svc_evaluate(s, &in, &next);

		if (chg & SVC_CHG_STATE) {
			hw_log_transition(s, from);
			states = true;
		}
		if (chg & SVC_CHG_FIRST)
			notify_transition(hw->notifier, i, "starting", true);
		else if (chg & SVC_CHG_STATE)
			notify_transition(hw->notifier, i, svc_state_name(from),
			    false);
		if (chg & (SVC_CHG_VERDICT | SVC_CHG_FIRST))
			verdicts = true;
	}
	evtimer_del(hw->eval_ev);
	if (next != INT64_MAX)
		hw_arm_eval(hw, next);
	hw_propagate(hw, states, verdicts);
	if (states && hw->ready_sent)
		sd_notifyf("STATUS=%s", hw_status_line(hw));
}

void
hw_set_override(struct hw *hw, size_t idx, enum svc_override o)
{
	bool	states = false;
	size_t	i;

	for (i = 0; i < hw->nsvcs; i++) {
		struct svc	*s = &hw->svcs[i];
		enum svc_state	 from = s->state;

		if (idx != CONF_NONE && i != idx)
			continue;
		if (s->override != o)
			log_notice("service %s: %s by operator", s->conf->name,
			    svc_override_name(o));
		if (svc_set_override(s, o) & SVC_CHG_STATE) {
			hw_log_transition(s, from);
			if (s->evaluated && !hw->stopping)
				notify_transition(hw->notifier, i,
				    svc_state_name(from), false);
			states = true;
		}
	}
	hw_propagate(hw, states, false);
}

void
hw_count_http(struct hw *hw, int code)
{
	static const int	codes[] = HTTP_CODES;
	size_t			i;

	for (i = 0; i < HTTP_NCODES; i++) {
		if (codes[i] == code) {
			hw->counters.http_codes[i]++;
			return;
		}
	}
	hw->counters.http_codes[HTTP_NCODES]++;
}

void
hw_trigger_poll(struct hw *hw)
{
	if (hw->poller != NULL)
		poller_trigger(hw->poller);
}

static void
hw_eval_cb(evutil_socket_t fd, short what, void *arg)
{
	hw_evaluate(arg);
}

/* A new HAProxy process answers: settle, and re-apply frontend control
 * (a reload re-enables every frontend). how says how we know. */
static void
hw_new_process(struct hw *hw, int64_t now, const char *how)
{
	hw->stats.reloads++;
	hw->stats.settle_until = now + hw->conf->haproxy.settle;
	log_notice("HAProxy reloaded or restarted: %s", how);
	fectl_reapply(hw->fectl);
}

static void
hw_note_pid(struct hw *hw, const struct hap_info *info, int64_t now)
{
	char	how[64];

	if (hw->stats.pid == 0) {
		log_info("HAProxy %s, pid %d, up %llds", info->version, info->pid,
		    (long long)info->uptime_sec);
	} else if (info->pid != hw->stats.pid) {
		snprintf(how, sizeof(how), "pid %d -> %d", hw->stats.pid,
		    info->pid);
		hw_new_process(hw, now, how);
	}
	hw->stats.pid = info->pid;
}

/*
 * However it came (a start, a reload we saw or one we missed between two
 * polls), a process younger than settle has not checked its servers yet:
 * until it is settle old, its word may not bring a service up. Its age is
 * Uptime_sec from show info, or on the stats page the largest backend
 * lastchg (never more than its uptime: the page's own proxy never changes
 * state), in whole seconds, so it errs young.
 */
static void
hw_note_age(struct hw *hw, const struct hap_snapshot *snap, int64_t now)
{
	int64_t	settle = hw->conf->haproxy.settle, age, until;

	if (snap->has_info)
		age = snap->info.uptime_sec * 1000;
	else if (snap->max_lastchg >= 0)
		age = snap->max_lastchg * 1000;
	else
		return;
	until = now + settle - age;
	if (age < settle && until > hw->stats.settle_until)
		hw->stats.settle_until = until;
}

static void
hw_observe(struct hw_stats *st, int64_t us)
{
	static const int	bounds[POLL_HIST_N] = POLL_HIST_BUCKETS;
	size_t			i;

	st->dur_sum += (double)us / 1e6;
	for (i = 0; i < POLL_HIST_N && us > bounds[i] * 1000LL; i++)
		;
	st->hist[i]++;
}

static void
hw_poll_cb(void *arg, struct poll_result *res)
{
	struct hw	*hw = arg;
	struct hw_stats	*st = &hw->stats;
	int64_t		 now = mono_ms();
	bool		 was_failing = st->answered && st->last_error != POLL_OK;

	st->polls++;
	st->answered = true;
	st->last_poll_wall = wall_ms();
	hw_observe(st, res->duration_us);
	st->last_error = res->error;
	snprintf(st->last_detail, sizeof(st->last_detail), "%s", res->detail);
	if (res->error == POLL_OK) {
		if (was_failing)
			log_notice("stats: %s answers again", hw->stats_shown);
		if (res->snap->has_info)
			hw_note_pid(hw, &res->snap->info, now);
		else if (res->new_process)
			hw_new_process(hw, now, "the stats page's backends are "
			    "younger than the last poll");
		hw_note_age(hw, res->snap, now);
		if (st->snap != NULL) {
			stats_snapshot_free(st->snap);
			free(st->snap);
		}
		st->snap = res->snap;
		res->snap = NULL;
		st->last_ok = now;
		st->last_ok_wall = st->last_poll_wall;
		st->await_plan = false;
	} else {
		st->errors++;
		st->errors_by[res->error]++;
		if (!was_failing)
			log_warnx("stats: %s (%s)%s", res->detail,
			    poll_error_str(res->error), st->snap != NULL ?
			    "; keeping the last observation for the grace period" :
			    "");
		else
			log_debug("stats: %s", res->detail);
	}
	hw_evaluate(hw);
	fectl_update(hw->fectl);
	if (!hw->ready_sent) {
		hw->ready_sent = true;
		sd_notifyf("READY=1\nSTATUS=%s", hw_status_line(hw));
	}
}

/* Which backends to ask for, and whether their server rows are needed. */
static void
hw_build_plan(const struct conf *c, struct poll_plan *plan)
{
	size_t	i, j, k;

	memset(plan, 0, sizeof(*plan));
	for (i = 0; i < c->nservices; i++) {
		const struct conf_service *s = &c->services[i];
		bool agent = false;

		/* Agent weights come from capacity unless a weight is fixed. */
		for (k = 0; k < c->nlistens; k++)
			if (c->listens[k].kind == LISTEN_AGENT &&
			    c->listens[k].weight == 0 &&
			    (c->listens[k].svc == i || c->listens[k].svc == CONF_NONE))
				agent = true;
		for (j = 0; j < s->nconds; j++) {
			const struct conf_cond *cd = &s->conds[j];
			bool servers = agent || cd->min_percent > 0;

			if (cd->kind == COND_ALL_BACKENDS) {
				plan->all = true;
				plan->all_servers |= servers;
				continue;
			}
			if (cd->kind != COND_BACKEND)
				continue;
			for (k = 0; k < plan->ntargets; k++)
				if (strcmp(plan->targets[k].backend, cd->name) == 0)
					break;
			if (k == plan->ntargets) {
				plan->targets = xrealloc(plan->targets,
				    (k + 1) * sizeof(*plan->targets));
				plan->targets[k].backend = cd->name;
				plan->targets[k].servers = false;
				plan->ntargets++;
			}
			plan->targets[k].servers |= servers;
		}
	}
	if (plan->all)
		for (k = 0; k < plan->ntargets; k++)
			plan->all_servers |= plan->targets[k].servers;
}

/* Hooks still running, in the notifier and in retired ones. */
static size_t
hw_hooks_running(const struct hw *hw)
{
	size_t	i, n = notifier_hooks_running(hw->notifier);

	for (i = 0; i < hw->nretired; i++)
		n += notifier_hooks_running(hw->retired[i]);
	return n;
}

/* The stop's last step: leave once running hooks are done (each is killed
 * at its own timeout, and the stop deadline bounds the wait). */
static void
hw_stop_step(evutil_socket_t fd, short what, void *arg)
{
	struct hw	*hw = arg;
	struct timeval	 tv = { 0, 100 * 1000 };

	if (hw_hooks_running(hw) == 0) {
		event_base_loopexit(hw->base, NULL);
		return;
	}
	if (hw->stop_step == NULL) {
		log_notice("stop: waiting for %zu running hook(s)",
		    hw_hooks_running(hw));
		hw->stop_step = evtimer_new(hw->base, hw_stop_step, hw);
	}
	evtimer_add(hw->stop_step, &tv);
}

static void
hw_stop_frontends_done(void *arg)
{
	hw_stop_step(-1, 0, arg);
}

static void
hw_stop_deadline_cb(evutil_socket_t fd, short what, void *arg)
{
	struct hw	*hw = arg;

	log_warnx("stop: %s in time", hw_hooks_running(hw) > 0 ?
	    "hooks did not finish" :
	    "HAProxy did not confirm frontend restore");
	event_base_loopexit(hw->base, NULL);
}

/*
 * A clean stop: stop listening and polling, give HAProxy its frontends
 * back, let running hooks finish (a takeover cut in half is worse than a
 * slow stop), then leave the loop. Queued hooks and webhooks are dropped.
 */
static void
hw_stop(struct hw *hw, const char *why)
{
	int64_t		ms = hw->conf->haproxy.timeout + 500;
	struct timeval	tv;
	size_t		i;

	if (hw->stopping)
		return;
	log_notice("stopping (%s)", why);
	sd_notifyf("STOPPING=1");
	hw->stopping = true;
	for (i = 0; i < hw->nlisteners; i++)
		listener_update(hw->listeners[i]);
	poller_free(hw->poller);
	hw->poller = NULL;
	for (i = 0; i < hw->conf->nnotifies; i++)
		if (hw->conf->notifies[i].kind == NOTIFY_EXEC &&
		    hw->conf->notifies[i].timeout + CHILD_KILL_GRACE_MS + 500 > ms)
			ms = hw->conf->notifies[i].timeout + CHILD_KILL_GRACE_MS +
			    500;
	tv = tv_ms(ms);
	hw->stop_ev = evtimer_new(hw->base, hw_stop_deadline_cb, hw);
	evtimer_add(hw->stop_ev, &tv);
	fectl_restore(hw->fectl, hw_stop_frontends_done, hw);
}

static void
hw_signal_cb(evutil_socket_t sig, short what, void *arg)
{
	struct hw	*hw = arg;

	switch (sig) {
	case SIGTERM:
		hw_stop(hw, "SIGTERM");
		break;
	case SIGINT:
		hw_stop(hw, "SIGINT");
		break;
	case SIGHUP:
		if (!hw->stopping)
			hw_reload(hw);
		break;
	default:
		break;
	}
}

void
hw_logtrig_cb(void *arg)
{
	hw_trigger_poll(arg);
}

static bool
hw_bind_listeners(struct hw *hw)
{
	char	err[256];
	size_t	i;

	if (hw->conf->haproxy.log_listen != NULL) {
		hw->logtrig = logtrig_new(hw->base, &hw->conf->haproxy.log_addr,
		    hw_logtrig_cb, hw, err, sizeof(err));
		if (hw->logtrig == NULL) {
			log_errx("log trigger: %s", err);
			return false;
		}
	}
	hw->nlisteners = hw->conf->nlistens;
	hw->listeners = xcalloc(hw->nlisteners, sizeof(*hw->listeners));
	for (i = 0; i < hw->nlisteners; i++) {
		hw->listeners[i] = listener_new(hw, &hw->conf->listens[i], err,
		    sizeof(err));
		if (hw->listeners[i] == NULL) {
			log_errx("%s listener: %s",
			    listen_kind_name(hw->conf->listens[i].kind), err);
			return false;
		}
	}
	return true;
}

struct poller *
hw_make_poller(struct hw *hw, const struct conf *conf)
{
	const struct conf_haproxy *h = &conf->haproxy;

	if (h->stats_kind == STATS_HTTP)
		return poller_new_http(hw->base, hw->curl, h->stats, h->interval,
		    h->timeout, hw_poll_cb, hw);
	return poller_new(hw->base, &h->stats_addr, h->interval, h->timeout,
	    hw_poll_cb, hw);
}

void
hw_set_plan(struct hw *hw, const struct conf *conf)
{
	struct poll_plan	plan;

	hw_build_plan(conf, &plan);
	poller_set_plan(hw->poller, &plan);
	free(plan.targets);
	log_debug("stats request: %s", poller_request_line(hw->poller));
}

bool
hw_need_curl(struct hw *hw, const struct conf *conf)
{
	char	err[300];

	if (hw->curl != NULL || !conf_needs_curl(conf))
		return true;
	if (!curlshim_load(err, sizeof(err))) {
		log_errx("%s (http checks, webhooks and the stats page need it; "
		    "install libcurl4)", err);
		return false;
	}
	hw->curl = curlev_new(hw->base);
	return true;
}

void
hw_retire_notifier(struct hw *hw, struct notifier *nf)
{
	if (notifier_pending(nf) == 0) {
		notifier_free(nf);
		return;
	}
	hw->retired = xrealloc(hw->retired, (hw->nretired + 1) *
	    sizeof(*hw->retired));
	hw->retired[hw->nretired++] = nf;
}

const char *
hw_status_line(struct hw *hw)
{
	static char	buf[256];
	size_t		i, up = 0, n = 0;
	int		len;

	for (i = 0; i < hw->nsvcs; i++)
		up += hw->svcs[i].state == SVC_UP;
	len = snprintf(buf, sizeof(buf), "%zu/%zu services up", up, hw->nsvcs);
	for (i = 0; i < hw->nsvcs && n < 3 && len > 0 &&
	    (size_t)len < sizeof(buf); i++) {
		if (hw->svcs[i].state == SVC_UP)
			continue;
		len += snprintf(buf + len, sizeof(buf) - (size_t)len, "; %s %s: %s",
		    hw->svcs[i].conf->name, svc_state_name(hw->svcs[i].state),
		    hw->svcs[i].reason);
		n++;
	}
	return buf;
}

/* Every second (or half the watchdog interval): the loop is alive. */
static void
hw_house_cb(evutil_socket_t fd, short what, void *arg)
{
	struct hw	*hw = arg;
	size_t		 i, k = 0;

	if (hw->watchdog_ms > 0)
		sd_notifyf("WATCHDOG=1");
	for (i = 0; i < hw->nretired; i++) {
		if (notifier_pending(hw->retired[i]) == 0)
			notifier_free(hw->retired[i]);
		else
			hw->retired[k++] = hw->retired[i];
	}
	hw->nretired = k;
}

static void
hw_copy_overrides(struct conf_overrides *dst, const struct conf_overrides *src)
{
	size_t	i;

	memset(dst, 0, sizeof(*dst));
	if (src == NULL)
		return;
	dst->stats = src->stats != NULL ? xstrdup(src->stats) : NULL;
	dst->http = src->http != NULL ? xstrdup(src->http) : NULL;
	dst->agent = src->agent != NULL ? xstrdup(src->agent) : NULL;
	dst->nbackends = src->nbackends;
	dst->backends = xcalloc(src->nbackends, sizeof(*dst->backends));
	for (i = 0; i < src->nbackends; i++)
		dst->backends[i] = xstrdup(src->backends[i]);
}

static void
hw_free_overrides(struct conf_overrides *ov)
{
	size_t	i;

	free((char *)(uintptr_t)ov->stats);
	free((char *)(uintptr_t)ov->http);
	free((char *)(uintptr_t)ov->agent);
	for (i = 0; i < ov->nbackends; i++)
		free((char *)(uintptr_t)ov->backends[i]);
	free(ov->backends);
}

struct hw *
hw_new(struct conf *conf, const char *path, const struct conf_overrides *ov)
{
	static const int	 sigs[] = { SIGTERM, SIGINT, SIGHUP };
	struct hw		*hw = xcalloc(1, sizeof(*hw));
	size_t			 i;

	signal(SIGPIPE, SIG_IGN);
	hw->conf = conf;
	url_redact(conf->haproxy.stats, false, hw->stats_shown,
	    sizeof(hw->stats_shown));
	hw->conf_path = path != NULL ? xstrdup(path) : NULL;
	hw_copy_overrides(&hw->ov, ov);
	hw->started_wall = wall_ms();
	hw->base = event_base_new();
	if (hw->base == NULL)
		fatalx("cannot create the event base");
	hw->nsvcs = conf->nservices;
	hw->svcs = xcalloc(hw->nsvcs, sizeof(*hw->svcs));
	for (i = 0; i < hw->nsvcs; i++)
		svc_init(&hw->svcs[i], &conf->services[i]);
	hw->eval_ev = evtimer_new(hw->base, hw_eval_cb, hw);
	for (i = 0; i < ARRAY_SIZE(sigs); i++) {
		hw->signals[i] = evsignal_new(hw->base, sigs[i], hw_signal_cb, hw);
		evsignal_add(hw->signals[i], NULL);
	}
	hw->fectl = fectl_new(hw);
	hw->children = childmgr_new(hw->base);
	if (!hw_need_curl(hw, conf)) {
		hw_free(hw);
		return NULL;
	}
	hw->checks = checks_new(hw);
	hw->notifier = notifier_new(hw);
	if (!hw_bind_listeners(hw)) {
		hw_free(hw);
		return NULL;
	}
	hw->poller = hw_make_poller(hw, conf);
	hw_set_plan(hw, conf);
	hw->statefile = statefile_new(hw);
	hw->house_ev = event_new(hw->base, -1, EV_PERSIST, hw_house_cb, hw);
	return hw;
}

int
hw_run(struct hw *hw)
{
	size_t		i;
	struct timeval	tv = { 1, 0 };

	/* Ports that open only while a service is up start closed. */
	for (i = 0; i < hw->nlisteners; i++)
		listener_update(hw->listeners[i]);
	hw->watchdog_ms = sd_watchdog_ms();
	if (hw->watchdog_ms > 0 && hw->watchdog_ms / 2 < 1000) {
		tv = tv_ms(hw->watchdog_ms / 2);
	}
	event_add(hw->house_ev, &tv);
	poller_start(hw->poller);
	checks_start(hw->checks);
	log_notice("hapwatch %s started: %zu services, %zu listeners, stats %s",
	    HW_VERSION, hw->nsvcs, hw->nlisteners, hw->stats_shown);
	event_base_dispatch(hw->base);
	log_notice("stopped");
	return 0;
}

void
hw_free(struct hw *hw)
{
	size_t	i;

	if (hw == NULL)
		return;
	for (i = 0; i < hw->nlisteners; i++)
		listener_free(hw->listeners[i]);
	free(hw->listeners);
	logtrig_free(hw->logtrig);
	for (i = 0; i < hw->nretired; i++)
		notifier_free(hw->retired[i]);
	free(hw->retired);
	poller_free(hw->poller);
	statefile_free(hw->statefile);
	fectl_free(hw->fectl);
	notifier_free(hw->notifier);
	checks_free(hw->checks);
	childmgr_free(hw->children);
	curlev_free(hw->curl);
	for (i = 0; i < hw->nsvcs; i++)
		svc_clear(&hw->svcs[i]);
	free(hw->svcs);
	if (hw->stats.snap != NULL) {
		stats_snapshot_free(hw->stats.snap);
		free(hw->stats.snap);
	}
	for (i = 0; i < ARRAY_SIZE(hw->signals); i++)
		if (hw->signals[i] != NULL)
			event_free(hw->signals[i]);
	if (hw->eval_ev != NULL)
		event_free(hw->eval_ev);
	if (hw->stop_ev != NULL)
		event_free(hw->stop_ev);
	if (hw->stop_step != NULL)
		event_free(hw->stop_step);
	if (hw->house_ev != NULL)
		event_free(hw->house_ev);
	conf_free(hw->conf);
	free(hw->conf_path);
	hw_free_overrides(&hw->ov);
	event_base_free(hw->base);
	free(hw);
}
