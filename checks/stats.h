/*
 * stats.h: what HAProxy says about itself, parsed from the CLI's
 * "show info" and "show stat" output (or the stats page's ";csv" export),
 * and HAProxy's own arithmetic on it (nbsrv, usable servers, capacity).
 *
 * Parsing is strict: anything malformed is a failed poll, never data. The
 * CSV is read by header name, so column positions may move between
 * HAProxy versions (2.6 and 3.x differ after column 99).
 */
#ifndef HW_STATS_H
#define HW_STATS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util.h"

/* One backend, from its backend row and (when asked for) its server rows. */
struct stats_backend {
	char	*name;			/* pxname; owned */
	int	 act;			/* backend row "act": usable actives */
	int	 bck;			/* backend row "bck": usable backups */
	bool	 status_up;		/* backend row status begins with "UP" */
	bool	 has_row;		/* the backend row was seen */
	bool	 has_servers;		/* at least one server is configured */
	bool	 have_servers_rows;	/* server rows were parsed */
	int	 srv_active;		/* configured active servers */
	int	 srv_active_usable;	/* of them usable (stats_server_usable) */
	int	 srv_backup;		/* configured backup servers */
	int	 srv_backup_usable;
};

/* A frontend, from its row ("show stat <fe> 1 -1"): what a drain watches
 * to know that the load balancer has stopped sending. */
struct stats_frontend {
	char	*name;			/* pxname; owned */
	long	 stot;			/* sessions so far */
	long	 req_tot;		/* HTTP requests so far; -1 (TCP) */
	bool	 open;			/* status OPEN (not PAUSED, STOP) */
};

struct stats_info {
	int	 pid;			/* "Pid"; 0 when unknown */
	int64_t	 uptime_sec;		/* "Uptime_sec" */
	bool	 stopping;		/* "Stopping: 1" (old soft-stopping process) */
	char	 version[32];		/* "Version" */
};

/* The result of one poll. */
struct stats_snapshot {
	struct stats_info		 info;
	bool			 has_info;
	struct stats_backend	*backends;	/* sorted by name after finish */
	size_t			 nbackends;
	size_t			 cap;
	struct stats_frontend	*frontends;	/* frontend rows, in order */
	size_t			 nfrontends;
	/*
	 * The largest "lastchg" of the backend rows (seconds since the backend
	 * last changed state; since the process started for one that never
	 * did), -1 if none. A new process starts them all at 0: that tells a
	 * reload where no Pid is at hand (the stats page). Set it to -1 before
	 * the first parse: stats_snapshot_init().
	 */
	int64_t			 max_lastchg;
};

/*
 * Parse "show info" output (lines "Name: value"). Returns false, with a
 * reason in err, if it is not show info output or has no valid Pid.
 */
bool	stats_parse_info(const char *buf, size_t len, struct stats_info *out,
	    char *err, size_t errlen) MUST_CHECK;

/*
 * Parse "show stat" CSV output (header line "# pxname,svname,..." then
 * rows ending ",\n") and merge its backend and server rows into snap,
 * keyed by pxname, and frontend rows into snap->frontends (by name: a
 * later one replaces). Listener rows are ignored. Returns false,
 * with a reason in err, on anything malformed: no header, a header
 * without pxname/svname/status/act/bck/weight/type, a row with the wrong
 * field count, a bad quote, a non-numeric number field.
 */
bool	stats_parse_csv(const char *buf, size_t len, struct stats_snapshot *snap,
	    char *err, size_t errlen) MUST_CHECK;

/* Forget be's server rows (as if only its backend row had been asked). */
void	stats_forget_servers(struct stats_backend *be);

/* A new, empty snapshot on the heap; the caller owns it and frees it with
 * stats_snapshot_free(), which frees everything it holds too. */
struct stats_snapshot *stats_snapshot_new(void);
void	stats_snapshot_free(struct stats_snapshot *snap);
/* The same for a snapshot the caller embeds (on the stack, in a struct):
 * init makes it empty, clear frees what it holds and makes it empty
 * again. NULL is a no-op for both frees. */
void	stats_snapshot_init(struct stats_snapshot *snap);
void	stats_snapshot_clear(struct stats_snapshot *snap);

/* Sort the backends by name; call once after every parse. */
void	stats_snapshot_finish(struct stats_snapshot *snap);
/* Binary search; NULL if the backend is not in the snapshot. */
const struct stats_backend *stats_find_backend(const struct stats_snapshot *snap,
	    const char *name);
/* The frontend row called name, or NULL. */
const struct stats_frontend *stats_find_frontend(const struct stats_snapshot *snap,
	    const char *name);

/*
 * HAProxy's be_usable_srv() from a backend row: act if act > 0; else with
 * allbackups bck, without it 1 if bck > 0; else 0. (A disabled backend is
 * absent from show stat, so it never reaches here.)
 */
int	stats_nbsrv(int act, int bck, bool allbackups);

/*
 * Whether a server row counts as usable, as srv_currently_usable() does:
 * status "UP", "UP n/m" (going down) or "no check", with weight > 0. Not
 * DOWN (any form), NOLB, DRAIN, MAINT.
 */
bool	stats_server_usable(const char *status, size_t len, long weight);

/*
 * Capacity percent: 100 * usable actives / configured actives (integer
 * division). A backend with no active server configured counts 100 while
 * nbsrv >= 1, else 0. Needs server rows, returns -1 without them, except
 * for a backend whose row shows it has no server at all (0 or 100).
 */
int	stats_capacity(const struct stats_backend *be, int nbsrv);

#endif
