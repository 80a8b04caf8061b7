/*
 * poller.h: polls HAProxy's stats every interval through one source
 * (source.h: the CLI socket or the stats page) and hands each result to
 * its owner, as a parsed snapshot or as a failure, with what it knows of
 * the HAProxy process that answered: whether it is a new one (a reload or
 * a restart) and until when its word is still young.
 *
 * Young: HAProxy starts its servers UP before their first check, so for
 * settle after a process starts its "all up" is not its word yet. The age
 * comes from the process itself (Uptime_sec on the CLI, the backends'
 * ages on the stats page), so a reload missed between two polls is
 * caught too.
 *
 * At most one poll is in flight. poller_trigger() asks for a poll now; if
 * one is in flight, every trigger that arrives meanwhile folds into one
 * follow-up poll sent as soon as it completes.
 */
#ifndef HW_POLLER_H
#define HW_POLLER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "source.h"

struct event_base;
struct poller;

struct poller_timing {
	int64_t	interval;	/* between polls */
	int64_t	timeout;	/* a poll that takes longer failed */
	int64_t	settle;		/* a process younger than this is young */
};

struct poll_result {
	enum poll_error		 error;
	char			 detail[160];	/* why, for logs and /status */
	struct stats_snapshot	*snap;		/* POLL_OK: take it or leave it */
	int64_t			 duration_us;
	/* The process that answered (POLL_OK only). */
	int			 pid;		/* 0: the source shows none */
	bool			 new_process;	/* not the one of the last good
						 * poll (never on the first) */
	char			 how[80];	/* how we know it is new */
	int64_t			 young_until;	/* mono ms; 0: it has settled */
};

/* The owner may set res->snap to NULL to keep the snapshot (it then owns
 * it and frees it with stats_snapshot_free()); otherwise the poller frees
 * it after the callback. */
typedef void poller_cb(void *arg, struct poll_result *res);

/* Poll through src (taken over) with plan none until poller_set_plan(). */
struct poller	*poller_new(struct event_base *base, struct source *src,
		    const struct poller_timing *t, poller_cb *cb, void *arg);
/* Replace the plan (copied). A poll in flight is cancelled and sent again
 * with the new plan at once: no result of the old plan comes after this. */
void		 poller_set_plan(struct poller *p, const struct poll_plan *plan);
void		 poller_set_timing(struct poller *p, const struct poller_timing *t);
/* Send the first poll now and every interval after it. */
void		 poller_start(struct poller *p);
/* Poll now, or right after the poll in flight (coalesced). */
void		 poller_trigger(struct poller *p);
bool		 poller_in_flight(const struct poller *p);
/* What a poll sends (for tests and debug logs). */
const char	*poller_request(const struct poller *p);
void		 poller_free(struct poller *p);

#endif
