/*
 * service.c: conditions, verdict with hysteresis and settle, effective
 * state with the operator's override, and the reason for each.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "service.h"

static const char *const override_names[] = {
	[OVR_NONE] = "ready", [OVR_DRAIN] = "drain", [OVR_MAINT] = "maint",
};

const char *
svc_state_name(enum svc_state s)
{
	static const char *const names[SVC_NSTATES] = {
		[SVC_UP] = "up",
		[SVC_DOWN] = "down",
		[SVC_DRAIN] = "drain",
		[SVC_MAINT] = "maint",
		[SVC_DEGRADED] = "degraded",
	};

	if ((unsigned)s >= SVC_NSTATES)
		return "unknown";
	return names[s];
}

bool
svc_state_serves(enum svc_state s)
{
	return s == SVC_UP || s == SVC_DEGRADED;
}

const char *
svc_override_name(enum svc_override o)
{
	return override_names[o];
}

bool
svc_override_parse(const char *s, enum svc_override *o)
{
	size_t	i;

	for (i = 0; i < ARRAY_SIZE(override_names); i++) {
		if (strcmp(s, override_names[i]) == 0) {
			*o = (enum svc_override)i;
			return true;
		}
	}
	return false;
}

static bool
cond_needs_capacity(const struct conf_cond *cd, void *arg)
{
	(void)arg;
	return (cd->kind == COND_BACKEND || cd->kind == COND_ALL_BACKENDS) &&
	    cd->min_percent > 0;
}

bool
svc_needs_capacity(const struct conf_service *c)
{
	return c->degraded_below > 0 ||
	    conf_cond_find(c->conds, c->nconds, cond_needs_capacity, NULL);
}

static void
results_free(struct cond_result *v, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++) {
		free(v[i].name);
		results_free(v[i].sub, v[i].nsub);
	}
	free(v);
}

static void
svc_free_results(struct svc *s)
{
	results_free(s->results, s->nresults);
	s->results = NULL;
	s->nresults = 0;
}

void
svc_init(struct svc *s, const struct conf_service *c)
{
	memset(s, 0, sizeof(*s));
	s->conf = c;
	s->pending_since = -1;
	s->state = SVC_DOWN;
	s->check_weight = -1;
	s->capacity = -1;
	s->since = wall_ms();
	snprintf(s->rule_reason, sizeof(s->rule_reason), "starting");
	snprintf(s->verdict_reason, sizeof(s->verdict_reason), "starting");
	snprintf(s->reason, sizeof(s->reason), "starting");
}

void
svc_inherit(struct svc *s, const struct svc *old)
{
	const struct conf_service *c = s->conf;

	*s = *old;
	s->conf = c;
	s->results = NULL;
	s->nresults = 0;
}

void
svc_clear(struct svc *s)
{
	svc_free_results(s);
}

/* A results list being filled: one service's, or a combinator's. */
struct results {
	struct cond_result	**v;
	size_t			 *n;
	size_t			  cap;
};

static struct cond_result *
results_add(struct results *rs, enum cond_kind kind, const char *name)
{
	struct cond_result	*r;

	if (*rs->n == rs->cap) {
		rs->cap = rs->cap ? rs->cap * 2 : 4;
		*rs->v = xrealloc(*rs->v, rs->cap * sizeof(**rs->v));
	}
	r = &(*rs->v)[(*rs->n)++];
	memset(r, 0, sizeof(*r));
	r->kind = kind;
	r->name = xstrdup(name);
	r->servers = -1;
	r->capacity = -1;
	return r;
}

/*
 * A condition's share of the service's capacity (the agent weight): pct
 * 0 to 100, or -1 while unknown (stats unavailable, a backend missing);
 * none for checks and liveness, which carry no capacity of their own; why
 * says what sets it ("api: 1 of 3 servers usable").
 */
struct capa {
	int	pct;
	bool	none;
	char	why[96];
};

static void
capa_of_backend(const struct cond_result *r, struct capa *ca)
{
	ca->none = false;
	if (!r->present) {
		ca->pct = -1;
		snprintf(ca->why, sizeof(ca->why), "%s: missing", r->name);
		return;
	}
	ca->pct = r->capacity >= 0 ? r->capacity : 100;
	if (r->servers >= 0)
		snprintf(ca->why, sizeof(ca->why), "%s: %d of %d servers usable",
		    r->name, r->nbsrv, r->servers);
	else
		snprintf(ca->why, sizeof(ca->why), "%s", r->name);
}

