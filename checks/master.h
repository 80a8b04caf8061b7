/*
 * master.h: HAProxy's master CLI (master-worker mode, "-W -S SOCKET", as
 * Debian's unit runs it), as a source of what the stats socket cannot
 * say: which worker is the current one, and whether a reload failed.
 *
 * A reload that fails (a broken config) leaves the old worker serving the
 * old config; only the master knows. Every version of the matrix (2.6 to
 * 3.4) prints, in "show proc", the master's reload count and, beside it,
 * "[failed: N]": the reloads that failed since the last one that worked
 * (it goes back to 0 on a success). Between two polls: with the current
 * worker unchanged, N minus the last N failed; with a new worker, at least
 * its reload worked, and the N after it failed. A master without the
 * field (none in the matrix) is judged by its reload count: reloads that
 * brought no new worker failed. From 3.0 on, "show startup-logs" says why:
 * its first ALERT line is kept.
 *
 * HAProxy's master has few connection slots: every connection opened
 * sends its command at once, and one poll is in flight at most.
 */
#ifndef HW_MASTER_H
#define HW_MASTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "source.h"

struct event_base;
struct master;

/* One "show proc" read. */
struct master_proc {
	int		 master_pid;
	unsigned	 reloads;	/* the master's reload count */
	int		 failed;	/* "[failed: N]", -1 when not shown */
	int		 worker_pid;	/* the current worker, 0 if none */
	unsigned	 worker_reloads; /* reloads it has lived through */
	char		 version[32];
};

/* What a master poll found. */
struct master_report {
	enum poll_error	 error;		/* POLL_OK, or why it could not ask */
	char		 detail[160];
	struct master_proc proc;	/* POLL_OK */
	bool		 first;		/* the first read (nothing to compare) */
	bool		 restarted;	/* a new master process */
	bool		 new_worker;	/* the current worker changed */
	unsigned	 failures;	/* reloads that failed since the last */
	char		 why[256];	/* HAProxy's words on the last failure */
};

typedef void master_cb(void *arg, const struct master_report *r);

/* Poll the master CLI at addr every interval_ms (timeout_ms each). */
struct master	*master_new(struct event_base *base, const struct addr *addr,
		    int64_t interval_ms, int64_t timeout_ms, master_cb *cb,
		    void *arg);
void		 master_set_timing(struct master *m, int64_t interval_ms,
		    int64_t timeout_ms);
/* Poll now and every interval after. */
void		 master_start(struct master *m);
void		 master_free(struct master *m);

/*
 * Parse "show proc" output (exposed for tests and fuzzing): the master's
 * line, and the current worker (the newest in "# workers"; after a failed
 * reload, 3.2 and later list the worker that goes on serving under
 * "# old workers" only, and it is the current one then). False, with a
 * reason in err, if it is not such output.
 */
bool		 master_parse_proc(const char *buf, size_t len,
		    struct master_proc *out, char *err, size_t errlen)
		    MUST_CHECK;
/*
 * What changed from last (NULL: the first read) to r->proc: sets
 * r->first, r->restarted, r->new_worker and r->failures (the reloads that
 * failed in between; see the top of this file). Exposed for tests.
 */
void		 master_compare(const struct master_proc *last,
		    struct master_report *r);
/* The first "[ALERT]" line of "show startup-logs" output, without its
 * prefix, into why; false if there is none. */
bool		 master_parse_startup_logs(const char *buf, size_t len,
		    char *why, size_t whylen);

#endif
