/*
 * events.h: what happened, for "why did this node leave rotation at
 * 03:12?": a ring of the last EVENTS_MAX events (transitions, drains
 * that let go, overrides and who made them, new HAProxy processes, failed
 * HAProxy reloads, config reloads), each with a sequence number that only
 * grows. GET /events reads it; a long-poll (GET /events?since=N&wait=D)
 * waits on it.
 *
 * The daemon adds events as they happen; waiters are woken once per loop
 * turn (events_wake(), from daemon_propagate()), never from inside the
 * code that added the event.
 */
#ifndef HW_EVENTS_H
#define HW_EVENTS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/queue.h>

#include "service.h"

#define EVENTS_MAX	1000

enum event_kind {
	EV_START,		/* hapwatch started */
	EV_STOP,		/* hapwatch is stopping */
	EV_TRANSITION,		/* a service's state: from -> to */
	EV_LET_GO,		/* a drain has let go */
	EV_OVERRIDE,		/* drain/maint/ready: from -> to, by, route */
	EV_HAPROXY_PROCESS,	/* a new HAProxy process (reload, restart) */
	EV_HAPROXY_RELOAD_FAILED,
	EV_CONFIG_RELOAD,	/* SIGHUP: the new config is in */
	EV_CONFIG_RELOAD_FAILED,/* SIGHUP: the running config stays */
	EV_NKINDS
};

struct event {
	uint64_t	 seq;		/* set by events_add */
	int64_t		 time;		/* wall ms; set by events_add */
	enum event_kind	 kind;
	char		 service[80];	/* "" when none; names are <= 64 */
	char		 from[24];
	char		 to[24];
	char		 by[64];	/* overrides: who */
	char		 route[128];	/* overrides: the admin listener */
	char		 reason[SVC_REASON_MAX];
};

/* One waiting long-poll: woken once an event newer than since exists. */
struct events_waiter {
	uint64_t	 since;
	void		(*wake)(struct events_waiter *w);
	TAILQ_ENTRY(events_waiter) entry;
	bool		 waiting;
};

struct events;

struct events	*events_new(void);
void		 events_free(struct events *ev);

/* "transition", "let_go", ... as GET /events names them. */
const char	*events_kind_name(enum event_kind k);

/* Append e (its seq and time are set here); the oldest goes beyond
 * EVENTS_MAX. Returns its seq. */
uint64_t	 events_add(struct events *ev, const struct event *e);
/* The seq of the newest event (0: none yet). */
uint64_t	 events_last(const struct events *ev);
/* Whether there is an event for a reader that has seen up to since: one
 * newer, or since is from another run (larger than any seq here). */
bool		 events_newer(const struct events *ev, uint64_t since);
/* A JSON array of the events after since (every one kept when since is
 * from another run), oldest first, appended to out. */
void		 events_render(const struct events *ev, uint64_t since,
		    struct sbuf *out);

/* Wait for an event after w->since; w->wake is called from
 * events_wake(). events_unwait() may be called at any time. */
void		 events_wait(struct events *ev, struct events_waiter *w);
void		 events_unwait(struct events *ev, struct events_waiter *w);
/* Wake every waiter that has something to read. */
void		 events_wake(struct events *ev);

#endif
