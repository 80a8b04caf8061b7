/*
 * service.h: a service is a named verdict over HAProxy's stats and checks.
 *
 * Its rule holds when every condition of "require" holds. The verdict
 * follows the rule with hysteresis (up_after, down_after) and the reload
 * settle (never down -> up while HAProxy's word is young). The effective
 * state is the operator's override (maint, drain) if set, else the
 * verdict. Listeners answer from the effective state; frontend control
 * follows the verdict only.
 */
#ifndef HW_SERVICE_H
#define HW_SERVICE_H

#include <stdbool.h>
#include <stdint.h>

#include "conf.h"
#include "stats.h"

#define SVC_REASON_MAX	256

enum svc_override {
	OVR_NONE,
	OVR_DRAIN,
	OVR_MAINT,
};

/* Who set the override, how, since and until when (wall ms). */
struct svc_override_info {
	char		by[64];		/* "operator", "haproxy.service"... */
	char		route[128];	/* the admin listener it came through */
	int64_t		since;
	int64_t		until;		/* 0: until lifted */
	int64_t		let_go;		/* a drain's: when it let go, 0 not
					 * yet (kept across restarts) */
};

/* One evaluated condition, as /status shows it. */
struct cond_result {
	enum cond_kind	 kind;
	char		*name;		/* backend or check name; owned */
	bool		 present;	/* backend found in the stats */
	int		 nbsrv;
	int		 servers;	/* configured active servers, -1 unknown */
	int		 capacity;	/* percent, -1 unknown; a combinator's:
					 * the at_least-th best of its
					 * members' */
	int		 min;
	int		 min_percent;
	bool		 ok;
	/* COND_ANY, COND_AT_LEAST: how many of its conditions must and do
	 * hold, and their results (a backend "*" gives one per backend) */
	int		 at_least;
	int		 holding;
	size_t		 of;
	struct cond_result *sub;
	size_t		 nsub;
};

/* What an evaluation sees. */
struct svc_input {
	int64_t				 now;		/* mono_ms() */
	bool				 answered;	/* first poll answered */
	const struct stats_snapshot	*snap;		/* last good, or NULL */
	bool				 stats_fresh;	/* within grace */
	bool				 alive;		/* fresh, and the process
							 * answering is not
							 * stopping */
	int64_t				 settle_until;	/* no down->up before */
	/* Check state by index: 1 up, 0 down, -1 not probed yet (the service
	 * then waits, still "starting"); reason may be NULL. */
	int	(*check_state)(void *arg, size_t idx, const char **reason);
	/* Check weight by index (0 to 100), or -1 for none yet. */
	int	(*check_weight)(void *arg, size_t idx);
	void	*check_arg;
};

struct svc {
	const struct conf_service *conf;
	bool			 evaluated;	/* first evaluation done */
	/* the rule, as of the last evaluation */
	bool			 rule_ok;
	int64_t			 pending_since;	/* rule != verdict since; -1 */
	char			 rule_reason[SVC_REASON_MAX];
	struct cond_result	*results;
	size_t			 nresults;
	int			 capacity;	/* the rule's: the smallest of
						 * its backends' and
						 * combinators', -1 unknown */
	char			 capacity_why[96]; /* what sets it */
	/* the verdict */
	bool			 up;
	char			 verdict_reason[SVC_REASON_MAX];
	/* what listeners answer */
	enum svc_override	 override;
	struct svc_override_info ovr;	/* while override != OVR_NONE */
	enum svc_state		 state;
	char			 reason[SVC_REASON_MAX];
	int			 weight;	/* agent percent, >= 1 while up */
	int			 check_weight;	/* weight_from's, -1 unknown */
	int64_t			 since;		/* wall ms of the last state change */
	uint64_t		 transitions;
	unsigned		 version;	/* bumped on any change of answer */
};

/* What an evaluation changed. */
#define SVC_CHG_VERDICT	0x01	/* up/down verdict flipped */
#define SVC_CHG_STATE	0x02	/* effective state changed */
#define SVC_CHG_ANSWER	0x04	/* state, reason or weight changed */
#define SVC_CHG_FIRST	0x08	/* the first verdict: "starting" is over */

/* Initialise s for conf c: down, reason "starting". */
void	svc_init(struct svc *s, const struct conf_service *c);
void	svc_clear(struct svc *s);

/*
 * Evaluate s at in->now. Returns SVC_CHG_* flags. *next is lowered to the
 * earliest time at which a new evaluation could change the verdict with no
 * new input (hysteresis or settle end); left alone when there is none.
 */
int	svc_evaluate(struct svc *s, const struct svc_input *in, int64_t *next);

/* Carry old's runtime state (verdict, override, hysteresis clock, state,
 * reason, counters) into s after a config reload; conditions are
 * re-evaluated from the new config. */
void	svc_inherit(struct svc *s, const struct svc *old);

/* Set the operator override, with who and until when (info NULL, or
 * OVR_NONE: none); returns SVC_CHG_* flags. */
int	svc_set_override(struct svc *s, enum svc_override o,
	    const struct svc_override_info *info);

/* Whether a state takes traffic: up, or degraded (up with less capacity
 * than degraded_below). */
bool	svc_state_serves(enum svc_state s);

/* "up", "down", "drain", "maint", "degraded". */
const char *svc_state_name(enum svc_state s);
const char *svc_override_name(enum svc_override o);
/* Parse "drain", "maint", "ready" (ready = OVR_NONE). */
bool	svc_override_parse(const char *s, enum svc_override *o) MUST_CHECK;

/* Whether the backend conditions of s need server rows for capacity. */
bool	svc_needs_capacity(const struct conf_service *c);

#endif
