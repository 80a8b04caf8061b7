/*
 * poller.c: the schedule of stats polls, and what the answers say about
 * HAProxy's process.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "poller.h"

struct poller {
	struct source		*src;
	struct poller_timing	 t;
	poller_cb		*cb;
	void			*arg;
	struct event		*tick;
	bool			 started;
	bool			 again;		/* a trigger came meanwhile */
	bool			 seen;		/* a good poll has answered */
	int			 last_pid;
};

/* What the reply says of the process: new, and young until when. */
static void
poller_process(struct poller *p, const struct source_reply *rep,
    struct poll_result *res)
{
	int64_t	now = mono_ms();

	res->pid = rep->pid;
	if (rep->pid != 0) {
		res->new_process = p->seen && rep->pid != p->last_pid;
		if (res->new_process)
			snprintf(res->how, sizeof(res->how), "pid %d -> %d",
			    p->last_pid, rep->pid);
	} else if (rep->restarted) {
		res->new_process = true;
		snprintf(res->how, sizeof(res->how), "the stats page's backends "
		    "are younger than the last poll");
	}
	if (rep->age_ms >= 0 && rep->age_ms < p->t.settle)
		res->young_until = now + p->t.settle - rep->age_ms;
	p->seen = true;
	p->last_pid = rep->pid;
}

static void poller_send(struct poller *p);

static void
poller_done_cb(void *arg, struct source_reply *rep)
{
	struct poller		*p = arg;
	struct poll_result	 res;

	memset(&res, 0, sizeof(res));
	res.error = rep->error;
	memcpy(res.detail, rep->detail, sizeof(res.detail));
	res.duration_us = rep->duration_us;
	if (rep->error == POLL_OK) {
		poller_process(p, rep, &res);
		res.snap = rep->snap;
		rep->snap = NULL;
	}
	p->cb(p->arg, &res);
	stats_snapshot_free(res.snap);
	if (p->again) {
		p->again = false;
		poller_send(p);
	}
}

static void
poller_send(struct poller *p)
{
	if (p->src->busy) {
		p->again = true;
		return;
	}
	p->src->ops->send(p->src);
}

static void
poller_tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct poller	*p = arg;

	/* A regular tick while a poll is still out is skipped, not queued:
	 * the poll in flight already answers for this interval. */
	if (!p->src->busy)
		poller_send(p);
}

struct poller *
poller_new(struct event_base *base, struct source *src,
    const struct poller_timing *t, poller_cb *cb, void *arg)
{
	struct poller	*p = xcalloc(1, sizeof(*p));

	p->src = src;
	src->done = poller_done_cb;
	src->arg = p;
	p->cb = cb;
	p->arg = arg;
	p->tick = event_new(base, -1, EV_PERSIST, poller_tick_cb, p);
	poller_set_timing(p, t);
	return p;
}

void
poller_set_plan(struct poller *p, const struct poll_plan *plan)
{
	p->src->ops->set_plan(p->src, plan);
	/* A reply to the old request must not be read with the new plan. */
	if (p->src->busy) {
		p->src->ops->cancel(p->src);
		p->again = false;
		poller_send(p);
	}
}

void
poller_set_timing(struct poller *p, const struct poller_timing *t)
{
	struct timeval	tv;
	bool		rearm = p->t.interval != t->interval;

	p->t = *t;
	p->src->ops->set_timeout(p->src, t->timeout);
	/* Re-adding the tick would push the next poll a whole interval back:
	 * only when the interval itself changed. */
	if (!p->started || !rearm)
		return;
	tv = tv_ms(t->interval);
	event_add(p->tick, &tv);
}

void
poller_start(struct poller *p)
{
	struct timeval	tv = tv_ms(p->t.interval);

	p->started = true;
	event_add(p->tick, &tv);
	poller_send(p);
}

void
poller_trigger(struct poller *p)
{
	poller_send(p);
}

bool
poller_in_flight(const struct poller *p)
{
	return p->src->busy;
}

const char *
poller_request(const struct poller *p)
{
	return p->src->ops->request(p->src);
}

void
poller_free(struct poller *p)
{
	if (p == NULL)
		return;
	p->src->ops->free(p->src);
	event_free(p->tick);
	free(p);
}
