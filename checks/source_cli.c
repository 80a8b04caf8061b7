/*
 * source_cli.c: HAProxy's word over its CLI socket.
 *
 * It asks only for what the plan needs (HAPROXY.md section 3; the costs
 * are in BENCHMARKS.md): "show info" for the Pid and the uptime, then per
 * watched backend "show stat <be> 2 -1" (its backend row: nbsrv) or
 * "show stat <be> 6 -1" (backend and server rows: capacity), all on one
 * line joined by ';' and one connection. Past a few dozen backends, or
 * when the plan wants every backend, one "show stat -1 2 -1" (or
 * "-1 6 -1") is cheaper for HAProxy.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hacli.h"
#include "source.h"

struct source_cli {
	struct source		 src;		/* first */
	struct event_base	*base;
	struct addr		 addr;
	int64_t			 timeout;
	struct sbuf		 line;		/* request built from the plan */
	struct cli_shape	 shape;		/* what the line asks for */
	struct hacli_req	*req;		/* in flight, or NULL */
};

static const char *const poll_errors[POLL_NERRORS] = {
	[POLL_OK] = "ok",
	[POLL_ECONNECT] = "connect",
	[POLL_ETIMEOUT] = "timeout",
	[POLL_ETOOBIG] = "too_large",
	[POLL_EIO] = "io",
	[POLL_ETRUNCATED] = "truncated",
	[POLL_EGARBLED] = "garbled",
	[POLL_ESTOPPING] = "stopping",
};

const char *
poll_error_str(enum poll_error e)
{
	return (unsigned)e < POLL_NERRORS ? poll_errors[e] : "?";
}

static bool
plan_wants_servers(const struct poll_plan *plan)
{
	size_t	i;

	if (plan->all_servers)
		return true;
	for (i = 0; i < plan->ntargets; i++)
		if (plan->targets[i].servers)
			return true;
	return false;
}

/* The backends' part of the line. */
static void
build_backends(const struct poll_plan *plan, struct sbuf *line,
    struct cli_shape *shape)
{
	size_t	i;

	if (!plan->all && plan->ntargets > 0 &&
	    plan->ntargets <= POLL_MAX_TARGETED) {
		for (i = 0; i < plan->ntargets; i++)
			sbuf_printf(line, ";show stat %s %d -1",
			    plan->targets[i].backend,
			    plan->targets[i].servers ? 6 : 2);
		if (line->len <= HACLI_MAX_LINE) {
			shape->nstat = plan->ntargets;
			shape->targeted = true;
			return;
		}
		sbuf_reset(line);
		sbuf_puts(line, "show info");
	}
	sbuf_printf(line, ";show stat -1 %d -1",
	    plan_wants_servers(plan) ? 6 : 2);
	shape->nstat = 1;
}

void
source_cli_build_line(const struct poll_plan *plan, struct sbuf *line,
    struct cli_shape *shape)
{
	size_t	i, keep;

	memset(shape, 0, sizeof(*shape));
	sbuf_reset(line);
	sbuf_puts(line, "show info");
	build_backends(plan, line, shape);
	for (i = 0; i < plan->nfrontends; i++) {
		keep = line->len;
		sbuf_printf(line, ";show stat %s 1 -1", plan->frontends[i]);
		if (line->len > HACLI_MAX_LINE) {
			line->len = keep;	/* the rest wait for a shorter plan */
			line->data[keep] = '\0';
			break;
		}
		shape->nfe++;
	}
}

static bool
output_is(const char *out, size_t len, const char *text)
{
	size_t	tl = strlen(text);

	return len == tl + 1 && memcmp(out, text, tl) == 0 && out[tl] == '\n';
}

static void
first_line(const char *out, size_t len, char *dst, size_t dstlen)
{
	const char	*nl = memchr(out, '\n', len);
	size_t		 l = nl != NULL ? (size_t)(nl - out) : len;
	char		 tmp[128];

	if (l >= sizeof(tmp))
		l = sizeof(tmp) - 1;
	memcpy(tmp, out, l);
	tmp[l] = '\0';
	str_sanitize(dst, dstlen, tmp);
}

