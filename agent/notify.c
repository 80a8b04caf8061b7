/*
 * notify.c: exec hooks, webhooks and track files.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/wait.h>
#include <unistd.h>

#include <curl/curl.h>
#include <event2/event.h>
#include <json-c/json.h>

#include "child.h"
#include "conf.h"
#include "curlev.h"
#include "log.h"
#include "metrics.h"
#include "notify.h"
#include "service.h"

#define HOOK_OUTPUT_MAX	4096

/* One event to deliver: notify_event's copy. */
struct nevent {
	size_t			svc;
	char			event[24];
	char			name[80];	/* the service's */
	char			state[16];
	char			prev[16];
	char			reason[SVC_REASON_MAX];
	int64_t			wall;
	TAILQ_ENTRY(nevent)	link;
};
TAILQ_HEAD(nevent_q, nevent);

/* Exec hooks run one at a time per service, in transition order. */
struct hookq {
	struct ntarget		*t;
	size_t			 svc;
	struct nevent_q		 events;
	struct child		*running;
};

struct ntarget {
	struct notifier			*nf;
	char				 shown[256];	/* target for logs */
	struct conf_notify		*conf;	/* own copy: outlives reloads */
	/* NOTIFY_EXEC: one queue per service */
	struct hookq			*hooks;
	/* NOTIFY_WEBHOOK */
	struct nevent_q			 queue;
	size_t				 qlen;
	CURL				*easy;
	struct curl_slist		*hdrs;
	char				*body;
	bool				 in_flight;
	int				 attempt;
	struct event			*retry;
	/* NOTIFY_TRACK_FILE */
	int				 written;	/* -1 never */
};

struct notifier {
	struct notify_env	 env;
	struct ntarget		*t;
	size_t			 n;
	size_t			 nsvcs;		/* hook queues per target */
	char			 host[256];
};

/* Whether t hears of service idx's events; HAProxy's own (CONF_NONE, a
 * failed reload) go to every hook and webhook. */
static bool
target_wants(const struct ntarget *t, size_t idx)
{
	size_t	i;

	if (t->conf->svcs == NULL || idx == CONF_NONE)
		return true;
	for (i = 0; i < t->conf->nsvcs; i++)
		if (t->conf->svcs[i] == idx)
			return true;
	return false;
}

static struct nevent *
nevent_new(const struct notify_event *ev)
{
	struct nevent	*e = xcalloc(1, sizeof(*e));

	e->svc = ev->svc;
	snprintf(e->event, sizeof(e->event), "%s", ev->event);
	snprintf(e->name, sizeof(e->name), "%s", ev->service);
	snprintf(e->state, sizeof(e->state), "%s", ev->state);
	snprintf(e->prev, sizeof(e->prev), "%s", ev->prev);
	snprintf(e->reason, sizeof(e->reason), "%s", ev->reason);
	e->wall = ev->wall;
	return e;
}

/* ---- track files ---- */

bool
notify_track_write(const char *path, bool up)
{
	char	tmp[4096];
	int	fd, n;

	n = snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path, (int)getpid());
	if (n < 0 || (size_t)n >= sizeof(tmp)) {
		errno = ENAMETOOLONG;
		return false;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return false;
	if (write(fd, up ? "0\n" : "1\n", 2) != 2) {
		close(fd);
		unlink(tmp);
		return false;
	}
	if (close(fd) < 0 || rename(tmp, path) < 0) {
		unlink(tmp);
		return false;
	}
	return true;
}

static void
track_update(struct ntarget *t, const struct svc *svcs)
{
	bool	up = true, known = false;
	size_t	i;

	for (i = 0; i < t->nf->nsvcs; i++) {
		if (!target_wants(t, i))
			continue;
		known = known || svcs[i].evaluated;
		if (!svc_state_serves(svcs[i].state))
			up = false;
	}
	if (!known || t->written == (int)up)
		return;
	if (!notify_track_write(t->conf->target, up)) {
		metrics_inc(t->nf->env.metrics, MC_TRACK_FAILURES);
		log_warn("track file %s", t->conf->target);
		return;
	}
	metrics_inc(t->nf->env.metrics, MC_TRACK_WRITES);
	t->written = up;
}

/* ---- exec hooks ---- */

static void hook_next(struct hookq *q);

