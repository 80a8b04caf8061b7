/*
 * events.c: the ring of the last events, and the long-polls waiting on it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "events.h"
#include "jsonw.h"

struct events {
	struct event	*ring;		/* EVENTS_MAX slots */
	size_t		 head;		/* the oldest */
	size_t		 n;
	uint64_t	 seq;		/* the newest's */
	TAILQ_HEAD(, events_waiter) waiters;
};

static const char *const kind_names[EV_NKINDS] = {
	[EV_START] = "start",
	[EV_STOP] = "stop",
	[EV_TRANSITION] = "transition",
	[EV_LET_GO] = "let_go",
	[EV_OVERRIDE] = "override",
	[EV_HAPROXY_PROCESS] = "haproxy_process",
	[EV_HAPROXY_RELOAD_FAILED] = "haproxy_reload_failed",
	[EV_CONFIG_RELOAD] = "config_reload",
	[EV_CONFIG_RELOAD_FAILED] = "config_reload_failed",
};

const char *
events_kind_name(enum event_kind k)
{
	return (unsigned)k < EV_NKINDS ? kind_names[k] : "unknown";
}

struct events *
events_new(void)
{
	struct events	*ev = xcalloc(1, sizeof(*ev));

	/* Zero pages until written: the ring costs what it holds. */
	ev->ring = xcalloc(EVENTS_MAX, sizeof(*ev->ring));
	TAILQ_INIT(&ev->waiters);
	return ev;
}

void
events_free(struct events *ev)
{
	struct events_waiter	*w;

	if (ev == NULL)
		return;
	while ((w = TAILQ_FIRST(&ev->waiters)) != NULL)
		events_unwait(ev, w);
	free(ev->ring);
	free(ev);
}

uint64_t
events_add(struct events *ev, const struct event *e)
{
	struct event	*slot;

	if (ev->n == EVENTS_MAX) {
		slot = &ev->ring[ev->head];
		ev->head = (ev->head + 1) % EVENTS_MAX;
	} else {
		slot = &ev->ring[(ev->head + ev->n) % EVENTS_MAX];
		ev->n++;
	}
	*slot = *e;
	slot->seq = ++ev->seq;
	slot->time = wall_ms();
	return slot->seq;
}

uint64_t
events_last(const struct events *ev)
{
	return ev->seq;
}

bool
events_newer(const struct events *ev, uint64_t since)
{
	return ev->seq != since && ev->n > 0;
}

static json_object *
event_json(const struct event *e)
{
	json_object	*o = json_object_new_object();

	json_object_object_add(o, "seq", json_object_new_int64((int64_t)e->seq));
	json_object_object_add(o, "time", jsonw_time_ms(e->time));
	json_object_object_add(o, "event",
	    json_object_new_string(events_kind_name(e->kind)));
	json_object_object_add(o, "service", jsonw_str_or_null(e->service));
	json_object_object_add(o, "from", jsonw_str_or_null(e->from));
	json_object_object_add(o, "to", jsonw_str_or_null(e->to));
	json_object_object_add(o, "reason", jsonw_str_or_null(e->reason));
	if (e->by[0] != '\0')
		json_object_object_add(o, "by", json_object_new_string(e->by));
	if (e->route[0] != '\0')
		json_object_object_add(o, "route",
		    json_object_new_string(e->route));
	return o;
}

void
events_render(const struct events *ev, uint64_t since, struct sbuf *out)
{
	json_object	*a = json_object_new_array();
	size_t		 i;

	/* A reader ahead of us counted another run's events: all of ours
	 * are news to it. */
	if (since > ev->seq)
		since = 0;
	for (i = 0; i < ev->n; i++) {
		const struct event *e = &ev->ring[(ev->head + i) % EVENTS_MAX];

		if (e->seq > since)
			json_object_array_add(a, event_json(e));
	}
	sbuf_puts(out, json_object_to_json_string_ext(a,
	    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	sbuf_puts(out, "\n");
	json_object_put(a);
}

void
events_wait(struct events *ev, struct events_waiter *w)
{
	if (w->waiting)
		return;
	TAILQ_INSERT_TAIL(&ev->waiters, w, entry);
	w->waiting = true;
}

void
events_unwait(struct events *ev, struct events_waiter *w)
{
	if (!w->waiting)
		return;
	TAILQ_REMOVE(&ev->waiters, w, entry);
	w->waiting = false;
}

void
events_wake(struct events *ev)
{
	struct events_waiter	*w, *next;

	/* A woken waiter leaves the list; none other may (its wake only
	 * answers its own connection). */
	for (w = TAILQ_FIRST(&ev->waiters); w != NULL; w = next) {
		next = TAILQ_NEXT(w, entry);
		if (!events_newer(ev, w->since))
			continue;
		events_unwait(ev, w);
		w->wake(w);
	}
}
