/*
 * daemon.c: the running daemon.
 *
 * One event loop. Inputs (a stats poll, a probe, an operator's override,
 * a timer) change the services; each change is only marked. After every
 * turn of the loop, one pass (daemon_propagate) tells what changed to the
 * listeners, frontend control and notify, and objects closed during the
 * turn are freed (reap_now), when no callback can hold them any more.
 *
 * A SIGHUP builds the new config whole and swaps it in with
 * daemon_reconfigure(), or keeps the running one if anything fails.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "admin.h"
#include "child.h"
#include "curlev.h"
#include "curlshim.h"
#include "daemon.h"
#include "drain.h"
#include "events.h"
#include "fectl.h"
#include "listener.h"
#include "log.h"
#include "logtrig.h"
#include "master.h"
#include "metrics.h"
#include "notify.h"
#include "ovfile.h"
#include "plan.h"
#include "poller.h"
#include "probe.h"
#include "probers.h"
#include "probeset.h"
#include "responder.h"
#include "sdnotify.h"
#include "service.h"
#include "statefile.h"
#include "view.h"

/* What changed in a loop turn (struct daemon.dirty). */
#define DIRTY_STATES	0x01	/* an effective state: listeners, tracks */
#define DIRTY_VERDICTS	0x02	/* a verdict, or a poll: frontend control */

/* An event to tell notify, with its own copy of the words. */
struct transition {
	const char	*event;		/* "transition", "let_go" */
	size_t		svc;
	bool		initial;
	int64_t		wall;
	char		service[80];
	char		state[16];
	char		prev[16];
	char		reason[SVC_REASON_MAX];
};

/* What the daemon knows of HAProxy. */
struct hapstate {
	struct stats_snapshot	*snap;		/* last good; owned */
	bool			 answered;	/* the first poll completed */
	bool			 fresh;		/* within grace of last_ok */
	bool			 await_plan;	/* reloaded: hold verdicts until a
						 * poll of the new plan answers */
	int64_t			 last_ok;	/* mono ms of the last good poll */
	int64_t			 last_ok_wall;
	int64_t			 last_poll_wall;
	int64_t			 settle_until;	/* mono ms */
	int			 pid;
	enum poll_error		 last_error;
	char			 last_detail[160];
};

/* What HAProxy's master says (haproxy.master). */
struct masterstate {
	bool			 answered;
	struct master_proc	 proc;		/* the last good read */
	enum poll_error		 last_error;
	char			 last_detail[160];
	int64_t			 last_failure_wall;	/* a failed reload */
	char			 last_failure[256];	/* HAProxy's words */
};

struct daemon {
	struct event_base	*base;
	struct conf		*conf;
	char			*conf_path;	/* -f FILE, or NULL: default */
	struct conf_overrides	 ov;		/* quick options, owned copy */
	char			 stats_shown[256]; /* no password */
	struct metrics		*metrics;
	struct probers		*probers;	/* who probes the services */
	struct events		*events;	/* the history: GET /events */
	struct svc		*svcs;		/* one per conf->services */
	size_t			 nsvcs;
	struct drain		**drains;	/* per service: NULL unless drained */
	bool			 judge_drains;	/* after this turn */
	struct event		*drain_ev;	/* a drain's next deadline */
	struct event		*until_ev;	/* an override's end (--for) */
	struct ovfile		*ovfile;	/* overrides kept across restarts */
	struct hapstate		 hap;
	struct poller		*poller;	/* NULL: agent mode */
	struct master		*master;	/* haproxy.master, or NULL */
	struct masterstate	 mst;
	struct logtrig		*logtrig;	/* or NULL */
	struct statefile	*statefile;	/* or NULL */
	struct listener		**listeners;	/* one per conf->listens */
	size_t			 nlisteners;
	struct fectl		*fectl;
	struct curlev		*curl;		/* libcurl on this loop, or NULL
						 * while the config needs none */
	struct childmgr		*children;	/* hooks and exec checks */
	struct probeset		*probes;
	struct notifier		*notifier;
	struct notifier		**retired;	/* finishing after a reload */
	size_t			 nretired;
	unsigned		 dirty;		/* DIRTY_*, this loop turn */
	struct transition	*pending;	/* to tell notify, in order */
	size_t			 npending;
	size_t			 cappending;
	struct event		*eval_ev;	/* next hysteresis/grace deadline */
	struct event		*house_ev;	/* watchdog, reaping */
	struct event		*stop_ev;	/* hard deadline of a clean stop */
	struct event		*stop_step;	/* waiting for hooks to end */
	struct event		*signals[3];
	int64_t			 watchdog_ms;	/* $WATCHDOG_USEC, 0: none */
	int64_t			 started_wall;
	bool			 stopping;
	bool			 ready_sent;	/* sd_notify READY=1 */
	bool			 quit;		/* leave the loop */
};

static void daemon_evaluate(struct daemon *d);
static void daemon_judge_drains(struct daemon *d);

/* ---- telling what changed ---- */

/* Keep something that happened in the history (GET /events); any string
 * may be NULL. */
static void
daemon_event(struct daemon *d, enum event_kind kind, const char *service,
    const char *from, const char *to, const char *reason, const char *by,
    const char *route)
{
	struct event	e;

	memset(&e, 0, sizeof(e));
	e.kind = kind;
#define EV_SET(f, v) snprintf(e.f, sizeof(e.f), "%s", (v) != NULL ? (v) : "")
	EV_SET(service, service);
	EV_SET(from, from);
	EV_SET(to, to);
	EV_SET(reason, reason);
	EV_SET(by, by);
	EV_SET(route, route);
#undef EV_SET
	(void)events_add(d->events, &e);
}

/* An override set, lifted or restored (to), by whom and through which
 * route, as the history tells it. */
static void
daemon_event_override(struct daemon *d, const struct svc *s,
    enum svc_override to, const struct svc_override_info *info,
    const char *reason)
{
	daemon_event(d, EV_OVERRIDE, s->conf->name,
	    svc_override_name(s->override), svc_override_name(to), reason,
	    info->by, info->route);
}

static void
daemon_log_transition(const struct svc *s, enum svc_state from)
{
	log_msg(s->state == SVC_UP ? LOG_LVL_NOTICE : LOG_LVL_WARNING,
	    "service %s: %s -> %s: %s", s->conf->name, svc_state_name(from),
	    svc_state_name(s->state), s->reason);
}

/* A new entry at the end of what notify hears of after this turn. */
static struct transition *
daemon_pending_add(struct daemon *d)
{
	struct transition	*t;

	if (d->npending == d->cappending) {
		d->cappending = d->cappending ? d->cappending * 2 : 8;
		d->pending = xrealloc(d->pending, d->cappending *
		    sizeof(*d->pending));
	}
	t = &d->pending[d->npending++];
	memset(t, 0, sizeof(*t));
	return t;
}

/* Something happened to service idx (event, from prev: a state name, or
 * "starting"): queue it for notify, which hears of it after this loop
 * turn. reason NULL: the service's. */
static void
daemon_queue(struct daemon *d, const char *event, size_t idx,
    const char *prev, bool initial, const char *reason)
{
	const struct svc	*s = &d->svcs[idx];
	struct transition	*t = daemon_pending_add(d);

	t->event = event;
	t->svc = idx;
	t->initial = initial;
	t->wall = wall_ms();
	snprintf(t->service, sizeof(t->service), "%s", s->conf->name);
	snprintf(t->state, sizeof(t->state), "%s", svc_state_name(s->state));
	snprintf(t->prev, sizeof(t->prev), "%s", prev);
	snprintf(t->reason, sizeof(t->reason), "%s", reason != NULL ? reason :
	    s->reason);
}

