/*
 * test_notify.c: agent/notify.c on a real event loop.
 *
 * Track files (notify_track_write, notify_tracks); exec hooks as real
 * child processes (small /bin/sh scripts that log to files): one at a time
 * per service, in order, with their HAPWATCH_* environment; webhooks
 * against a small HTTP server in this process: the JSON body, the order,
 * the queue bound, and the retry schedule (notify_backoff_ms, then the
 * retry timer walked through every attempt).
 *
 * It includes notify.c to reach a webhook target's retry timer and its
 * send function: the walk fires each retry at once instead of waiting the
 * four minutes the real schedule takes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <cmocka.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/listener.h>

#include "curlshim.h"
#include "notify.c"

#define WALL		1795000000000LL		/* 2026-11-18T11:06:40Z */
#define WALL_TEXT	"2026-11-18T11:06:40Z"

/* ---- webhooks: a small HTTP server ------------------------------------------ */

#define SRV_MAX	512

struct hreq {
	char	*line;		/* request line */
	char	*ctype;		/* Content-Type value */
	char	*body;
};

struct hsrv {
	struct evconnlistener	*l;
	int			 port;
	struct bufferevent	*conns[SRV_MAX];	/* open ones */
	size_t			 fail_first;	/* answer 500 to these first */
	struct hreq		 reqs[SRV_MAX];
	size_t			 n;
};

static void
srv_close(struct hsrv *s, struct bufferevent *bev)
{
	size_t	i;

	for (i = 0; i < SRV_MAX; i++)
		if (s->conns[i] == bev)
			s->conns[i] = NULL;
	bufferevent_free(bev);
}

static void
srv_written_cb(struct bufferevent *bev, void *arg)
{
	srv_close(arg, bev);
}

static void
srv_event_cb(struct bufferevent *bev, short what, void *arg)
{
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR))
		srv_close(arg, bev);
}

static char *
header(const char *head, const char *name)
{
	const char	*p = strcasestr(head, name), *end;

	if (p == NULL)
		return NULL;
	p += strlen(name);
	while (*p == ' ')
		p++;
	end = strstr(p, "\r\n");
	return xstrndup(p, (size_t)(end - p));
}

static void
srv_read_cb(struct bufferevent *bev, void *arg)
{
	struct hsrv		*s = arg;
	struct evbuffer		*in = bufferevent_get_input(bev);
	struct evbuffer_ptr	 p = evbuffer_search(in, "\r\n\r\n", 4, NULL);
	struct hreq		*r;
	char			*head, *cl;
	size_t			 hlen, blen = 0;

	if (p.pos < 0)
		return;
	hlen = (size_t)p.pos + 4;
	head = xcalloc(1, hlen + 1);
	evbuffer_copyout(in, head, hlen);
	if ((cl = header(head, "\r\nContent-Length:")) != NULL)
		blen = strtoul(cl, NULL, 10);
	free(cl);
	if (evbuffer_get_length(in) < hlen + blen) {
		free(head);
		return;
	}
	assert_true(s->n < SRV_MAX);
	r = &s->reqs[s->n];
	r->line = xstrndup(head, strcspn(head, "\r"));
	r->ctype = header(head, "\r\nContent-Type:");
	r->body = xcalloc(1, blen + 1);
	evbuffer_drain(in, hlen);
	evbuffer_remove(in, r->body, blen);
	free(head);
	evbuffer_add_printf(bufferevent_get_output(bev), "HTTP/1.1 %d X\r\n"
	    "Content-Length: 0\r\nConnection: close\r\n\r\n",
	    s->n < s->fail_first ? 500 : 200);
	s->n++;
	bufferevent_setcb(bev, NULL, srv_written_cb, srv_event_cb, s);
}

static void
srv_accept_cb(struct evconnlistener *l, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	struct hsrv		*s = arg;
	struct bufferevent	*bev = bufferevent_socket_new(
				    evconnlistener_get_base(l), fd,
				    BEV_OPT_CLOSE_ON_FREE);
	size_t			 i;

	for (i = 0; i < SRV_MAX && s->conns[i] != NULL; i++)
		;
	assert_true(i < SRV_MAX);
	s->conns[i] = bev;
	bufferevent_setcb(bev, srv_read_cb, NULL, srv_event_cb, arg);
	bufferevent_enable(bev, EV_READ | EV_WRITE);
}

