/*
 * conf.h: the configuration model and its loader.
 *
 * A struct conf is built whole from a JSON file (comments allowed) or from
 * the built-in default, with the command line's quick options applied, and
 * checked whole: every error is collected, none stops the parse. A conf is
 * immutable once loaded; a SIGHUP builds a new one and swaps it in only if
 * it is valid. Every string and array in it is owned by the conf and freed
 * by conf_free().
 *
 * All durations are milliseconds (int64_t). Names are resolved to indices
 * (svc, check) at load time, so the runtime never looks a name up.
 */
#ifndef HW_CONF_H
#define HW_CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "util.h"

#define CONF_DEFAULT_PATH	"/etc/hapwatch/hapwatch.json"
#define CONF_STATE_DIR		"/var/lib/hapwatch"
#define CONF_NONE		((size_t)-1)	/* unset index */

enum stats_kind {
	STATS_UNIX,		/* unix:PATH */
	STATS_TCP,		/* tcp:HOST:PORT */
	STATS_HTTP,		/* http(s)://HOST:PORT/PATH, the stats page */
};

struct conf_haproxy {
	char		*stats;			/* as written */
	enum stats_kind	 stats_kind;
	struct addr	 stats_addr;		/* STATS_UNIX and STATS_TCP */
	int64_t		 interval;		/* default 1s */
	int64_t		 timeout;		/* default 500ms */
	int64_t		 grace;			/* default 10s */
	int64_t		 settle;		/* default 5s */
	char		*log_listen;		/* NULL: no log trigger */
	struct addr	 log_addr;		/* "udp:HOST:PORT" parsed */
	char		*state_file;		/* NULL: none */
	int64_t		 state_file_interval;	/* default 30s */
	char		*master;		/* the master CLI, or NULL */
	struct addr	 master_addr;
};

enum check_kind {
	CHECK_HTTP,
	CHECK_TCP,
	CHECK_EXEC,
	CHECK_LOAD,		/* this machine's load, as a weight */
};

/* What a load check reads (CHECK_LOAD). */
enum load_kind {
	LOAD_CPU,		/* the CPU's idle share over the interval */
	LOAD_LOADAVG,		/* 1 - the 1-minute load average per core */
};

struct conf_header {
	char	*name;
	char	*value;
};

struct conf_check {
	char			*name;
	enum check_kind		 kind;
	char			*target;	/* URL, HOST:PORT, or argv[0] */
	struct addr		 addr;		/* CHECK_TCP */
	char			**argv;		/* CHECK_EXEC, NULL-terminated */
	int			*expect;	/* CHECK_HTTP: codes; default 200 */
	size_t			 nexpect;
	struct conf_header	*headers;	/* CHECK_HTTP */
	size_t			 nheaders;
	bool			 tls_verify;	/* CHECK_HTTP, default true */
	int64_t			 interval;	/* default 2s */
	int64_t			 timeout;	/* default 1s */
	int			 rise;		/* default 2 */
	int			 fall;		/* default 3 */
	enum load_kind		 load;		/* CHECK_LOAD */
	int			 floor;		/* CHECK_LOAD: lowest weight, 1 */
};

enum cond_kind {
	COND_BACKEND,		/* {"backend": NAME, ...} */
	COND_ALL_BACKENDS,	/* {"backend": "*"}: every backend with servers */
	COND_CHECK,		/* {"check": NAME} */
	COND_HAPROXY_ALIVE,	/* {"haproxy": "alive"}: liveness */
	COND_ANY,		/* {"any": [cond, ...]} */
	COND_AT_LEAST,		/* {"at_least": N, "of": [cond, ...]} */
};

/* Nesting of any/at_least: deeper is a config error. */
#define COND_MAX_DEPTH	8

struct conf_cond {
	enum cond_kind	 kind;
	char		*name;		/* backend or check name ("*" for all) */
	int		 min;		/* nbsrv >= min; -1 when not checked */
	int		 min_percent;	/* capacity >= P; -1 when unset */
	bool		 allbackups;	/* backend uses "option allbackups" */
	size_t		 check;		/* COND_CHECK: index into conf.checks */
	int		 at_least;	/* COND_ANY (1), COND_AT_LEAST: how many
					 * of sub must hold */
	struct conf_cond *sub;		/* COND_ANY, COND_AT_LEAST */
	size_t		 nsub;
};

/* Whether pred holds for a leaf condition (backend, check, haproxy) of
 * conds[0..n), those inside any/at_least included; stops at the first. */
bool	conf_cond_find(const struct conf_cond *conds, size_t n,
	    bool (*pred)(const struct conf_cond *, void *), void *arg);

/* When a drain has let go (DESIGN.md, "Drain that knows when the load
 * balancer has let go"). */
struct conf_let_go {
	int		 failures;	/* non-2xx answers in a row: 2 */
	int64_t		 quiet;		/* frontend without new sessions: 10s */
	int64_t		 tcp;		/* tcp listeners without frontends: 60s */
};

