/*
 * poller.c: targeted stats polls over the HAProxy CLI.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "curlev.h"
#include "hacli.h"
#include "poller.h"

struct poller {
	struct event_base	*base;
	struct hw_addr		 addr;
	int64_t			 interval;
	int64_t			 timeout;
	poller_cb		*cb;
	void			*arg;
	struct poll_plan	 plan;		/* copy; names owned below */
	char			**names;
	struct sbuf		 line;		/* request built from the plan */
	size_t			 nstat;		/* "show stat" outputs it asks for */
	bool			 targeted;	/* ... one per watched backend */
	struct event		*tick;
	struct hacli_req	*req;		/* in flight, or NULL */
	/* stats page (poller_new_http) */
	struct curlev		*curl;
	CURL			*easy;		/* NULL: the CLI is used */
	char			*url;		/* with ";csv" */
	char			 shown[256];	/* url without its password */
	struct sbuf		 body;
	bool			 http_busy;
	int64_t			 last_age;	/* max_lastchg, last good poll */
	int64_t			 last_good_ms;
	bool			 again;		/* a trigger came meanwhile */
	int64_t			 started_us;
	bool			 started;
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
plan_targeted(const struct poll_plan *plan)
{
	return !plan->all && plan->ntargets <= POLL_MAX_TARGETED;
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

/*
 * Build "show info;show stat ..." for the plan. Returns how many
 * "show stat" outputs the line asks for; *targeted tells whether they
 * name backends one by one.
 */
static size_t
poller_build_line(const struct poll_plan *plan, struct sbuf *line,
    bool *targeted)
{
	size_t	i;

	sbuf_reset(line);
	sbuf_puts(line, "show info");
	*targeted = false;
	if (plan_targeted(plan) && plan->ntargets > 0) {
		for (i = 0; i < plan->ntargets; i++)
			sbuf_printf(line, ";show stat %s %d -1",
			    plan->targets[i].backend,
			    plan->targets[i].servers ? 6 : 2);
		if (line->len <= HACLI_MAX_LINE) {
			*targeted = true;
			return plan->ntargets;
		}
		sbuf_reset(line);
		sbuf_puts(line, "show info");
	}
	sbuf_printf(line, ";show stat -1 %d -1",
	    plan_wants_servers(plan) ? 6 : 2);
	return 1;
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
poller_parse_reply(size_t nstat, bool targeted, const char *reply,
    size_t len, struct hap_snapshot *snap, char *detail, size_t detlen)
{
	size_t		 nout = nstat + 1, i;
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
		/* A watched backend that does not exist: absent, not an error. */
		if (targeted && output_is(starts[i], lens[i], "No such proxy."))
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

static void poller_send(struct poller *p);

/* Hand a result to the owner, then send the poll triggers asked for. */
static void
poller_deliver(struct poller *p, struct poll_result *res)
{
	p->cb(p->arg, res);
	if (res->snap != NULL) {
		stats_snapshot_free(res->snap);
		free(res->snap);
	}
	if (p->again) {
		p->again = false;
		poller_send(p);
	}
}

static void
poller_done_cb(void *arg, const struct hacli_result *r)
{
	struct poller		*p = arg;
	struct poll_result	 res;

	p->req = NULL;
	memset(&res, 0, sizeof(res));
	res.duration_us = r->duration_us;
	switch (r->status) {
	case HACLI_OK:
		res.snap = xmalloc(sizeof(*res.snap));
		stats_snapshot_init(res.snap);
		res.error = poller_parse_reply(p->nstat, p->targeted, r->reply, r->len,
		    res.snap, res.detail, sizeof(res.detail));
		if (res.error != POLL_OK) {
			stats_snapshot_free(res.snap);
			FREE(res.snap);
		}
		break;
	case HACLI_ECONNECT:
		res.error = POLL_ECONNECT;
		snprintf(res.detail, sizeof(res.detail), "cannot connect to %s: %s",
		    p->addr.text, strerror(r->err));
		break;
	case HACLI_ETIMEOUT:
		res.error = POLL_ETIMEOUT;
		snprintf(res.detail, sizeof(res.detail), "no reply from %s within %lldms",
		    p->addr.text, (long long)p->timeout);
		break;
	case HACLI_ETOOBIG:
		res.error = POLL_ETOOBIG;
		snprintf(res.detail, sizeof(res.detail), "reply larger than %u bytes",
		    POLL_MAX_REPLY);
		break;
	case HACLI_EIO:
		res.error = POLL_EIO;
		snprintf(res.detail, sizeof(res.detail), "read from %s: %s",
		    p->addr.text, strerror(r->err));
		break;
	}
	poller_deliver(p, &res);
}

static void poller_http_send(struct poller *p);
static void poller_tick_cb(evutil_socket_t fd, short what, void *arg);

static void
poller_send(struct poller *p)
{
	if (poller_in_flight(p)) {
		p->again = true;
		return;
	}
	if (p->easy != NULL) {
		poller_http_send(p);
		return;
	}
	p->req = hacli_request(p->base, &p->addr, p->line.data, POLL_MAX_REPLY,
	    p->timeout, poller_done_cb, p);
}

/* ---- the stats page ---- */

static size_t
poller_http_body(char *data, size_t size, size_t n, void *arg)
{
	struct poller	*p = arg;

	if (p->body.len + size * n > POLL_MAX_REPLY)
		return 0;		/* CURLE_WRITE_ERROR: too large */
	sbuf_append(&p->body, data, size * n);
	return size * n;
}

/*
 * The stats page gives every server row; keep them only where the plan
 * asked for them, so that verdicts and reasons are the same whichever
 * source HAProxy's word comes from.
 */
static void
poller_http_filter(const struct poll_plan *plan, struct hap_snapshot *snap)
{
	bool	*keep;
	size_t	 i;

	if (plan->all_servers)
		return;
	/* The snapshot is sorted: one binary search per wanted backend. */
	keep = xcalloc(snap->nbackends, sizeof(*keep));
	for (i = 0; i < plan->ntargets; i++) {
		const struct hap_backend *be;

		if (plan->targets[i].servers &&
		    (be = stats_find_backend(snap, plan->targets[i].backend)) != NULL)
			keep[be - snap->backends] = true;
	}
	for (i = 0; i < snap->nbackends; i++)
		if (!keep[i])
			stats_forget_servers(&snap->backends[i]);
	free(keep);
}

/*
 * The stats page shows no Pid. A backend's "lastchg" counts the seconds
 * since it last changed state, since the process started for one that
 * never did (the page's own "listen stats" never does); a new process
 * starts them all at 0. So: the largest one fell, to no more than the time
 * since the last good poll (which the old process answered) -> a new
 * process. One backend changing state cannot fake it: the largest then
 * falls to the next largest, which is older than that.
 */
static void
poller_http_new_process(struct poller *p, struct poll_result *res)
{
	int64_t	now = mono_ms(), age = res->snap->max_lastchg;

	res->new_process = age >= 0 && p->last_age >= 0 &&
	    age + 1 < p->last_age && age <= (now - p->last_good_ms) / 1000 + 1;
	p->last_age = age;
	p->last_good_ms = now;
}

static enum poll_error
poller_http_result(struct poller *p, CURLcode rc, struct poll_result *res)
{
	long	code = 0;
	char	err[128];

	if (rc == CURLE_WRITE_ERROR) {
		snprintf(res->detail, sizeof(res->detail),
		    "reply larger than %u bytes", POLL_MAX_REPLY);
		return POLL_ETOOBIG;
	}
	if (rc == CURLE_OPERATION_TIMEDOUT) {
		snprintf(res->detail, sizeof(res->detail), "no reply from %s "
		    "within %lldms", p->shown, (long long)p->timeout);
		return POLL_ETIMEOUT;
	}
	if (rc == CURLE_COULDNT_CONNECT || rc == CURLE_COULDNT_RESOLVE_HOST) {
		snprintf(res->detail, sizeof(res->detail), "%s: %s", p->shown,
		    curl_easy_strerror(rc));
		return POLL_ECONNECT;
	}
	if (rc != CURLE_OK) {
		snprintf(res->detail, sizeof(res->detail), "%s: %s", p->shown,
		    curl_easy_strerror(rc));
		return POLL_EIO;
	}
	curl_easy_getinfo(p->easy, CURLINFO_RESPONSE_CODE, &code);
	if (code != 200) {
		snprintf(res->detail, sizeof(res->detail), "%s: HTTP %ld", p->shown,
		    code);
		return POLL_EGARBLED;
	}
	res->snap = xmalloc(sizeof(*res->snap));
	stats_snapshot_init(res->snap);
	if (!stats_parse_csv(p->body.data, p->body.len, res->snap, err,
	    sizeof(err))) {
		snprintf(res->detail, sizeof(res->detail), "stats page: %s", err);
		return POLL_EGARBLED;
	}
	stats_snapshot_finish(res->snap);
	poller_http_filter(&p->plan, res->snap);
	poller_http_new_process(p, res);
	return POLL_OK;
}

static void
poller_http_done(void *arg, CURL *easy, CURLcode rc)
{
	struct poller		*p = arg;
	struct poll_result	 res;

	p->http_busy = false;
	memset(&res, 0, sizeof(res));
	res.duration_us = mono_us() - p->started_us;
	res.error = poller_http_result(p, rc, &res);
	if (res.error != POLL_OK && res.snap != NULL) {
		stats_snapshot_free(res.snap);
		FREE(res.snap);
	}
	sbuf_reset(&p->body);
	poller_deliver(p, &res);
}

static void
poller_http_send(struct poller *p)
{
	sbuf_reset(&p->body);
	p->started_us = mono_us();
	p->http_busy = true;
	curlev_add(p->curl, p->easy, poller_http_done, p);
}

struct poller *
poller_new_http(struct event_base *base, struct curlev *cv, const char *url,
    int64_t interval_ms, int64_t timeout_ms, poller_cb *cb, void *arg)
{
	struct poller	*p = xcalloc(1, sizeof(*p));
	const char	*q = strchr(url, '?');
	size_t		 l = q != NULL ? (size_t)(q - url) : strlen(url);

	p->base = base;
	p->curl = cv;
	p->last_age = -1;
	p->cb = cb;
	p->arg = arg;
	p->tick = event_new(base, -1, EV_PERSIST, poller_tick_cb, p);
	p->url = xasprintf("%.*s;csv%s", (int)l, url, q != NULL ? q : "");
	url_redact(p->url, false, p->shown, sizeof(p->shown));
	p->easy = curl_easy_init();
	if (p->easy == NULL)
		abort();
	curl_easy_setopt(p->easy, CURLOPT_URL, p->url);
	curl_easy_setopt(p->easy, CURLOPT_WRITEFUNCTION, poller_http_body);
	curl_easy_setopt(p->easy, CURLOPT_WRITEDATA, p);
	curl_easy_setopt(p->easy, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
	curl_easy_setopt(p->easy, CURLOPT_USERAGENT, "hapwatch/" HW_VERSION);
	curl_easy_setopt(p->easy, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(p->easy, CURLOPT_HTTPAUTH, CURLAUTH_BASIC);
	poller_set_timing(p, interval_ms, timeout_ms);
	sbuf_puts(&p->line, p->shown);
	return p;
}

static void
poller_tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct poller	*p = arg;

	/* A regular tick while a poll is still out is skipped, not queued:
	 * the poll in flight already answers for this interval. */
	if (!poller_in_flight(p))
		poller_send(p);
}

struct poller *
poller_new(struct event_base *base, const struct hw_addr *addr,
    int64_t interval_ms, int64_t timeout_ms, poller_cb *cb, void *arg)
{
	struct poller	*p = xcalloc(1, sizeof(*p));

	p->base = base;
	p->addr = *addr;
	p->cb = cb;
	p->arg = arg;
	p->tick = event_new(base, -1, EV_PERSIST, poller_tick_cb, p);
	poller_set_timing(p, interval_ms, timeout_ms);
	p->nstat = poller_build_line(&p->plan, &p->line, &p->targeted);
	return p;
}

static void
poller_free_plan(struct poller *p)
{
	size_t	i;

	for (i = 0; i < p->plan.ntargets; i++)
		free(p->names[i]);
	FREE(p->names);
	FREE(p->plan.targets);
	p->plan.ntargets = 0;
}

void
poller_set_plan(struct poller *p, const struct poll_plan *plan)
{
	size_t	i;

	poller_free_plan(p);
	p->plan = *plan;
	p->plan.targets = xcalloc(plan->ntargets, sizeof(*plan->targets));
	p->names = xcalloc(plan->ntargets, sizeof(*p->names));
	for (i = 0; i < plan->ntargets; i++) {
		p->names[i] = xstrdup(plan->targets[i].backend);
		p->plan.targets[i].backend = p->names[i];
		p->plan.targets[i].servers = plan->targets[i].servers;
	}
	if (p->easy != NULL)
		return;		/* the page: the plan filters at parse time */
	p->nstat = poller_build_line(&p->plan, &p->line, &p->targeted);
	/* A reply to the old line must not be read with the new counts. */
	if (p->req != NULL) {
		hacli_cancel(p->req);
		p->req = NULL;
		poller_send(p);
	}
}

void
poller_set_timing(struct poller *p, int64_t interval_ms, int64_t timeout_ms)
{
	struct timeval	tv;
	bool		rearm = p->interval != interval_ms;

	p->interval = interval_ms;
	p->timeout = timeout_ms;
	if (p->easy != NULL)
		curl_easy_setopt(p->easy, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
	/* Re-adding the tick would push the next poll a whole interval back:
	 * only when the interval itself changed. */
	if (!p->started || !rearm)
		return;
	tv = tv_ms(interval_ms);
	event_add(p->tick, &tv);
}

void
poller_start(struct poller *p)
{
	struct timeval	tv = tv_ms(p->interval);

	p->started = true;
	event_add(p->tick, &tv);
	poller_send(p);
}

void
poller_trigger(struct poller *p)
{
	poller_send(p);
}

bool
poller_in_flight(const struct poller *p)
{
	return p->req != NULL || p->http_busy;
}

const char *
poller_request_line(struct poller *p)
{
	return p->line.data;
}

void
poller_free(struct poller *p)
{
	if (p == NULL)
		return;
	if (p->req != NULL)
		hacli_cancel(p->req);
	if (p->easy != NULL) {
		if (p->http_busy)
			curlev_remove(p->curl, p->easy);
		curl_easy_cleanup(p->easy);
	}
	free(p->url);
	sbuf_free(&p->body);
	event_free(p->tick);
	poller_free_plan(p);
	sbuf_free(&p->line);
	free(p);
}