static void
srv_start(struct hsrv *s, struct event_base *base)
{
	struct sockaddr_in	sin = { .sin_family = AF_INET };
	socklen_t		len = sizeof(sin);

	memset(s, 0, sizeof(*s));
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	s->l = evconnlistener_new_bind(base, srv_accept_cb, s,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE, 64,
	    (struct sockaddr *)&sin, sizeof(sin));
	assert_non_null(s->l);
	assert_int_equal(getsockname(evconnlistener_get_fd(s->l),
	    (struct sockaddr *)&sin, &len), 0);
	s->port = ntohs(sin.sin_port);
}

static void
srv_stop(struct hsrv *s)
{
	size_t	i;

	evconnlistener_free(s->l);
	for (i = 0; i < SRV_MAX; i++)
		if (s->conns[i] != NULL)
			bufferevent_free(s->conns[i]);
	for (i = 0; i < s->n; i++) {
		free(s->reqs[i].line);
		free(s->reqs[i].ctype);
		free(s->reqs[i].body);
	}
}

/* ---- a world: loop, children, curl, counters ----------------------------- */

struct world {
	struct event_base	*base;
	struct childmgr		*children;
	struct curlev		*curl;
	struct metrics		*metrics;
	struct event		*tick;
	struct conf		*conf;
	struct notifier		*nf;
	struct hsrv		*srv;		/* or NULL */
	char			 dir[32];
};

static void
tick_cb(evutil_socket_t fd, short what, void *arg)
{
}

static void
world_init(struct world *w, bool curl)
{
	char	err[256];

	memset(w, 0, sizeof(*w));
	log_set_level(LOG_LVL_ERR);
	w->base = event_base_new();
	assert_non_null(w->base);
	w->children = childmgr_new(w->base);
	w->metrics = metrics_new();
	w->tick = evtimer_new(w->base, tick_cb, NULL);
	if (curl) {
		if (!curlshim_load(err, sizeof(err)))
			fail_msg("%s", err);
		w->curl = curlev_new(w->base);
	}
	snprintf(w->dir, sizeof(w->dir), "/tmp/hw-notify-XXXXXX");
	assert_non_null(mkdtemp(w->dir));
}

/* The notifier of conf text (printf format, with the world's dir). */
static void PRINTF(2, 3)
world_conf(struct world *w, const char *fmt, ...)
{
	struct conf_errors	 errs = { 0 };
	struct notify_env	 env = { w->base, w->children, w->curl,
				    w->metrics };
	char			*text;
	va_list			 ap;
	size_t			 i;

	va_start(ap, fmt);
	assert_true(vasprintf(&text, fmt, ap) >= 0);
	va_end(ap);
	w->conf = conf_load_string("test.json", text, NULL, &errs);
	for (i = 0; i < errs.n; i++)
		print_error("%s\n", errs.msgs[i]);
	assert_non_null(w->conf);
	conf_errors_free(&errs);
	free(text);
	assert_string_equal(w->conf->services[0].name, "web");
	assert_string_equal(w->conf->services[1].name, "api");
	w->nf = notify_new(&env, w->conf);
}

static void
world_free(struct world *w)
{
	char	cmd[64];

	notify_free(w->nf);
	conf_free(w->conf);
	event_free(w->tick);
	curlev_free(w->curl);
	if (w->srv != NULL)
		srv_stop(w->srv);
	childmgr_free(w->children);
	reap_now();
	metrics_free(w->metrics);
	event_base_free(w->base);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", w->dir);
	assert_int_equal(system(cmd), 0);
}

/* Turn the loop, reaping after every turn as the daemon does, until
 * done(arg) or a deadline. */
