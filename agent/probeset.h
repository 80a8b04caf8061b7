/*
 * probeset.h: the config's "checks", running: one probe (checks/probe.h)
 * each, in config order, so that a service's {"check": NAME} condition
 * (resolved to an index at load) reads its probe's state. A probe's
 * change is reported through the callback given at creation.
 */
#ifndef HW_PROBESET_H
#define HW_PROBESET_H

#include <stddef.h>

struct conf;
struct probe;
struct probe_env;
struct probeset;

/* Something of a probe changed (its state or its reason). */
typedef void probeset_cb(void *arg);

/* Build one probe per conf check (not started). */
struct probeset	*probeset_new(const struct probe_env *env, const struct conf *conf,
		    probeset_cb *cb, void *arg);
/* Carry over the state of probes of the same name and target. */
void		 probeset_inherit(struct probeset *ps, const struct probeset *old);
void		 probeset_start(struct probeset *ps);
/* 1 up, 0 down, -1 not probed yet; *reason is the last probe's outcome. */
int		 probeset_state(const struct probeset *ps, size_t idx,
		    const char **reason);
/* The weight probe idx gives (probe_weight()), or -1. */
int		 probeset_weight(const struct probeset *ps, size_t idx);
size_t		 probeset_count(const struct probeset *ps);
const struct probe *probeset_get(const struct probeset *ps, size_t idx);
void		 probeset_free(struct probeset *ps);

#endif
