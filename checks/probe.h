/*
 * probe.h: active checks of peers and local dependencies (http, tcp,
 * exec), each probed every interval and judged with rise/fall counted over
 * its own probes, as HAProxy and keepalived do: `rise` passes in a row to
 * go up, `fall` failures in a row to go down. The first probe's result sets
 * the state at once; until it is known the state is PROBE_UNKNOWN.
 */
#ifndef HW_PROBE_H
#define HW_PROBE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"

struct event_base;
struct curlev;
struct childmgr;
struct probe;

enum probe_kind {
	PROBE_HTTP,
	PROBE_TCP,
	PROBE_EXEC,
	PROBE_LOAD,		/* this machine's load, read from /proc */
};

/* What a load probe reads. */
enum probe_load {
	PROBE_LOAD_CPU,		/* the CPU's idle share since the last probe */
	PROBE_LOAD_AVG,		/* 1 - the 1-minute load average per core */
};

enum probe_state {
	PROBE_UNKNOWN = -1,	/* no probe has finished yet */
	PROBE_DOWN = 0,
	PROBE_UP = 1,
};

/* What to probe. Everything is copied by probe_new(). */
struct probe_params {
	const char		*name;
	enum probe_kind		 kind;
	const char		*url;		/* PROBE_HTTP */
	const int		*expect;	/* PROBE_HTTP; none: 200 */
	size_t			 nexpect;
	const char *const	*headers;	/* PROBE_HTTP: "Name: value" */
	size_t			 nheaders;
	bool			 tls_verify;	/* PROBE_HTTP */
	struct addr		 addr;		/* PROBE_TCP */
	char *const		*argv;		/* PROBE_EXEC, NULL-terminated */
	enum probe_load		 load;		/* PROBE_LOAD */
	int			 floor;		/* PROBE_LOAD: lowest weight */
	int64_t			 interval;
	int64_t			 timeout;
	int			 rise;
	int			 fall;
};

/* Where probes run. */
struct probe_env {
	struct event_base	*base;
	struct curlev		*curl;
	struct childmgr		*children;
};

/* Called when the state or the reason changed. */
typedef void probe_change_cb(void *arg, struct probe *c);

struct probe	*probe_new(const struct probe_env *env, const struct probe_params *p,
		    probe_change_cb *cb, void *arg);
/* After a reload: take old's state if it probes the same thing (kind and
 * target), so a peer check does not start over from "unknown". */
void		 probe_inherit(struct probe *c, const struct probe *old);
/* Probe now and every interval after. */
void		 probe_start(struct probe *c);
enum probe_state	 probe_state(const struct probe *c);
/* The last probe's outcome ("HTTP 200", "Connection refused", "exit 1"). */
const char	*probe_reason(const struct probe *c);
const char	*probe_name(const struct probe *c);
uint64_t	 probe_count(const struct probe *c);
/*
 * The weight it gives, 0 to 100 (percent), or -1 for none: an exec check
 * that prints "66%" or "weight:66" on its first line, or a load check
 * (the idle share, never under its floor). A load check always passes:
 * it says how much, not whether.
 */
int		 probe_weight(const struct probe *c);
uint64_t	 probe_failures(const struct probe *c);
void		 probe_free(struct probe *c);

/* The weight an exec check's first line gives ("66%", "weight:66", spaces
 * around allowed; 0 to 100), or -1. */
int		 probe_parse_weight(const char *line);

/*
 * Rise/fall, the pure part of every probe's judgement: the state after
 * one more result (pass or not) given the state before it. *streak counts
 * the results in a row, passes (> 0) or failures (< 0), and is updated to
 * include this one. The first result (state PROBE_UNKNOWN) sets the state
 * at once; after that `rise` passes in a row bring it up and `fall`
 * failures in a row bring it down.
 */
enum probe_state	 probe_judge(enum probe_state state, int *streak,
			    int rise, int fall, bool pass);

#endif
