/*
 * drain.h: a drain that knows when the load balancer has let go
 * (DESIGN.md, Release 2). While a service is drained, it watches what
 * sends it traffic:
 *
 *   http      each prober of its health paths seen in the 5 minutes
 *             before the drain: let go after let_go.failures refusals in
 *             a row, or when it has not probed for 3 times its interval;
 *   agent     each upstream agent-check seen then: let go after one
 *             "up 0% #drain";
 *   frontend  each HAProxy frontend mapped to it (frontends) or named by
 *             its drain_frontends: let go once neither its sessions (stot)
 *             nor its requests (req_tot) have grown for let_go.quiet;
 *   tcp       its tcp listeners, closed while drained, when no frontend
 *             is watched: let go let_go.tcp after the drain began.
 *
 * The drain has let go when every item has; with nothing to watch, at
 * once. Once let go, it stays so until the drain ends.
 *
 * A drain kept across a restart (drain_resume) that had not let go knows
 * no prober (the table starts empty): it watches those that probe in the
 * DRAIN_PROBER_WINDOW_MS after the start, and does not let go before
 * that window is over (an item "restart").
 */
#ifndef HW_DRAIN_H
#define HW_DRAIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conf.h"

struct probers;
struct stats_snapshot;
struct drain;

/* How far back a prober counts as one that sends traffic. */
#define DRAIN_PROBER_WINDOW_MS	(5 * 60 * 1000)
/* Items shown and judged (a drain watching more keeps the first). */
#define DRAIN_MAX_ITEMS		256

enum drain_kind {
	DRAIN_HTTP,
	DRAIN_AGENT,
	DRAIN_FRONTEND,
	DRAIN_TCP,
	DRAIN_RESTART,		/* watching who probes after a restart */
};

struct drain_item {
	enum drain_kind	 kind;
	char		 what[64];	/* an address, a frontend, "tcp" */
	bool		 let_go;
	char		 progress[96];	/* "1 of 2 refusals", "quiet 4s of 10s" */
};

/* What a service's drain watches, from the config (copied). */
struct drain_watch {
	struct conf_let_go	 let_go;
	const char *const	*frontends;	/* mapped, and drain_frontends */
	size_t			 nfrontends;
	bool			 tcp;		/* it has a tcp listener */
};

/* Service svc's drain begins at now (mono ms): watch the probers of svc
 * seen in the window before it. */
struct drain	*drain_begin(size_t svc, const struct drain_watch *w,
		    struct probers *p, int64_t now);
/* Service svc's drain, kept across a restart, goes on at now: let go
 * already at let_go_wall (wall ms), or, with 0, watching the probers that
 * come for DRAIN_PROBER_WINDOW_MS. */
struct drain	*drain_resume(size_t svc, const struct drain_watch *w,
		    struct probers *p, int64_t now, int64_t let_go_wall);
/* After a config reload: the service is svc now, watching w. */
void		 drain_rewatch(struct drain *d, size_t svc,
		    const struct drain_watch *w);
/*
 * Judge every item at now, from the probers and snap (HAProxy's last
 * word, or NULL while it is stale). Returns true when the drain has just
 * let go (once). *next is lowered to when a judgement could change with
 * no new input (a quiet period ending, a prober overdue).
 */
bool		 drain_judge(struct drain *d, struct probers *p,
		    const struct stats_snapshot *snap, int64_t now, int64_t *next);
/* The drain ends (the service is ready, or in maint): unwatch, free. */
void		 drain_end(struct drain *d, struct probers *p);

bool		 drain_let_go(const struct drain *d);
/* Wall ms of the let-go, 0 while pending. */
int64_t		 drain_let_go_at(const struct drain *d);
/* The items, watched and done, in order. */
size_t		 drain_items(const struct drain *d,
		    const struct drain_item **items);
/* One line: what is pending, or why it has let go. */
const char	*drain_summary(const struct drain *d);
/* The frontends whose rows it needs (the poll plan asks for them). */
size_t		 drain_frontends(const struct drain *d,
		    const char *const **names);
const char	*drain_kind_name(enum drain_kind k);

#endif