static void
daemon_transition(struct daemon *d, size_t idx, const char *prev,
    bool initial)
{
	const struct svc	*s = &d->svcs[idx];

	daemon_event(d, EV_TRANSITION, s->conf->name, prev,
	    svc_state_name(s->state), s->reason, NULL, NULL);
	daemon_queue(d, "transition", idx, prev, initial, NULL);
}

/* An event of HAProxy's, not of a service (a failed reload): told to
 * every hook and webhook. */
static void
daemon_queue_haproxy(struct daemon *d, const char *event, const char *reason)
{
	struct transition	*t = daemon_pending_add(d);

	t->event = event;
	t->svc = CONF_NONE;
	t->wall = wall_ms();
	snprintf(t->reason, sizeof(t->reason), "%s", reason);
}

static const char *
daemon_status_line(const struct daemon *d)
{
	static char	buf[256];
	size_t		i, up = 0, n = 0;
	int		len;

	for (i = 0; i < d->nsvcs; i++)
		up += svc_state_serves(d->svcs[i].state);
	len = snprintf(buf, sizeof(buf), "%zu/%zu services up", up, d->nsvcs);
	for (i = 0; i < d->nsvcs && n < 3 && len > 0 &&
	    (size_t)len < sizeof(buf); i++) {
		if (d->svcs[i].state == SVC_UP)
			continue;
		len += snprintf(buf + len, sizeof(buf) - (size_t)len, "; %s %s: %s",
		    d->svcs[i].conf->name, svc_state_name(d->svcs[i].state),
		    d->svcs[i].reason);
		n++;
	}
	return buf;
}

/*
 * The one place that tells the responders, frontend control and notify
 * what changed, once per loop turn: never from inside a responder's own
 * callbacks, so no request can close the listener that accepted it.
 */
static void
daemon_propagate(struct daemon *d)
{
	struct notify_event	ev;
	size_t			i;
	unsigned		dirty;

	/* Drains first: one that has let go is an event to tell below. */
	if (probers_take_news(d->probers) || d->judge_drains) {
		d->judge_drains = false;
		daemon_judge_drains(d);
	}
	dirty = d->dirty;
	d->dirty = 0;
	if (dirty & DIRTY_STATES) {
		for (i = 0; i < d->nlisteners; i++)
			listener_update(d->listeners[i], d->stopping);
		if (d->ready_sent && !d->stopping)
			sd_notifyf("STATUS=%s", daemon_status_line(d));
		notify_tracks(d->notifier, d->svcs);
	}
	if (dirty & DIRTY_VERDICTS)
		fectl_update(d->fectl);
	for (i = 0; i < d->npending; i++) {
		const struct transition *t = &d->pending[i];

		ev.event = t->event;
		ev.svc = t->svc;
		ev.service = t->service;
		ev.state = t->state;
		ev.prev = t->prev;
		ev.reason = t->reason;
		ev.wall = t->wall;
		ev.initial = t->initial;
		notify_event(d->notifier, &ev);
	}
	d->npending = 0;
	/* Long-polls of /events get what happened since they asked, this
	 * turn's let-go included. */
	events_wake(d->events);
}

/* ---- services ---- */

static void
daemon_arm_eval(struct daemon *d, int64_t at)
{
	struct timeval	tv;
	int64_t		left = at - mono_ms();

	if (left < 0)
		left = 0;
	tv = tv_ms(left);
	evtimer_add(d->eval_ev, &tv);
}

static int
daemon_check_state(void *arg, size_t idx, const char **reason)
{
	struct daemon	*d = arg;

	return probeset_state(d->probes, idx, reason);
}

static int
daemon_check_weight(void *arg, size_t idx)
{
	struct daemon	*d = arg;

	return probeset_weight(d->probes, idx);
}

/*
 * Until when the last good snapshot stands: grace after the last good
 * poll, and at least until the next poll is due while the last one was
 * good (a grace shorter than the interval must not make stats look
 * stale between two good polls).
 */
static int64_t
daemon_fresh_until(const struct daemon *d)
{
	const struct conf_haproxy	*h = &d->conf->haproxy;
	int64_t				 span = h->grace;

	if (d->hap.last_error == POLL_OK && span < h->interval + h->timeout)
		span = h->interval + h->timeout;
	return d->hap.last_ok + span;
}

/* Re-evaluate every service now (new input, or a deadline). */
static void
daemon_evaluate(struct daemon *d)
{
	struct svc_input	in;
	int64_t			next = INT64_MAX;
	size_t			i;

	/* Stopping: nothing new is judged or acted on (no new hooks). */
	if (d->stopping)
		return;
	memset(&in, 0, sizeof(in));
	in.now = mono_ms();
	in.snap = d->hap.snap;
	in.stats_fresh = d->hap.snap != NULL &&
	    in.now <= daemon_fresh_until(d);
	in.alive = in.stats_fresh && d->hap.last_error != POLL_ESTOPPING;
	/* After a reload, the snapshot at hand was polled with the old plan:
	 * a newly required backend is not in it. Judge nothing on it (unless
	 * it has gone stale: then everything fails alike). */
	in.answered = d->hap.answered &&
	    !(d->hap.await_plan && in.stats_fresh);
	in.settle_until = d->hap.settle_until;
	in.check_state = daemon_check_state;
	in.check_weight = daemon_check_weight;
	in.check_arg = d;
	if (in.stats_fresh)
		next = daemon_fresh_until(d) + 1;
	d->hap.fresh = in.stats_fresh;
	for (i = 0; i < d->nsvcs; i++) {
		struct svc	*s = &d->svcs[i];
		enum svc_state	 from = s->state;
		int		 chg = svc_evaluate(s, &in, &next);

		if (chg & SVC_CHG_STATE) {
			daemon_log_transition(s, from);
			d->dirty |= DIRTY_STATES;
		}
		if (chg & SVC_CHG_FIRST)
			daemon_transition(d, i, "starting", true);
		else if (chg & SVC_CHG_STATE)
			daemon_transition(d, i, svc_state_name(from), false);
		if (chg & (SVC_CHG_VERDICT | SVC_CHG_FIRST))
			d->dirty |= DIRTY_VERDICTS;
	}
	evtimer_del(d->eval_ev);
	if (next != INT64_MAX)
		daemon_arm_eval(d, next);
}

static void
daemon_eval_cb(evutil_socket_t fd, short what, void *arg)
{
	daemon_evaluate(arg);
}

static void
daemon_probe_cb(void *arg)
{
	daemon_evaluate(arg);
}

/* ---- overrides and drains ---- */

/*
 * What service i's drain watches: the frontends mapped to it and those
 * its drain_frontends name (names needs room for both lists), and whether
 * it has a tcp listener.
 */
static void
daemon_drain_watch(const struct conf *c, size_t i, struct drain_watch *w,
    const char **names)
{
	const struct conf_service	*cs = &c->services[i];
	size_t				 k, j, n = 0;

	memset(w, 0, sizeof(*w));
	w->let_go = cs->let_go;
	for (k = 0; k < c->nfrontends; k++)
		if (c->frontends[k].svc == i)
			names[n++] = c->frontends[k].name;
	for (k = 0; k < cs->ndrain_frontends; k++) {
		for (j = 0; j < n && strcmp(names[j], cs->drain_frontends[k]); j++)
			;
		if (j == n)
			names[n++] = cs->drain_frontends[k];
	}
	w->frontends = names;
	w->nfrontends = n;
	for (k = 0; k < c->nlistens; k++)
		if (c->listens[k].kind == LISTEN_TCP && c->listens[k].svc == i)
			w->tcp = true;
}

static const char **
daemon_drain_names(const struct conf *c, size_t i)
{
	return xcalloc(c->nfrontends + c->services[i].ndrain_frontends + 1,
	    sizeof(char *));
}

