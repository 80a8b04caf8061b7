/*
 * ctl.c: "hapwatch ctl", the operator's client of the admin listener.
 *
 * It speaks HTTP to the admin listener through libcurl: over the unix
 * socket by default (-s PATH), or to http://HOST:PORT with a bearer token
 * from --token or $HAPWATCH_TOKEN. A command-line client may block, so
 * this is plain curl_easy_perform().
 *
 * Exit status (DESIGN.md, "hapwatch ctl exit status"): 0 done, or for
 * check the service is up (or degraded); 1 check: not up, or the thing
 * asked for did not happen in time (a save); 2 usage; 3 could not ask: no
 * daemon, permission denied, unauthorized, unknown service. Scripts (a
 * keepalived vrrp_script) can so tell a node that is down from a
 * misconfigured script user.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <json-c/json.h>

#include "ctl.h"
#include "curlshim.h"
#include "log.h"
#include "util.h"

#define CTL_TIMEOUT_MS		10000

enum ctl_exit {
	CTL_OK = 0,
	CTL_NOT_UP = 1,		/* check: not up; a wait that timed out */
	CTL_USAGE = 2,
	CTL_CANNOT_ASK = 3,	/* no daemon, denied, unknown service */
};
#define CTL_MAX_REPLY		(8u << 20)

struct ctl {
	const char	*socket;	/* unix path or http(s) URL */
	const char	*token;
	bool		 json;
	char		 err[CURL_ERROR_SIZE];
	/* drain, ready, maint */
	bool		 wait;		/* drain --wait */
	int64_t		 timeout_ms;	/* --timeout, default 10m */
	const char	*for_dur;	/* --for DUR */
	const char	*by;		/* --by WHO */
	const char	*if_by;		/* ready --if-by WHO */
	/* events */
	bool		 follow;	/* --follow */
	int64_t		 req_timeout_ms; /* one request, answer included */
	bool		 quiet;		/* no word on a failed request */
};

#define CTL_WAIT_DEFAULT_MS	(10 * 60 * 1000)
#define CTL_WAIT_POLL_MS	200
#define CTL_FOLLOW_WAIT		"30s"	/* one long-poll of /events */
#define CTL_FOLLOW_WAIT_MS	30000

struct reply {
	long		code;
	struct sbuf	body;
};

static size_t
ctl_body(char *p, size_t size, size_t n, void *arg)
{
	struct reply	*r = arg;

	if (r->body.len + size * n > CTL_MAX_REPLY)
		return 0;
	sbuf_append(&r->body, p, size * n);
	return size * n;
}

/* One request (body: a POST's, or NULL); false (with the reason printed)
 * if no answer came. */
static bool
ctl_request_body(struct ctl *c, const char *method, const char *path,
    const char *body, struct reply *r)
{
	bool			 is_url = strstr(c->socket, "://") != NULL;
	char			*url, *auth = NULL;
	struct curl_slist	*hdrs = NULL;
	CURL			*easy = curl_easy_init();
	CURLcode		 rc;

	memset(r, 0, sizeof(*r));
	if (easy == NULL)
		return false;
	url = is_url ? xasprintf("%s%s", c->socket, path) :
	    xasprintf("http://localhost%s", path);
	if (!is_url)
		curl_easy_setopt(easy, CURLOPT_UNIX_SOCKET_PATH, c->socket);
	if (c->token != NULL) {
		auth = xasprintf("Authorization: Bearer %s", c->token);
		hdrs = curl_slist_append(hdrs, auth);
	}
	if (body != NULL && body[0] != '\0')
		hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
	curl_easy_setopt(easy, CURLOPT_URL, url);
	curl_easy_setopt(easy, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, method);
	if (strcmp(method, "POST") == 0)
		curl_easy_setopt(easy, CURLOPT_POSTFIELDS, body != NULL ? body :
		    "");
	curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, ctl_body);
	curl_easy_setopt(easy, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, (long)c->req_timeout_ms);
	curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, c->err);
	curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
	c->err[0] = '\0';
	rc = curl_easy_perform(easy);
	if (rc == CURLE_OK)
		curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &r->code);
	curl_slist_free_all(hdrs);
	curl_easy_cleanup(easy);
	free(auth);
	free(url);
	if (rc == CURLE_OK)
		return true;
	if (c->quiet)
		return false;
	/* access() fails with EACCES, not ENOENT, when a directory on the
	 * way (/run/hapwatch is 0750) may not be searched. */
	if (!is_url && access(c->socket, F_OK) != 0 && errno == ENOENT)
		log_line(LOG_LVL_ERR, "hapwatch ctl: %s does not exist: is hapwatch "
		    "running, with an admin listener there?", c->socket);
	else if (!is_url && access(c->socket, W_OK) != 0)
		log_line(LOG_LVL_ERR, "hapwatch ctl: %s: permission denied (run as "
		    "root or as a member of the socket's group)", c->socket);
	else if (!is_url && rc == CURLE_COULDNT_CONNECT)
		log_line(LOG_LVL_ERR, "hapwatch ctl: nothing listens on %s: is hapwatch "
		    "running?", c->socket);
	else
		log_line(LOG_LVL_ERR, "hapwatch ctl: %s: %s", c->socket,
		    c->err[0] != '\0' ? c->err : curl_easy_strerror(rc));
	return false;
}

