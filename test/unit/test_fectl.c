/*
 * test_fectl.c: frontend control (agent/fectl.c) against a fake HAProxy
 * CLI in this process: a unix socket on the same event loop that records
 * every command line and answers each command as HAProxy does (its
 * output, then an empty line, then a close; HAPROXY.md section 4), or
 * not at all.
 *
 * What is sent for which verdicts; what HAProxy's replies do (empty: done;
 * "All sockets are already ...": done, and the operator's own disable is
 * left alone on stop; an error text; no reply; no socket); restore on
 * stop; re-apply for a new HAProxy process, also with a command in
 * flight; a frontend dropped from the config given back on reload.
 *
 * It includes fectl.c to see whether a request is in flight.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

#include "fectl.c"

/* ---- a fake HAProxy CLI ------------------------------------------------- */

#define CLI_MAX		16

enum cli_mode {
	CLI_ANSWER,		/* every command's output and its empty line */
	CLI_SILENT,		/* close without a word */
	CLI_HOLD,		/* keep the request until cli_release() */
};

struct cli {
	struct evconnlistener	*l;
	char			 dir[32];
	char			 path[64];
	struct addr		 addr;
	enum cli_mode		 mode;
	/* output per command; any other command outputs nothing */
	const char		*cmd[CLI_MAX];
	const char		*out[CLI_MAX];
	size_t			 nmap;
	char			*lines[64];	/* every line received */
	size_t			 nlines;
	struct bufferevent	*open[8];	/* connections not closed */
	struct bufferevent	*held;
};

static void
cli_close(struct cli *c, struct bufferevent *bev)
{
	size_t	i;

	for (i = 0; i < ARRAY_SIZE(c->open); i++)
		if (c->open[i] == bev)
			c->open[i] = NULL;
	if (c->held == bev)
		c->held = NULL;
	bufferevent_free(bev);
}

static void
cli_written_cb(struct bufferevent *bev, void *arg)
{
	cli_close(arg, bev);
}

static void
cli_event_cb(struct bufferevent *bev, short what, void *arg)
{
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR))
		cli_close(arg, bev);
}

/* Answer line's commands on bev, then close. */
static void
cli_answer(struct cli *c, struct bufferevent *bev, const char *line)
{
	struct evbuffer	*out = bufferevent_get_output(bev);
	char		*copy = xstrdup(line), *cmd, *save;
	size_t		 i;

	for (cmd = strtok_r(copy, ";", &save); cmd != NULL;
	    cmd = strtok_r(NULL, ";", &save)) {
		for (i = 0; i < c->nmap && strcmp(c->cmd[i], cmd) != 0; i++)
			;
		if (i < c->nmap)
			evbuffer_add_printf(out, "%s\n", c->out[i]);
		evbuffer_add(out, "\n", 1);
	}
	free(copy);
	if (evbuffer_get_length(out) == 0) {
		cli_close(c, bev);
		return;
	}
	bufferevent_setcb(bev, NULL, cli_written_cb, cli_event_cb, c);
}

static void
cli_read_cb(struct bufferevent *bev, void *arg)
{
	struct cli	*c = arg;
	char		*line;
	size_t		 len;

	line = evbuffer_readln(bufferevent_get_input(bev), &len,
	    EVBUFFER_EOL_LF);
	if (line == NULL)
		return;
	assert_true(c->nlines < ARRAY_SIZE(c->lines));
	c->lines[c->nlines++] = line;
	if (c->mode == CLI_SILENT)
		cli_close(c, bev);
	else if (c->mode == CLI_HOLD)
		c->held = bev;
	else
		cli_answer(c, bev, line);
}

static void
cli_accept_cb(struct evconnlistener *l, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	struct cli		*c = arg;
	struct bufferevent	*bev = bufferevent_socket_new(
				    evconnlistener_get_base(l), fd,
				    BEV_OPT_CLOSE_ON_FREE);
	size_t			 i;

	for (i = 0; i < ARRAY_SIZE(c->open) && c->open[i] != NULL; i++)
		;
	assert_true(i < ARRAY_SIZE(c->open));
	c->open[i] = bev;
	bufferevent_setcb(bev, cli_read_cb, NULL, cli_event_cb, c);
	bufferevent_enable(bev, EV_READ | EV_WRITE);
}

