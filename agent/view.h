/*
 * view.h: the daemon as /status and /metrics see it, read-only. The
 * daemon fills a struct view on demand (pointers, no copies) and the
 * renderers (status.c, metrics.c) read it; nothing here can change the
 * daemon.
 */
#ifndef HW_VIEW_H
#define HW_VIEW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "master.h"
#include "source.h"

struct conf;
struct svc;
struct stats_snapshot;
struct listener;
struct fectl;
struct probeset;
struct statefile;
struct logtrig;
struct metrics;
struct drain;
struct probers;
struct ovfile;

/* What the daemon knows of HAProxy right now. */
struct view_haproxy {
	const char			*source;	/* no password */
	const struct stats_snapshot	*snap;		/* last good, or NULL */
	bool				 polled;	/* stats are polled at all */
	bool				 fresh;		/* within grace */
	int				 pid;		/* 0 before the first */
	int64_t				 last_poll_wall;
	int64_t				 last_ok_wall;
	int64_t				 settle_until;	/* mono ms */
	enum poll_error			 last_error;
	const char			*last_detail;
	/* HAProxy's master (haproxy.master), or NULL without one */
	const char			*master;
	const struct master_proc	*master_proc;	/* NULL before it answers */
	enum poll_error			 master_error;
	const char			*master_detail;
	int64_t				 reload_failure_wall;	/* 0: none */
	const char			*reload_failure;
};

struct view {
	const struct conf		*conf;
	const char			*conf_path;	/* NULL: built-in */
	int64_t				 started_wall;
	const struct svc		*svcs;		/* conf->nservices */
	size_t				 nsvcs;
	const struct drain *const	*drains;	/* per service, or NULL */
	const struct probers		*probers;
	const struct ovfile		*ovfile;
	struct view_haproxy		 haproxy;
	const struct listener *const	*listeners;
	size_t				 nlisteners;
	const struct fectl		*fectl;
	const struct probeset		*probes;
	const struct statefile		*statefile;	/* or NULL */
	const struct logtrig		*logtrig;	/* or NULL */
	const struct metrics		*metrics;
};

#endif