/* The smaller of a and b into a (unknown is smallest: it must not pass for
 * a full capacity); "none" gives way to anything. */
static void
capa_min(struct capa *a, const struct capa *b)
{
	if (b->none)
		return;
	if (a->none || b->pct < 0 || (a->pct >= 0 && b->pct < a->pct))
		*a = *b;
}

/* Append "; what" to buf, as room allows. */
static void
reason_append(char *buf, size_t len, const char *sep, const char *what)
{
	size_t	n = strlen(buf);

	if (n + 1 < len)
		snprintf(buf + n, len - n, "%s%s", n > 0 ? sep : "", what);
}

static bool cond_eval(struct results *rs, const struct conf_cond *c,
    const struct svc_input *in, char *reason, size_t rlen, struct capa *ca);

static int
capa_desc(const void *a, const void *b)
{
	const struct capa *x = a, *y = b;

	return y->pct - x->pct;
}

/* The n-th best (1: the best) of caps[0..len), the unknown ones taken as
 * pct; caps is left as it was. */
static struct capa
capa_nth(const struct capa *caps, const bool *unknown, size_t len, size_t n,
    int pct)
{
	struct capa	*v = xcalloc(len, sizeof(*v)), out;
	size_t		 i;

	for (i = 0; i < len; i++) {
		v[i] = caps[i];
		if (unknown[i])
			v[i].pct = pct;
	}
	qsort(v, len, sizeof(*v), capa_desc);
	out = v[n - 1];
	free(v);
	return out;
}

/*
 * any / at_least N of: holds when N of its conditions hold. Its capacity
 * is the N-th best of its conditions' (any: the best), one that fails
 * counting 0 and a check that holds 100: what the N best paths carry.
 */
static bool
cond_combinator(struct results *rs, const struct conf_cond *c,
    const struct svc_input *in, char *reason, size_t rlen, struct capa *ca)
{
	struct cond_result	*r;
	struct results		 sub;
	struct capa		*caps = xcalloc(c->nsub, sizeof(*caps));
	bool			*unknown = xcalloc(c->nsub, sizeof(*unknown));
	char			 fails[SVC_REASON_MAX] = "";
	char			 tmp[SVC_REASON_MAX];
	struct capa		 lo, hi;
	size_t			 i;

	r = results_add(rs, c->kind, c->kind == COND_ANY ? "any" : "at_least");
	r->at_least = c->at_least;
	r->of = c->nsub;
	r->min = -1;
	r->min_percent = -1;
	sub.v = &r->sub;
	sub.n = &r->nsub;
	sub.cap = 0;
	for (i = 0; i < c->nsub; i++) {
		tmp[0] = '\0';
		if (cond_eval(&sub, &c->sub[i], in, tmp, sizeof(tmp), &caps[i])) {
			r->holding++;
			if (caps[i].none) {
				caps[i].pct = 100;
				snprintf(caps[i].why, sizeof(caps[i].why), "%s",
				    c->sub[i].name != NULL ? c->sub[i].name :
				    "check");
			}
			/* A nested combinator that holds, its own unknown. */
			unknown[i] = caps[i].pct < 0;
		} else {
			reason_append(fails, sizeof(fails), "; ", tmp);
			/* What fails carries nothing, but for stale stats: then
			 * whether it would hold is not known either. */
			unknown[i] = caps[i].pct < 0 && !caps[i].none &&
			    !in->stats_fresh;
			caps[i].pct = 0;
		}
		caps[i].none = false;
	}
	r->ok = r->holding >= c->at_least;
	/* The N-th best with every unknown as 0, then as 100: the same, it
	 * is known whatever they are; else unknown. */
	lo = capa_nth(caps, unknown, c->nsub, (size_t)c->at_least, 0);
	hi = capa_nth(caps, unknown, c->nsub, (size_t)c->at_least, 100);
	*ca = lo;
	if (lo.pct != hi.pct)
		ca->pct = -1;
	r->capacity = ca->pct;
	free(unknown);
	free(caps);
	if (!r->ok) {
		if (c->kind == COND_ANY)
			snprintf(reason, rlen, "any of: %s", fails);
		else
			snprintf(reason, rlen, "at least %d of %zu (%d hold%s): %s",
			    c->at_least, c->nsub, r->holding,
			    r->holding == 1 ? "s" : "", fails);
	}
	return r->ok;
}

