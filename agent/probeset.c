/*
 * probeset.c: turn the config's checks into running probes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "log.h"
#include "probe.h"
#include "probeset.h"

struct probeset {
	struct probe	**probes;
	size_t		  n;
	probeset_cb	 *cb;
	void		 *arg;
};

static void
probeset_change_cb(void *arg, struct probe *c)
{
	struct probeset		*ps = arg;
	static const char *const names[] = { "down", "up" };
	enum probe_state	 st = probe_state(c);

	log_debug("check %s: %s (%s)", probe_name(c),
	    st == PROBE_UNKNOWN ? "unknown" : names[st], probe_reason(c));
	ps->cb(ps->arg);
}

static struct probe *
probeset_build(const struct probe_env *env, const struct conf_check *cc,
    struct probeset *ps)
{
	static const enum probe_kind kinds[] = {
		[CHECK_HTTP] = PROBE_HTTP, [CHECK_TCP] = PROBE_TCP,
		[CHECK_EXEC] = PROBE_EXEC, [CHECK_LOAD] = PROBE_LOAD,
	};
	struct probe_params	 p = { 0 };
	char			**headers = xcalloc(cc->nheaders + 1,
				    sizeof(*headers));
	struct probe		*c;
	size_t			 i;

	p.name = cc->name;
	p.kind = kinds[cc->kind];
	p.url = cc->target;
	p.expect = cc->expect;
	p.nexpect = cc->nexpect;
	for (i = 0; i < cc->nheaders; i++)
		headers[i] = xasprintf("%s: %s", cc->headers[i].name,
		    cc->headers[i].value);
	p.headers = (const char *const *)headers;
	p.nheaders = cc->nheaders;
	p.tls_verify = cc->tls_verify;
	p.addr = cc->addr;
	p.argv = cc->argv;
	p.load = cc->load == LOAD_CPU ? PROBE_LOAD_CPU : PROBE_LOAD_AVG;
	p.floor = cc->floor;
	p.interval = cc->interval;
	p.timeout = cc->timeout;
	p.rise = cc->rise;
	p.fall = cc->fall;
	c = probe_new(env, &p, probeset_change_cb, ps);
	for (i = 0; i < cc->nheaders; i++)
		free(headers[i]);
	free(headers);
	return c;
}

struct probeset *
probeset_new(const struct probe_env *env, const struct conf *conf,
    probeset_cb *cb, void *arg)
{
	struct probeset	*ps = xcalloc(1, sizeof(*ps));
	size_t		 i;

	ps->cb = cb;
	ps->arg = arg;
	ps->n = conf->nchecks;
	ps->probes = xcalloc(ps->n, sizeof(*ps->probes));
	for (i = 0; i < ps->n; i++)
		ps->probes[i] = probeset_build(env, &conf->checks[i], ps);
	return ps;
}

void
probeset_inherit(struct probeset *ps, const struct probeset *old)
{
	size_t	i, j;

	for (i = 0; i < ps->n; i++)
		for (j = 0; j < old->n; j++)
			if (strcmp(probe_name(ps->probes[i]),
			    probe_name(old->probes[j])) == 0)
				probe_inherit(ps->probes[i], old->probes[j]);
}

void
probeset_start(struct probeset *ps)
{
	size_t	i;

	for (i = 0; i < ps->n; i++)
		probe_start(ps->probes[i]);
}

int
probeset_state(const struct probeset *ps, size_t idx, const char **reason)
{
	*reason = probe_reason(ps->probes[idx]);
	return (int)probe_state(ps->probes[idx]);
}

int
probeset_weight(const struct probeset *ps, size_t idx)
{
	return probe_weight(ps->probes[idx]);
}

size_t
probeset_count(const struct probeset *ps)
{
	return ps->n;
}

const struct probe *
probeset_get(const struct probeset *ps, size_t idx)
{
	return ps->probes[idx];
}

void
probeset_free(struct probeset *ps)
{
	size_t	i;

	if (ps == NULL)
		return;
	for (i = 0; i < ps->n; i++)
		probe_free(ps->probes[i]);
	free(ps->probes);
	free(ps);
}
