/*
 * hapwatch.h: the running daemon. One struct hw holds the event base, the
 * config in force, the services, the stats poller and its state, the
 * listeners and frontend control, and the counters /metrics reports.
 * daemon.c owns it and glues the modules: a poll result re-evaluates the
 * services, and a service change reaches listeners, frontends and notify.
 */
#ifndef HW_HAPWATCH_H
#define HW_HAPWATCH_H

#include <stdbool.h>
#include <stdint.h>

#include "conf.h"
#include "poller.h"
#include "service.h"

struct event;
struct event_base;
struct listener;
struct fectl;
struct checks;
struct notifier;
struct curlev;
struct childmgr;
struct logtrig;
struct statefile;

/* Histogram buckets for hapwatch_stats_poll_duration_seconds, in ms. */
#define POLL_HIST_BUCKETS	{ 1, 2, 5, 10, 25, 50, 100, 250, 500, 1000 }
#define POLL_HIST_N		10

/* HTTP status codes counted one by one; others go to "other". */
#define HTTP_CODES	{ 200, 202, 400, 401, 404, 405, 408, 413, 431, \
			  503, 505 }
#define HTTP_NCODES	11

struct hw_stats {
	struct hap_snapshot	*snap;		/* last good; owned */
	bool			 answered;	/* the first poll completed */
	bool			 fresh;		/* within grace of last_ok */
	int64_t			 last_ok;	/* mono ms of the last good poll */
	int64_t			 last_ok_wall;
	int64_t			 last_poll_wall;
	int			 pid;		/* HAProxy's, 0 before the first */
	int64_t			 settle_until;	/* mono ms */
	bool			 await_plan;	/* reloaded: hold verdicts until a
						 * poll of the new plan answers */
	uint64_t		 polls;
	uint64_t		 reloads;
	uint64_t		 errors;
	uint64_t		 errors_by[POLL_NERRORS];
	enum poll_error		 last_error;
	char			 last_detail[160];
	uint64_t		 hist[POLL_HIST_N + 1];	/* last: +Inf */
	double			 dur_sum;	/* seconds */
};

/* What notify did; kept here, not in a notifier, so a reload (which
 * replaces the notifier) does not reset them. */
struct notify_counters {
	uint64_t	exec_runs;
	uint64_t	exec_failures;
	uint64_t	webhook_sent;
	uint64_t	webhook_retries;
	uint64_t	webhook_failures;	/* gave up after every retry */
	uint64_t	webhook_dropped;	/* queue full */
	uint64_t	track_writes;
	uint64_t	track_failures;
};

struct hw_counters {
	uint64_t	http_codes[HTTP_NCODES + 1];	/* last: other */
	uint64_t	agent_replies[SVC_NSTATES];
	uint64_t	proxy_errors;		/* bad or missing PROXY header */
	uint64_t	accept_errors;		/* EMFILE and friends */
	uint64_t	auth_failures;		/* admin: bad or missing token */
	uint64_t	timeouts;		/* connections closed on timeout */
	struct notify_counters notify;
};

struct hw {
	struct event_base	*base;
	struct conf		*conf;
	char			*conf_path;	/* -f FILE, or NULL: default */
	char			 stats_shown[256]; /* haproxy.stats, no password */
	struct conf_overrides	 ov;		/* quick options, owned copy */
	struct svc		*svcs;		/* one per conf->services */
	size_t			 nsvcs;
	struct poller		*poller;
	struct logtrig		*logtrig;	/* haproxy.log_listen, or NULL */
	struct statefile	*statefile;	/* haproxy.state_file, or NULL */
	struct hw_stats		 stats;
	struct hw_counters	 counters;
	struct listener		**listeners;	/* one per conf->listens */
	size_t			 nlisteners;
	struct fectl		*fectl;
	struct curlev		*curl;		/* libcurl on this loop, or NULL
						 * while the config needs none */
	struct childmgr		*children;	/* hooks and exec checks */
	struct checks		*checks;
	struct notifier		*notifier;
	struct notifier		**retired;	/* finishing after a reload */
	size_t			 nretired;
	struct event		*eval_ev;	/* next hysteresis/grace deadline */
	struct event		*house_ev;	/* watchdog, reaping */
	int64_t			 watchdog_ms;	/* $WATCHDOG_USEC, 0: none */
	uint64_t		 reloads;	/* config reloads (SIGHUP) */
	uint64_t		 reload_failures;
	struct event		*stop_ev;	/* hard deadline of a clean stop */
	struct event		*stop_step;	/* waiting for hooks to end */
	const struct timeval	*tv_read;	/* libevent common timeouts */
	const struct timeval	*tv_idle;
	struct event		*signals[5];
	int64_t			 started_wall;
	bool			 stopping;
	bool			 ready_sent;	/* sd_notify READY=1 */
};

/* daemon.c */
/* Create the runtime for conf (taken over), loaded from path with ov (both
 * copied, for reloads); binds listeners. Returns NULL, with the reason
 * logged, if a listener cannot be bound. */
struct hw	*hw_new(struct conf *conf, const char *path,
		    const struct conf_overrides *ov);
/* Run the loop until a clean stop; returns the exit status. */
int		 hw_run(struct hw *hw);
void		 hw_free(struct hw *hw);
/* Re-evaluate every service now (after new input). */
void		 hw_evaluate(struct hw *hw);
/* Operator override on one service (idx) or all (CONF_NONE). */
void		 hw_set_override(struct hw *hw, size_t idx, enum svc_override o);
/* Count an HTTP response code. */
void		 hw_count_http(struct hw *hw, int code);
/* Ask for a stats poll now (log trigger, tests). */
void		 hw_trigger_poll(struct hw *hw);
void		 hw_logtrig_cb(void *arg);
/* The stats poller for conf, and the plan of what to ask it. */
struct poller	*hw_make_poller(struct hw *hw, const struct conf *conf);
void		 hw_set_plan(struct hw *hw, const struct conf *conf);
/* Make sure hw->curl exists if conf needs libcurl (loading it). False,
 * with the reason logged, if libcurl cannot be loaded. */
bool		 hw_need_curl(struct hw *hw, const struct conf *conf);
/* Keep a replaced notifier until its hooks and webhooks are done. */
void		 hw_retire_notifier(struct hw *hw, struct notifier *nf);
/* One line for systemd's STATUS= and logs. */
const char	*hw_status_line(struct hw *hw);

/* reload.c: SIGHUP. */
void		 hw_reload(struct hw *hw);

/* status.c: /status JSON and /metrics text, appended to out. */
void		 status_render_json(struct hw *hw, struct sbuf *out);
void		 metrics_render(struct hw *hw, struct sbuf *out);

#endif