static void
cli_listen(struct cli *c, struct event_base *base)
{
	struct sockaddr_un	sun = { .sun_family = AF_UNIX };

	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", c->path);
	c->l = evconnlistener_new_bind(base, cli_accept_cb, c,
	    LEV_OPT_CLOSE_ON_FREE, 16, (struct sockaddr *)&sun, sizeof(sun));
	assert_non_null(c->l);
}

static void
cli_start(struct cli *c, struct event_base *base)
{
	char	spec[80], err[64];

	memset(c, 0, sizeof(*c));
	snprintf(c->dir, sizeof(c->dir), "/tmp/hw-fectl-XXXXXX");
	assert_non_null(mkdtemp(c->dir));
	snprintf(c->path, sizeof(c->path), "%s/admin.sock", c->dir);
	snprintf(spec, sizeof(spec), "unix:%s", c->path);
	if (!addr_parse(spec, 0, &c->addr, err, sizeof(err)))
		fail_msg("%s: %s", spec, err);
	cli_listen(c, base);
}

/* The socket goes away, as when HAProxy is stopped. */
static void
cli_down(struct cli *c)
{
	evconnlistener_free(c->l);
	c->l = NULL;
	unlink(c->path);
}

static void
cli_map(struct cli *c, const char *cmd, const char *out)
{
	assert_true(c->nmap < CLI_MAX);
	c->cmd[c->nmap] = cmd;
	c->out[c->nmap] = out;
	c->nmap++;
}

/* Answer the held request now. */
static void
cli_release(struct cli *c)
{
	assert_non_null(c->held);
	c->mode = CLI_ANSWER;
	cli_answer(c, c->held, c->lines[c->nlines - 1]);
}

static void
cli_stop(struct cli *c)
{
	size_t	i;

	if (c->l != NULL)
		cli_down(c);
	for (i = 0; i < ARRAY_SIZE(c->open); i++)
		if (c->open[i] != NULL)
			bufferevent_free(c->open[i]);
	for (i = 0; i < c->nlines; i++)
		free(c->lines[i]);
	rmdir(c->dir);
}

/* ---- the world ---------------------------------------------------------- */

struct world {
	struct event_base	*base;
	struct event		*tick;
	struct conf		*conf;
	struct svc		*svcs;
	struct fectl		*f;
	struct cli		 cli;
	int			 done;		/* restore callbacks */
};

static void
tick_cb(evutil_socket_t fd, short what, void *arg)
{
}

#define CONF	"{ \"haproxy\": { \"stats\": \"unix:/tmp/hw-unused.sock\" }," \
	" \"services\": {" \
	" \"web\": { \"require\": [ { \"backend\": \"webapp\" } ] }," \
	" \"api\": { \"require\": [ { \"backend\": \"api\" } ] } }," \
	" \"listen\": [ { \"http\": \"127.0.0.1:8080\"," \
	" \"paths\": { \"/\": \"web\" } } ]," \
	" \"frontends\": { %s } }"
#define FES3	"\"fe_a\": \"web\", \"fe_b\": \"web\", \"fe_c\": \"api\""

static struct conf *
load(const char *frontends)
{
	struct conf_errors	 errs = { 0 };
	struct conf		*c;
	char			*text = xasprintf(CONF, frontends);
	size_t			 i;

	c = conf_load_string("test.json", text, NULL, &errs);
	for (i = 0; i < errs.n; i++)
		print_error("%s\n", errs.msgs[i]);
	assert_non_null(c);
	conf_errors_free(&errs);
	free(text);
	return c;
}