/* A drain begins or ends with service i's override. True if it did. */
static bool
daemon_drain_sync(struct daemon *d, size_t i, bool restored)
{
	bool			 want = d->svcs[i].override == OVR_DRAIN;
	struct drain_watch	 w;
	const char		**names;

	if (want == (d->drains[i] != NULL))
		return false;
	if (want) {
		names = daemon_drain_names(d->conf, i);
		daemon_drain_watch(d->conf, i, &w, names);
		/* Kept across a restart: let go then, or watching anew (no
		 * prober is known yet). */
		d->drains[i] = restored ? drain_resume(i, &w, d->probers,
		    mono_ms(), d->svcs[i].ovr.let_go) : drain_begin(i, &w,
		    d->probers, mono_ms());
		free(names);
	} else {
		drain_end(d->drains[i], d->probers);
		d->drains[i] = NULL;
	}
	d->judge_drains = true;
	return true;
}

static void daemon_set_plan(struct daemon *d, const struct conf *conf);

/* The drains changed: their frontends are polled from now on, at once. */
static void
daemon_drains_changed(struct daemon *d)
{
	if (d->poller == NULL)
		return;
	daemon_set_plan(d, d->conf);
	poller_trigger(d->poller);
}

/* Judge every drain now; a drain that has let go is told. */
static void
daemon_judge_drains(struct daemon *d)
{
	const struct stats_snapshot	*snap = d->hap.fresh ? d->hap.snap : NULL;
	int64_t				 now = mono_ms(), next = INT64_MAX;
	size_t				 i;

	for (i = 0; i < d->nsvcs; i++) {
		if (d->drains[i] == NULL || !drain_judge(d->drains[i],
		    d->probers, snap, now, &next))
			continue;
		log_notice("service %s: the drain has %s", d->svcs[i].conf->name,
		    drain_summary(d->drains[i]));
		/* Kept with the override: a restart does not undo it. */
		d->svcs[i].ovr.let_go = drain_let_go_at(d->drains[i]);
		ovfile_save(d->ovfile, d->conf, d->svcs);
		daemon_event(d, EV_LET_GO, d->svcs[i].conf->name, NULL, NULL,
		    drain_summary(d->drains[i]), d->svcs[i].ovr.by, NULL);
		daemon_queue(d, "let_go", i, "drain", false,
		    drain_summary(d->drains[i]));
	}
	evtimer_del(d->drain_ev);
	if (next != INT64_MAX) {
		struct timeval tv = tv_ms(next - now > 0 ? next - now : 0);

		evtimer_add(d->drain_ev, &tv);
	}
}

static void
daemon_drain_cb(evutil_socket_t fd, short what, void *arg)
{
	struct daemon	*d = arg;

	d->judge_drains = true;
}

/* The next override to end by itself (--for). */
static void
daemon_arm_until(struct daemon *d)
{
	int64_t		next = INT64_MAX, now = wall_ms();
	struct timeval	tv;
	size_t		i;

	for (i = 0; i < d->nsvcs; i++)
		if (d->svcs[i].override != OVR_NONE && d->svcs[i].ovr.until > 0 &&
		    d->svcs[i].ovr.until < next)
			next = d->svcs[i].ovr.until;
	evtimer_del(d->until_ev);
	if (next == INT64_MAX)
		return;
	tv = tv_ms(next > now ? next - now : 0);
	evtimer_add(d->until_ev, &tv);
}

/* Set service i's override as rq asks. */
static void
daemon_override_one(struct daemon *d, size_t i, const struct override_req *rq)
{
	struct svc			*s = &d->svcs[i];
	enum svc_state			 from = s->state;
	struct svc_override_info	 info;
	int64_t				 now = wall_ms();
	char				 dur[32], why[64] = "";

	if (rq->o != OVR_NONE && s->override == rq->o) {
		/* Already so: who and since stand; a new "for" sets its end. */
		if (rq->for_ms > 0)
			s->ovr.until = now + rq->for_ms;
		return;
	}
	memset(&info, 0, sizeof(info));
	/* Who: as said; a "ready --if-by X" that lifts X's override is X's
	 * own doing (haproxy.service's drop-in lifting its drain). */
	snprintf(info.by, sizeof(info.by), "%s", rq->by != NULL ? rq->by :
	    rq->if_by != NULL ? rq->if_by : "operator");
	snprintf(info.route, sizeof(info.route), "%s", rq->route != NULL ?
	    rq->route : "");
	info.since = now;
	info.until = rq->for_ms > 0 ? now + rq->for_ms : 0;
	if (s->override != rq->o) {
		log_notice("service %s: %s by %s%s%s", s->conf->name,
		    svc_override_name(rq->o), info.by, info.route[0] != '\0' ?
		    " via " : "", info.route);
		if (rq->for_ms > 0) {
			fmt_duration(rq->for_ms, dur, sizeof(dur));
			snprintf(why, sizeof(why), "for %s", dur);
		}
		daemon_event_override(d, s, rq->o, &info, why);
	}
	if (svc_set_override(s, rq->o, &info) & SVC_CHG_STATE) {
		daemon_log_transition(s, from);
		if (s->evaluated && !d->stopping)
			daemon_transition(d, i, svc_state_name(from), false);
		d->dirty |= DIRTY_STATES;
	}
}

/* The operator's override on service idx, or all of them (CONF_NONE):
 * 200, or 409 when if_by left every one as is. */
static int
daemon_override(struct daemon *d, size_t idx, const struct override_req *rq,
    char *msg, size_t msglen)
{
	size_t	i, done = 0, left = 0, last = 0;
	bool	drains = false;

	for (i = 0; i < d->nsvcs; i++) {
		struct svc *s = &d->svcs[i];

		if (idx != CONF_NONE && i != idx)
			continue;
		if (rq->if_by != NULL && s->override != OVR_NONE &&
		    strcmp(s->ovr.by, rq->if_by) != 0) {
			left++;
			last = i;
			continue;
		}
		daemon_override_one(d, i, rq);
		drains |= daemon_drain_sync(d, i, false);
		done++;
	}
	if (drains)
		daemon_drains_changed(d);
	daemon_arm_until(d);
	ovfile_save(d->ovfile, d->conf, d->svcs);
	if (left == 0) {
		snprintf(msg, msglen, "%s %s", idx == CONF_NONE ?
		    "all services" : d->conf->services[idx].name,
		    svc_override_name(rq->o));
		return 200;
	}
	if (left == 1)
		snprintf(msg, msglen, "%s: %s by %s, not %s: left as is",
		    d->svcs[last].conf->name,
		    svc_override_name(d->svcs[last].override),
		    d->svcs[last].ovr.by, rq->if_by);
	else
		snprintf(msg, msglen, "%zu services left as is (overrides "
		    "not by %s)", left, rq->if_by);
	return done > 0 ? 200 : 409;
}

/* An override asked "for" a while is over. */
static void
daemon_until_cb(evutil_socket_t fd, short what, void *arg)
{
	struct daemon		*d = arg;
	struct override_req	 rq = { .o = OVR_NONE, .by = "timer" };
	int64_t			 now = wall_ms();
	char			 msg[160];
	size_t			 i;

	for (i = 0; i < d->nsvcs; i++) {
		const struct svc *s = &d->svcs[i];

		if (s->override == OVR_NONE || s->ovr.until == 0 ||
		    s->ovr.until > now)
			continue;
		log_notice("service %s: the %s by %s has run its time",
		    s->conf->name, svc_override_name(s->override), s->ovr.by);
		/* Ready "by timer": the override event says whose ended. */
		(void)daemon_override(d, i, &rq, msg, sizeof(msg));
	}
	daemon_arm_until(d);
}

/* At start: the overrides a restart must not lose. A file that cannot
 * be read drains every service (the safe side) until an operator says
 * ready. */
