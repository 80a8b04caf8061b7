/*
 * master.c: HAProxy's master CLI: the current worker and failed reloads.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "hacli.h"
#include "master.h"

#define MASTER_MAX_REPLY	(256u << 10)

struct master {
	struct event_base	*base;
	struct addr		 addr;
	int64_t			 interval;
	int64_t			 timeout;
	master_cb		*cb;
	void			*arg;
	struct event		*tick;
	struct hacli_req	*req;
	bool			 started;
	bool			 have_last;
	struct master_proc	 last;
	struct master_report	 pending;	/* while startup-logs is asked */
};

/* ---- parsing ---- */

/* The next line of [*p, end) into a NUL-terminated copy; false at end. */
static bool
next_line(const char **p, const char *end, char *line, size_t len)
{
	const char	*nl;
	size_t		 l;

	if (*p >= end)
		return false;
	nl = memchr(*p, '\n', (size_t)(end - *p));
	l = nl != NULL ? (size_t)(nl - *p) : (size_t)(end - *p);
	if (l >= len)
		l = len - 1;
	memcpy(line, *p, l);
	line[l] = '\0';
	*p = nl != NULL ? nl + 1 : end;
	return true;
}

static bool
parse_uint(const char *s, unsigned *out)
{
	char		*end;
	unsigned long	 v;

	if (!isdigit((unsigned char)s[0]))
		return false;
	v = strtoul(s, &end, 10);
	if ((*end != '\0' && *end != ']') || v > 1000000000UL)
		return false;
	*out = (unsigned)v;
	return true;
}

/* "30822 master 2 [failed: 1] 0d00h00m03s 2.6.12-1+deb12u4" */
static bool
parse_master_line(char *line, struct master_proc *out)
{
	char		*tok[12], *save = NULL, *t;
	size_t		 n = 0, i;
	unsigned	 v;

	for (t = strtok_r(line, " \t", &save); t != NULL && n < 12;
	    t = strtok_r(NULL, " \t", &save))
		tok[n++] = t;
	if (n < 3 || strcmp(tok[1], "master") != 0 ||
	    !parse_uint(tok[0], &v) || v == 0 || !parse_uint(tok[2], &out->reloads))
		return false;
	out->master_pid = (int)v;
	out->failed = -1;
	for (i = 3; i + 1 < n; i++)
		if (strcmp(tok[i], "[failed:") == 0 &&
		    parse_uint(tok[i + 1], &v))
			out->failed = (int)v;
	if (n >= 2)
		snprintf(out->version, sizeof(out->version), "%s", tok[n - 1]);
	return true;
}

/* "30832 worker 1 0d00h00m02s 2.6.12-1+deb12u4": pid and reloads. */
static bool
parse_worker_line(char *line, int *pid, unsigned *reloads)
{
	char		*save = NULL, *p, *type, *r;
	unsigned	 v;

	p = strtok_r(line, " \t", &save);
	type = strtok_r(NULL, " \t", &save);
	r = strtok_r(NULL, " \t", &save);
	if (p == NULL || type == NULL || r == NULL ||
	    strcmp(type, "worker") != 0 || !parse_uint(p, &v) || v == 0 ||
	    !parse_uint(r, reloads))
		return false;
	*pid = (int)v;
	return true;
}

bool
master_parse_proc(const char *buf, size_t len, struct master_proc *out,
    char *err, size_t errlen)
{
	const char	*p = buf, *end = buf + len;
	char		 line[512];
	enum { HEAD, MASTER, WORKERS, OLD, OTHER } sec = HEAD;
	int		 pid, old_pid = 0;
	unsigned	 r, old_r = 0;
	bool		 master = false;

	memset(out, 0, sizeof(*out));
	while (next_line(&p, end, line, sizeof(line))) {
		if (line[0] == '\0')
			continue;
		if (sec == HEAD) {
			if (strncmp(line, "#<PID>", 6) != 0)
				break;
			sec = MASTER;
			continue;
		}
		if (line[0] == '#') {
			sec = strncmp(line, "# workers", 9) == 0 ? WORKERS :
			    strncmp(line, "# old workers", 13) == 0 ? OLD : OTHER;
			continue;
		}
		if (sec == MASTER && !master) {
			if (!(master = parse_master_line(line, out)))
				break;
		} else if (sec == WORKERS && out->worker_pid == 0 &&
		    parse_worker_line(line, &pid, &r)) {
			out->worker_pid = pid;
			out->worker_reloads = r;
		} else if (sec == OLD && parse_worker_line(line, &pid, &r) &&
		    (old_pid == 0 || r < old_r)) {
			old_pid = pid;
			old_r = r;
		}
	}
	if (!master) {
		snprintf(err, errlen, "not \"show proc\" output (no master "
		    "line)");
		return false;
	}
	/* 3.2+: after a failed reload the worker that goes on serving is
	 * listed under "# old workers" only. */
	if (out->worker_pid == 0 && old_pid != 0) {
		out->worker_pid = old_pid;
		out->worker_reloads = old_r;
	}
	return true;
}

bool
master_parse_startup_logs(const char *buf, size_t len, char *why,
    size_t whylen)
{
	const char	*p = buf, *end = buf + len, *s;
	char		 line[512];

	while (next_line(&p, end, line, sizeof(line))) {
		if (strncmp(line, "[ALERT]", 7) != 0)
			continue;
		/* "[ALERT]    (31554) : config : parsing [...] : ..." */
		s = strstr(line, ") : ");
		str_sanitize(why, whylen, s != NULL ? s + 4 : line + 7);
		return true;
	}
	return false;
}