static struct fectl *
make(struct world *w, const struct conf *c, const struct svc *svcs)
{
	struct fectl_env	env = { 0 };

	env.base = w->base;
	env.stats = w->cli.addr;
	env.timeout = 5000;
	return fectl_new(&env, c, svcs);
}

static void
world_init(struct world *w, const char *frontends)
{
	size_t	i;

	memset(w, 0, sizeof(*w));
	log_set_level(LOG_LVL_ERR);
	w->base = event_base_new();
	assert_non_null(w->base);
	w->tick = evtimer_new(w->base, tick_cb, NULL);
	cli_start(&w->cli, w->base);
	w->conf = load(frontends);
	w->svcs = xcalloc(w->conf->nservices, sizeof(*w->svcs));
	for (i = 0; i < w->conf->nservices; i++)
		svc_init(&w->svcs[i], &w->conf->services[i]);
	w->f = make(w, w->conf, w->svcs);
}

static void
world_free(struct world *w)
{
	size_t	i;

	fectl_free(w->f);
	cli_stop(&w->cli);
	reap_now();
	for (i = 0; i < w->conf->nservices; i++)
		svc_clear(&w->svcs[i]);
	free(w->svcs);
	conf_free(w->conf);
	event_free(w->tick);
	event_base_free(w->base);
}

/* The verdict of service i (0 web, 1 api). */
static void
verdict(struct world *w, size_t i, bool up)
{
	w->svcs[i].evaluated = true;
	w->svcs[i].up = up;
}

static bool
idle(void *arg)
{
	return ((struct fectl *)arg)->req == NULL;
}

static bool
held(void *arg)
{
	return ((struct cli *)arg)->held != NULL;
}

/* Turn the loop, reaping after every turn, until done(arg). */
static void
run_until(struct world *w, bool (*done)(void *), void *arg)
{
	int64_t		deadline = mono_ms() + 10000;
	struct timeval	tv = tv_ms(50);

	while (!done(arg)) {
		if (mono_ms() > deadline)
			fail_msg("not done after 10s");
		evtimer_add(w->tick, &tv);
		event_base_loop(w->base, EVLOOP_ONCE);
		reap_now();
	}
}

/* Send what the verdicts want and wait for the answer; the line sent
 * must be want ("" for none). */
static void
update(struct world *w, const char *want)
{
	size_t	before = w->cli.nlines;

	fectl_update(w->f);
	if (want[0] == '\0') {
		assert_null(w->f->req);
		return;
	}
	assert_non_null(w->f->req);
	run_until(w, idle, w->f);
	assert_int_equal(w->cli.nlines, before + 1);
	assert_string_equal(w->cli.lines[before], want);
}

static void
assert_fe(struct world *w, size_t i, const char *name, enum fe_applied a,
    const char *error)
{
	struct fe_status	st;

	fectl_status(w->f, i, &st);
	assert_string_equal(st.name, name);
	if (st.applied != a)
		fail_msg("%s: applied %d, want %d", name, st.applied, a);
	if (error == NULL)
		assert_null(st.error);
	else
		assert_string_equal(st.error, error);
}

static void
restored_cb(void *arg)
{
	((struct world *)arg)->done++;
}

static bool
restored(void *arg)
{
	return ((struct world *)arg)->done > 0;
}

/* ---- tests --------------------------------------------------------------- */

static void
test_verdicts(void **state)
{
	struct world	w;

	world_init(&w, FES3);
	assert_int_equal(fectl_count(w.f), 3);
	/* No verdict yet: nothing to follow, nothing sent. */
	update(&w, "");
	assert_fe(&w, 0, "fe_a", FE_UNKNOWN, NULL);
	/* web down, api not known yet. */
	verdict(&w, 0, false);
	update(&w, "disable frontend fe_a;disable frontend fe_b");
	assert_fe(&w, 0, "fe_a", FE_DISABLED, NULL);
	assert_fe(&w, 1, "fe_b", FE_DISABLED, NULL);
	assert_fe(&w, 2, "fe_c", FE_UNKNOWN, NULL);
	/* api up: only what differs is sent. */
	verdict(&w, 1, true);
	update(&w, "enable frontend fe_c");
	assert_fe(&w, 2, "fe_c", FE_ENABLED, NULL);
	update(&w, "");
	/* web up again. */
	verdict(&w, 0, true);
	update(&w, "enable frontend fe_a;enable frontend fe_b");
	assert_fe(&w, 0, "fe_a", FE_ENABLED, NULL);
	assert_fe(&w, 1, "fe_b", FE_ENABLED, NULL);
	/* A drained service still has an up verdict: nothing changes. */
	(void)svc_set_override(&w.svcs[0], OVR_DRAIN, NULL);
	update(&w, "");
	world_free(&w);
}