static void
daemon_restore_overrides(struct daemon *d)
{
	struct ovfile_entry	*e;
	size_t			 n, i, idx;
	int64_t			 now = wall_ms();
	char			 when[32];

	switch (ovfile_load(d->ovfile, &e, &n)) {
	case OVFILE_NONE:
		return;
	case OVFILE_BAD:
		for (i = 0; i < d->nsvcs; i++) {
			struct svc_override_info info = { .since = now };

			snprintf(info.by, sizeof(info.by), "hapwatch: the "
			    "overrides file was unreadable");
			daemon_event_override(d, &d->svcs[i], OVR_DRAIN, &info,
			    "the overrides file was unreadable");
			(void)svc_set_override(&d->svcs[i], OVR_DRAIN, &info);
			(void)daemon_drain_sync(d, i, true);
		}
		log_errx("overrides: every service is drained until an "
		    "operator says ready");
		ovfile_save(d->ovfile, d->conf, d->svcs);
		return;
	case OVFILE_OK:
		break;
	}
	for (i = 0; i < n; i++) {
		idx = conf_service_index(d->conf, e[i].service);
		if (idx == CONF_NONE) {
			log_warnx("overrides: service %s is gone from the "
			    "config: its %s is dropped", e[i].service,
			    svc_override_name(e[i].o));
			continue;
		}
		if (e[i].info.until > 0 && e[i].info.until <= now) {
			log_notice("overrides: the %s of %s ended while hapwatch "
			    "was stopped", svc_override_name(e[i].o),
			    e[i].service);
			continue;
		}
		fmt_rfc3339(e[i].info.since, when, sizeof(when));
		log_notice("service %s: %s by %s since %s, kept across the "
		    "restart", e[i].service, svc_override_name(e[i].o),
		    e[i].info.by, when);
		daemon_event_override(d, &d->svcs[idx], e[i].o, &e[i].info,
		    "kept across the restart");
		(void)svc_set_override(&d->svcs[idx], e[i].o, &e[i].info);
		(void)daemon_drain_sync(d, idx, true);
	}
	free(e);
	ovfile_save(d->ovfile, d->conf, d->svcs);
}

/* ---- HAProxy ---- */

/* A poll answered: take the snapshot and what it says of the process. */
static void
daemon_poll_ok(struct daemon *d, struct poll_result *res, int64_t now)
{
	struct hapstate	*h = &d->hap;

	if (h->pid == 0 && res->pid != 0)
		log_info("HAProxy %s, pid %d, up %llds", res->snap->info.version,
		    res->pid, (long long)res->snap->info.uptime_sec);
	if (res->new_process) {
		char	from[16], to[16];

		metrics_inc(d->metrics, MC_HAPROXY_PROCESSES);
		log_notice("HAProxy reloaded or restarted: %s", res->how);
		snprintf(from, sizeof(from), "%d", h->pid);
		snprintf(to, sizeof(to), "%d", res->pid);
		daemon_event(d, EV_HAPROXY_PROCESS, NULL, h->pid != 0 ? from :
		    NULL, res->pid != 0 ? to : NULL, res->how, NULL, NULL);
		/* A reload re-enables every frontend. */
		fectl_reapply(d->fectl);
	}
	if (res->young_until > h->settle_until)
		h->settle_until = res->young_until;
	h->pid = res->pid;
	stats_snapshot_free(h->snap);
	h->snap = res->snap;
	res->snap = NULL;
	h->last_ok = now;
	h->last_ok_wall = h->last_poll_wall;
	h->await_plan = false;
}

static void
daemon_poll_cb(void *arg, struct poll_result *res)
{
	struct daemon	*d = arg;
	struct hapstate	*h = &d->hap;
	int64_t		 now = mono_ms();
	bool		 was_failing = h->answered && h->last_error != POLL_OK;

	metrics_poll(d->metrics, res->error, res->duration_us);
	h->answered = true;
	h->last_poll_wall = wall_ms();
	h->last_error = res->error;
	snprintf(h->last_detail, sizeof(h->last_detail), "%s", res->detail);
	if (res->error == POLL_OK) {
		if (was_failing)
			log_notice("stats: %s answers again", d->stats_shown);
		daemon_poll_ok(d, res, now);
	} else if (!was_failing) {
		/* An outage is told once when it starts, and once when it
		 * ends, not on every poll. */
		log_warnx("stats: %s (%s)%s", res->detail,
		    poll_error_str(res->error), h->snap != NULL ?
		    "; keeping the last observation for the grace period" : "");
	} else {
		log_debug("stats: %s", res->detail);
	}
	daemon_evaluate(d);
	/* Frontend control retries what HAProxy did not confirm; drains
	 * read the frontends' new totals. */
	d->dirty |= DIRTY_VERDICTS;
	d->judge_drains = true;
	if (!d->ready_sent) {
		d->ready_sent = true;
		sd_notifyf("READY=1\nSTATUS=%s", daemon_status_line(d));
	}
}

static void
daemon_logtrig_cb(void *arg)
{
	struct daemon	*d = arg;

	if (d->poller != NULL)
		poller_trigger(d->poller);
}

/* The stats poller, or NULL when nothing watches HAProxy (agent mode:
 * hapwatch as the agent of an app server). */
/* ---- HAProxy's master ---- */

/* What went wrong with the master, told once when it starts. */
static void
daemon_master_error(struct daemon *d, const struct master_report *r)
{
	struct masterstate	*m = &d->mst;

	metrics_master_error(d->metrics, r->error);
	if (m->last_error == POLL_OK || !m->answered)
		log_warnx("master: %s (%s)", r->detail, poll_error_str(r->error));
	else
		log_debug("master: %s", r->detail);
	m->answered = true;
	m->last_error = r->error;
	snprintf(m->last_detail, sizeof(m->last_detail), "%s", r->detail);
}

/* A reload that did not take: the old worker serves the old config. */
static void
daemon_reload_failed(struct daemon *d, const struct master_report *r)
{
	struct masterstate	*m = &d->mst;
	unsigned		 i;
	char			 text[300];

	for (i = 0; i < r->failures; i++)
		metrics_inc(d->metrics, MC_HAPROXY_RELOAD_FAILURES);
	m->last_failure_wall = wall_ms();
	snprintf(m->last_failure, sizeof(m->last_failure), "%s",
	    r->why[0] != '\0' ? r->why : "no words from HAProxy (see its log)");
	snprintf(text, sizeof(text), "HAProxy reload failed%s: %s; worker %d "
	    "goes on serving the previous config", r->first ?
	    " (before hapwatch started)" : "", m->last_failure,
	    r->proc.worker_pid);
	log_errx("%s", text);
	daemon_event(d, EV_HAPROXY_RELOAD_FAILED, NULL, NULL, NULL, text, NULL,
	    NULL);
	daemon_queue_haproxy(d, "haproxy_reload_failed", text);
}

static void
daemon_master_cb(void *arg, const struct master_report *r)
{
	struct daemon		*d = arg;
	struct masterstate	*m = &d->mst;

	if (r->error != POLL_OK) {
		daemon_master_error(d, r);
		return;
	}
	if (m->answered && m->last_error != POLL_OK)
		log_notice("master: answers again");
	if (r->first)
		log_info("HAProxy's master: pid %d, worker %d, %u reloads",
		    r->proc.master_pid, r->proc.worker_pid, r->proc.reloads);
	else if (r->restarted)
		log_notice("HAProxy's master restarted: pid %d -> %d",
		    m->proc.master_pid, r->proc.master_pid);
	if (!r->first && r->new_worker) {
		/* A new worker: young from now on, before any poll of it. */
		int64_t until = mono_ms() + d->conf->haproxy.settle;

		log_notice("HAProxy's master: new worker %d", r->proc.worker_pid);
		if (until > d->hap.settle_until)
			d->hap.settle_until = until;
		if (d->poller != NULL)
			poller_trigger(d->poller);
	}
	if (r->failures > 0)
		daemon_reload_failed(d, r);
	m->answered = true;
	m->last_error = POLL_OK;
	m->proc = r->proc;
}

