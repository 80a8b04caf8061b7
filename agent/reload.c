/*
 * reload.c: SIGHUP. The new config is loaded and checked whole, and every
 * step that can fail (binding a new address, the log socket) is done
 * before anything of the running daemon changes; only then is it swapped
 * in. Listeners whose address stays keep their socket and connections (no
 * refused connection during a reload); services, checks and frontend
 * control keep their state by name; hooks still running finish under the
 * notifier that started them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "checkset.h"
#include "frontend.h"
#include "hapwatch.h"
#include "listener.h"
#include "log.h"
#include "logtrig.h"
#include "notify.h"
#include "sdnotify.h"
#include "statefile.h"

/* What a reload builds before it commits. */
struct staged {
	struct conf	 *conf;
	struct listener	**listeners;	/* one per new listen; NULL: reused */
	struct listener	**reuse;	/* the old listener to adopt, or NULL */
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

/* Bind what is new; find what is kept. False: nothing has changed. */
static bool
reload_prepare(struct hw *hw, struct staged *st)
{
	const struct conf	*nc = st->conf;
	char			 err[256];
	size_t			 i, j;

	st->listeners = xcalloc(nc->nlistens, sizeof(*st->listeners));
	st->reuse = xcalloc(nc->nlistens, sizeof(*st->reuse));
	for (i = 0; i < nc->nlistens; i++) {
		for (j = 0; j < hw->nlisteners; j++)
			if (addr_equal(&hw->listeners[j]->conf->addr,
			    &nc->listens[i].addr))
				st->reuse[i] = hw->listeners[j];
		if (st->reuse[i] != NULL)
			continue;
		st->listeners[i] = listener_new(hw, &nc->listens[i], err,
		    sizeof(err));
		if (st->listeners[i] == NULL) {
			log_errx("reload: %s listener: %s; keeping the running "
			    "config", listen_kind_name(nc->listens[i].kind), err);
			return false;
		}
	}
	if (!hw_need_curl(hw, nc)) {
		log_errx("reload: keeping the running config");
		return false;
	}
	st->logtrig_keep = str_eq(nc->haproxy.log_listen,
	    hw->conf->haproxy.log_listen);
	if (!st->logtrig_keep && nc->haproxy.log_listen != NULL) {
		st->logtrig = logtrig_new(hw->base, &nc->haproxy.log_addr,
		    hw_logtrig_cb, hw, err, sizeof(err));
		if (st->logtrig == NULL) {
			log_errx("reload: log trigger: %s; keeping the running "
			    "config", err);
			return false;
		}
	}
	return true;
}

static void
reload_services(struct hw *hw, const struct conf *nc)
{
	struct svc	*svcs = xcalloc(nc->nservices, sizeof(*svcs));
	size_t		 i, old;

	for (i = 0; i < nc->nservices; i++) {
		svc_init(&svcs[i], &nc->services[i]);
		old = conf_service_index(hw->conf, nc->services[i].name);
		if (old != CONF_NONE)
			svc_inherit(&svcs[i], &hw->svcs[old]);
	}
	for (i = 0; i < hw->nsvcs; i++)
		svc_clear(&hw->svcs[i]);
	free(hw->svcs);
	hw->svcs = svcs;
	hw->nsvcs = nc->nservices;
}

static void
reload_listeners(struct hw *hw, struct staged *st)
{
	const struct conf	*nc = st->conf;
	size_t			 i, j;

	for (j = 0; j < hw->nlisteners; j++) {
		bool kept = false;

		for (i = 0; i < nc->nlistens; i++)
			kept = kept || st->reuse[i] == hw->listeners[j];
		if (!kept)
			listener_free(hw->listeners[j]);
	}
	free(hw->listeners);
	for (i = 0; i < nc->nlistens; i++) {
		if (st->reuse[i] != NULL) {
			listener_adopt(st->reuse[i], &nc->listens[i]);
			st->listeners[i] = st->reuse[i];
		}
	}
	hw->listeners = st->listeners;
	hw->nlisteners = nc->nlistens;
	st->listeners = NULL;
}

/* The stats source: same poller with a new plan, or a new poller. */
static void
reload_poller(struct hw *hw, const struct conf *nc)
{
	const struct conf_haproxy	*o = &hw->conf->haproxy, *n = &nc->haproxy;

	if (strcmp(o->stats, n->stats) == 0) {
		hw_set_plan(hw, nc);
		poller_set_timing(hw->poller, n->interval, n->timeout);
		return;
	}
	char	shown[256];

	url_redact(n->stats, false, shown, sizeof(shown));
	log_notice("reload: stats source %s -> %s", hw->stats_shown, shown);
	memcpy(hw->stats_shown, shown, sizeof(shown));
	poller_free(hw->poller);
	hw->poller = hw_make_poller(hw, nc);
	hw_set_plan(hw, nc);
	/* Its first word is as early as a new process's. */
	hw->stats.pid = 0;
	poller_start(hw->poller);
}

static void
reload_commit(struct hw *hw, struct staged *st)
{
	struct conf	*old = hw->conf;
	struct checks	*checks;
	struct fectl	*fectl;

	reload_services(hw, st->conf);
	reload_listeners(hw, st);
	if (!st->logtrig_keep) {
		logtrig_free(hw->logtrig);
		hw->logtrig = st->logtrig;
		st->logtrig = NULL;
	}
	reload_poller(hw, st->conf);
	/* Hold verdicts until a poll with the new plan answers, and ask for
	 * one now (set_plan already resent any poll in flight). */
	hw->stats.await_plan = true;
	poller_trigger(hw->poller);
	hw->conf = st->conf;
	st->conf = NULL;
	checks = checks_new(hw);
	checks_inherit(checks, hw->checks);
	checks_free(hw->checks);
	hw->checks = checks;
	checks_start(hw->checks);
	fectl = fectl_new(hw);
	fectl_inherit(fectl, hw->fectl);
	fectl_free(hw->fectl);
	hw->fectl = fectl;
	hw_retire_notifier(hw, hw->notifier);
	hw->notifier = notifier_new(hw);
	/* Kept, with its counters and a save in flight. */
	hw->statefile = hw->statefile != NULL ?
	    statefile_reconfigure(hw->statefile) : statefile_new(hw);
	conf_free(old);
}

void
hw_reload(struct hw *hw)
{
	struct conf_errors	errs = { 0 };
	struct staged		st;
	size_t			i;

	memset(&st, 0, sizeof(st));
	sd_notifyf("RELOADING=1\nSTATUS=reloading the config");
	log_notice("SIGHUP: reloading %s", hw->conf_path != NULL ?
	    hw->conf_path : "the built-in default");
	st.conf = conf_load(hw->conf_path, &hw->ov, &errs);
	for (i = 0; i < errs.n; i++)
		log_errx("reload: %s", errs.msgs[i]);
	conf_errors_free(&errs);
	if (st.conf == NULL) {
		log_errx("reload: the new config is invalid; keeping the "
		    "running config");
		hw->reload_failures++;
	} else if (!reload_prepare(hw, &st)) {
		hw->reload_failures++;
	} else {
		reload_commit(hw, &st);
		hw->reloads++;
		log_notice("reload: done: %zu services, %zu listeners",
		    hw->nsvcs, hw->nlisteners);
		hw_evaluate(hw);
		for (i = 0; i < hw->nlisteners; i++)
			listener_update(hw->listeners[i]);
		fectl_update(hw->fectl);
		notifier_sync_tracks(hw->notifier);
	}
	staged_abort(&st);
	/* Before the first poll has answered, READY=1 is not ours to send:
	 * the first poll sends it. */
	if (hw->ready_sent)
		sd_notifyf("READY=1\nSTATUS=%s", hw_status_line(hw));
}