struct conf_service {
	char			*name;
	struct conf_cond	*conds;
	size_t			 nconds;
	int64_t			 up_after;	/* default 0 */
	int64_t			 down_after;	/* default 0 */
	struct conf_let_go	 let_go;
	char			**drain_frontends;	/* watched while drained */
	size_t			 ndrain_frontends;
	size_t			 weight_from;	/* a check's weight, or CONF_NONE
						 * (capacity) */
	int			 degraded_below; /* percent; 0: never degraded */
};

enum listen_kind {
	LISTEN_HTTP,
	LISTEN_AGENT,
	LISTEN_TCP,
};

/* Index into conf_listen.codes. */
enum svc_state {
	SVC_UP,
	SVC_DOWN,
	SVC_DRAIN,
	SVC_MAINT,
	SVC_DEGRADED,		/* up, with its weight under degraded_below */
	SVC_NSTATES
};

struct conf_path {
	char	*path;		/* "/haproxy_status" */
	size_t	 svc;		/* index into conf.services */
};

struct conf_listen {
	enum listen_kind	 kind;
	char			*address;	/* as written */
	struct addr		 addr;
	/* LISTEN_HTTP */
	struct conf_path	*paths;
	size_t			 npaths;
	bool			 admin;
	char			*token;		/* admin bearer token, or NULL */
	int			 codes[SVC_NSTATES];	/* 200/503/503/503/200 */
	bool			 close_when_down;
	/* LISTEN_HTTP and LISTEN_TCP */
	bool			 accept_proxy;
	/* all kinds */
	int			 max_connections;	/* default 4096 */
	/* LISTEN_AGENT and LISTEN_TCP */
	size_t			 svc;		/* CONF_NONE: agent-send picks */
	/* LISTEN_AGENT */
	int			 weight;	/* fixed percent; 0: capacity */
	bool			 admin_words;
};

struct conf_frontend {
	char	*name;
	size_t	 svc;
};

enum notify_kind {
	NOTIFY_WEBHOOK,
	NOTIFY_EXEC,
	NOTIFY_TRACK_FILE,
};

struct conf_notify {
	enum notify_kind	 kind;
	char			*target;	/* URL, argv[0] or file path */
	char			**argv;		/* NOTIFY_EXEC, NULL-terminated */
	size_t			*svcs;		/* indices; NULL: all services */
	size_t			 nsvcs;
	int64_t			 timeout;	/* exec 30s, webhook 10s */
	bool			 tls_verify;	/* webhook, default true */
};

struct conf {
	char			*file;		/* NULL: built-in default */
	char			*state_dir;	/* NULL: $STATE_DIRECTORY, else
						 * CONF_STATE_DIR */
	struct conf_haproxy	 haproxy;
	struct conf_check	*checks;
	size_t			 nchecks;
	struct conf_service	*services;
	size_t			 nservices;
	struct conf_listen	*listens;
	size_t			 nlistens;
	struct conf_frontend	*frontends;
	size_t			 nfrontends;
	struct conf_notify	*notifies;
	size_t			 nnotifies;
};

/* Quick options of the command line, applied over the file or default. */
struct conf_overrides {
	const char	 *stats;	/* --stats URL */
	const char	 *http;		/* --http ADDR */
	const char	 *agent;	/* --agent ADDR */
	const char	**backends;	/* --backend NAME, repeatable */
	size_t		  nbackends;
};

/* Every error found, in the order found, each a full line without '\n'
 * ("hapwatch.json:3:7: unexpected character" or
 * "hapwatch.json: services.web.require[1]: unknown key ..."). */
struct conf_errors {
	char	**msgs;
	size_t	  n;
};

/*
 * Load the config. path NULL means: CONF_DEFAULT_PATH if it exists, else
 * the built-in default. ov may be NULL. Returns the conf, or NULL with
 * every error appended to errs (which the caller frees with
 * conf_errors_free()).
 */
struct conf	*conf_load(const char *path, const struct conf_overrides *ov,
		    struct conf_errors *errs) MUST_CHECK;
/* Same, from a string; name is what errors call the file. */
struct conf	*conf_load_string(const char *name, const char *text,
		    const struct conf_overrides *ov, struct conf_errors *errs)
		    MUST_CHECK;
/* The built-in default as JSON text (also shipped as conf/hapwatch.json). */
const char	*conf_default_text(void);
void		 conf_free(struct conf *c);
void		 conf_errors_free(struct conf_errors *errs);

/* Whether c uses libcurl: http checks, webhooks, or the stats page. */
bool		 conf_needs_curl(const struct conf *c);
/* Whether c needs HAProxy's word at all: a service with a backend or
 * liveness condition, frontends to control, or frontends a drain
 * watches. Without (hapwatch as the agent on an app server), no stats
 * source is polled. */
bool		 conf_watches_haproxy(const struct conf *c);

/* Index of a service by name, or CONF_NONE. */
size_t		 conf_service_index(const struct conf *c, const char *name);
/* Where state is kept: state_dir, else $STATE_DIRECTORY (the first of its
 * list, as systemd sets it), else CONF_STATE_DIR. */
const char	*conf_state_dir(const struct conf *c);

#endif