/* The master's poller, when the config names one and HAProxy is
 * watched at all. */
static struct master *
daemon_make_master(struct daemon *d, const struct conf *conf)
{
	const struct conf_haproxy	*h = &conf->haproxy;

	if (h->master == NULL || !conf_watches_haproxy(conf))
		return NULL;
	return master_new(d->base, &h->master_addr, h->interval, h->timeout,
	    daemon_master_cb, d);
}

static struct poller *
daemon_make_poller(struct daemon *d, const struct conf *conf)
{
	const struct conf_haproxy	*h = &conf->haproxy;
	struct poller_timing		 t = { h->interval, h->timeout, h->settle };
	struct source			*src;

	if (!conf_watches_haproxy(conf))
		return NULL;
	if (h->stats_kind == STATS_HTTP)
		src = source_page_new(d->base, d->curl, h->stats, h->timeout);
	else
		src = source_cli_new(d->base, &h->stats_addr, h->timeout);
	return poller_new(d->base, src, &t, daemon_poll_cb, d);
}

static void
daemon_set_plan(struct daemon *d, const struct conf *conf)
{
	struct poll_plan	  plan;
	const char		**fes = NULL;
	const char *const	 *names;
	size_t			  i, k, j, n, nfe = 0;

	plan_build(conf, &plan);
	/* The frontends of the drains in progress (only while they run). */
	for (i = 0; i < d->nsvcs; i++) {
		if (d->drains[i] == NULL)
			continue;
		n = drain_frontends(d->drains[i], &names);
		fes = xrealloc(fes, (nfe + n) * sizeof(*fes));
		for (k = 0; k < n; k++) {
			for (j = 0; j < nfe && strcmp(fes[j], names[k]) != 0; j++)
				;
			if (j == nfe)
				fes[nfe++] = names[k];
		}
	}
	plan.frontends = fes;
	plan.nfrontends = nfe;
	if (d->poller != NULL) {
		poller_set_plan(d->poller, &plan);
		log_debug("stats request: %s", poller_request(d->poller));
	}
	plan_free(&plan);
	free(fes);
}

/* Make sure d->curl exists if conf needs libcurl (loading it). False,
 * with the reason logged, if libcurl cannot be loaded. */
static bool
daemon_need_curl(struct daemon *d, const struct conf *conf)
{
	char	err[300];

	if (d->curl != NULL || !conf_needs_curl(conf))
		return true;
	if (!curlshim_load(err, sizeof(err))) {
		log_errx("%s (http checks, webhooks and the stats page need it; "
		    "install libcurl4)", err);
		return false;
	}
	d->curl = curlev_new(d->base);
	return true;
}

/* ---- what the parts are given ---- */

static void
daemon_view(void *arg, struct view *v)
{
	struct daemon	*d = arg;

	memset(v, 0, sizeof(*v));
	v->conf = d->conf;
	v->conf_path = d->conf_path;
	v->started_wall = d->started_wall;
	v->svcs = d->svcs;
	v->nsvcs = d->nsvcs;
	v->drains = (const struct drain *const *)d->drains;
	v->probers = d->probers;
	v->ovfile = d->ovfile;
	v->haproxy.source = d->stats_shown;
	v->haproxy.snap = d->hap.snap;
	v->haproxy.polled = d->poller != NULL;
	v->haproxy.fresh = d->hap.fresh;
	v->haproxy.pid = d->hap.pid;
	v->haproxy.last_poll_wall = d->hap.last_poll_wall;
	v->haproxy.last_ok_wall = d->hap.last_ok_wall;
	v->haproxy.settle_until = d->hap.settle_until;
	v->haproxy.last_error = d->hap.last_error;
	v->haproxy.last_detail = d->hap.last_detail;
	if (d->master != NULL) {
		v->haproxy.master = d->conf->haproxy.master;
		v->haproxy.master_proc = d->mst.answered &&
		    d->mst.proc.master_pid != 0 ? &d->mst.proc : NULL;
		v->haproxy.master_error = d->mst.last_error;
		v->haproxy.master_detail = d->mst.last_detail;
	}
	v->haproxy.reload_failure_wall = d->mst.last_failure_wall;
	v->haproxy.reload_failure = d->mst.last_failure;
	v->listeners = (const struct listener *const *)d->listeners;
	v->nlisteners = d->nlisteners;
	v->fectl = d->fectl;
	v->probes = d->probes;
	v->statefile = d->statefile;
	v->logtrig = d->logtrig;
	v->metrics = d->metrics;
}

static int
daemon_admin_override(void *arg, size_t idx, const struct override_req *rq,
    char *msg, size_t msglen)
{
	return daemon_override(arg, idx, rq, msg, msglen);
}

static bool
daemon_admin_save_state(void *arg, uint64_t *seq)
{
	struct daemon	*d = arg;

	if (d->statefile == NULL)
		return false;
	*seq = statefile_request(d->statefile);
	return true;
}

static const struct admin_ops daemon_admin_ops = {
	.view = daemon_view,
	.override = daemon_admin_override,
	.save_state = daemon_admin_save_state,
};

static void
daemon_responder_env(struct daemon *d, const struct conf *conf,
    const struct svc *svcs, struct responder_env *env)
{
	env->base = d->base;
	env->metrics = d->metrics;
	env->probers = d->probers;
	env->conf = conf;
	env->svcs = svcs;
	env->admin = &daemon_admin_ops;
	env->admin_arg = d;
	env->events = d->events;
}

static struct probeset *
daemon_make_probes(struct daemon *d, const struct conf *conf)
{
	struct probe_env	env = { d->base, d->curl, d->children };

	return probeset_new(&env, conf, daemon_probe_cb, d);
}

static struct notifier *
daemon_make_notifier(struct daemon *d, const struct conf *conf)
{
	struct notify_env	env = { d->base, d->children, d->curl,
				    d->metrics };

	return notify_new(&env, conf);
}

static struct fectl *
daemon_make_fectl(struct daemon *d, const struct conf *conf,
    const struct svc *svcs)
{
	struct fectl_env	env = { d->base, conf->haproxy.stats_addr,
				    conf->haproxy.timeout };

	return fectl_new(&env, conf, svcs);
}

/* Keep a replaced notifier until its hooks and webhooks are done. */
static void
daemon_retire_notifier(struct daemon *d, struct notifier *nf)
{
	if (notify_pending(nf) == 0) {
		notify_free(nf);
		return;
	}
	d->retired = xrealloc(d->retired, (d->nretired + 1) *
	    sizeof(*d->retired));
	d->retired[d->nretired++] = nf;
}

/* ---- reload ---- */

/* What a reload builds before it commits. */
struct staged {
	struct conf	 *conf;
	struct listener	**listeners;	/* one per new listen; NULL: reused */
	struct listener	**reuse;	/* the old listener at its address */
	struct logtrig	 *logtrig;	/* a new log socket, or NULL */
	bool		  logtrig_keep;	/* keep the old one */
};

static void
staged_abort(struct staged *st)
{
	size_t	i;

	for (i = 0; st->conf != NULL && i < st->conf->nlistens; i++)
		listener_free(st->listeners[i]);
	free(st->listeners);
	free(st->reuse);
	logtrig_free(st->logtrig);
	conf_free(st->conf);
}

static bool
str_eq(const char *a, const char *b)
{
	return (a == NULL && b == NULL) ||
	    (a != NULL && b != NULL && strcmp(a, b) == 0);
}

/* Bind what is new and find what is kept, changing nothing of the
 * running daemon. False (logged) if something cannot be had. */