/* Fill r for backend be (NULL: absent); on failure write why in reason. */
static bool
cond_backend(const struct conf_cond *c, const struct stats_backend *be,
    const char *name, struct cond_result *r, char *reason, size_t rlen)
{
	r->min = c->min;
	r->min_percent = c->min_percent;
	if (be == NULL || !be->has_row) {
		snprintf(reason, rlen, "%s: no such backend", name);
		return false;
	}
	r->present = true;
	r->nbsrv = stats_nbsrv(be->act, be->bck, c->allbackups);
	if (be->have_servers_rows) {
		r->servers = be->srv_active;
		r->capacity = stats_capacity(be, r->nbsrv);
	}
	if (!be->has_servers && r->nbsrv == 0) {
		snprintf(reason, rlen, "%s: no server configured", name);
		return false;
	}
	if (c->min >= 0 && r->nbsrv < c->min) {
		if (r->nbsrv == 0 && be->have_servers_rows)
			snprintf(reason, rlen, "%s: 0 of %d servers usable", name,
			    be->srv_active + be->srv_backup);
		else if (r->nbsrv == 0)
			snprintf(reason, rlen, "%s: no usable server", name);
		else
			snprintf(reason, rlen, "%s: %d usable servers, need %d",
			    name, r->nbsrv, c->min);
		return false;
	}
	if (c->min_percent > 0 && r->capacity < 0) {
		snprintf(reason, rlen, "%s: capacity unknown", name);
		return false;
	}
	if (c->min_percent > 0 && r->capacity < c->min_percent) {
		snprintf(reason, rlen, "%s: %d of %d servers usable (%d%%, need %d%%)",
		    name, be->srv_active_usable, be->srv_active, r->capacity,
		    c->min_percent);
		return false;
	}
	return true;
}

/* Evaluate one condition into rs; false with reason on failure. Its
 * capacity goes to *ca. */
static bool
cond_eval(struct results *rs, const struct conf_cond *c,
    const struct svc_input *in, char *reason, size_t rlen, struct capa *ca)
{
	struct cond_result	*r;
	struct capa		 one;
	const char		*why = NULL;
	bool			 ok = true, any = false;
	size_t			 i;

	memset(ca, 0, sizeof(*ca));
	ca->none = true;
	switch (c->kind) {
	case COND_ANY:
	case COND_AT_LEAST:
		return cond_combinator(rs, c, in, reason, rlen, ca);
	case COND_HAPROXY_ALIVE:
		r = results_add(rs, c->kind, "alive");
		r->ok = in->alive;
		if (!r->ok)
			snprintf(reason, rlen, "HAProxy: %s", in->stats_fresh ?
			    "stopping" : "stats unavailable");
		return r->ok;
	case COND_CHECK:
		r = results_add(rs, c->kind, c->name);
		r->ok = in->check_state != NULL &&
		    in->check_state(in->check_arg, c->check, &why) == 1;
		if (!r->ok)
			snprintf(reason, rlen, "%s: %s", c->name,
			    why != NULL ? why : "down");
		return r->ok;
	default:
		break;
	}
	if (!in->stats_fresh || in->snap == NULL) {
		r = results_add(rs, c->kind, c->name);
		r->min = c->min;
		r->min_percent = c->min_percent;
		capa_of_backend(r, ca);
		snprintf(reason, rlen, "stats unavailable");
		return false;
	}
	if (c->kind == COND_BACKEND) {
		r = results_add(rs, c->kind, c->name);
		r->ok = cond_backend(c, stats_find_backend(in->snap, c->name),
		    c->name, r, reason, rlen);
		capa_of_backend(r, ca);
		return r->ok;
	}
	/* COND_ALL_BACKENDS: every backend with at least one server. */
	for (i = 0; i < in->snap->nbackends; i++) {
		const struct stats_backend *be = &in->snap->backends[i];
		char tmp[SVC_REASON_MAX];

		if (!be->has_servers)
			continue;
		any = true;
		r = results_add(rs, COND_BACKEND, be->name);
		r->ok = cond_backend(c, be, be->name, r, tmp, sizeof(tmp));
		capa_of_backend(r, &one);
		capa_min(ca, &one);
		if (!r->ok && ok)
			snprintf(reason, rlen, "%s", tmp);
		ok = ok && r->ok;
	}
	if (!any)
		snprintf(reason, rlen, "no backend with servers");
	return ok && any;
}

