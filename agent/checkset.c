/*
 * checkset.c: turn conf checks into running probes; a probe's change of
 * state re-evaluates the services.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "checkset.h"
#include "hapwatch.h"
#include "log.h"

struct checks {
	struct hw	 *hw;
	struct chk	**chks;
	size_t		  n;
};

static void
checks_change_cb(void *arg, struct chk *c)
{
	struct checks	*cs = arg;
	static const char *const names[] = { "down", "up" };
	enum chk_state	 st = chk_state(c);

	log_debug("check %s: %s (%s)", chk_name(c),
	    st == CHK_UNKNOWN ? "unknown" : names[st], chk_reason(c));
	hw_evaluate(cs->hw);
}

static struct chk *
checks_build(struct hw *hw, const struct conf_check *cc, struct checks *cs)
{
	static const enum chk_kind kinds[] = {
		[CHECK_HTTP] = CHK_HTTP, [CHECK_TCP] = CHK_TCP,
		[CHECK_EXEC] = CHK_EXEC,
	};
	struct chk_params	 p = { 0 };
	struct chk_env		 env = { hw->base, hw->curl, hw->children };
	char			**headers = xcalloc(cc->nheaders + 1,
				    sizeof(*headers));
	struct chk		*c;
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
	p.interval = cc->interval;
	p.timeout = cc->timeout;
	p.rise = cc->rise;
	p.fall = cc->fall;
	c = chk_new(&env, &p, checks_change_cb, cs);
	for (i = 0; i < cc->nheaders; i++)
		free(headers[i]);
	free(headers);
	return c;
}

struct checks *
checks_new(struct hw *hw)
{
	struct checks	*cs = xcalloc(1, sizeof(*cs));
	size_t		 i;

	cs->hw = hw;
	cs->n = hw->conf->nchecks;
	cs->chks = xcalloc(cs->n, sizeof(*cs->chks));
	for (i = 0; i < cs->n; i++)
		cs->chks[i] = checks_build(hw, &hw->conf->checks[i], cs);
	return cs;
}

void
checks_inherit(struct checks *cs, const struct checks *old)
{
	size_t	i, j;

	for (i = 0; i < cs->n; i++)
		for (j = 0; j < old->n; j++)
			if (strcmp(chk_name(cs->chks[i]), chk_name(old->chks[j])) == 0)
				chk_inherit(cs->chks[i], old->chks[j]);
}

void
checks_start(struct checks *cs)
{
	size_t	i;

	for (i = 0; i < cs->n; i++)
		chk_start(cs->chks[i]);
}

int
checks_state(struct checks *cs, size_t idx, const char **reason)
{
	*reason = chk_reason(cs->chks[idx]);
	return (int)chk_state(cs->chks[idx]);
}

size_t
checks_count(const struct checks *cs)
{
	return cs->n;
}

const struct chk *
checks_get(const struct checks *cs, size_t idx)
{
	return cs->chks[idx];
}

void
checks_free(struct checks *cs)
{
	size_t	i;

	if (cs == NULL)
		return;
	for (i = 0; i < cs->n; i++)
		chk_free(cs->chks[i]);
	free(cs->chks);
	free(cs);
}
