/*
 * fectl.c: "disable frontend" / "enable frontend" on HAProxy's admin
 * socket, following the services' verdicts.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "fectl.h"
#include "hacli.h"
#include "log.h"
#include "service.h"

#define FE_MAX_REPLY	65536

struct fe {
	char				*name;
	size_t				 svc;	/* CONF_NONE: an orphan */
	enum fe_applied			 applied;
	bool				 sent_enable;	/* in the request in flight */
	bool				 in_flight;
	bool				 restore_sent;	/* tried once by the restore */
	/* We may have disabled it: set when a disable is sent, cleared only
	 * when an enable is confirmed. was_ours: its value before the send. */
	bool				 disabled_by_us;
	bool				 was_ours;
	char				 error[128];
};

struct fectl {
	struct fectl_env	 env;
	const struct svc	*svcs;
	struct fe		*fes;
	size_t			 n;
	struct hacli_req	*req;
	unsigned		 gen;		/* HAProxy processes seen */
	unsigned		 req_gen;	/* gen the request went to */
	bool			 again;
	bool			 restoring;
	bool			 outage;	/* HAProxy did not answer: said once */
	void			(*done)(void *);
	void			*done_arg;
};

struct fectl *
fectl_new(const struct fectl_env *env, const struct conf *conf,
    const struct svc *svcs)
{
	struct fectl	*f = xcalloc(1, sizeof(*f));
	size_t		 i;

	f->env = *env;
	f->svcs = svcs;
	f->n = conf->nfrontends;
	f->fes = xcalloc(f->n, sizeof(*f->fes));
	for (i = 0; i < f->n; i++) {
		f->fes[i].name = xstrdup(conf->frontends[i].name);
		f->fes[i].svc = conf->frontends[i].svc;
	}
	return f;
}

static struct fe *
fectl_find(struct fectl *f, const char *name)
{
	size_t	i;

	for (i = 0; i < f->n; i++)
		if (strcmp(f->fes[i].name, name) == 0)
			return &f->fes[i];
	return NULL;
}

void
fectl_inherit(struct fectl *f, const struct fectl *old)
{
	size_t	i;

	f->outage = old->outage;
	for (i = 0; i < old->n; i++) {
		const struct fe	*o = &old->fes[i];
		struct fe	*n = fectl_find(f, o->name);

		if (n == NULL && o->disabled_by_us) {
			/* No longer ours to control: give it back enabled. */
			f->fes = xrealloc(f->fes, (f->n + 1) * sizeof(*f->fes));
			n = &f->fes[f->n++];
			memset(n, 0, sizeof(*n));
			n->name = xstrdup(o->name);
			n->svc = CONF_NONE;
		}
		if (n == NULL)
			continue;
		/* A command in flight was cancelled with the old control. */
		n->applied = o->in_flight ? FE_UNKNOWN : o->applied;
		n->disabled_by_us = o->disabled_by_us;
		memcpy(n->error, o->error, sizeof(n->error));
	}
}

/* What fe should be, or -1 when there is no verdict to follow yet. */
static int
fe_wanted(const struct fectl *f, const struct fe *fe)
{
	const struct svc	*s;

	if (f->restoring || fe->svc == CONF_NONE)
		return fe->disabled_by_us ? 1 : -1;
	s = &f->svcs[fe->svc];
	if (!s->evaluated)
		return -1;
	return s->up ? 1 : 0;
}

static bool
fe_already(const char *out, size_t len)
{
	static const char	already[] = "All sockets are already ";

	return len >= sizeof(already) - 1 &&
	    memcmp(out, already, sizeof(already) - 1) == 0;
}

/* HAProxy's answer to the command sent for fe. */
static void
fe_result(struct fectl *f, struct fe *fe, const char *out, size_t len)
{
	bool	enable = fe->sent_enable;

	fe->in_flight = false;
	if (len == 0 || fe_already(out, len)) {
		if (fe->applied != (enable ? FE_ENABLED : FE_DISABLED))
			log_notice("frontend %s: %s%s", fe->name,
			    enable ? "enabled" : "disabled (clients now get a reset)",
			    len > 0 ? " (it already was)" : "");
		fe->applied = enable ? FE_ENABLED : FE_DISABLED;
		/* Enabled: not ours any more. Already disabled before our
		 * first disable: the operator's, to leave so on stop. */
		if (enable || (len > 0 && !fe->was_ours))
			fe->disabled_by_us = false;
		fe->error[0] = '\0';
		return;
	}
	{
		char	msg[128];
		size_t	l = len < sizeof(msg) ? len : sizeof(msg) - 1;

		memcpy(msg, out, l);
		msg[l] = '\0';
		if (l > 0 && msg[l - 1] == '\n')
			msg[l - 1] = '\0';
		str_sanitize(fe->error, sizeof(fe->error), msg);
	}
	fe->applied = FE_ERROR;
	if (!enable)
		fe->disabled_by_us = fe->was_ours;
	log_errx("frontend %s: HAProxy refused \"%s frontend\": %s",
	    fe->name, enable ? "enable" : "disable", fe->error);
}