static void
test_replies(void **state)
{
	struct world	w;

	world_init(&w, FES3);
	cli_map(&w.cli, "disable frontend fe_a", "No such frontend.");
	cli_map(&w.cli, "disable frontend fe_b",
	    "All sockets are already disabled.");
	cli_map(&w.cli, "enable frontend fe_c", "Permission denied");
	verdict(&w, 0, false);
	verdict(&w, 1, true);
	update(&w, "disable frontend fe_a;disable frontend fe_b;"
	    "enable frontend fe_c");
	assert_fe(&w, 0, "fe_a", FE_ERROR, "No such frontend.");
	assert_fe(&w, 1, "fe_b", FE_DISABLED, NULL);
	assert_fe(&w, 2, "fe_c", FE_ERROR, "Permission denied");
	assert_false(w.f->fes[0].disabled_by_us);
	/* Refusals are not retried on every poll... */
	update(&w, "");
	/* ...but after a reload, where they may succeed. */
	w.cli.nmap = 0;
	fectl_reapply(w.f);
	assert_non_null(w.f->req);
	run_until(&w, idle, w.f);
	assert_string_equal(w.cli.lines[w.cli.nlines - 1],
	    "disable frontend fe_a;disable frontend fe_b;enable frontend fe_c");
	assert_fe(&w, 0, "fe_a", FE_DISABLED, NULL);
	assert_fe(&w, 2, "fe_c", FE_ENABLED, NULL);
	world_free(&w);
}

static void
test_no_reply(void **state)
{
	struct world	w;

	world_init(&w, FES3);
	verdict(&w, 0, false);
	/* HAProxy closes without a word: not known to be done, sent again
	 * on the next update. */
	w.cli.mode = CLI_SILENT;
	update(&w, "disable frontend fe_a;disable frontend fe_b");
	assert_fe(&w, 0, "fe_a", FE_UNKNOWN, NULL);
	assert_false(w.f->outage);
	/* No socket at all: the same, and an outage (said once). */
	cli_down(&w.cli);
	fectl_update(w.f);
	run_until(&w, idle, w.f);
	assert_fe(&w, 1, "fe_b", FE_UNKNOWN, NULL);
	assert_true(w.f->outage);
	/* Back: done, and the outage is over. */
	w.cli.mode = CLI_ANSWER;
	cli_listen(&w.cli, w.base);
	update(&w, "disable frontend fe_a;disable frontend fe_b");
	assert_fe(&w, 0, "fe_a", FE_DISABLED, NULL);
	assert_false(w.f->outage);
	/* An enable that gets no word: no longer known to be disabled. */
	verdict(&w, 0, true);
	w.cli.mode = CLI_SILENT;
	update(&w, "enable frontend fe_a;enable frontend fe_b");
	assert_fe(&w, 0, "fe_a", FE_UNKNOWN, NULL);
	w.cli.mode = CLI_ANSWER;
	update(&w, "enable frontend fe_a;enable frontend fe_b");
	assert_fe(&w, 0, "fe_a", FE_ENABLED, NULL);
	world_free(&w);
}