static void
run_until(struct world *w, bool (*done)(void *), void *arg)
{
	int64_t		deadline = mono_ms() + 10000;
	struct timeval	tv = tv_ms(50);

	while (!done(arg)) {
		if (mono_ms() > deadline)
			fail_msg("not done after 10s");
		evtimer_add(w->tick, &tv);	/* never block for long */
		event_base_loop(w->base, EVLOOP_ONCE);
		reap_now();
	}
}

static bool
nothing_pending(void *arg)
{
	return notify_pending(arg) == 0;
}

#define SERVICES	"\"haproxy\": { \"stats\": \"unix:/tmp/hw-none.sock\" }," \
	" \"services\": {" \
	" \"web\": { \"require\": [ { \"backend\": \"webapp\" } ] }," \
	" \"api\": { \"require\": [ { \"backend\": \"api\" } ] } }," \
	" \"listen\": [ { \"http\": \"127.0.0.1:8080\"," \
	" \"paths\": { \"/\": \"web\" } } ]"

static struct notify_event
event(size_t svc, const char *state, const char *prev, const char *reason)
{
	struct notify_event	e = { 0 };

	e.event = "transition";
	e.svc = svc;
	e.service = svc == 0 ? "web" : "api";
	e.state = state;
	e.prev = prev;
	e.reason = reason;
	e.wall = WALL;
	e.initial = strcmp(prev, "starting") == 0;
	return e;
}

static void
tell(struct world *w, size_t svc, const char *state, const char *prev,
    const char *reason)
{
	struct notify_event	e = event(svc, state, prev, reason);

	notify_event(w->nf, &e);
}