static bool
reload_prepare(struct daemon *d, struct staged *st)
{
	const struct conf	*nc = st->conf;
	struct responder_env	 env;
	char			 err[256];
	size_t			 i, j;

	st->listeners = xcalloc(nc->nlistens, sizeof(*st->listeners));
	st->reuse = xcalloc(nc->nlistens, sizeof(*st->reuse));
	if (!daemon_need_curl(d, nc)) {
		log_errx("reload: keeping the running config");
		return false;
	}
	/* New listeners see the old services until the commit adopts them
	 * anew; they accept nothing before the loop runs again. */
	daemon_responder_env(d, d->conf, d->svcs, &env);
	for (i = 0; i < nc->nlistens; i++) {
		for (j = 0; j < d->nlisteners; j++)
			if (addr_equal(&listener_conf(d->listeners[j])->addr,
			    &nc->listens[i].addr))
				st->reuse[i] = d->listeners[j];
		if (st->reuse[i] != NULL)
			continue;
		st->listeners[i] = listener_new(&nc->listens[i], &env, err,
		    sizeof(err));
		if (st->listeners[i] == NULL) {
			log_errx("reload: %s listener: %s; keeping the running "
			    "config", listen_kind_name(nc->listens[i].kind), err);
			return false;
		}
	}
	st->logtrig_keep = str_eq(nc->haproxy.log_listen,
	    d->conf->haproxy.log_listen);
	if (!st->logtrig_keep && nc->haproxy.log_listen != NULL) {
		st->logtrig = logtrig_new(d->base, &nc->haproxy.log_addr,
		    daemon_logtrig_cb, d, err, sizeof(err));
		if (st->logtrig == NULL) {
			log_errx("reload: log trigger: %s; keeping the running "
			    "config", err);
			return false;
		}
	}
	return true;
}

/* Services carry their state, override and drain over by name; the
 * probers follow them to their new index. */
static void
reload_services(struct daemon *d, const struct conf *nc)
{
	struct svc	 *svcs = xcalloc(nc->nservices, sizeof(*svcs));
	struct drain	**drains = xcalloc(nc->nservices, sizeof(*drains));
	size_t		 *map = xcalloc(d->nsvcs + 1, sizeof(*map));
	size_t		  i, old;

	for (i = 0; i < d->nsvcs; i++)
		map[i] = SIZE_MAX;
	for (i = 0; i < nc->nservices; i++) {
		svc_init(&svcs[i], &nc->services[i]);
		old = conf_service_index(d->conf, nc->services[i].name);
		if (old == CONF_NONE)
			continue;
		svc_inherit(&svcs[i], &d->svcs[old]);
		map[old] = i;
		drains[i] = d->drains[old];
		d->drains[old] = NULL;
	}
	for (i = 0; i < d->nsvcs; i++) {
		drain_end(d->drains[i], d->probers);	/* services gone */
		svc_clear(&d->svcs[i]);
	}
	probers_remap(d->probers, map, d->nsvcs);
	free(map);
	free(d->svcs);
	free(d->drains);
	d->svcs = svcs;
	d->drains = drains;
	d->nsvcs = nc->nservices;
}

/* The drains carried over watch what the new config says. */
static void
reload_drains(struct daemon *d)
{
	struct drain_watch	 w;
	const char		**names;
	size_t			 i;

	for (i = 0; i < d->nsvcs; i++) {
		if (d->drains[i] == NULL)
			continue;
		names = daemon_drain_names(d->conf, i);
		daemon_drain_watch(d->conf, i, &w, names);
		drain_rewatch(d->drains[i], i, &w);
		free(names);
	}
	d->judge_drains = true;
}

/* The state directory moved: the overrides go with it. */
static void
reload_ovfile(struct daemon *d, const struct conf *old)
{
	if (strcmp(conf_state_dir(old), conf_state_dir(d->conf)) != 0) {
		ovfile_free(d->ovfile);
		d->ovfile = ovfile_new(d->base, conf_state_dir(d->conf));
	}
	ovfile_save(d->ovfile, d->conf, d->svcs);
}

/* Listeners at a kept address keep their socket: the same kind adopts
 * the new config (and its connections stay), another kind takes the
 * socket over. The others are closed. */
static void
reload_listeners(struct daemon *d, struct staged *st)
{
	const struct conf	*nc = st->conf;
	struct responder_env	 env;
	size_t			 i, j;

	daemon_responder_env(d, nc, d->svcs, &env);
	for (j = 0; j < d->nlisteners; j++) {
		bool kept = false;

		for (i = 0; i < nc->nlistens; i++)
			kept = kept || st->reuse[i] == d->listeners[j];
		if (!kept)
			listener_free(d->listeners[j]);
	}
	free(d->listeners);
	for (i = 0; i < nc->nlistens; i++) {
		struct listener *old = st->reuse[i];

		if (old == NULL)
			listener_adopt(st->listeners[i], &nc->listens[i], &env);
		else if (listener_conf(old)->kind == nc->listens[i].kind) {
			listener_adopt(old, &nc->listens[i], &env);
			st->listeners[i] = old;
		} else {
			st->listeners[i] = listener_take(old, &nc->listens[i],
			    &env);
		}
	}
	d->listeners = st->listeners;
	d->nlisteners = nc->nlistens;
	st->listeners = NULL;
}

/* The stats source: the same poller with a new plan, or a new poller, or
 * none (agent mode). */
static void
reload_poller(struct daemon *d, const struct conf *oc, const struct conf *nc)
{
	const struct conf_haproxy	*o = &oc->haproxy, *n = &nc->haproxy;
	struct poller_timing		 t = { n->interval, n->timeout, n->settle };
	char				 shown[256];

	if ((d->poller != NULL) != conf_watches_haproxy(nc)) {
		log_notice("reload: %s", d->poller != NULL ? "no service "
		    "watches HAProxy any more (agent mode)" : "a service "
		    "watches HAProxy now");
		poller_free(d->poller);
		d->poller = daemon_make_poller(d, nc);
		d->hap.answered = d->poller == NULL;
		d->hap.pid = 0;
		daemon_set_plan(d, nc);
		if (d->poller != NULL)
			poller_start(d->poller);
		return;
	}
	if (d->poller == NULL)
		return;
	if (strcmp(o->stats, n->stats) == 0) {
		daemon_set_plan(d, nc);
		poller_set_timing(d->poller, &t);
		poller_trigger(d->poller);
		return;
	}
	url_redact(n->stats, false, shown, sizeof(shown));
	log_notice("reload: stats source %s -> %s", d->stats_shown, shown);
	memcpy(d->stats_shown, shown, sizeof(shown));
	poller_free(d->poller);
	d->poller = daemon_make_poller(d, nc);
	daemon_set_plan(d, nc);
	/* Its first word is as early as a new process's. */
	d->hap.pid = 0;
	poller_start(d->poller);
}

/* The master: the same one at a new pace, or another, or none. */
static void
reload_master(struct daemon *d, const struct conf *oc, const struct conf *nc)
{
	const struct conf_haproxy	*n = &nc->haproxy;

	if (d->master != NULL && n->master != NULL && oc->haproxy.master !=
	    NULL && strcmp(oc->haproxy.master, n->master) == 0 &&
	    conf_watches_haproxy(nc)) {
		master_set_timing(d->master, n->interval, n->timeout);
		return;
	}
	master_free(d->master);
	memset(&d->mst.proc, 0, sizeof(d->mst.proc));
	d->mst.answered = false;
	d->master = daemon_make_master(d, nc);
	if (d->master != NULL)
		master_start(d->master);
}

