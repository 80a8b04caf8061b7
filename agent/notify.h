/*
 * notify.h: acting and telling when something happens to a service:
 * exec hooks, webhooks and keepalived track files (DESIGN.md "Notify").
 *
 * At start, once a service has its first verdict, hooks run once with
 * HAPWATCH_PREVIOUS=starting and track files are written, so that a
 * standby that starts while its peer is already dead still takes over;
 * webhooks are sent for real transitions only.
 *
 * A notifier keeps its own copy of what it needs from the config, so
 * that after a reload it can finish its running hooks and queued
 * webhooks on its own while a new one takes the new events.
 */
#ifndef HW_NOTIFY_H
#define HW_NOTIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util.h"

struct event_base;
struct childmgr;
struct curlev;
struct metrics;
struct conf;
struct svc;
struct notifier;

#define NOTIFY_QUEUE_MAX	256	/* per webhook: oldest dropped beyond */
#define NOTIFY_RETRIES		10	/* webhook attempts per event */
#define NOTIFY_BACKOFF_MAX_MS	60000

/* Where notifiers run and what they count. */
struct notify_env {
	struct event_base	*base;
	struct childmgr		*children;
	struct curlev		*curl;		/* NULL if no webhook */
	struct metrics		*metrics;
};

/* Something that happened to a service (copied by notify_event()). */
struct notify_event {
	const char	*event;		/* "transition" */
	size_t		 svc;		/* index into the config's services */
	const char	*service;
	const char	*state;
	const char	*prev;		/* a state, or "starting" */
	const char	*reason;
	int64_t		 wall;
	bool		 initial;	/* the first verdict after start */
};

struct notifier	*notify_new(const struct notify_env *env,
		    const struct conf *conf);
/* Queue e for every hook and webhook that wants its service. */
void		 notify_event(struct notifier *nf, const struct notify_event *e);
/* Write every track file whose value is not current: "0" while all its
 * services (svcs, the config's) are up, "1" otherwise, once any of them
 * has a verdict. */
void		 notify_tracks(struct notifier *nf, const struct svc *svcs);
/* Hooks still running or events still queued (to retire it after a
 * reload), and hooks running (for a clean stop). */
size_t		 notify_pending(const struct notifier *nf);
size_t		 notify_hooks_running(const struct notifier *nf);
void		 notify_free(struct notifier *nf);

/* The wait before a webhook's next attempt after `failed` attempts
 * (1 to NOTIFY_RETRIES - 1) failed: 1s, doubling, at most
 * NOTIFY_BACKOFF_MAX_MS. */
int64_t		 notify_backoff_ms(int failed);

/* Write "0\n" or "1\n" to path atomically (temp file, rename). */
bool		 notify_track_write(const char *path, bool up) MUST_CHECK;

#endif