static void fectl_send(struct fectl *f);

/* HAProxy did not answer (or did again): say so once when that starts,
 * with why, and once when it ends, not on every try (every poll). */
static void
fectl_outage(struct fectl *f, const struct hacli_result *r)
{
	if (r == NULL) {
		if (f->outage)
			log_notice("frontend control: %s answers again",
			    f->env.stats.text);
		f->outage = false;
		return;
	}
	if (f->outage)
		return;
	f->outage = true;
	if (r->err != 0)
		log_warnx("frontend control: %s on %s: %s; retrying on every "
		    "poll", hacli_status_str(r->status), f->env.stats.text,
		    strerror(r->err));
	else
		log_warnx("frontend control: %s on %s; retrying on every poll",
		    hacli_status_str(r->status), f->env.stats.text);
}

static void
fectl_done_cb(void *arg, const struct hacli_result *r)
{
	struct fectl	*f = arg;
	const char	*starts[256];
	size_t		 lens[256], i, k = 0;
	int		 n = -1;

	f->req = NULL;
	/* An answer from the process before a reload says nothing of the new
	 * one, which fectl_reapply() already marked unknown. */
	if (r->status == HACLI_OK && f->req_gen == f->gen)
		n = hacli_split(r->reply, r->len, starts, lens, 256);
	for (i = 0; i < f->n; i++) {
		struct fe *fe = &f->fes[i];

		if (!fe->in_flight)
			continue;
		if (n < 0 || k >= (size_t)n) {
			/* No word: HAProxy may or may not have done it. Send
			 * it again on the next poll. */
			fe->in_flight = false;
			fe->applied = FE_UNKNOWN;
			continue;
		}
		fe_result(f, fe, starts[k], lens[k]);
		k++;
	}
	if (f->req_gen == f->gen)
		fectl_outage(f, n < 0 ? r : NULL);
	/* A restore goes on until every frontend has been tried once (more
	 * than fit on one line take several); it calls done then. */
	if (f->again || f->restoring) {
		f->again = false;
		fectl_send(f);
	}
}

static void
fectl_send(struct fectl *f)
{
	struct sbuf	line = { 0 };
	size_t		i, count = 0;
	int		want;

	if (f->req != NULL) {
		f->again = true;
		return;
	}
	for (i = 0; i < f->n && count < 256; i++) {
		struct fe *fe = &f->fes[i];

		want = fe_wanted(f, fe);
		if (want < 0 || (fe->applied == FE_ERROR && !f->restoring) ||
		    fe->applied == (want ? FE_ENABLED : FE_DISABLED) ||
		    (f->restoring && fe->restore_sent))
			continue;
		/* Keep the line well under HAProxy's limit. */
		if (line.len + strlen(fe->name) + 20 > HACLI_MAX_LINE)
			break;
		sbuf_printf(&line, "%s%s frontend %s", count ? ";" : "",
		    want ? "enable" : "disable", fe->name);
		fe->sent_enable = want;
		fe->in_flight = true;
		fe->restore_sent = f->restoring;
		if (!want) {
			fe->was_ours = fe->disabled_by_us;
			fe->disabled_by_us = true;
		}
		count++;
	}
	f->req_gen = f->gen;
	if (count > 0)
		f->req = hacli_request(f->env.base, &f->env.stats, line.data,
		    FE_MAX_REPLY, f->env.timeout, fectl_done_cb, f);
	sbuf_free(&line);
	if (count == 0 && f->restoring && f->done != NULL) {
		void (*done)(void *) = f->done;

		f->done = NULL;
		done(f->done_arg);
	}
}

void
fectl_update(struct fectl *f)
{
	if (f->n > 0 && !f->restoring)
		fectl_send(f);
}

void
fectl_reapply(struct fectl *f)
{
	size_t	i;

	f->gen++;
	for (i = 0; i < f->n; i++)
		f->fes[i].applied = FE_UNKNOWN;
	fectl_update(f);
}

void
fectl_restore(struct fectl *f, void (*done)(void *), void *arg)
{
	f->restoring = true;
	f->done = done;
	f->done_arg = arg;
	if (f->req == NULL)
		fectl_send(f);
	else
		f->again = true;
}

size_t
fectl_count(const struct fectl *f)
{
	return f->n;
}

void
fectl_status(const struct fectl *f, size_t i, struct fe_status *st)
{
	const struct fe	*fe = &f->fes[i];
	int		 want = fe_wanted(f, fe);

	st->name = fe->name;
	st->svc = fe->svc;
	st->want_enabled = want != 0;
	st->applied = fe->applied;
	st->error = fe->error[0] != '\0' ? fe->error : NULL;
}

void
fectl_free(struct fectl *f)
{
	if (f == NULL)
		return;
	if (f->req != NULL)
		hacli_cancel(f->req);
	for (size_t i = 0; i < f->n; i++)
		free(f->fes[i].name);
	free(f->fes);
	free(f);
}