static void
reload_commit(struct daemon *d, struct staged *st)
{
	struct conf	*old = d->conf;
	struct probeset	*probes;
	struct fectl	*fectl;

	reload_services(d, st->conf);
	reload_listeners(d, st);
	if (!st->logtrig_keep) {
		logtrig_free(d->logtrig);
		d->logtrig = st->logtrig;
		st->logtrig = NULL;
	}
	/* Hold verdicts until a poll with the new plan answers. */
	d->hap.await_plan = true;
	d->conf = st->conf;
	st->conf = NULL;
	reload_drains(d);
	reload_poller(d, old, d->conf);
	reload_master(d, old, d->conf);
	reload_ovfile(d, old);
	probes = daemon_make_probes(d, d->conf);
	probeset_inherit(probes, d->probes);
	probeset_free(d->probes);
	d->probes = probes;
	probeset_start(d->probes);
	fectl = daemon_make_fectl(d, d->conf, d->svcs);
	fectl_inherit(fectl, d->fectl);
	fectl_free(d->fectl);
	d->fectl = fectl;
	daemon_retire_notifier(d, d->notifier);
	d->notifier = daemon_make_notifier(d, d->conf);
	/* Kept, with its counters and a save in flight. */
	d->statefile = statefile_reconfigure(d->statefile, d->base,
	    &d->conf->haproxy);
	conf_free(old);
}

/* Swap in nc (taken over), or keep the running config if a part of it
 * cannot be had (an address in use); false then, logged. */
static bool
daemon_reconfigure(struct daemon *d, struct conf *nc)
{
	struct staged	st;

	memset(&st, 0, sizeof(st));
	st.conf = nc;
	/* What this turn changed is told under the config it happened in. */
	daemon_propagate(d);
	if (!reload_prepare(d, &st)) {
		staged_abort(&st);
		return false;
	}
	reload_commit(d, &st);
	staged_abort(&st);
	d->dirty |= DIRTY_STATES | DIRTY_VERDICTS;
	daemon_evaluate(d);
	return true;
}

/* SIGHUP: load the file again and swap it in if it is valid whole. */
static void
daemon_reload(struct daemon *d)
{
	struct conf_errors	 errs = { 0 };
	struct conf		*nc;
	size_t			 i;
	char			 why[SVC_REASON_MAX];

	sd_notifyf("RELOADING=1\nSTATUS=reloading the config");
	log_notice("SIGHUP: reloading %s", d->conf_path != NULL ?
	    d->conf_path : "the built-in default");
	nc = conf_load(d->conf_path, &d->ov, &errs);
	for (i = 0; i < errs.n; i++)
		log_errx("reload: %s", errs.msgs[i]);
	if (nc == NULL) {
		log_errx("reload: the new config is invalid; keeping the "
		    "running config");
		metrics_inc(d->metrics, MC_CONFIG_RELOAD_FAILURES);
		snprintf(why, sizeof(why), "%zu error%s, the first: %s", errs.n,
		    errs.n == 1 ? "" : "s", errs.n > 0 ? errs.msgs[0] : "?");
		daemon_event(d, EV_CONFIG_RELOAD_FAILED, NULL, NULL, NULL, why,
		    NULL, NULL);
	} else if (!daemon_reconfigure(d, nc)) {
		metrics_inc(d->metrics, MC_CONFIG_RELOAD_FAILURES);
		daemon_event(d, EV_CONFIG_RELOAD_FAILED, NULL, NULL, NULL,
		    "a part of the new config could not be had (see the log)",
		    NULL, NULL);
	} else {
		metrics_inc(d->metrics, MC_CONFIG_RELOADS);
		log_notice("reload: done: %zu services, %zu listeners",
		    d->nsvcs, d->nlisteners);
		snprintf(why, sizeof(why), "%zu services, %zu listeners",
		    d->nsvcs, d->nlisteners);
		daemon_event(d, EV_CONFIG_RELOAD, NULL, NULL, NULL, why, NULL,
		    NULL);
	}
	conf_errors_free(&errs);
	/* Before the first poll has answered, READY=1 is not ours to send:
	 * the first poll sends it. */
	if (d->ready_sent)
		sd_notifyf("READY=1\nSTATUS=%s", daemon_status_line(d));
}

/* ---- stop ---- */

/* Hooks still running, in the notifier and in retired ones. */
static size_t
daemon_hooks_running(const struct daemon *d)
{
	size_t	i, n = notify_hooks_running(d->notifier);

	for (i = 0; i < d->nretired; i++)
		n += notify_hooks_running(d->retired[i]);
	return n;
}

/* The stop's last step: leave once running hooks are done (each is killed
 * at its own timeout, and the stop deadline bounds the wait). */
static void
daemon_stop_step(evutil_socket_t fd, short what, void *arg)
{
	struct daemon	*d = arg;
	struct timeval	 tv = { 0, 100 * 1000 };

	if (daemon_hooks_running(d) == 0) {
		d->quit = true;
		return;
	}
	if (d->stop_step == NULL) {
		log_notice("stop: waiting for %zu running hook(s)",
		    daemon_hooks_running(d));
		d->stop_step = evtimer_new(d->base, daemon_stop_step, d);
	}
	evtimer_add(d->stop_step, &tv);
}

static void
daemon_frontends_restored(void *arg)
{
	daemon_stop_step(-1, 0, arg);
}

static void
daemon_stop_deadline_cb(evutil_socket_t fd, short what, void *arg)
{
	struct daemon	*d = arg;

	log_warnx("stop: %s in time", daemon_hooks_running(d) > 0 ?
	    "hooks did not finish" :
	    "HAProxy did not confirm frontend restore");
	d->quit = true;
}

/*
 * A clean stop: stop listening and polling, give HAProxy its frontends
 * back, let running hooks finish (a takeover cut in half is worse than a
 * slow stop), then leave the loop. Queued hooks and webhooks are dropped.
 */
static void
daemon_stop(struct daemon *d, const char *why)
{
	int64_t		ms = d->conf->haproxy.timeout + 500;
	struct timeval	tv;
	size_t		i;

	if (d->stopping)
		return;
	log_notice("stopping (%s)", why);
	daemon_event(d, EV_STOP, NULL, NULL, NULL, why, NULL, NULL);
	sd_notifyf("STOPPING=1");
	d->stopping = true;
	d->dirty |= DIRTY_STATES;	/* every listener closes */
	poller_free(d->poller);
	d->poller = NULL;
	master_free(d->master);
	d->master = NULL;
	for (i = 0; i < d->conf->nnotifies; i++)
		if (d->conf->notifies[i].kind == NOTIFY_EXEC &&
		    d->conf->notifies[i].timeout + CHILD_KILL_GRACE_MS + 500 > ms)
			ms = d->conf->notifies[i].timeout + CHILD_KILL_GRACE_MS +
			    500;
	tv = tv_ms(ms);
	d->stop_ev = evtimer_new(d->base, daemon_stop_deadline_cb, d);
	evtimer_add(d->stop_ev, &tv);
	fectl_restore(d->fectl, daemon_frontends_restored, d);
}

static void
daemon_signal_cb(evutil_socket_t sig, short what, void *arg)
{
	struct daemon	*d = arg;

	switch (sig) {
	case SIGTERM:
		daemon_stop(d, "SIGTERM");
		break;
	case SIGINT:
		daemon_stop(d, "SIGINT");
		break;
	case SIGHUP:
		if (!d->stopping)
			daemon_reload(d);
		break;
	default:
		break;
	}
}

/* Every second (or half the watchdog interval): the loop is alive. */
static void
daemon_house_cb(evutil_socket_t fd, short what, void *arg)
{
	struct daemon	*d = arg;
	size_t		 i, k = 0;

	if (d->watchdog_ms > 0)
		sd_notifyf("WATCHDOG=1");
	for (i = 0; i < d->nretired; i++) {
		if (notify_pending(d->retired[i]) == 0)
			notify_free(d->retired[i]);
		else
			d->retired[k++] = d->retired[i];
	}
	d->nretired = k;
}

/* ---- life ---- */