/* One answer for fewer commands than were sent: the rest unknown. */
static void
test_short_reply(void **state)
{
	struct world		 w;
	struct hacli_result	 r = { 0 };

	world_init(&w, FES3);
	verdict(&w, 0, false);
	w.cli.mode = CLI_HOLD;
	fectl_update(w.f);
	run_until(&w, held, &w.cli);
	/* As if HAProxy had answered only the first command. */
	r.status = HACLI_OK;
	r.reply = "\n";
	r.len = 1;
	hacli_cancel(w.f->req);
	fectl_done_cb(w.f, &r);
	assert_fe(&w, 0, "fe_a", FE_DISABLED, NULL);
	assert_fe(&w, 1, "fe_b", FE_UNKNOWN, NULL);
	assert_false(w.f->fes[1].in_flight);
	world_free(&w);
}

static void
test_restore(void **state)
{
	struct world	w;

	world_init(&w, FES3);
	/* fe_b was disabled by the operator before we came. */
	cli_map(&w.cli, "disable frontend fe_b",
	    "All sockets are already disabled.");
	verdict(&w, 0, false);
	verdict(&w, 1, true);
	update(&w, "disable frontend fe_a;disable frontend fe_b;"
	    "enable frontend fe_c");
	/* Stop: give back only what we disabled; then done, once. */
	fectl_restore(w.f, restored_cb, &w);
	assert_non_null(w.f->req);
	run_until(&w, restored, &w);
	assert_string_equal(w.cli.lines[w.cli.nlines - 1],
	    "enable frontend fe_a");
	assert_int_equal(w.done, 1);
	assert_fe(&w, 0, "fe_a", FE_ENABLED, NULL);
	assert_fe(&w, 1, "fe_b", FE_DISABLED, NULL);
	/* Stopping: verdicts are not followed any more. */
	verdict(&w, 1, false);
	update(&w, "");
	assert_int_equal(w.done, 1);
	world_free(&w);
}

static void
test_restore_nothing_to_do(void **state)
{
	struct world	w;

	world_init(&w, FES3);
	verdict(&w, 0, true);
	verdict(&w, 1, true);
	update(&w, "enable frontend fe_a;enable frontend fe_b;"
	    "enable frontend fe_c");
	fectl_restore(w.f, restored_cb, &w);
	assert_null(w.f->req);
	assert_int_equal(w.done, 1);
	world_free(&w);
}

/* A stop while a disable is in flight: it is enabled again after. */
static void
test_restore_while_in_flight(void **state)
{
	struct world	w;

	world_init(&w, FES3);
	verdict(&w, 0, false);
	w.cli.mode = CLI_HOLD;
	fectl_update(w.f);
	run_until(&w, held, &w.cli);
	fectl_restore(w.f, restored_cb, &w);
	assert_int_equal(w.done, 0);
	cli_release(&w.cli);
	run_until(&w, restored, &w);
	assert_int_equal(w.cli.nlines, 2);
	assert_string_equal(w.cli.lines[0],
	    "disable frontend fe_a;disable frontend fe_b");
	assert_string_equal(w.cli.lines[1],
	    "enable frontend fe_a;enable frontend fe_b");
	assert_fe(&w, 0, "fe_a", FE_ENABLED, NULL);
	world_free(&w);
}

static void
test_reapply(void **state)
{
	struct world	w;

	world_init(&w, FES3);
	verdict(&w, 0, false);
	verdict(&w, 1, true);
	update(&w, "disable frontend fe_a;disable frontend fe_b;"
	    "enable frontend fe_c");
	/* A new HAProxy process has every frontend enabled: apply again. */
	fectl_reapply(w.f);
	assert_fe(&w, 0, "fe_a", FE_UNKNOWN, NULL);
	assert_non_null(w.f->req);
	run_until(&w, idle, w.f);
	assert_int_equal(w.cli.nlines, 2);
	assert_string_equal(w.cli.lines[1], "disable frontend fe_a;"
	    "disable frontend fe_b;enable frontend fe_c");
	assert_fe(&w, 0, "fe_a", FE_DISABLED, NULL);
	assert_true(w.f->fes[0].disabled_by_us);
	/* A process that says fe_a is disabled already: still ours (we
	 * disabled it before), so a stop gives it back. */
	cli_map(&w.cli, "disable frontend fe_a",
	    "All sockets are already disabled.");
	fectl_reapply(w.f);
	run_until(&w, idle, w.f);
	assert_fe(&w, 0, "fe_a", FE_DISABLED, NULL);
	fectl_restore(w.f, restored_cb, &w);
	run_until(&w, restored, &w);
	assert_string_equal(w.cli.lines[w.cli.nlines - 1],
	    "enable frontend fe_a;enable frontend fe_b");
	world_free(&w);
}