/* Evaluate the rule: every condition, all kept for /status. */
static void
svc_eval_rule(struct svc *s, const struct svc_input *in)
{
	struct results	rs = { &s->results, &s->nresults, 0 };
	struct capa	ca, all = { .none = true };
	size_t		i;
	char		reason[SVC_REASON_MAX];
	bool		ok = true;

	svc_free_results(s);
	s->rule_reason[0] = '\0';
	for (i = 0; i < s->conf->nconds; i++) {
		if (!cond_eval(&rs, &s->conf->conds[i], in, reason,
		    sizeof(reason), &ca) && ok) {
			ok = false;
			str_sanitize(s->rule_reason, sizeof(s->rule_reason), reason);
		}
		capa_min(&all, &ca);
	}
	s->rule_ok = ok;
	if (ok)
		snprintf(s->rule_reason, sizeof(s->rule_reason),
		    "all conditions hold");
	s->capacity = all.none ? 100 : all.pct;
	snprintf(s->capacity_why, sizeof(s->capacity_why), "%s",
	    all.none ? "" : all.why);
}

/*
 * The agent weight: the rule's capacity (100 with no backend), >= 1 if up.
 * While a backend's word is missing (stats stale, the backend gone) and
 * the verdict still holds up (down_after), the last weight stands: an
 * unknown capacity is not a full one.
 */
static int
svc_weight(const struct svc *s)
{
	int	w;

	if (!s->up)
		return 0;
	/* A check gives it (an app server's load): its word, or the last. */
	if (s->conf->weight_from != CONF_NONE) {
		w = s->check_weight >= 0 ? s->check_weight : s->weight;
		return w < 1 ? 1 : w;
	}
	if (s->capacity < 0)
		return s->weight > 0 ? s->weight : 1;
	return s->capacity < 1 ? 1 : s->capacity;
}

/* Move the verdict toward the rule, as hysteresis and settle allow. */
static bool
svc_step_verdict(struct svc *s, const struct svc_input *in, bool first,
    int64_t *next, bool *settling)
{
	int64_t	delay, at;

	*settling = false;
	if (s->rule_ok == s->up) {
		s->pending_since = -1;
		return false;
	}
	if (s->pending_since < 0)
		s->pending_since = in->now;
	delay = s->rule_ok ? s->conf->up_after : s->conf->down_after;
	at = first ? in->now : s->pending_since + delay;
	if (s->rule_ok && in->settle_until > at) {
		at = in->settle_until;
		*settling = true;
	}
	if (in->now < at) {
		if (at < *next)
			*next = at;
		return false;
	}
	s->up = s->rule_ok;
	s->pending_since = -1;
	*settling = false;
	return true;
}

static void
svc_verdict_reason(const struct svc *s, bool settling, char *buf,
    size_t len)
{
	char	d[32];

	if (s->rule_ok == s->up) {
		snprintf(buf, len, "%s", s->rule_reason);
	} else if (s->up) {
		fmt_duration(s->conf->down_after, d, sizeof(d));
		snprintf(buf, len, "%s (down_after %s pending)", s->rule_reason, d);
	} else if (settling) {
		snprintf(buf, len, "%s (settling after HAProxy reload)",
		    s->rule_reason);
	} else {
		fmt_duration(s->conf->up_after, d, sizeof(d));
		snprintf(buf, len, "%s (up_after %s pending)", s->rule_reason, d);
	}
}

/* What degraded_below is judged on: the capacity itself (0% is under
 * 1%), not the weight that is never under 1; while unknown, the weight. */
static int
svc_capacity_now(const struct svc *s, int weight)
{
	int	c = s->conf->weight_from != CONF_NONE ? s->check_weight :
		    s->capacity;

	return c >= 0 ? c : weight;
}

/* "capacity 33% (api: 1 of 3 servers usable), under 50%" */
static void
svc_degraded_reason(const struct svc *s, int weight, char *buf, size_t len)
{
	char	tmp[SVC_REASON_MAX];

	if (s->conf->weight_from != CONF_NONE)
		snprintf(tmp, sizeof(tmp), "weight %d%%, under %d%%", weight,
		    s->conf->degraded_below);
	else if (s->capacity_why[0] != '\0')
		snprintf(tmp, sizeof(tmp), "capacity %d%% (%s), under %d%%",
		    s->capacity >= 0 ? s->capacity : weight, s->capacity_why,
		    s->conf->degraded_below);
	else
		snprintf(tmp, sizeof(tmp), "capacity %d%%, under %d%%",
		    s->capacity >= 0 ? s->capacity : weight,
		    s->conf->degraded_below);
	str_sanitize(buf, len, tmp);
}

