/*
 * source_page.c: HAProxy's word from its stats page ("GET /stats;csv"),
 * through libcurl on the loop. The page has every row and no "show info":
 * no Pid, so a new process is told by the backends' ages (see page_ages).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "curlev.h"
#include "source.h"

struct source_page {
	struct source		 src;		/* first */
	struct curlev		*curl;
	CURL			*easy;
	char			*url;		/* with ";csv" */
	char			 shown[256];	/* url without its password */
	int64_t			 timeout;
	struct poll_plan	 plan;		/* copy: what to keep */
	char			**names;	/* the plan's backend names */
	struct sbuf		 body;
	int64_t			 started_us;
	int64_t			 last_age;	/* max_lastchg, last good poll */
	int64_t			 last_good_ms;
};

static size_t
page_body(char *data, size_t size, size_t n, void *arg)
{
	struct source_page	*s = arg;

	if (s->body.len + size * n > SOURCE_MAX_REPLY)
		return 0;		/* CURLE_WRITE_ERROR: too large */
	sbuf_append(&s->body, data, size * n);
	return size * n;
}

/*
 * The page gives every server row; keep them only where the plan asked for
 * them, so that verdicts and reasons are the same whichever source
 * HAProxy's word comes from.
 */
static void
page_filter(const struct poll_plan *plan, struct stats_snapshot *snap)
{
	bool	*keep;
	size_t	 i;

	if (plan->all_servers)
		return;
	/* The snapshot is sorted: one binary search per wanted backend. */
	keep = xcalloc(snap->nbackends, sizeof(*keep));
	for (i = 0; i < plan->ntargets; i++) {
		const struct stats_backend *be;

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
 * The page shows no Pid. A backend's "lastchg" counts the seconds since it
 * last changed state, since the process started for one that never did
 * (the page's own "listen stats" never does); a new process starts them
 * all at 0. So the largest one is the process's age, in whole seconds (it
 * errs young), and when it fell, to no more than the time since the last
 * good poll (which the old process answered), a new process answers. One
 * backend changing state cannot fake it: the largest then falls to the
 * next largest, which is older than that.
 */
static void
page_ages(struct source_page *s, struct source_reply *rep)
{
	int64_t	now = mono_ms(), age = rep->snap->max_lastchg;

	rep->age_ms = age >= 0 ? age * 1000 : -1;
	rep->restarted = age >= 0 && s->last_age >= 0 && age + 1 < s->last_age &&
	    age <= (now - s->last_good_ms) / 1000 + 1;
	s->last_age = age;
	s->last_good_ms = now;
}

static enum poll_error
page_result(struct source_page *s, CURLcode rc, struct source_reply *rep)
{
	long	code = 0;
	char	err[128];

	if (rc == CURLE_WRITE_ERROR) {
		snprintf(rep->detail, sizeof(rep->detail),
		    "reply larger than %u bytes", SOURCE_MAX_REPLY);
		return POLL_ETOOBIG;
	}
	if (rc == CURLE_OPERATION_TIMEDOUT) {
		snprintf(rep->detail, sizeof(rep->detail), "no reply from %s "
		    "within %lldms", s->shown, (long long)s->timeout);
		return POLL_ETIMEOUT;
	}
	if (rc == CURLE_COULDNT_CONNECT || rc == CURLE_COULDNT_RESOLVE_HOST) {
		snprintf(rep->detail, sizeof(rep->detail), "%s: %s", s->shown,
		    curl_easy_strerror(rc));
		return POLL_ECONNECT;
	}
	if (rc != CURLE_OK) {
		snprintf(rep->detail, sizeof(rep->detail), "%s: %s", s->shown,
		    curl_easy_strerror(rc));
		return POLL_EIO;
	}
	curl_easy_getinfo(s->easy, CURLINFO_RESPONSE_CODE, &code);
	if (code != 200) {
		snprintf(rep->detail, sizeof(rep->detail), "%s: HTTP %ld",
		    s->shown, code);
		return POLL_EGARBLED;
	}
	rep->snap = stats_snapshot_new();
	if (!stats_parse_csv(s->body.data, s->body.len, rep->snap, err,
	    sizeof(err))) {
		snprintf(rep->detail, sizeof(rep->detail), "stats page: %s", err);
		return POLL_EGARBLED;
	}
	stats_snapshot_finish(rep->snap);
	page_filter(&s->plan, rep->snap);
	page_ages(s, rep);
	return POLL_OK;
}

static void
page_done_cb(void *arg, CURL *easy, CURLcode rc)
{
	struct source_page	*s = arg;
	struct source_reply	 rep;

	s->src.busy = false;
	memset(&rep, 0, sizeof(rep));
	rep.age_ms = -1;
	rep.duration_us = mono_us() - s->started_us;
	rep.error = page_result(s, rc, &rep);
	if (rep.error != POLL_OK) {
		stats_snapshot_free(rep.snap);
		rep.snap = NULL;
	}
	sbuf_reset(&s->body);
	s->src.done(s->src.arg, &rep);
	stats_snapshot_free(rep.snap);
}

static void
page_send(struct source *src)
{
	struct source_page	*s = (struct source_page *)src;

	sbuf_reset(&s->body);
	s->started_us = mono_us();
	src->busy = true;
	curlev_add(s->curl, s->easy, page_done_cb, s);
}

static void
page_cancel(struct source *src)
{
	struct source_page	*s = (struct source_page *)src;

	if (src->busy)
		curlev_remove(s->curl, s->easy);
	src->busy = false;
}

static void
page_free_plan(struct source_page *s)
{
	size_t	i;

	for (i = 0; i < s->plan.ntargets; i++)
		free(s->names[i]);
	FREE(s->names);
	FREE(s->plan.targets);
	s->plan.ntargets = 0;
}

static void
page_set_plan(struct source *src, const struct poll_plan *plan)
{
	struct source_page	*s = (struct source_page *)src;
	size_t			 i;

	page_free_plan(s);
	s->plan = *plan;
	s->plan.targets = xcalloc(plan->ntargets, sizeof(*plan->targets));
	s->names = xcalloc(plan->ntargets, sizeof(*s->names));
	for (i = 0; i < plan->ntargets; i++) {
		s->names[i] = xstrdup(plan->targets[i].backend);
		s->plan.targets[i].backend = s->names[i];
		s->plan.targets[i].servers = plan->targets[i].servers;
	}
}

static void
page_set_timeout(struct source *src, int64_t ms)
{
	struct source_page	*s = (struct source_page *)src;

	s->timeout = ms;
	curl_easy_setopt(s->easy, CURLOPT_TIMEOUT_MS, (long)ms);
}

static const char *
page_request(const struct source *src)
{
	return ((const struct source_page *)src)->shown;
}

static void
page_free(struct source *src)
{
	struct source_page	*s = (struct source_page *)src;

	page_cancel(src);
	curl_easy_cleanup(s->easy);
	free(s->url);
	sbuf_free(&s->body);
	page_free_plan(s);
	free(s);
}

static const struct source_ops page_ops = {
	.set_plan = page_set_plan,
	.set_timeout = page_set_timeout,
	.send = page_send,
	.cancel = page_cancel,
	.request = page_request,
	.free = page_free,
};

struct source *
source_page_new(struct event_base *base, struct curlev *cv, const char *url,
    int64_t timeout_ms)
{
	struct source_page	*s = xcalloc(1, sizeof(*s));
	const char		*q = strchr(url, '?');
	size_t			 l = q != NULL ? (size_t)(q - url) : strlen(url);

	(void)base;
	s->src.ops = &page_ops;
	s->curl = cv;
	s->last_age = -1;
	s->url = xasprintf("%.*s;csv%s", (int)l, url, q != NULL ? q : "");
	url_redact(s->url, false, s->shown, sizeof(s->shown));
	s->easy = curl_easy_init();
	if (s->easy == NULL)
		abort();
	curl_easy_setopt(s->easy, CURLOPT_URL, s->url);
	curl_easy_setopt(s->easy, CURLOPT_WRITEFUNCTION, page_body);
	curl_easy_setopt(s->easy, CURLOPT_WRITEDATA, s);
	curl_easy_setopt(s->easy, CURLOPT_USERAGENT, "hapwatch/" HW_VERSION);
	curl_easy_setopt(s->easy, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(s->easy, CURLOPT_HTTPAUTH, CURLAUTH_BASIC);
	page_set_timeout(&s->src, timeout_ms);
	return &s->src;
}
