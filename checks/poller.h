/*
 * poller.h: polls HAProxy's stats every interval and hands each result to
 * its owner, as a parsed snapshot or as a counted failure.
 *
 * It asks only for what the plan needs (HAPROXY.md section 3; the costs
 * are in BENCHMARKS.md): "show info" for the Pid, then per watched backend
 * "show stat <be> 2 -1" (its backend row: nbsrv) or "show stat <be> 6 -1"
 * (backend and server rows: capacity), all on one line joined by ';' and
 * one connection. Past a few dozen backends, or when the plan wants every
 * backend, one "show stat -1 2 -1" (or "-1 6 -1") is cheaper for HAProxy.
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

#include "addr.h"
#include "stats.h"

struct event_base;
struct curlev;
struct poller;

/* Above this many watched backends, ask for all backend rows at once. */
#define POLL_MAX_TARGETED	48
/* Largest reply accepted: "show stat -1 6 -1" for 10,000 servers is
 * 2.5 MB; this leaves room for ten times that. */
#define POLL_MAX_REPLY		(32u << 20)

enum poll_error {
	POLL_OK,
	POLL_ECONNECT,		/* socket missing or refused */
	POLL_ETIMEOUT,		/* no complete reply within the timeout */
	POLL_ETOOBIG,		/* reply over POLL_MAX_REPLY */
	POLL_EIO,		/* reset or read error */
	POLL_ETRUNCATED,	/* reply cut short (no final empty line) */
	POLL_EGARBLED,		/* reply is not what was asked for */
	POLL_ESTOPPING,		/* an old, soft-stopping process answered */
	POLL_NERRORS
};

struct poll_target {
	const char	*backend;	/* copied by poller_set_plan */
	bool		 servers;	/* also fetch its server rows */
};

struct poll_plan {
	struct poll_target	*targets;
	size_t			 ntargets;
	bool			 all;		/* every backend's row */
	bool			 all_servers;	/* every server row too */
};

struct poll_result {
	enum poll_error		 error;
	char			 detail[160];	/* why, for logs and /status */
	struct hap_snapshot	*snap;		/* POLL_OK: take it or leave it */
	int64_t			 duration_us;
	/* Stats page only (it shows no Pid): the backends' ages fell, so a
	 * new HAProxy process answers (see poller_http_new_process). */
	bool			 new_process;
};

/* The owner may set res->snap to NULL to keep the snapshot (and then owns
 * it); otherwise the poller frees it after the callback. */
typedef void poller_cb(void *arg, struct poll_result *res);

struct poller	*poller_new(struct event_base *base, const struct hw_addr *addr,
		    int64_t interval_ms, int64_t timeout_ms, poller_cb *cb,
		    void *arg);
/* Replace the plan (copied). A poll in flight is cancelled and sent again
 * with the new plan at once: no result of the old plan comes after this. */
void		 poller_set_plan(struct poller *p, const struct poll_plan *plan);
/*
 * The same poller over HAProxy's stats page: GET url;csv through libcurl
 * (basic auth from the URL, TLS verified). The page gives every row and no
 * "show info", so the plan only filters what is kept.
 */
struct poller	*poller_new_http(struct event_base *base, struct curlev *cv,
		    const char *url, int64_t interval_ms, int64_t timeout_ms,
		    poller_cb *cb, void *arg);
void		 poller_set_timing(struct poller *p, int64_t interval_ms,
		    int64_t timeout_ms);
/* Send the first poll now and every interval after it. */
void		 poller_start(struct poller *p);
/* Poll now, or right after the poll in flight (coalesced). */
void		 poller_trigger(struct poller *p);
bool		 poller_in_flight(const struct poller *p);
/* The command line the current plan sends (for tests and debug logs). */
const char	*poller_request_line(struct poller *p);
void		 poller_free(struct poller *p);
const char	*poll_error_str(enum poll_error e);

/*
 * Parse a whole reply: "show info" output then nstat "show stat" outputs
 * (exposed for unit tests and fuzzing). With targeted (one command per
 * backend), "No such proxy." means that backend is absent. Fills snap;
 * returns POLL_OK or the failure, with a reason in detail.
 */
enum poll_error	 poller_parse_reply(size_t nstat, bool targeted,
		    const char *reply, size_t len, struct hap_snapshot *snap,
		    char *detail, size_t detlen);

#endif