/* Recompute state, reason and weight; report what changed. */
static int
svc_update_answer(struct svc *s)
{
	enum svc_state	 state;
	char		 reason[SVC_REASON_MAX];
	int		 weight, chg = 0;

	switch (s->override) {
	case OVR_MAINT:
		state = SVC_MAINT;
		snprintf(reason, sizeof(reason), "maint by %s",
		    s->ovr.by[0] != '\0' ? s->ovr.by : "operator");
		break;
	case OVR_DRAIN:
		state = SVC_DRAIN;
		snprintf(reason, sizeof(reason), "drained by %s",
		    s->ovr.by[0] != '\0' ? s->ovr.by : "operator");
		break;
	default:
		state = s->up ? SVC_UP : SVC_DOWN;
		snprintf(reason, sizeof(reason), "%s", s->verdict_reason);
		break;
	}
	weight = svc_weight(s);
	if (state == SVC_UP && svc_capacity_now(s, weight) <
	    s->conf->degraded_below) {
		state = SVC_DEGRADED;
		svc_degraded_reason(s, weight, reason, sizeof(reason));
	}
	if (state != s->state) {
		s->state = state;
		s->since = wall_ms();
		s->transitions++;
		chg |= SVC_CHG_STATE;
	}
	if (chg || strcmp(reason, s->reason) != 0 || weight != s->weight) {
		snprintf(s->reason, sizeof(s->reason), "%s", reason);
		s->weight = weight;
		s->version++;
		chg |= SVC_CHG_ANSWER;
	}
	return chg;
}

static bool
cond_check_pending(const struct conf_cond *cd, void *arg)
{
	const struct svc_input	*in = arg;
	const char		*why;

	return cd->kind == COND_CHECK &&
	    in->check_state(in->check_arg, cd->check, &why) < 0;
}

/* Whether a check this service needs has not been probed yet. */
static bool
svc_checks_pending(const struct svc *s, const struct svc_input *in)
{
	const char	*why;

	if (in->check_state == NULL)
		return false;
	if (conf_cond_find(s->conf->conds, s->conf->nconds, cond_check_pending,
	    (void *)(uintptr_t)in))
		return true;
	return s->conf->weight_from != CONF_NONE &&
	    in->check_state(in->check_arg, s->conf->weight_from, &why) < 0;
}

int
svc_evaluate(struct svc *s, const struct svc_input *in, int64_t *next)
{
	bool	first, settling = false;
	int	chg = 0;

	/* No verdict before the first word from every source (a check
	 * added by a reload has not spoken yet either). */
	if (!in->answered || svc_checks_pending(s, in))
		return svc_update_answer(s);
	svc_eval_rule(s, in);
	if (s->conf->weight_from != CONF_NONE && in->check_weight != NULL)
		s->check_weight = in->check_weight(in->check_arg,
		    s->conf->weight_from);
	first = !s->evaluated;
	if (first && s->rule_ok && in->now < in->settle_until) {
		/*
		 * HAProxy is younger than settle: it starts servers UP before
		 * their first check, so "all up" is not its word yet. No
		 * verdict: still starting (503, and frontend control and hooks
		 * wait). A failing rule needs no such wait and is taken at once.
		 */
		if (in->settle_until < *next)
			*next = in->settle_until;
		snprintf(s->verdict_reason, sizeof(s->verdict_reason),
		    "starting (waiting for HAProxy's first checks)");
		return svc_update_answer(s);
	}
	s->evaluated = true;
	if (first)
		chg |= SVC_CHG_FIRST;
	if (svc_step_verdict(s, in, first, next, &settling))
		chg |= SVC_CHG_VERDICT;
	svc_verdict_reason(s, settling, s->verdict_reason,
	    sizeof(s->verdict_reason));
	return chg | svc_update_answer(s);
}

int
svc_set_override(struct svc *s, enum svc_override o,
    const struct svc_override_info *info)
{
	s->override = o;
	if (o == OVR_NONE || info == NULL)
		memset(&s->ovr, 0, sizeof(s->ovr));
	else
		s->ovr = *info;
	return svc_update_answer(s);
}
