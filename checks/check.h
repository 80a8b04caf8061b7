/*
 * check.h: active checks of peers and local dependencies (http, tcp,
 * exec), each probed every interval and judged with rise/fall counted over
 * its own probes, as HAProxy and keepalived do: `rise` passes in a row to
 * go up, `fall` failures in a row to go down. The first probe's result sets
 * the state at once; until it is known the state is CHK_UNKNOWN.
 */
#ifndef HW_CHECK_H
#define HW_CHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"

struct event_base;
struct curlev;
struct childmgr;
struct chk;

enum chk_kind {
	CHK_HTTP,
	CHK_TCP,
	CHK_EXEC,
};

enum chk_state {
	CHK_UNKNOWN = -1,	/* no probe has finished yet */
	CHK_DOWN = 0,
	CHK_UP = 1,
};

/* What to probe. Everything is copied by chk_new(). */
struct chk_params {
	const char		*name;
	enum chk_kind		 kind;
	const char		*url;		/* CHK_HTTP */
	const int		*expect;	/* CHK_HTTP; none: 200 */
	size_t			 nexpect;
	const char *const	*headers;	/* CHK_HTTP: "Name: value" */
	size_t			 nheaders;
	bool			 tls_verify;	/* CHK_HTTP */
	struct hw_addr		 addr;		/* CHK_TCP */
	char *const		*argv;		/* CHK_EXEC, NULL-terminated */
	int64_t			 interval;
	int64_t			 timeout;
	int			 rise;
	int			 fall;
};

/* Where probes run. */
struct chk_env {
	struct event_base	*base;
	struct curlev		*curl;
	struct childmgr		*children;
};

/* Called when the state or the reason changed. */
typedef void chk_change_cb(void *arg, struct chk *c);

struct chk	*chk_new(const struct chk_env *env, const struct chk_params *p,
		    chk_change_cb *cb, void *arg);
/* After a reload: take old's state if it probes the same thing (kind and
 * target), so a peer check does not start over from "unknown". */
void		 chk_inherit(struct chk *c, const struct chk *old);
/* Probe now and every interval after. */
void		 chk_start(struct chk *c);
enum chk_state	 chk_state(const struct chk *c);
/* The last probe's outcome ("HTTP 200", "Connection refused", "exit 1"). */
const char	*chk_reason(const struct chk *c);
const char	*chk_name(const struct chk *c);
uint64_t	 chk_probes(const struct chk *c);
uint64_t	 chk_failures(const struct chk *c);
void		 chk_free(struct chk *c);

#endif