/* ---- polling ---- */

void
master_compare(const struct master_proc *last, struct master_report *r)
{
	const struct master_proc	*now = &r->proc;

	r->first = last == NULL;
	r->restarted = r->new_worker = false;
	if (r->first) {
		/* A reload that failed before we came stands as a fact. */
		r->failures = now->failed > 0 ? (unsigned)now->failed : 0;
		return;
	}
	r->restarted = now->master_pid != last->master_pid ||
	    now->reloads < last->reloads;
	r->new_worker = now->worker_pid != last->worker_pid;
	if (r->restarted)
		r->failures = now->failed > 0 ? (unsigned)now->failed : 0;
	else if (now->failed >= 0)
		r->failures = r->new_worker ? (unsigned)now->failed :
		    now->failed > last->failed ?
		    (unsigned)(now->failed - last->failed) : 0;
	else if (!r->new_worker)
		r->failures = now->reloads - last->reloads;
	else
		r->failures = 0;
}

static void master_send(struct master *m, const char *line);

static void
master_deliver(struct master *m, struct master_report *r)
{
	if (r->error == POLL_OK) {
		m->last = r->proc;
		m->have_last = true;
	}
	m->cb(m->arg, r);
}

static void
master_fail(struct master_report *r, const struct master *m,
    const struct hacli_result *res)
{
	switch (res->status) {
	case HACLI_ECONNECT:
		r->error = POLL_ECONNECT;
		snprintf(r->detail, sizeof(r->detail), "cannot connect to %s: %s",
		    m->addr.text, strerror(res->err));
		break;
	case HACLI_ETIMEOUT:
		r->error = POLL_ETIMEOUT;
		snprintf(r->detail, sizeof(r->detail), "no reply from %s within "
		    "%lldms", m->addr.text, (long long)m->timeout);
		break;
	case HACLI_ETOOBIG:
		r->error = POLL_ETOOBIG;
		snprintf(r->detail, sizeof(r->detail), "reply larger than %u "
		    "bytes", MASTER_MAX_REPLY);
		break;
	default:
		r->error = POLL_EIO;
		snprintf(r->detail, sizeof(r->detail), "read from %s: %s",
		    m->addr.text, strerror(res->err));
		break;
	}
}

static void
master_logs_cb(void *arg, const struct hacli_result *res)
{
	struct master	*m = arg;

	m->req = NULL;
	/* Only words to add: without them the failure is still told. */
	if (res->status == HACLI_OK)
		(void)master_parse_startup_logs(res->reply, res->len,
		    m->pending.why, sizeof(m->pending.why));
	master_deliver(m, &m->pending);
}

static void
master_proc_cb(void *arg, const struct hacli_result *res)
{
	struct master		*m = arg;
	struct master_report	*r = &m->pending;
	char			 err[128];

	m->req = NULL;
	memset(r, 0, sizeof(*r));
	if (res->status != HACLI_OK) {
		master_fail(r, m, res);
	} else if (!master_parse_proc(res->reply, res->len, &r->proc, err,
	    sizeof(err))) {
		r->error = POLL_EGARBLED;
		snprintf(r->detail, sizeof(r->detail), "show proc: %s", err);
	} else {
		master_compare(m->have_last ? &m->last : NULL, r);
		/* Why it failed, where HAProxy keeps it (3.0 and later). */
		if (r->failures > 0) {
			master_send(m, "show startup-logs");
			return;
		}
	}
	master_deliver(m, r);
}

static void
master_send(struct master *m, const char *line)
{
	m->req = hacli_request_shut(m->base, &m->addr, line, MASTER_MAX_REPLY,
	    m->timeout, strcmp(line, "show proc") == 0 ? master_proc_cb :
	    master_logs_cb, m);
}

static void
master_tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct master	*m = arg;

	if (m->req == NULL)
		master_send(m, "show proc");
}

struct master *
master_new(struct event_base *base, const struct addr *addr,
    int64_t interval_ms, int64_t timeout_ms, master_cb *cb, void *arg)
{
	struct master	*m = xcalloc(1, sizeof(*m));

	m->base = base;
	m->addr = *addr;
	m->cb = cb;
	m->arg = arg;
	m->tick = event_new(base, -1, EV_PERSIST, master_tick_cb, m);
	master_set_timing(m, interval_ms, timeout_ms);
	return m;
}

void
master_set_timing(struct master *m, int64_t interval_ms, int64_t timeout_ms)
{
	struct timeval	tv = tv_ms(interval_ms);
	bool		rearm = m->interval != interval_ms;

	m->interval = interval_ms;
	m->timeout = timeout_ms;
	if (m->started && rearm)
		event_add(m->tick, &tv);
}

void
master_start(struct master *m)
{
	struct timeval	tv = tv_ms(m->interval);

	m->started = true;
	event_add(m->tick, &tv);
	master_send(m, "show proc");
}

void
master_free(struct master *m)
{
	if (m == NULL)
		return;
	if (m->req != NULL)
		hacli_cancel(m->req);
	event_free(m->tick);
	free(m);
}