static bool
ctl_request(struct ctl *c, const char *method, const char *path,
    struct reply *r)
{
	return ctl_request_body(c, method, path, NULL, r);
}

/* A reply that is not 2xx (unauthorized, no such service): the request
 * was not taken. Say what the daemon said. */
static int
ctl_refused(const struct reply *r)
{
	if (r->code == 401)
		log_line(LOG_LVL_ERR, "hapwatch ctl: unauthorized (set --token or "
		    "$HAPWATCH_TOKEN)");
	else
		log_line(LOG_LVL_ERR, "hapwatch ctl: %ld: %.*s", r->code,
		    (int)strcspn(r->body.data != NULL ? r->body.data : "", "\n"),
		    r->body.data != NULL ? r->body.data : "");
	return CTL_CANNOT_ASK;
}

static json_object *
ctl_status_json(struct ctl *c, int *rc)
{
	struct reply	 r;
	json_object	*o;

	*rc = CTL_CANNOT_ASK;
	if (!ctl_request(c, "GET", "/status", &r))
		return NULL;
	if (r.code != 200) {
		*rc = ctl_refused(&r);
		sbuf_free(&r.body);
		return NULL;
	}
	o = json_tokener_parse(r.body.data != NULL ? r.body.data : "");
	sbuf_free(&r.body);
	if (o == NULL)
		log_line(LOG_LVL_ERR, "hapwatch ctl: /status is not JSON");
	*rc = o != NULL ? CTL_OK : CTL_CANNOT_ASK;
	return o;
}

static const char *
jstr(json_object *o, const char *key, const char *def)
{
	json_object	*v;

	if (!json_object_object_get_ex(o, key, &v) || v == NULL)
		return def;
	return json_object_get_string(v);
}

/* The master's line, and a failed reload's, under the table. */
static void
ctl_print_master(json_object *hap)
{
	json_object	*m, *f;

	if (json_object_object_get_ex(hap, "master", &m) && m != NULL)
		printf("HAProxy master via %s: %s, pid %s, worker %s, %s reloads"
		    "%s%s\n", jstr(m, "source", "?"),
		    strcmp(jstr(m, "up", "false"), "true") == 0 ? "answers" :
		    "UNAVAILABLE", jstr(m, "pid", "-"), jstr(m, "worker", "-"),
		    jstr(m, "reloads", "?"),
		    strcmp(jstr(m, "last_error", "-"), "-") != 0 ? ", last: " : "",
		    strcmp(jstr(m, "last_error", "-"), "-") != 0 ?
		    jstr(m, "last_error", "") : "");
	if (json_object_object_get_ex(hap, "last_reload_failure", &f) &&
	    f != NULL)
		printf("LAST RELOAD FAILED at %s (%s failed so far): %s\n",
		    jstr(f, "time", "?"), jstr(hap, "reload_failures", "?"),
		    jstr(f, "message", ""));
}

