/*
 * metrics.h: the daemon's counters, and /metrics (Prometheus text format
 * 0.0.4).
 *
 * The counters live here, owned by this module and bumped through it by
 * whoever counts (responders, notify, the daemon), so that a config
 * reload, which rebuilds responders and notifiers, never resets them.
 * Gauges (states, listeners open, backends) are not kept: they are read
 * from the daemon's view when /metrics is asked for.
 */
#ifndef HW_METRICS_H
#define HW_METRICS_H

#include <stdint.h>

#include "conf.h"
#include "source.h"

struct metrics;
struct view;

/* Histogram buckets for hapwatch_stats_poll_duration_seconds, in ms. */
#define METRICS_POLL_BUCKETS	{ 1, 2, 5, 10, 25, 50, 100, 250, 500, 1000 }
#define METRICS_POLL_NBUCKETS	10

/*
 * How a connection ended without its answer, one rule for every listener
 * kind (hapwatch_connection_errors_total{reason}). A connection that got
 * its answer (an HTTP response, an agent reply, a TCP port's line) is
 * counted by what it got, not here, except auth (answered 401).
 */
enum conn_error {
	CONN_ERR_ACCEPT,	/* accept() failed: EMFILE and friends */
	CONN_ERR_PROXY,		/* not a valid PROXY header where required */
	CONN_ERR_SILENT,	/* closed, or timed out, having sent nothing
				 * (after its PROXY header, if one came) */
	CONN_ERR_INCOMPLETE,	/* closed in the middle of what it sent */
	CONN_ERR_TIMEOUT,	/* began and did not finish in time (408) */
	CONN_ERR_AUTH,		/* admin: missing or wrong token (401) */
	CONN_NERRORS
};

/* Counters bumped with metrics_inc(). */
enum metric_counter {
	MC_HOOK_RUNS,
	MC_HOOK_FAILURES,
	MC_WEBHOOK_SENT,
	MC_WEBHOOK_RETRIES,
	MC_WEBHOOK_FAILURES,		/* gave up after every retry */
	MC_WEBHOOK_DROPPED,		/* queue full */
	MC_TRACK_WRITES,
	MC_TRACK_FAILURES,
	MC_CONFIG_RELOADS,
	MC_CONFIG_RELOAD_FAILURES,
	MC_HAPROXY_PROCESSES,		/* new HAProxy processes seen */
	MC_HAPROXY_RELOAD_FAILURES,	/* reloads the master says failed */
	MC_NCOUNTERS
};

/* The stats polls, as /status shows them too. */
struct poll_counters {
	uint64_t	polls;
	uint64_t	errors;
	uint64_t	errors_by[POLL_NERRORS];
	uint64_t	hist[METRICS_POLL_NBUCKETS + 1];	/* last: +Inf */
	double		dur_sum;				/* seconds */
};

struct metrics	*metrics_new(void);
void		 metrics_free(struct metrics *m);

void		 metrics_inc(struct metrics *m, enum metric_counter c);
uint64_t	 metrics_get(const struct metrics *m, enum metric_counter c);
/* An HTTP answer with this status code. */
void		 metrics_http_code(struct metrics *m, int code);
/* An agent-check reply carrying this state. */
void		 metrics_agent_reply(struct metrics *m, enum svc_state st);
void		 metrics_conn_error(struct metrics *m, enum conn_error e);
uint64_t	 metrics_conn_errors(const struct metrics *m, enum conn_error e);
/* A stats poll that took duration_us and ended with e. */
void		 metrics_poll(struct metrics *m, enum poll_error e,
		    int64_t duration_us);
const struct poll_counters *metrics_polls(const struct metrics *m);
/* A master CLI poll that failed with e. */
void		 metrics_master_error(struct metrics *m, enum poll_error e);
uint64_t	 metrics_master_errors(const struct metrics *m);

/* The whole /metrics page for v, appended to out. */
void		 metrics_render(const struct view *v, struct sbuf *out);

#endif