static void
hook_done_cb(void *arg, const struct child_result *r)
{
	struct hookq	*q = arg;
	struct nevent	*e = TAILQ_FIRST(&q->events);
	struct notifier	*nf = q->t->nf;
	const char	*svc = e->name;
	char		 desc[128], first[160];
	const char	*nl = memchr(r->output, '\n', r->outlen);
	size_t		 l = nl != NULL ? (size_t)(nl - r->output) : r->outlen;
	bool		 ok = r->spawn_err == 0 && !r->timed_out &&
			    WIFEXITED(r->status) && WEXITSTATUS(r->status) == 0;

	q->running = NULL;
	child_describe(r, desc, sizeof(desc));
	if (l >= sizeof(first))
		l = sizeof(first) - 1;
	memcpy(first, r->output, l);
	first[l] = '\0';
	str_sanitize(first, sizeof(first), first);
	if (ok) {
		log_info("hook %s (%s -> %s): %s in %lldms", q->t->conf->target,
		    svc, e->state, desc, (long long)r->duration_ms);
	} else {
		metrics_inc(nf->env.metrics, MC_HOOK_FAILURES);
		log_warnx("hook %s (%s -> %s): %s%s%s", q->t->conf->target, svc,
		    e->state, desc, l > 0 ? ": " : "", first);
	}
	TAILQ_REMOVE(&q->events, e, link);
	free(e);
	hook_next(q);
}

#define HOOK_NENV	8	/* six HAPWATCH_*, PATH, NULL */