static void
ctl_print_table(json_object *st)
{
	json_object	*svcs, *hap;

	json_object_object_get_ex(st, "services", &svcs);
	printf("%-16s %-8s %-8s %-8s %6s  %-20s  %s\n", "SERVICE", "STATE",
	    "VERDICT", "OVERRIDE", "WEIGHT", "SINCE", "REASON");
	json_object_object_foreach(svcs, name, s) {
		printf("%-16s %-8s %-8s %-8s %5s%%  %-20s  %s\n", name,
		    jstr(s, "state", "?"), jstr(s, "verdict", "?"),
		    jstr(s, "override", "-"), jstr(s, "weight", "?"),
		    jstr(s, "since", "-"), jstr(s, "reason", ""));
	}
	if (!json_object_object_get_ex(st, "haproxy", &hap))
		return;
	if (strcmp(jstr(hap, "watched", "true"), "false") == 0) {
		printf("\nHAProxy: not watched (no service needs it: agent "
		    "mode)\n");
		return;
	}
	printf("\nHAProxy %s via %s: stats %s, pid %s, last poll %s, "
	    "%s errors%s%s\n", jstr(hap, "version", "?"),
	    jstr(hap, "source", "?"),
	    strcmp(jstr(hap, "up", "false"), "true") == 0 ? "fresh" :
	    "UNAVAILABLE", jstr(hap, "pid", "-"),
	    jstr(hap, "last_poll", "never"), jstr(hap, "errors", "0"),
	    strcmp(jstr(hap, "last_error", "-"), "-") != 0 ? ", last: " : "",
	    strcmp(jstr(hap, "last_error", "-"), "-") != 0 ?
	    jstr(hap, "last_error", "") : "");
	ctl_print_master(hap);
}