/* The answer to a command sent to the old process says nothing of the
 * new one: sent again. */
static void
test_reapply_while_in_flight(void **state)
{
	struct world	w;

	world_init(&w, FES3);
	verdict(&w, 0, false);
	w.cli.mode = CLI_HOLD;
	fectl_update(w.f);
	run_until(&w, held, &w.cli);
	fectl_reapply(w.f);
	cli_release(&w.cli);
	run_until(&w, idle, w.f);
	assert_int_equal(w.cli.nlines, 2);
	assert_string_equal(w.cli.lines[1],
	    "disable frontend fe_a;disable frontend fe_b");
	assert_fe(&w, 0, "fe_a", FE_DISABLED, NULL);
	world_free(&w);
}

/* The verdict flips while the command is in flight: the other one
 * follows its answer. */
static void
test_change_while_in_flight(void **state)
{
	struct world	w;

	world_init(&w, FES3);
	verdict(&w, 0, false);
	w.cli.mode = CLI_HOLD;
	fectl_update(w.f);
	run_until(&w, held, &w.cli);
	verdict(&w, 0, true);
	fectl_update(w.f);
	assert_int_equal(w.cli.nlines, 1);
	cli_release(&w.cli);
	run_until(&w, idle, w.f);
	assert_int_equal(w.cli.nlines, 2);
	assert_string_equal(w.cli.lines[1],
	    "enable frontend fe_a;enable frontend fe_b");
	assert_fe(&w, 1, "fe_b", FE_ENABLED, NULL);
	world_free(&w);
}

/* After a config reload: what was applied carries over by name, and a
 * frontend we disabled that the new config drops is enabled again. */
static void
test_inherit(void **state)
{
	struct world		 w;
	struct conf		*c2;
	struct svc		 s2[2];
	struct fectl		*f2;
	struct fe_status	 st;

	world_init(&w, FES3);
	verdict(&w, 0, false);
	verdict(&w, 1, true);
	update(&w, "disable frontend fe_a;disable frontend fe_b;"
	    "enable frontend fe_c");
	/* The new config drops fe_a; its services have the same verdicts. */
	c2 = load("\"fe_b\": \"web\", \"fe_c\": \"api\"");
	svc_init(&s2[0], &c2->services[0]);
	svc_init(&s2[1], &c2->services[1]);
	s2[0].evaluated = s2[1].evaluated = true;
	s2[0].up = false;
	s2[1].up = true;
	f2 = make(&w, c2, s2);
	fectl_inherit(f2, w.f);
	fectl_free(w.f);
	w.f = f2;
	assert_int_equal(fectl_count(f2), 3);
	assert_fe(&w, 0, "fe_b", FE_DISABLED, NULL);
	assert_fe(&w, 1, "fe_c", FE_ENABLED, NULL);
	fectl_status(f2, 2, &st);
	assert_string_equal(st.name, "fe_a");
	assert_int_equal(st.svc, CONF_NONE);
	/* Only the orphan is sent: the others are as wanted. */
	update(&w, "enable frontend fe_a");
	assert_fe(&w, 2, "fe_a", FE_ENABLED, NULL);
	update(&w, "");
	/* fe_b is still ours to give back on stop. */
	fectl_restore(f2, restored_cb, &w);
	run_until(&w, restored, &w);
	assert_string_equal(w.cli.lines[w.cli.nlines - 1],
	    "enable frontend fe_b");
	world_free(&w);
	svc_clear(&s2[0]);
	svc_clear(&s2[1]);
	conf_free(c2);
}

