/*
 * plan.c: the stats plan of a config.
 */
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "plan.h"

/* Whether an agent listener answers for service i with its capacity. */
static bool
plan_agent_weighs(const struct conf *c, size_t i)
{
	size_t	k;

	for (k = 0; k < c->nlistens; k++)
		if (c->listens[k].kind == LISTEN_AGENT &&
		    c->listens[k].weight == 0 &&
		    (c->listens[k].svc == i || c->listens[k].svc == CONF_NONE))
			return true;
	return false;
}

static void
plan_add(struct poll_plan *plan, const char *backend, bool servers)
{
	size_t	k;

	for (k = 0; k < plan->ntargets; k++)
		if (strcmp(plan->targets[k].backend, backend) == 0)
			break;
	if (k == plan->ntargets) {
		plan->targets = xrealloc(plan->targets,
		    (k + 1) * sizeof(*plan->targets));
		plan->targets[k].backend = backend;
		plan->targets[k].servers = false;
		plan->ntargets++;
	}
	plan->targets[k].servers |= servers;
}

/* What plan_build's visit of a service's conditions needs. */
struct plan_visit {
	struct poll_plan	*plan;
	bool			 servers;	/* every backend needs rows */
};

static bool
plan_visit_cond(const struct conf_cond *cd, void *arg)
{
	struct plan_visit	*pv = arg;
	bool			 servers = pv->servers || cd->min_percent > 0;

	if (cd->kind == COND_ALL_BACKENDS) {
		pv->plan->all = true;
		pv->plan->all_servers |= servers;
	} else if (cd->kind == COND_BACKEND) {
		plan_add(pv->plan, cd->name, servers);
	}
	return false;			/* on to the next */
}

void
plan_build(const struct conf *c, struct poll_plan *plan)
{
	struct plan_visit	pv = { plan, false };
	size_t			i, k;

	memset(plan, 0, sizeof(*plan));
	for (i = 0; i < c->nservices; i++) {
		const struct conf_service *s = &c->services[i];

		/* Capacity needs the server rows: for the agent's weight and
		 * for degraded_below. */
		pv.servers = plan_agent_weighs(c, i) || s->degraded_below > 0;
		(void)conf_cond_find(s->conds, s->nconds, plan_visit_cond, &pv);
	}
	if (plan->all)
		for (k = 0; k < plan->ntargets; k++)
			plan->all_servers |= plan->targets[k].servers;
}

void
plan_free(struct poll_plan *plan)
{
	FREE(plan->targets);
	plan->ntargets = 0;
}