static int
ctl_status(struct ctl *c)
{
	int		 rc;
	json_object	*st = ctl_status_json(c, &rc);

	if (st == NULL)
		return rc;
	if (c->json)
		printf("%s\n", json_object_to_json_string_ext(st,
		    JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
	else
		ctl_print_table(st);
	json_object_put(st);
	return CTL_OK;
}

/* Whether a state answers "in rotation": up, or up with reduced
 * capacity (degraded). */
static bool
ctl_state_serves(const char *state)
{
	return strcmp(state, "up") == 0 || strcmp(state, "degraded") == 0;
}

/* exit 0 when SERVICE is up: for keepalived's vrrp_script and scripts. */
static int
ctl_check(struct ctl *c, const char *svc)
{
	json_object	*st, *svcs, *s;
	int		 rc;

	if ((st = ctl_status_json(c, &rc)) == NULL)
		return rc;
	if (!json_object_object_get_ex(st, "services", &svcs) ||
	    !json_object_object_get_ex(svcs, svc, &s)) {
		log_line(LOG_LVL_ERR, "hapwatch ctl: no service \"%s\"", svc);
		json_object_put(st);
		return CTL_CANNOT_ASK;
	}
	rc = ctl_state_serves(jstr(s, "state", "")) ? CTL_OK : CTL_NOT_UP;
	if (rc != 0)
		printf("%s %s\n", jstr(s, "state", "?"), jstr(s, "reason", ""));
	json_object_put(st);
	return rc;
}

/* The optional body of an override: {"by", "for", "if_by"}. */
static char *
ctl_override_body(const struct ctl *c)
{
	json_object	*o = json_object_new_object();
	char		*body;

	if (c->by != NULL)
		json_object_object_add(o, "by", json_object_new_string(c->by));
	if (c->for_dur != NULL)
		json_object_object_add(o, "for",
		    json_object_new_string(c->for_dur));
	if (c->if_by != NULL)
		json_object_object_add(o, "if_by",
		    json_object_new_string(c->if_by));
	body = json_object_object_length(o) == 0 ? NULL :
	    xstrdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
	json_object_put(o);
	return body;
}

/* Whether service s's drain has let go; *line says what it waits for. */
static bool
ctl_drain_done(json_object *s, const char *name, char *line, size_t len,
    bool *lifted)
{
	json_object	*dr, *lg;

	*lifted = strcmp(jstr(s, "state", ""), "drain") != 0;
	if (*lifted) {
		snprintf(line, len, "%s: no longer drained (%s: %s)", name,
		    jstr(s, "state", "?"), jstr(s, "reason", ""));
		return false;
	}
	if (!json_object_object_get_ex(s, "drain", &dr) || dr == NULL) {
		snprintf(line, len, "%s: drained, its watch not started yet", name);
		return false;
	}
	snprintf(line, len, "%s: %s", name, jstr(dr, "summary", "?"));
	return json_object_object_get_ex(dr, "let_go", &lg) &&
	    json_object_get_boolean(lg);
}

/* One look at /status: 0 every drain watched has let go, 1 one was
 * lifted, -1 not yet, or the ctl exit status when /status fails. */
static int
ctl_drain_poll(struct ctl *c, const char *svc, struct sbuf *line)
{
	json_object	*st, *svcs;
	char		 one[512];
	bool		 all = true, lifted;
	int		 rc;

	if ((st = ctl_status_json(c, &rc)) == NULL)
		return rc == CTL_OK ? CTL_CANNOT_ASK : rc;
	sbuf_reset(line);
	json_object_object_get_ex(st, "services", &svcs);
	json_object_object_foreach(svcs, name, v) {
		if (svc != NULL && strcmp(name, svc) != 0)
			continue;
		all = ctl_drain_done(v, name, one, sizeof(one), &lifted) && all;
		sbuf_printf(line, "%s%s", line->len > 0 ? "; " : "", one);
		if (lifted) {
			json_object_put(st);
			return CTL_NOT_UP;
		}
	}
	json_object_put(st);
	return all ? CTL_OK : -1;
}

/*
 * drain --wait: report progress until every drain asked for has let go
 * (exit 0), one was lifted (1), or the timeout (1, the drain stays: the
 * operator asked for it). One updating line on a terminal, a line per
 * change otherwise.
 */
static int
ctl_drain_wait(struct ctl *c, const char *svc)
{
	struct sbuf	 line = { 0 }, last = { 0 };
	int64_t		 t0 = mono_ms(), deadline = t0 + c->timeout_ms;
	struct timespec	 ts = { 0, CTL_WAIT_POLL_MS * 1000 * 1000 };
	bool		 tty = isatty(STDOUT_FILENO);
	int		 rc;

	for (;;) {
		rc = ctl_drain_poll(c, svc, &line);
		if (rc >= 0 || mono_ms() >= deadline)
			break;
		if (last.data == NULL || strcmp(last.data, line.data) != 0) {
			if (tty)
				printf("\r\033[K%.*s", 200, line.data);
			else
				printf("%s\n", line.data);
			fflush(stdout);
			sbuf_reset(&last);
			sbuf_puts(&last, line.data);
		}
		nanosleep(&ts, NULL);
	}
	if (tty && last.data != NULL)
		printf("\r\033[K");
	if (rc == CTL_OK)
		printf("%s (after %.1fs)\n", line.data,
		    (double)(mono_ms() - t0) / 1000);
	else if (rc == CTL_NOT_UP)
		log_line(LOG_LVL_ERR, "hapwatch ctl: %s", line.data);
	else if (rc < 0) {
		log_line(LOG_LVL_ERR, "hapwatch ctl: not let go after %llds: %s",
		    (long long)c->timeout_ms / 1000, line.data != NULL ?
		    line.data : "?");
		rc = CTL_NOT_UP;
	}
	sbuf_free(&line);
	sbuf_free(&last);
	return rc;
}

static int
ctl_override(struct ctl *c, const char *action, const char *svc)
{
	struct reply	 r;
	char		*path = svc != NULL ?
			    xasprintf("/services/%s/%s", svc, action) :
			    xasprintf("/services/%s", action);
	char		*body = ctl_override_body(c);
	int		 rc = CTL_CANNOT_ASK;

	if (ctl_request_body(c, "POST", path, body, &r)) {
		if (r.code == 200) {
			printf("%s", r.body.data != NULL ? r.body.data : "ok\n");
			rc = CTL_OK;
		} else if (r.code == 409) {
			/* --if-by: another's override, left as is. */
			printf("%s", r.body.data != NULL ? r.body.data : "\n");
			rc = CTL_NOT_UP;
		} else {
			rc = ctl_refused(&r);
		}
		sbuf_free(&r.body);
	}
	free(body);
	free(path);
	if (rc == CTL_OK && c->wait)
		rc = ctl_drain_wait(c, svc);
	return rc;
}

/* Ask for a save, then wait until /status says it is done. */
static int
ctl_save_state(struct ctl *c)
{
	struct reply	 r;
	json_object	*st, *sf;
	unsigned long long seq = 0;
	int64_t		 deadline = mono_ms() + CTL_TIMEOUT_MS;
	struct timespec	 ts = { 0, 20 * 1000 * 1000 };
	int		 rc;

	if (!ctl_request(c, "POST", "/haproxy/save-state", &r))
		return CTL_CANNOT_ASK;
	if (r.code != 202 || r.body.data == NULL ||
	    sscanf(r.body.data, "save %llu", &seq) != 1) {
		rc = ctl_refused(&r);
		sbuf_free(&r.body);
		return rc;
	}
	sbuf_free(&r.body);
	while (mono_ms() < deadline) {
		if ((st = ctl_status_json(c, &rc)) == NULL)
			return rc;
		if (json_object_object_get_ex(st, "state_file", &sf) &&
		    (unsigned long long)json_object_get_int64(
		    json_object_object_get(sf, "completed")) >= seq) {
			bool ok = (unsigned long long)json_object_get_int64(
			    json_object_object_get(sf, "saved")) >= seq;

			if (ok)
				printf("saved %s\n", jstr(sf, "path", "?"));
			else
				log_line(LOG_LVL_ERR, "hapwatch ctl: save failed: %s",
				    jstr(sf, "last_error", "?"));
			json_object_put(st);
			return ok ? CTL_OK : CTL_NOT_UP;
		}
		json_object_put(st);
		nanosleep(&ts, NULL);
	}
	log_line(LOG_LVL_ERR, "hapwatch ctl: the save did not finish within %ds",
	    CTL_TIMEOUT_MS / 1000);
	return CTL_NOT_UP;
}

/* One event as a line: "TIME #SEQ EVENT [SERVICE: ][FROM -> TO][ by
 * BY][ via ROUTE][: REASON]". */
static void
ctl_print_event(json_object *e)
{
	const char	*svc = jstr(e, "service", NULL);
	const char	*from = jstr(e, "from", NULL), *to = jstr(e, "to", NULL);
	const char	*by = jstr(e, "by", NULL), *route = jstr(e, "route", NULL);
	const char	*reason = jstr(e, "reason", NULL);

	printf("%s #%s %s", jstr(e, "time", "?"), jstr(e, "seq", "?"),
	    jstr(e, "event", "?"));
	if (svc != NULL)
		printf(" %s%s", svc, from != NULL || to != NULL || by != NULL ||
		    reason != NULL ? ":" : "");
	if (from != NULL || to != NULL)
		printf(" %s -> %s", from != NULL ? from : "-",
		    to != NULL ? to : "-");
	if (by != NULL)
		printf(" by %s", by);
	if (route != NULL)
		printf(" via %s", route);
	if (reason != NULL && reason[0] != '\0')
		printf("%s %s", from != NULL || to != NULL || by != NULL ||
		    route != NULL ? ":" : "", reason);
	printf("\n");
}

/* GET path: print its events; *since becomes the last one's seq; *stop
 * is set when hapwatch said it is stopping. false: no answer (printed
 * unless c->quiet; *answered false), or an answer that is not the events
 * (a refusal: said why; *answered true). */
static bool
ctl_events_once(struct ctl *c, const char *path, uint64_t *since,
    bool *stop, bool *answered)
{
	struct reply	 r;
	json_object	*a, *e;
	size_t		 i, n;

	*answered = false;
	if (!ctl_request(c, "GET", path, &r))
		return false;
	*answered = true;
	if (r.code != 200) {
		(void)ctl_refused(&r);
		sbuf_free(&r.body);
		return false;
	}
	a = json_tokener_parse(r.body.data != NULL ? r.body.data : "");
	sbuf_free(&r.body);
	if (a == NULL || !json_object_is_type(a, json_type_array)) {
		log_line(LOG_LVL_ERR, "hapwatch ctl: /events is not a JSON array");
		json_object_put(a);
		return false;
	}
	n = json_object_array_length(a);
	for (i = 0; i < n; i++) {
		e = json_object_array_get_idx(a, i);
		if (c->json)
			printf("%s\n", json_object_to_json_string_ext(e,
			    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
		else
			ctl_print_event(e);
		*since = (uint64_t)json_object_get_int64(
		    json_object_object_get(e, "seq"));
		*stop = *stop || strcmp(jstr(e, "event", ""), "stop") == 0;
	}
	fflush(stdout);
	json_object_put(a);
	return true;
}

/*
 * events: the history, one line per event; --follow: then every new one
 * as it comes (long-polls of 30s), until hapwatch stops: its "stop"
 * event, or its socket gone after an answer, ends it with 0.
 */
static int
ctl_events(struct ctl *c)
{
	uint64_t	 since = 0;
	bool		 stop = false, answered;
	char		 path[96];

	if (!ctl_events_once(c, "/events", &since, &stop, &answered))
		return CTL_CANNOT_ASK;
	if (!c->follow)
		return CTL_OK;
	c->req_timeout_ms = CTL_FOLLOW_WAIT_MS + CTL_TIMEOUT_MS;
	c->quiet = true;
	while (!stop) {
		snprintf(path, sizeof(path), "/events?since=%llu&wait=%s",
		    (unsigned long long)since, CTL_FOLLOW_WAIT);
		if (ctl_events_once(c, path, &since, &stop, &answered))
			continue;
		if (answered)
			return CTL_CANNOT_ASK;	/* refused (a new token?): said */
		log_line(LOG_LVL_NOTICE, "hapwatch ctl: hapwatch is gone (%s)",
		    c->err[0] != '\0' ? c->err : "no answer");
		return CTL_OK;
	}
	return CTL_OK;
}

static int
ctl_usage(void)
{
	fprintf(stderr,
	    "usage: hapwatch ctl [-s SOCKET|URL] [--token TOKEN] status [--json]\n"
	    "       hapwatch ctl [-s SOCKET|URL] drain [--wait [--timeout DUR]] "
	    "[--for DUR] [--by WHO] [SERVICE]\n"
	    "       hapwatch ctl [-s SOCKET|URL] maint [--for DUR] [--by WHO] "
	    "[SERVICE]\n"
	    "       hapwatch ctl [-s SOCKET|URL] ready [--if-by WHO] [--by WHO] "
	    "[SERVICE]\n"
	    "       hapwatch ctl [-s SOCKET|URL] check SERVICE\n"
	    "       hapwatch ctl [-s SOCKET|URL] save-state\n"
	    "       hapwatch ctl [-s SOCKET|URL] events [--follow] [--json]\n"
	    "(default socket: %s)\n"
	    "exit: 0 done or up, 1 not up or not done in time, 2 usage,\n"
	    "      3 could not ask (no daemon, permission, unknown service)\n",
	    CTL_DEFAULT_SOCKET);
	return CTL_USAGE;
}

/* The options of drain, ready and maint, after the command; false on a
 * usage error (an unknown option, a bad duration, one that does not go
 * with the command). */
static bool
ctl_override_opts(struct ctl *c, const char *cmd, int *argc, char ***argv)
{
	enum { O_WAIT = 1, O_TIMEOUT, O_FOR, O_BY, O_IF_BY };
	static const struct option longopts[] = {
		{ "wait", no_argument, NULL, O_WAIT },
		{ "timeout", required_argument, NULL, O_TIMEOUT },
		{ "for", required_argument, NULL, O_FOR },
		{ "by", required_argument, NULL, O_BY },
		{ "if-by", required_argument, NULL, O_IF_BY },
		{ NULL, 0, NULL, 0 },
	};
	bool	drain = strcmp(cmd, "drain") == 0;
	bool	ready = strcmp(cmd, "ready") == 0;
	int64_t	ms;
	int	ch;

	optind = 0;		/* anew, options anywhere after the command */
	while ((ch = getopt_long(*argc, *argv, "", longopts, NULL)) != -1) {
		switch (ch) {
		case O_WAIT:
			c->wait = true;
			break;
		case O_TIMEOUT:
			if (!parse_duration(optarg, &c->timeout_ms) ||
			    c->timeout_ms <= 0)
				return false;
			break;
		case O_FOR:
			if (!parse_duration(optarg, &ms) || ms <= 0)
				return false;
			c->for_dur = optarg;
			break;
		case O_BY:
			c->by = optarg;
			break;
		case O_IF_BY:
			c->if_by = optarg;
			break;
		default:
			return false;
		}
	}
	if ((c->wait && !drain) || (c->for_dur != NULL && ready) ||
	    (c->if_by != NULL && !ready))
		return false;
	*argc -= optind;
	*argv += optind;
	return *argc <= 1;
}

static int
ctl_run(struct ctl *c, int argc, char **argv)
{
	const char	*cmd;

	if (argc < 1)
		return ctl_usage();
	cmd = argv[0];
	if (strcmp(cmd, "status") == 0 && argc == 1)
		return ctl_status(c);
	if (strcmp(cmd, "check") == 0 && argc == 2)
		return ctl_check(c, argv[1]);
	if (strcmp(cmd, "drain") == 0 || strcmp(cmd, "ready") == 0 ||
	    strcmp(cmd, "maint") == 0) {
		if (!ctl_override_opts(c, cmd, &argc, &argv))
			return ctl_usage();
		return ctl_override(c, cmd, argc == 1 ? argv[0] : NULL);
	}
	if (strcmp(cmd, "save-state") == 0 && argc == 1)
		return ctl_save_state(c);
	if (strcmp(cmd, "events") == 0) {
		for (int i = 1; i < argc; i++) {
			if (strcmp(argv[i], "--follow") == 0)
				c->follow = true;
			else if (strcmp(argv[i], "--json") == 0)
				c->json = true;
			else
				return ctl_usage();
		}
		return ctl_events(c);
	}
	return ctl_usage();
}

int
ctl_main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "token", required_argument, NULL, 't' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct ctl	c;
	int		ch, rc;

	/* Errors at err priority under journald (an ExecStop's). */
	log_init(LOG_LVL_INFO);
	memset(&c, 0, sizeof(c));
	c.socket = CTL_DEFAULT_SOCKET;
	c.timeout_ms = CTL_WAIT_DEFAULT_MS;
	c.req_timeout_ms = CTL_TIMEOUT_MS;
	c.token = getenv("HAPWATCH_TOKEN");
	/* Options may come before or after the command ("status --json"). */
	while ((ch = getopt_long(argc, argv, "+s:t:jh", longopts, NULL)) != -1) {
		switch (ch) {
		case 's':
			c.socket = optarg;
			break;
		case 't':
			c.token = optarg;
			break;
		case 'j':
			c.json = true;
			break;
		default:
			return ctl_usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc >= 2 && strcmp(argv[argc - 1], "--json") == 0) {
		c.json = true;
		argc--;
	}
	if (!curlshim_load(c.err, sizeof(c.err))) {
		log_line(LOG_LVL_ERR, "hapwatch ctl: %s", c.err);
		return CTL_CANNOT_ASK;
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	rc = ctl_run(&c, argc, argv);
	curl_global_cleanup();
	return rc;
}
