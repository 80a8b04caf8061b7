/*
 * notify.h: acting and telling on every effective-state transition:
 * exec hooks, webhooks and keepalived track files (DESIGN.md "Notify").
 *
 * At start, once a service has its first verdict, hooks run once with
 * HAPWATCH_PREVIOUS=starting and track files are written, so that a
 * standby that starts while its peer is already dead still takes over;
 * webhooks are sent for real transitions only.
 */
#ifndef HW_NOTIFY_H
#define HW_NOTIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "service.h"

struct hw;
struct notifier;

#define NOTIFY_QUEUE_MAX	256	/* per webhook: oldest dropped beyond */
#define NOTIFY_RETRIES		10	/* webhook attempts per event */
#define NOTIFY_BACKOFF_MAX_MS	60000

/* Built from hw->conf; keeps its own copy of what it needs, so that after
 * a reload it can finish running hooks and queued webhooks on its own. */
struct notifier	*notifier_new(struct hw *hw);
/*
 * Service idx went from prev (a state name, or "starting") to its current
 * state. initial: the first verdict after start.
 */
void		 notify_transition(struct notifier *nf, size_t idx,
		    const char *prev, bool initial);
/* Write every track file whose content is not known to be current (after
 * a reload added one). */
void		 notifier_sync_tracks(struct notifier *nf);
/* Hooks still running or events still queued (to retire it after a
 * reload), and hooks running (for a clean stop). */
size_t		 notifier_pending(const struct notifier *nf);
size_t		 notifier_hooks_running(const struct notifier *nf);
void		 notifier_free(struct notifier *nf);

/* Write "0\n" or "1\n" to path atomically (temp file, rename). */
bool		 track_file_write(const char *path, bool up) MUST_CHECK;

#endif