/* Many frontends: at most 256 commands a line; the rest go with the
 * next update. */
static void
test_many_frontends(void **state)
{
	struct world	 w;
	struct sbuf	 fes = { 0 }, want = { 0 };
	size_t		 i, n = 300;
	const char	*sent;

	for (i = 0; i < n; i++)
		sbuf_printf(&fes, "%s\"f%zu\": \"web\"", i ? ", " : "", i);
	world_init(&w, fes.data);
	verdict(&w, 0, false);
	fectl_update(w.f);
	run_until(&w, idle, w.f);
	sent = w.cli.lines[0];
	for (i = 0; i < 256; i++)
		sbuf_printf(&want, "%sdisable frontend f%zu", i ? ";" : "", i);
	assert_string_equal(sent, want.data);
	assert_fe(&w, 255, "f255", FE_DISABLED, NULL);
	assert_fe(&w, 256, "f256", FE_UNKNOWN, NULL);
	sbuf_reset(&want);
	for (i = 256; i < n; i++)
		sbuf_printf(&want, "%sdisable frontend f%zu", i > 256 ? ";" : "",
		    i);
	update(&w, want.data);
	assert_fe(&w, n - 1, "f299", FE_DISABLED, NULL);
	sbuf_free(&fes);
	sbuf_free(&want);
	world_free(&w);
}

/* A stop with more disabled frontends than one line takes: every one is
 * enabled again before done. */
static void
test_restore_many(void **state)
{
	struct world	 w;
	struct sbuf	 fes = { 0 };
	size_t		 i, n = 300;
	char		 name[16];

	for (i = 0; i < n; i++)
		sbuf_printf(&fes, "%s\"f%zu\": \"web\"", i ? ", " : "", i);
	world_init(&w, fes.data);
	verdict(&w, 0, false);
	fectl_update(w.f);
	run_until(&w, idle, w.f);
	fectl_update(w.f);
	run_until(&w, idle, w.f);
	assert_fe(&w, n - 1, "f299", FE_DISABLED, NULL);
	fectl_restore(w.f, restored_cb, &w);
	run_until(&w, restored, &w);
	assert_int_equal(w.done, 1);
	for (i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "f%zu", i);
		assert_fe(&w, i, name, FE_ENABLED, NULL);
	}
	sbuf_free(&fes);
	world_free(&w);
}

/* A stop that HAProxy refuses: each frontend is tried once, then done;
 * no loop of retries. */
static void
test_restore_refused(void **state)
{
	struct world	w;
	size_t		lines;

	world_init(&w, FES3);
	verdict(&w, 0, false);
	verdict(&w, 1, true);
	update(&w, "disable frontend fe_a;disable frontend fe_b;"
	    "enable frontend fe_c");
	cli_map(&w.cli, "enable frontend fe_a", "Permission denied");
	lines = w.cli.nlines;
	fectl_restore(w.f, restored_cb, &w);
	run_until(&w, restored, &w);
	assert_int_equal(w.done, 1);
	assert_int_equal(w.cli.nlines, lines + 1);
	assert_fe(&w, 0, "fe_a", FE_ERROR, "Permission denied");
	world_free(&w);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_verdicts),
		cmocka_unit_test(test_replies),
		cmocka_unit_test(test_no_reply),
		cmocka_unit_test(test_short_reply),
		cmocka_unit_test(test_restore),
		cmocka_unit_test(test_restore_nothing_to_do),
		cmocka_unit_test(test_restore_while_in_flight),
		cmocka_unit_test(test_reapply),
		cmocka_unit_test(test_reapply_while_in_flight),
		cmocka_unit_test(test_change_while_in_flight),
		cmocka_unit_test(test_inherit),
		cmocka_unit_test(test_many_frontends),
		cmocka_unit_test(test_restore_many),
		cmocka_unit_test(test_restore_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
