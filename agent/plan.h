/*
 * plan.h: what to ask HAProxy for, from the config: the backends the
 * services' conditions name, and for which of them the server rows are
 * needed (capacity: a min_percent, or an agent listener weighting by it).
 */
#ifndef HW_PLAN_H
#define HW_PLAN_H

#include "source.h"

struct conf;

/* Build conf's plan into plan; plan_free() releases its target array (the
 * names point into conf). */
void	plan_build(const struct conf *conf, struct poll_plan *plan);
void	plan_free(struct poll_plan *plan);

#endif