static void
hook_env(const struct nevent *e, char **env)
{
	char	when[32];

	fmt_rfc3339(e->wall, when, sizeof(when));
	env[0] = xasprintf("HAPWATCH_EVENT=%s", e->event);
	env[1] = xasprintf("HAPWATCH_SERVICE=%s", e->name);
	env[2] = xasprintf("HAPWATCH_STATE=%s", e->state);
	env[3] = xasprintf("HAPWATCH_PREVIOUS=%s", e->prev);
	env[4] = xasprintf("HAPWATCH_REASON=%s", e->reason);
	env[5] = xasprintf("HAPWATCH_TIME=%s", when);
	env[6] = xasprintf("PATH=%s", getenv("PATH") != NULL ? getenv("PATH") :
	    "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
	env[7] = NULL;
}

/* Start the hook for the event at the head of q, if none runs. */
static void
hook_next(struct hookq *q)
{
	struct nevent	*e = TAILQ_FIRST(&q->events);
	char		*env[HOOK_NENV];
	size_t		 i;

	if (e == NULL || q->running != NULL)
		return;
	hook_env(e, env);
	metrics_inc(q->t->nf->env.metrics, MC_HOOK_RUNS);
	q->running = child_spawn(q->t->nf->env.children, q->t->conf->argv, env,
	    q->t->conf->timeout, HOOK_OUTPUT_MAX, hook_done_cb, q);
	for (i = 0; env[i] != NULL; i++)
		free(env[i]);
}

/* ---- webhooks ---- */

static void webhook_send(struct ntarget *t);

static char *
webhook_body(struct notifier *nf, const struct nevent *e)
{
	json_object	*o = json_object_new_object();
	const char	*svc = e->name;
	char		 when[32], *text, *body;

	fmt_rfc3339(e->wall, when, sizeof(when));
	if (e->svc == CONF_NONE)	/* HAProxy's own: a failed reload */
		text = xasprintf("%s: %s", nf->host, e->reason);
	else if (strcmp(e->event, "let_go") == 0)
		text = xasprintf("%s: service %s: the drain has %s", nf->host,
		    svc, e->reason);
	else
		text = xasprintf("%s: service %s is %s (was %s): %s", nf->host,
		    svc, e->state, e->prev, e->reason);
	json_object_object_add(o, "event", json_object_new_string(e->event));
	json_object_object_add(o, "service", e->svc == CONF_NONE ? NULL :
	    json_object_new_string(svc));
	json_object_object_add(o, "state", json_object_new_string(e->state));
	json_object_object_add(o, "previous", json_object_new_string(e->prev));
	json_object_object_add(o, "reason", json_object_new_string(e->reason));
	json_object_object_add(o, "time", json_object_new_string(when));
	json_object_object_add(o, "host", json_object_new_string(nf->host));
	json_object_object_add(o, "text", json_object_new_string(text));
	body = xstrdup(json_object_to_json_string_ext(o,
	    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
	free(text);
	return body;
}

int64_t
notify_backoff_ms(int failed)
{
	int64_t	wait = 1000LL << (failed - 1);

	return wait > NOTIFY_BACKOFF_MAX_MS ? NOTIFY_BACKOFF_MAX_MS : wait;
}

static size_t
webhook_discard(char *p, size_t size, size_t n, void *arg)
{
	return size * n;
}

static void
webhook_retry_cb(evutil_socket_t fd, short what, void *arg)
{
	webhook_send(arg);
}

static void
webhook_done_cb(void *arg, CURL *easy, CURLcode rc)
{
	struct ntarget	*t = arg;
	struct nevent	*e = TAILQ_FIRST(&t->queue);
	long		 code = 0;
	int64_t		 wait;
	struct timeval	 tv;

	t->in_flight = false;
	if (rc == CURLE_OK)
		curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &code);
	if (rc == CURLE_OK && code >= 200 && code < 300) {
		metrics_inc(t->nf->env.metrics, MC_WEBHOOK_SENT);
		goto next;
	}
	if (++t->attempt >= NOTIFY_RETRIES) {
		metrics_inc(t->nf->env.metrics, MC_WEBHOOK_FAILURES);
		log_errx("webhook %s: giving up on %s -> %s after %d attempts: %s",
		    t->shown, e->name, e->state,
		    t->attempt, rc != CURLE_OK ? curl_easy_strerror(rc) : "HTTP error");
		goto next;
	}
	metrics_inc(t->nf->env.metrics, MC_WEBHOOK_RETRIES);
	wait = notify_backoff_ms(t->attempt);
	if (rc != CURLE_OK)
		log_warnx("webhook %s: %s (retry in %llds)", t->shown,
		    curl_easy_strerror(rc), (long long)wait / 1000);
	else
		log_warnx("webhook %s: HTTP %ld (retry in %llds)", t->shown,
		    code, (long long)wait / 1000);
	tv = tv_ms(wait);
	evtimer_add(t->retry, &tv);
	return;
next:
	TAILQ_REMOVE(&t->queue, e, link);
	t->qlen--;
	free(e);
	FREE(t->body);
	t->attempt = 0;
	webhook_send(t);
}

/* Send the head of the queue (one at a time: receivers see the order). */
static void
webhook_send(struct ntarget *t)
{
	struct nevent	*e = TAILQ_FIRST(&t->queue);

	if (e == NULL || t->in_flight || evtimer_pending(t->retry, NULL))
		return;
	if (t->body == NULL)
		t->body = webhook_body(t->nf, e);
	if (t->easy == NULL) {
		t->easy = curl_easy_init();
		if (t->easy == NULL)
			abort();
		t->hdrs = curl_slist_append(NULL, "Content-Type: application/json");
	}
	curl_easy_reset(t->easy);
	curl_easy_setopt(t->easy, CURLOPT_URL, t->conf->target);
	curl_easy_setopt(t->easy, CURLOPT_HTTPHEADER, t->hdrs);
	curl_easy_setopt(t->easy, CURLOPT_POSTFIELDS, t->body);
	curl_easy_setopt(t->easy, CURLOPT_WRITEFUNCTION, webhook_discard);
	curl_easy_setopt(t->easy, CURLOPT_TIMEOUT_MS, (long)t->conf->timeout);
	curl_easy_setopt(t->easy, CURLOPT_SSL_VERIFYPEER, t->conf->tls_verify ? 1L : 0L);
	curl_easy_setopt(t->easy, CURLOPT_SSL_VERIFYHOST, t->conf->tls_verify ? 2L : 0L);
	curl_easy_setopt(t->easy, CURLOPT_USERAGENT, "hapwatch/" HW_VERSION);
	curl_easy_setopt(t->easy, CURLOPT_PROTOCOLS_STR, "http,https");
	t->in_flight = true;
	curlev_add(t->nf->env.curl, t->easy, webhook_done_cb, t);
}

static void
webhook_queue(struct ntarget *t, struct nevent *e)
{
	if (t->qlen >= NOTIFY_QUEUE_MAX) {
		/* Keep the newest; the one being sent stays at the head. */
		struct nevent *old = TAILQ_NEXT(TAILQ_FIRST(&t->queue), link);

		if (old != NULL) {
			TAILQ_REMOVE(&t->queue, old, link);
			free(old);
			t->qlen--;
			metrics_inc(t->nf->env.metrics, MC_WEBHOOK_DROPPED);
		}
	}
	TAILQ_INSERT_TAIL(&t->queue, e, link);
	t->qlen++;
	webhook_send(t);
}

/* ---- the notifier ---- */

static struct conf_notify *
notify_conf_copy(const struct conf_notify *c)
{
	struct conf_notify	*n = xcalloc(1, sizeof(*n));
	size_t			 i, argc = 0;

	*n = *c;
	n->target = xstrdup(c->target);
	if (c->argv != NULL) {
		while (c->argv[argc] != NULL)
			argc++;
		n->argv = xcalloc(argc + 1, sizeof(*n->argv));
		for (i = 0; i < argc; i++)
			n->argv[i] = xstrdup(c->argv[i]);
	}
	if (c->svcs != NULL) {
		n->svcs = xcalloc(c->nsvcs, sizeof(*n->svcs));
		memcpy(n->svcs, c->svcs, c->nsvcs * sizeof(*n->svcs));
	}
	return n;
}

static void
notify_conf_free(struct conf_notify *c)
{
	size_t	i;

	for (i = 0; c->argv != NULL && c->argv[i] != NULL; i++)
		free(c->argv[i]);
	free(c->argv);
	free(c->svcs);
	free(c->target);
	free(c);
}

struct notifier *
notify_new(const struct notify_env *env, const struct conf *conf)
{
	struct notifier	*nf = xcalloc(1, sizeof(*nf));
	size_t		 i, j;

	nf->env = *env;
	if (gethostname(nf->host, sizeof(nf->host)) < 0)
		snprintf(nf->host, sizeof(nf->host), "localhost");
	nf->host[sizeof(nf->host) - 1] = '\0';
	nf->n = conf->nnotifies;
	nf->nsvcs = conf->nservices;
	nf->t = xcalloc(nf->n, sizeof(*nf->t));
	for (i = 0; i < nf->n; i++) {
		struct ntarget *t = &nf->t[i];

		t->nf = nf;
		t->conf = notify_conf_copy(&conf->notifies[i]);
		url_redact(t->conf->target, t->conf->kind == NOTIFY_WEBHOOK,
		    t->shown, sizeof(t->shown));
		t->written = -1;
		TAILQ_INIT(&t->queue);
		t->retry = evtimer_new(env->base, webhook_retry_cb, t);
		if (t->conf->kind != NOTIFY_EXEC)
			continue;
		/* One queue per service, and one for HAProxy's events. */
		t->hooks = xcalloc(nf->nsvcs + 1, sizeof(*t->hooks));
		for (j = 0; j <= nf->nsvcs; j++) {
			t->hooks[j].t = t;
			t->hooks[j].svc = j;
			TAILQ_INIT(&t->hooks[j].events);
		}
	}
	return nf;
}

void
notify_event(struct notifier *nf, const struct notify_event *ev)
{
	struct nevent	*e;
	size_t		 i, q;

	for (i = 0; i < nf->n; i++) {
		struct ntarget *t = &nf->t[i];

		if (!target_wants(t, ev->svc))
			continue;
		switch (t->conf->kind) {
		case NOTIFY_TRACK_FILE:
			break;		/* notify_tracks() */
		case NOTIFY_EXEC:
			/* (TAILQ_INSERT_TAIL evaluates its element more than
			 * once: never pass it a call.) */
			e = nevent_new(ev);
			q = ev->svc == CONF_NONE ? nf->nsvcs : ev->svc;
			TAILQ_INSERT_TAIL(&t->hooks[q].events, e, link);
			hook_next(&t->hooks[q]);
			break;
		case NOTIFY_WEBHOOK:
			if (!ev->initial)
				webhook_queue(t, nevent_new(ev));
			break;
		}
	}
}

void
notify_tracks(struct notifier *nf, const struct svc *svcs)
{
	size_t	i;

	for (i = 0; i < nf->n; i++)
		if (nf->t[i].conf->kind == NOTIFY_TRACK_FILE)
			track_update(&nf->t[i], svcs);
}

size_t
notify_pending(const struct notifier *nf)
{
	size_t	i, j, n = 0;

	for (i = 0; i < nf->n; i++) {
		n += nf->t[i].qlen;
		for (j = 0; nf->t[i].hooks != NULL && j <= nf->nsvcs; j++)
			n += nf->t[i].hooks[j].running != NULL ||
			    !TAILQ_EMPTY(&nf->t[i].hooks[j].events);
	}
	return n;
}

size_t
notify_hooks_running(const struct notifier *nf)
{
	size_t	i, j, n = 0;

	for (i = 0; nf != NULL && i < nf->n; i++)
		for (j = 0; nf->t[i].hooks != NULL && j <= nf->nsvcs; j++)
			n += nf->t[i].hooks[j].running != NULL;
	return n;
}

static void
nevent_q_free(struct nevent_q *q)
{
	struct nevent	*e;

	while ((e = TAILQ_FIRST(q)) != NULL) {
		TAILQ_REMOVE(q, e, link);
		free(e);
	}
}

void
notify_free(struct notifier *nf)
{
	size_t	i, j;

	if (nf == NULL)
		return;
	for (i = 0; i < nf->n; i++) {
		struct ntarget *t = &nf->t[i];

		for (j = 0; t->hooks != NULL && j <= nf->nsvcs; j++) {
			if (t->hooks[j].running != NULL)
				child_abandon(t->hooks[j].running);
			nevent_q_free(&t->hooks[j].events);
		}
		free(t->hooks);
		if (t->easy != NULL) {
			if (t->in_flight)
				curlev_remove(nf->env.curl, t->easy);
			curl_easy_cleanup(t->easy);
		}
		curl_slist_free_all(t->hdrs);
		nevent_q_free(&t->queue);
		free(t->body);
		event_free(t->retry);
		notify_conf_free(t->conf);
	}
	free(nf->t);
	free(nf);
}