static bool
daemon_bind(struct daemon *d)
{
	struct responder_env	env;
	char			err[256];
	size_t			i;

	if (d->conf->haproxy.log_listen != NULL) {
		d->logtrig = logtrig_new(d->base, &d->conf->haproxy.log_addr,
		    daemon_logtrig_cb, d, err, sizeof(err));
		if (d->logtrig == NULL) {
			log_errx("log trigger: %s", err);
			return false;
		}
	}
	daemon_responder_env(d, d->conf, d->svcs, &env);
	d->nlisteners = d->conf->nlistens;
	d->listeners = xcalloc(d->nlisteners, sizeof(*d->listeners));
	for (i = 0; i < d->nlisteners; i++) {
		d->listeners[i] = listener_new(&d->conf->listens[i], &env, err,
		    sizeof(err));
		if (d->listeners[i] == NULL) {
			log_errx("%s listener: %s",
			    listen_kind_name(d->conf->listens[i].kind), err);
			return false;
		}
	}
	return true;
}

static void
overrides_copy(struct conf_overrides *dst, const struct conf_overrides *src)
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
overrides_free(struct conf_overrides *ov)
{
	size_t	i;

	free((char *)(uintptr_t)ov->stats);
	free((char *)(uintptr_t)ov->http);
	free((char *)(uintptr_t)ov->agent);
	for (i = 0; i < ov->nbackends; i++)
		free((char *)(uintptr_t)ov->backends[i]);
	free(ov->backends);
}

struct daemon *
daemon_new(struct conf *conf, const char *path, const struct conf_overrides *ov)
{
	static const int	 sigs[] = { SIGTERM, SIGINT, SIGHUP };
	struct daemon		*d = xcalloc(1, sizeof(*d));
	char			 why[SVC_REASON_MAX];
	size_t			 i;

	signal(SIGPIPE, SIG_IGN);
	d->conf = conf;
	url_redact(conf->haproxy.stats, false, d->stats_shown,
	    sizeof(d->stats_shown));
	d->conf_path = path != NULL ? xstrdup(path) : NULL;
	overrides_copy(&d->ov, ov);
	d->started_wall = wall_ms();
	d->base = event_base_new();
	if (d->base == NULL)
		fatalx("cannot create the event base");
	d->metrics = metrics_new();
	d->probers = probers_new(PROBERS_MAX);
	d->events = events_new();
	d->nsvcs = conf->nservices;
	d->svcs = xcalloc(d->nsvcs, sizeof(*d->svcs));
	for (i = 0; i < d->nsvcs; i++)
		svc_init(&d->svcs[i], &conf->services[i]);
	d->drains = xcalloc(d->nsvcs, sizeof(*d->drains));
	d->eval_ev = evtimer_new(d->base, daemon_eval_cb, d);
	d->drain_ev = evtimer_new(d->base, daemon_drain_cb, d);
	d->until_ev = evtimer_new(d->base, daemon_until_cb, d);
	d->ovfile = ovfile_new(d->base, conf_state_dir(conf));
	/* The history starts here: before the overrides a restart kept. */
	snprintf(why, sizeof(why), "hapwatch %s, %s", HW_VERSION,
	    d->conf_path != NULL ? d->conf_path : "the built-in config");
	daemon_event(d, EV_START, NULL, NULL, NULL, why, NULL, NULL);
	daemon_restore_overrides(d);
	daemon_arm_until(d);
	for (i = 0; i < ARRAY_SIZE(sigs); i++) {
		d->signals[i] = evsignal_new(d->base, sigs[i], daemon_signal_cb, d);
		evsignal_add(d->signals[i], NULL);
	}
	d->fectl = daemon_make_fectl(d, conf, d->svcs);
	d->children = childmgr_new(d->base);
	if (!daemon_need_curl(d, conf)) {
		daemon_free(d);
		return NULL;
	}
	d->probes = daemon_make_probes(d, conf);
	d->notifier = daemon_make_notifier(d, conf);
	if (!daemon_bind(d)) {
		daemon_free(d);
		return NULL;
	}
	d->poller = daemon_make_poller(d, conf);
	/* Agent mode: no HAProxy word to wait for before judging. */
	d->hap.answered = d->poller == NULL;
	daemon_set_plan(d, conf);
	d->master = daemon_make_master(d, conf);
	d->statefile = statefile_new(d->base, &conf->haproxy);
	d->house_ev = event_new(d->base, -1, EV_PERSIST, daemon_house_cb, d);
	return d;
}

int
daemon_run(struct daemon *d)
{
	struct timeval	tv = { 1, 0 };

	/* Ports that open only while a service is up start closed. */
	d->dirty |= DIRTY_STATES;
	daemon_propagate(d);
	d->watchdog_ms = sd_watchdog_ms();
	if (d->watchdog_ms > 0 && d->watchdog_ms / 2 < 1000)
		tv = tv_ms(d->watchdog_ms / 2);
	event_add(d->house_ev, &tv);
	if (d->poller != NULL)
		poller_start(d->poller);
	if (d->master != NULL)
		master_start(d->master);
	probeset_start(d->probes);
	if (d->poller != NULL)
		log_notice("hapwatch %s started: %zu services, %zu listeners, "
		    "stats %s", HW_VERSION, d->nsvcs, d->nlisteners,
		    d->stats_shown);
	else
		log_notice("hapwatch %s started: %zu services, %zu listeners; "
		    "no service watches HAProxy (agent mode)", HW_VERSION,
		    d->nsvcs, d->nlisteners);
	if (d->poller == NULL) {
		/* Nothing to wait for: the listeners answer. */
		d->ready_sent = true;
		sd_notifyf("READY=1\nSTATUS=%s", daemon_status_line(d));
	}
	/* One turn, then what it changed is told and what it closed freed
	 * (pgbouncer's main_loop_once). */
	while (!d->quit) {
		if (event_base_loop(d->base, EVLOOP_ONCE) < 0)
			fatalx("the event loop failed");
		daemon_propagate(d);
		reap_now();
	}
	log_notice("stopped");
	return 0;
}

void
daemon_free(struct daemon *d)
{
	size_t	i;

	if (d == NULL)
		return;
	for (i = 0; i < d->nlisteners; i++)
		listener_free(d->listeners[i]);
	free(d->listeners);
	logtrig_free(d->logtrig);
	for (i = 0; i < d->nretired; i++)
		notify_free(d->retired[i]);
	free(d->retired);
	poller_free(d->poller);
	master_free(d->master);
	statefile_free(d->statefile);
	fectl_free(d->fectl);
	notify_free(d->notifier);
	probeset_free(d->probes);
	childmgr_free(d->children);
	curlev_free(d->curl);
	ovfile_free(d->ovfile);
	for (i = 0; i < d->nsvcs; i++)
		if (d->drains != NULL)
			drain_end(d->drains[i], d->probers);
	free(d->drains);
	reap_now();
	for (i = 0; i < d->nsvcs; i++)
		svc_clear(&d->svcs[i]);
	free(d->svcs);
	free(d->pending);
	stats_snapshot_free(d->hap.snap);
	for (i = 0; i < ARRAY_SIZE(d->signals); i++)
		if (d->signals[i] != NULL)
			event_free(d->signals[i]);
	if (d->eval_ev != NULL)
		event_free(d->eval_ev);
	if (d->drain_ev != NULL)
		event_free(d->drain_ev);
	if (d->until_ev != NULL)
		event_free(d->until_ev);
	if (d->stop_ev != NULL)
		event_free(d->stop_ev);
	if (d->stop_step != NULL)
		event_free(d->stop_step);
	if (d->house_ev != NULL)
		event_free(d->house_ev);
	metrics_free(d->metrics);
	probers_free(d->probers);
	events_free(d->events);
	conf_free(d->conf);
	free(d->conf_path);
	overrides_free(&d->ov);
	event_base_free(d->base);
	free(d);
}