/* A whole small file, or NULL if there is none. The caller frees it. */
static char *
slurp(const char *path)
{
	FILE	*f = fopen(path, "r");
	char	*buf;
	size_t	 n;

	if (f == NULL)
		return NULL;
	buf = xcalloc(1, 65536);
	n = fread(buf, 1, 65535, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static void
assert_file(const char *path, const char *want)
{
	char	*got = slurp(path);

	if (got == NULL)
		fail_msg("%s: missing", path);
	assert_string_equal(got, want);
	free(got);
}

/* ---- track files -------------------------------------------------------- */

static void
test_track_write(void **state)
{
	char		 dir[] = "/tmp/hw-track-XXXXXX", path[64], *big;
	struct stat	 st;

	umask(022);
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/web.track", dir);
	assert_true(notify_track_write(path, true));
	assert_file(path, "0\n");
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0644);
	assert_true(notify_track_write(path, false));
	assert_file(path, "1\n");
	/* No directory: false, with errno. */
	errno = 0;
	assert_false(notify_track_write("/nonexistent-hw/web.track", true));
	assert_int_equal(errno, ENOENT);
	big = xcalloc(1, 5000);
	memset(big, 'a', 4999);
	big[0] = '/';
	errno = 0;
	assert_false(notify_track_write(big, true));
	assert_int_equal(errno, ENAMETOOLONG);
	free(big);
	/* Only the track file is left: the temp file was renamed. */
	unlink(path);
	assert_int_equal(rmdir(dir), 0);
}

/* Two services, as svc_init leaves them: down ("starting"), unevaluated. */
static void
svcs_init(struct world *w, struct svc *s)
{
	svc_init(&s[0], &w->conf->services[0]);
	svc_init(&s[1], &w->conf->services[1]);
}

static void
verdict(struct svc *s, enum svc_state st)
{
	s->evaluated = true;
	s->state = st;
	s->up = st == SVC_UP;
}

/* notify_tracks(), then the two files (each "0\n", "1\n" or NULL:
 * absent) and the writes counted so far. */
static void
tracks(struct world *w, const struct svc *s, char paths[2][64],
    const char *web, const char *all, uint64_t writes)
{
	const char	*want[2] = { web, all };
	char		*got;
	int		 i;

	notify_tracks(w->nf, s);
	for (i = 0; i < 2; i++) {
		got = slurp(paths[i]);
		if (want[i] == NULL && got != NULL)
			fail_msg("%s written: %s", paths[i], got);
		if (want[i] != NULL)
			assert_file(paths[i], want[i]);
		free(got);
	}
	assert_int_equal(metrics_get(w->metrics, MC_TRACK_WRITES), writes);
}

static void
test_tracks(void **state)
{
	struct world	w;
	struct svc	s[2];
	char		paths[2][64];

	world_init(&w, false);
	snprintf(paths[0], sizeof(paths[0]), "%s/web.track", w.dir);
	snprintf(paths[1], sizeof(paths[1]), "%s/all.track", w.dir);
	world_conf(&w, "{ " SERVICES ", \"notify\": ["
	    " { \"track_file\": \"%s\", \"services\": [\"web\"] },"
	    " { \"track_file\": \"%s\" } ] }", paths[0], paths[1]);
	svcs_init(&w, s);
	/* No verdict yet: nothing written. */
	tracks(&w, s, paths, NULL, NULL, 0);
	/* web is up; api still starting: all is 1 already (one verdict). */
	verdict(&s[0], SVC_UP);
	tracks(&w, s, paths, "0\n", "1\n", 2);
	/* Nothing changed: nothing written (a removed file stays away). */
	unlink(paths[0]);
	tracks(&w, s, paths, NULL, "1\n", 2);
	/* api up: only the all file changes. */
	verdict(&s[1], SVC_UP);
	tracks(&w, s, paths, NULL, "0\n", 3);
	/* drain counts as not up. */
	verdict(&s[0], SVC_DRAIN);
	tracks(&w, s, paths, "1\n", "1\n", 5);
	assert_int_equal(metrics_get(w.metrics, MC_TRACK_FAILURES), 0);
	/* Nothing for notify_event to do with a track file. */
	tell(&w, 0, "down", "up", "x");
	assert_int_equal(notify_pending(w.nf), 0);
	svc_clear(&s[0]);
	svc_clear(&s[1]);
	world_free(&w);
}

static void
test_track_failure_retried(void **state)
{
	struct world	w;
	struct svc	s[2];
	char		bad[64];

	world_init(&w, false);
	snprintf(bad, sizeof(bad), "%s/nodir/web.track", w.dir);
	world_conf(&w, "{ " SERVICES ", \"notify\": ["
	    " { \"track_file\": \"%s\", \"services\": [\"web\"] } ] }", bad);
	svcs_init(&w, s);
	verdict(&s[0], SVC_UP);
	notify_tracks(w.nf, s);
	assert_int_equal(metrics_get(w.metrics, MC_TRACK_FAILURES), 1);
	/* Not written: tried again on the next call, and written once the
	 * directory is there. */
	notify_tracks(w.nf, s);
	assert_int_equal(metrics_get(w.metrics, MC_TRACK_FAILURES), 2);
	snprintf(bad, sizeof(bad), "%s/nodir", w.dir);
	assert_int_equal(mkdir(bad, 0755), 0);
	notify_tracks(w.nf, s);
	assert_int_equal(metrics_get(w.metrics, MC_TRACK_WRITES), 1);
	snprintf(bad, sizeof(bad), "%s/nodir/web.track", w.dir);
	assert_file(bad, "0\n");
	svc_clear(&s[0]);
	svc_clear(&s[1]);
	world_free(&w);
}

/* ---- exec hooks ------------------------------------------------------------ */

/*
 * The hook: logs its start and end to $dir/log, and "overlap" if another
 * run for the same service is still going; saves its environment as
 * $dir/env.SERVICE.STATE; api's runs fail.
 */
static const char hook_script[] =
    "d=$(dirname \"$0\"); s=$HAPWATCH_SERVICE\n"
    "[ -e \"$d/running.$s\" ] && echo overlap >> \"$d/log\"\n"
    ": > \"$d/running.$s\"\n"
    "echo \"start $s $HAPWATCH_PREVIOUS>$HAPWATCH_STATE\" >> \"$d/log\"\n"
    "env | sort > \"$d/env.$s.$HAPWATCH_STATE\"\n"
    "sleep 0.05\n"
    "rm \"$d/running.$s\"\n"
    "echo \"end $s $HAPWATCH_STATE\" >> \"$d/log\"\n"
    "[ \"$s\" = api ] && { echo 'api hook says no'; exit 3; }\n"
    "exit 0\n";

static void
hook_world(struct world *w, const char *services)
{
	char	path[64];
	FILE	*f;

	world_init(w, false);
	snprintf(path, sizeof(path), "%s/hook.sh", w->dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(hook_script, f);
	fclose(f);
	world_conf(w, "{ " SERVICES ", \"notify\": ["
	    " { \"exec\": [\"/bin/sh\", \"%s\"]%s } ] }", path, services);
}

/* The log's lines about service s, in order, joined by '|'. */
static void
log_of(struct world *w, const char *s, char *out, size_t len)
{
	char	path[64], *log, *line, *save;
	size_t	o = 0;

	snprintf(path, sizeof(path), "%s/log", w->dir);
	log = slurp(path);
	assert_non_null(log);
	out[0] = '\0';
	for (line = strtok_r(log, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		char	*sp = strchr(line, ' ');

		if (strcmp(line, "overlap") == 0)
			fail_msg("two hooks of one service ran at once");
		if (sp == NULL || strncmp(sp + 1, s, strlen(s)) != 0 ||
		    sp[1 + strlen(s)] != ' ')
			continue;
		o += (size_t)snprintf(out + o, len - o, "%s%s", o ? "|" : "",
		    line);
	}
	free(log);
}

static void
test_hooks_in_order(void **state)
{
	struct world	w;
	char		got[512];

	setenv("HW_TEST_NOT_PASSED", "1", 1);
	hook_world(&w, "");
	/* Three web transitions at once, and one of api. */
	tell(&w, 0, "up", "starting", "all conditions hold");
	tell(&w, 1, "down", "starting", "api: no such backend");
	tell(&w, 0, "down", "up", "webapp: 0 of 3 servers usable");
	tell(&w, 0, "up", "down", "all conditions hold");
	/* One hook runs per service; the others wait their turn. */
	assert_int_equal(notify_hooks_running(w.nf), 2);
	assert_int_equal(notify_pending(w.nf), 2);
	assert_int_equal(metrics_get(w.metrics, MC_HOOK_RUNS), 2);
	run_until(&w, nothing_pending, w.nf);
	assert_int_equal(notify_hooks_running(w.nf), 0);

	log_of(&w, "web", got, sizeof(got));
	assert_string_equal(got, "start web starting>up|end web up|"
	    "start web up>down|end web down|start web down>up|end web up");
	log_of(&w, "api", got, sizeof(got));
	assert_string_equal(got, "start api starting>down|end api down");
	assert_int_equal(metrics_get(w.metrics, MC_HOOK_RUNS), 4);
	assert_int_equal(metrics_get(w.metrics, MC_HOOK_FAILURES), 1);
	world_free(&w);
	unsetenv("HW_TEST_NOT_PASSED");
}

/* env's lines without those sh adds on its own; the caller frees it. */
static char *
env_without_shell(char *env)
{
	static const char *const shell[] = { "PWD=", "OLDPWD=", "SHLVL=", "_=" };
	struct sbuf	 kept = { 0 };
	char		*line, *save;
	size_t		 i;

	for (line = strtok_r(env, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		for (i = 0; i < ARRAY_SIZE(shell) &&
		    strncmp(line, shell[i], strlen(shell[i])) != 0; i++)
			;
		if (i == ARRAY_SIZE(shell))
			sbuf_printf(&kept, "%s\n", line);
	}
	return kept.data != NULL ? kept.data : xstrdup("");
}

static void
test_hook_environment(void **state)
{
	struct world	 w;
	char		 path[64], *env, *kept, *want;
	const char	*p = getenv("PATH");

	setenv("HW_TEST_NOT_PASSED", "1", 1);
	hook_world(&w, "");
	tell(&w, 0, "down", "up", "webapp: 0 of 3 servers usable");
	run_until(&w, nothing_pending, w.nf);
	snprintf(path, sizeof(path), "%s/env.web.down", w.dir);
	env = slurp(path);
	assert_non_null(env);
	if (strstr(env, "HW_TEST_NOT_PASSED") != NULL)
		fail_msg("the daemon's environment leaked into the hook");
	/* Exactly these, sorted. */
	want = xasprintf("HAPWATCH_EVENT=transition\n"
	    "HAPWATCH_PREVIOUS=up\n"
	    "HAPWATCH_REASON=webapp: 0 of 3 servers usable\n"
	    "HAPWATCH_SERVICE=web\n"
	    "HAPWATCH_STATE=down\n"
	    "HAPWATCH_TIME=" WALL_TEXT "\n"
	    "PATH=%s\n", p != NULL ? p : "");
	kept = env_without_shell(env);
	assert_string_equal(kept, want);
	free(kept);
	free(want);
	free(env);
	world_free(&w);
	unsetenv("HW_TEST_NOT_PASSED");
}

static void
test_hook_services_filter(void **state)
{
	struct world	w;
	char		got[256];

	hook_world(&w, ", \"services\": [\"api\"]");
	tell(&w, 0, "down", "up", "x");
	assert_int_equal(notify_pending(w.nf), 0);
	assert_int_equal(notify_hooks_running(w.nf), 0);
	tell(&w, 1, "up", "down", "y");
	assert_int_equal(notify_hooks_running(w.nf), 1);
	run_until(&w, nothing_pending, w.nf);
	log_of(&w, "api", got, sizeof(got));
	assert_string_equal(got, "start api down>up|end api up");
	log_of(&w, "web", got, sizeof(got));
	assert_string_equal(got, "");
	world_free(&w);
}

/* Freed with hooks running and queued: nothing leaks, no callback. */
static void
test_hooks_freed_running(void **state)
{
	struct world	w;

	hook_world(&w, "");
	tell(&w, 0, "up", "starting", "a");
	tell(&w, 0, "down", "up", "b");
	assert_int_equal(notify_hooks_running(w.nf), 1);
	notify_free(w.nf);
	w.nf = NULL;
	world_free(&w);
}

struct want_n {
	struct hsrv	*s;
	struct notifier	*nf;
	size_t		 n;
};

static bool
srv_got_all(void *arg)
{
	struct want_n	*w = arg;

	return w->s->n >= w->n && notify_pending(w->nf) == 0;
}

static void
webhook_world(struct world *w, struct hsrv *s, size_t fail_first)
{
	world_init(w, true);
	srv_start(s, w->base);
	w->srv = s;
	s->fail_first = fail_first;
	world_conf(w, "{ " SERVICES ", \"notify\": ["
	    " { \"webhook\": \"http://127.0.0.1:%d/hook/SECRET\","
	    " \"timeout\": \"5s\" } ] }", s->port);
}

static const char *
json_str(json_object *o, const char *key)
{
	json_object	*v;

	if (!json_object_object_get_ex(o, key, &v))
		fail_msg("no \"%s\" in the webhook's body", key);
	return json_object_get_string(v);
}

/* The reason field of request i's body. */
static void
assert_reason(const struct hsrv *s, size_t i, const char *want)
{
	json_object	*o = json_tokener_parse(s->reqs[i].body);

	assert_non_null(o);
	assert_string_equal(json_str(o, "reason"), want);
	json_object_put(o);
}

static void
test_webhook_body_and_order(void **state)
{
	struct world	 w;
	struct hsrv	 s;
	struct want_n	 wn;
	json_object	*o;
	char		 host[256], text[512];

	webhook_world(&w, &s, 0);
	/* The first verdict after start is not a transition: no webhook. */
	tell(&w, 0, "up", "starting", "all conditions hold");
	assert_int_equal(notify_pending(w.nf), 0);
	tell(&w, 0, "down", "up", "first");
	tell(&w, 1, "down", "up", "second");
	tell(&w, 0, "up", "down", "third");
	assert_int_equal(notify_pending(w.nf), 3);
	wn = (struct want_n){ &s, w.nf, 3 };
	run_until(&w, srv_got_all, &wn);
	assert_int_equal(s.n, 3);
	assert_string_equal(s.reqs[0].line, "POST /hook/SECRET HTTP/1.1");
	assert_string_equal(s.reqs[0].ctype, "application/json");
	assert_reason(&s, 0, "first");
	assert_reason(&s, 1, "second");
	assert_reason(&s, 2, "third");
	assert_int_equal(metrics_get(w.metrics, MC_WEBHOOK_SENT), 3);
	assert_int_equal(metrics_get(w.metrics, MC_WEBHOOK_RETRIES), 0);

	o = json_tokener_parse(s.reqs[1].body);
	assert_non_null(o);
	assert_int_equal(json_object_object_length(o), 8);
	assert_string_equal(json_str(o, "event"), "transition");
	assert_string_equal(json_str(o, "service"), "api");
	assert_string_equal(json_str(o, "state"), "down");
	assert_string_equal(json_str(o, "previous"), "up");
	assert_string_equal(json_str(o, "time"), WALL_TEXT);
	assert_int_equal(gethostname(host, sizeof(host)), 0);
	assert_string_equal(json_str(o, "host"), host);
	snprintf(text, sizeof(text), "%s: service api is down (was up): second",
	    host);
	assert_string_equal(json_str(o, "text"), text);
	json_object_put(o);
	world_free(&w);
}

static void
test_webhook_queue_bound(void **state)
{
	struct world	w;
	struct hsrv	s;
	struct want_n	wn;
	char		reason[16];
	size_t		i, dropped = 300 - NOTIFY_QUEUE_MAX;

	webhook_world(&w, &s, 0);
	/* 300 at once: the first is in flight, the oldest waiting ones are
	 * dropped for the newest. */
	for (i = 0; i < 300; i++) {
		snprintf(reason, sizeof(reason), "e%zu", i);
		tell(&w, 0, i % 2 ? "up" : "down", i % 2 ? "down" : "up", reason);
	}
	assert_int_equal(notify_pending(w.nf), NOTIFY_QUEUE_MAX);
	assert_int_equal(metrics_get(w.metrics, MC_WEBHOOK_DROPPED), dropped);
	wn = (struct want_n){ &s, w.nf, NOTIFY_QUEUE_MAX };
	run_until(&w, srv_got_all, &wn);
	assert_int_equal(s.n, NOTIFY_QUEUE_MAX);
	assert_reason(&s, 0, "e0");
	for (i = 1; i < NOTIFY_QUEUE_MAX; i++) {
		snprintf(reason, sizeof(reason), "e%zu", dropped + i);
		assert_reason(&s, i, reason);
	}
	assert_int_equal(metrics_get(w.metrics, MC_WEBHOOK_SENT),
	    NOTIFY_QUEUE_MAX);
	world_free(&w);
}

static void
test_backoff_schedule(void **state)
{
	static const int64_t	want[] = { 1000, 2000, 4000, 8000, 16000,
				    32000, 60000, 60000, 60000 };
	int64_t			total = 0;
	int			i;

	assert_int_equal(ARRAY_SIZE(want), NOTIFY_RETRIES - 1);
	for (i = 1; i < NOTIFY_RETRIES; i++) {
		assert_int_equal(notify_backoff_ms(i), want[i - 1]);
		total += notify_backoff_ms(i);
	}
	/* Ten attempts span about four minutes. */
	assert_int_equal(total, 243000);
}

struct retry_wait {
	struct hsrv	*s;
	struct ntarget	*t;
	size_t		 n;
};

/* Request n came and failed: the retry timer is set. */
static bool
retry_armed(void *arg)
{
	struct retry_wait	*r = arg;

	return r->s->n >= r->n && !r->t->in_flight &&
	    evtimer_pending(r->t->retry, NULL);
}

/* Milliseconds until ev fires. */
static int64_t
ms_left(const struct event *ev)
{
	struct timeval	at, now;

	assert_true(evtimer_pending(ev, &at));
	gettimeofday(&now, NULL);
	return (at.tv_sec - now.tv_sec) * 1000LL +
	    (at.tv_usec - now.tv_usec) / 1000;
}

/*
 * Every attempt fails: after attempt k the retry waits
 * notify_backoff_ms(k); the 10th failure gives the event up and the next
 * one goes at once. Each retry is fired as soon as it is armed.
 */
static void
test_webhook_retries(void **state)
{
	struct world		w;
	struct hsrv		s;
	struct retry_wait	r;
	struct want_n		wn;
	int64_t			left;
	size_t			k;

	webhook_world(&w, &s, NOTIFY_RETRIES);
	tell(&w, 0, "down", "up", "doomed");
	tell(&w, 0, "up", "down", "lucky");
	r.s = &s;
	r.t = &w.nf->t[0];
	for (k = 1; k < NOTIFY_RETRIES; k++) {
		r.n = k;
		run_until(&w, retry_armed, &r);
		assert_int_equal(s.n, k);
		left = ms_left(r.t->retry);
		if (left > notify_backoff_ms((int)k) + 50 ||
		    left < notify_backoff_ms((int)k) - 1000)
			fail_msg("after attempt %zu: retry in %lldms, want %lld",
			    k, (long long)left,
			    (long long)notify_backoff_ms((int)k));
		assert_int_equal(metrics_get(w.metrics, MC_WEBHOOK_RETRIES), k);
		assert_int_equal(notify_pending(w.nf), 2);
		/* The timer's moment: send now. */
		evtimer_del(r.t->retry);
		webhook_send(r.t);
	}
	wn = (struct want_n){ &s, w.nf, NOTIFY_RETRIES + 1 };
	run_until(&w, srv_got_all, &wn);
	assert_int_equal(s.n, NOTIFY_RETRIES + 1);
	for (k = 0; k < NOTIFY_RETRIES; k++)
		assert_reason(&s, k, "doomed");
	assert_reason(&s, NOTIFY_RETRIES, "lucky");
	assert_int_equal(metrics_get(w.metrics, MC_WEBHOOK_FAILURES), 1);
	assert_int_equal(metrics_get(w.metrics, MC_WEBHOOK_RETRIES),
	    NOTIFY_RETRIES - 1);
	assert_int_equal(metrics_get(w.metrics, MC_WEBHOOK_SENT), 1);
	world_free(&w);
}

/* One real retry, on its own timer: 1s after a 500, then delivered. */
static void
test_webhook_one_real_retry(void **state)
{
	struct world	w;
	struct hsrv	s;
	struct want_n	wn;
	int64_t		t0 = mono_ms();

	webhook_world(&w, &s, 1);
	tell(&w, 0, "down", "up", "again");
	wn = (struct want_n){ &s, w.nf, 2 };
	run_until(&w, srv_got_all, &wn);
	assert_true(mono_ms() - t0 >= 900);
	assert_reason(&s, 0, "again");
	assert_reason(&s, 1, "again");
	assert_int_equal(metrics_get(w.metrics, MC_WEBHOOK_RETRIES), 1);
	assert_int_equal(metrics_get(w.metrics, MC_WEBHOOK_SENT), 1);
	world_free(&w);
}

/* Freed with a webhook in flight and more queued: nothing leaks. */
static void
test_webhook_freed_in_flight(void **state)
{
	struct world	w;
	struct hsrv	s;

	webhook_world(&w, &s, 0);
	tell(&w, 0, "down", "up", "a");
	tell(&w, 0, "up", "down", "b");
	assert_true(w.nf->t[0].in_flight);
	world_free(&w);
}

static int
teardown_curl(void **state)
{
	curl_global_cleanup();
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_track_write),
		cmocka_unit_test(test_tracks),
		cmocka_unit_test(test_track_failure_retried),
		cmocka_unit_test(test_hooks_in_order),
		cmocka_unit_test(test_hook_environment),
		cmocka_unit_test(test_hook_services_filter),
		cmocka_unit_test(test_hooks_freed_running),
		cmocka_unit_test(test_backoff_schedule),
		cmocka_unit_test(test_webhook_body_and_order),
		cmocka_unit_test(test_webhook_queue_bound),
		cmocka_unit_test(test_webhook_retries),
		cmocka_unit_test(test_webhook_one_real_retry),
		cmocka_unit_test(test_webhook_freed_in_flight),
	};

	return cmocka_run_group_tests(tests, NULL, teardown_curl);
}