enum poll_error
source_cli_parse_reply(const struct cli_shape *shape, const char *reply,
    size_t len, struct stats_snapshot *snap, char *detail, size_t detlen)
{
	size_t		 nout = shape->nstat + shape->nfe + 1, i;
	const char	**starts = xcalloc(nout, sizeof(*starts));
	size_t		*lens = xcalloc(nout, sizeof(*lens));
	char		 err[128], line[64];
	enum poll_error	 rc = POLL_OK;
	int		 n;

	n = hacli_split(reply, len, starts, lens, nout);
	if (n < 0 || (size_t)n != nout) {
		snprintf(detail, detlen, "reply cut short (%d of %zu outputs)",
		    n < 0 ? 0 : n, nout);
		rc = n < 0 || (size_t)n < nout ? POLL_ETRUNCATED : POLL_EGARBLED;
		goto out;
	}
	if (!stats_parse_info(starts[0], lens[0], &snap->info, err,
	    sizeof(err))) {
		first_line(starts[0], lens[0], line, sizeof(line));
		snprintf(detail, detlen, "show info: %s: \"%s\"", err, line);
		rc = POLL_EGARBLED;
		goto out;
	}
	snap->has_info = true;
	if (snap->info.stopping) {
		/* Its servers' word is no longer HAProxy's current word. */
		snprintf(detail, detlen, "old HAProxy process (pid %d, Stopping: 1) "
		    "answered", snap->info.pid);
		rc = POLL_ESTOPPING;
		goto out;
	}
	for (i = 1; i < nout; i++) {
		/* A proxy named that does not exist: absent, not an error. */
		if ((shape->targeted || i > shape->nstat) &&
		    output_is(starts[i], lens[i], "No such proxy."))
			continue;
		if (!stats_parse_csv(starts[i], lens[i], snap, err,
		    sizeof(err))) {
			first_line(starts[i], lens[i], line, sizeof(line));
			snprintf(detail, detlen, "show stat: %s: \"%s\"", err,
			    line);
			rc = POLL_EGARBLED;
			goto out;
		}
	}
	stats_snapshot_finish(snap);
out:
	free(starts);
	free(lens);
	return rc;
}

/* Turn the CLI's answer into a reply. */
static void
cli_reply(struct source_cli *s, const struct hacli_result *r,
    struct source_reply *rep)
{
	switch (r->status) {
	case HACLI_OK:
		rep->snap = stats_snapshot_new();
		rep->error = source_cli_parse_reply(&s->shape, r->reply, r->len,
		    rep->snap, rep->detail, sizeof(rep->detail));
		if (rep->error == POLL_OK) {
			rep->pid = rep->snap->info.pid;
			rep->age_ms = rep->snap->info.uptime_sec * 1000;
		} else {
			stats_snapshot_free(rep->snap);
			rep->snap = NULL;
		}
		break;
	case HACLI_ECONNECT:
		rep->error = POLL_ECONNECT;
		snprintf(rep->detail, sizeof(rep->detail), "cannot connect to %s: %s",
		    s->addr.text, strerror(r->err));
		break;
	case HACLI_ETIMEOUT:
		rep->error = POLL_ETIMEOUT;
		snprintf(rep->detail, sizeof(rep->detail),
		    "no reply from %s within %lldms", s->addr.text,
		    (long long)s->timeout);
		break;
	case HACLI_ETOOBIG:
		rep->error = POLL_ETOOBIG;
		snprintf(rep->detail, sizeof(rep->detail),
		    "reply larger than %u bytes", SOURCE_MAX_REPLY);
		break;
	case HACLI_EIO:
		rep->error = POLL_EIO;
		snprintf(rep->detail, sizeof(rep->detail), "read from %s: %s",
		    s->addr.text, strerror(r->err));
		break;
	}
}

static void
cli_done_cb(void *arg, const struct hacli_result *r)
{
	struct source_cli	*s = arg;
	struct source_reply	 rep;

	s->req = NULL;
	s->src.busy = false;
	memset(&rep, 0, sizeof(rep));
	rep.age_ms = -1;
	rep.duration_us = r->duration_us;
	cli_reply(s, r, &rep);
	s->src.done(s->src.arg, &rep);
	stats_snapshot_free(rep.snap);
}

static void
cli_send(struct source *src)
{
	struct source_cli	*s = (struct source_cli *)src;

	src->busy = true;
	s->req = hacli_request(s->base, &s->addr, s->line.data,
	    SOURCE_MAX_REPLY, s->timeout, cli_done_cb, s);
}

static void
cli_cancel(struct source *src)
{
	struct source_cli	*s = (struct source_cli *)src;

	if (s->req != NULL)
		hacli_cancel(s->req);
	s->req = NULL;
	src->busy = false;
}

static void
cli_set_plan(struct source *src, const struct poll_plan *plan)
{
	struct source_cli	*s = (struct source_cli *)src;

	source_cli_build_line(plan, &s->line, &s->shape);
}

static void
cli_set_timeout(struct source *src, int64_t ms)
{
	((struct source_cli *)src)->timeout = ms;
}

static const char *
cli_request(const struct source *src)
{
	return ((const struct source_cli *)src)->line.data;
}

static void
cli_free(struct source *src)
{
	struct source_cli	*s = (struct source_cli *)src;

	cli_cancel(src);
	sbuf_free(&s->line);
	free(s);
}

static const struct source_ops cli_ops = {
	.set_plan = cli_set_plan,
	.set_timeout = cli_set_timeout,
	.send = cli_send,
	.cancel = cli_cancel,
	.request = cli_request,
	.free = cli_free,
};

struct source *
source_cli_new(struct event_base *base, const struct addr *addr,
    int64_t timeout_ms)
{
	struct source_cli	*s = xcalloc(1, sizeof(*s));
	struct poll_plan	 none = { 0 };

	s->src.ops = &cli_ops;
	s->base = base;
	s->addr = *addr;
	s->timeout = timeout_ms;
	cli_set_plan(&s->src, &none);
	return &s->src;
}
