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

void
plan_build(const struct conf *c, struct poll_plan *plan)
{
	size_t	i, j, k;

	memset(plan, 0, sizeof(*plan));
	for (i = 0; i < c->nservices; i++) {
		const struct conf_service *s = &c->services[i];
		bool agent = plan_agent_weighs(c, i);

		for (j = 0; j < s->nconds; j++) {
			const struct conf_cond *cd = &s->conds[j];
			bool servers = agent || cd->min_percent > 0;

			if (cd->kind == COND_ALL_BACKENDS) {
				plan->all = true;
				plan->all_servers |= servers;
			} else if (cd->kind == COND_BACKEND) {
				plan_add(plan, cd->name, servers);
			}
		}
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
