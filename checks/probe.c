/*
 * probe.c: the probe schedule, rise/fall, and the three kinds of probe.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <curl/curl.h>
#include <event2/event.h>

#include "probe.h"
#include "child.h"
#include "curlev.h"
#include "util.h"

#define PROBE_REASON_MAX	128
#define PROBE_EXEC_OUTPUT		4096	/* captured for the reason */
#define PROBE_HTTP_BODY		65536	/* read, then dropped */

struct probe {
	struct probe_env	 env;
	char			*name;
	enum probe_kind		 kind;
	char			*url;
	int			*expect;
	size_t			 nexpect;
	struct curl_slist	*headers;
	bool			 tls_verify;
	struct addr		 addr;
	char			**argv;
	int64_t			 interval;
	int64_t			 timeout;
	int			 rise;
	int			 fall;
	probe_change_cb		*cb;
	void			*cb_arg;
	/* state */
	enum probe_state	 state;
	int			 streak;	/* passes (>0) or failures (<0) */
	char			 reason[PROBE_REASON_MAX];
	uint64_t		 probes;
	uint64_t		 failures;
	int64_t			 started;	/* mono ms the probe in flight began */
	bool			 in_flight;
	struct event		*tick;		/* next probe */
	/* the probe in flight */
	CURL			*easy;
	size_t			 body_len;
	int			 fd;		/* PROBE_TCP */
	struct event		*io;		/* PROBE_TCP */
	struct child		*child;		/* PROBE_EXEC */
	int			 weight;	/* -1: none */
	enum probe_load		 load;		/* PROBE_LOAD */
	int			 floor;
	uint64_t		 cpu_total;	/* PROBE_LOAD_CPU: the last read */
	uint64_t		 cpu_idle;
};

static void
probe_schedule(struct probe *c)
{
	int64_t		wait = c->started + c->interval - mono_ms();
	struct timeval	tv;

	if (wait < 0)
		wait = 0;
	tv = tv_ms(wait);
	evtimer_add(c->tick, &tv);
}

enum probe_state
probe_judge(enum probe_state state, int *streak, int rise, int fall,
    bool pass)
{
	if (pass)
		*streak = *streak > 0 ? *streak + 1 : 1;
	else
		*streak = *streak < 0 ? *streak - 1 : -1;
	if (state == PROBE_UNKNOWN)
		return pass ? PROBE_UP : PROBE_DOWN;
	if (pass && *streak >= rise)
		return PROBE_UP;
	if (!pass && -*streak >= fall)
		return PROBE_DOWN;
	return state;
}

/* A probe ended: count it, move the state, tell the owner. */
static void
probe_result(struct probe *c, bool pass, const char *reason)
{
	enum probe_state	old = c->state;
	char			clean[PROBE_REASON_MAX];
	bool			changed;

	c->in_flight = false;
	c->probes++;
	if (!pass)
		c->failures++;
	c->state = probe_judge(c->state, &c->streak, c->rise, c->fall, pass);
	/* Compared as it is kept: an output with a CR must not look new on
	 * every probe. */
	str_sanitize(clean, sizeof(clean), reason);
	changed = c->state != old || strcmp(c->reason, clean) != 0;
	memcpy(c->reason, clean, sizeof(clean));
	probe_schedule(c);
	if (changed)
		c->cb(c->cb_arg, c);
}

/* ---- http ---- */

static size_t
probe_http_body(char *p, size_t size, size_t n, void *arg)
{
	struct probe	*c = arg;

	c->body_len += size * n;
	return c->body_len > PROBE_HTTP_BODY ? 0 : size * n;
}

static void
probe_http_done(void *arg, CURL *easy, CURLcode rc)
{
	struct probe	*c = arg;
	char		 reason[PROBE_REASON_MAX];
	long		 code = 0;
	bool		 pass = false;
	size_t		 i;

	if (rc != CURLE_OK && !(rc == CURLE_WRITE_ERROR &&
	    c->body_len > PROBE_HTTP_BODY)) {
		snprintf(reason, sizeof(reason), "%s", curl_easy_strerror(rc));
		probe_result(c, false, reason);
		return;
	}
	curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &code);
	for (i = 0; i < c->nexpect; i++)
		pass = pass || code == c->expect[i];
	if (c->nexpect == 0)
		pass = code == 200;
	snprintf(reason, sizeof(reason), "HTTP %ld", code);
	probe_result(c, pass, reason);
}

static void
probe_http_send(struct probe *c)
{
	if (c->easy == NULL) {
		c->easy = curl_easy_init();
		if (c->easy == NULL)
			abort();
		curl_easy_setopt(c->easy, CURLOPT_URL, c->url);
		curl_easy_setopt(c->easy, CURLOPT_HTTPHEADER, c->headers);
		curl_easy_setopt(c->easy, CURLOPT_WRITEFUNCTION, probe_http_body);
		curl_easy_setopt(c->easy, CURLOPT_WRITEDATA, c);
		curl_easy_setopt(c->easy, CURLOPT_TIMEOUT_MS, (long)c->timeout);
		curl_easy_setopt(c->easy, CURLOPT_SSL_VERIFYPEER,
		    c->tls_verify ? 1L : 0L);
		curl_easy_setopt(c->easy, CURLOPT_SSL_VERIFYHOST,
		    c->tls_verify ? 2L : 0L);
		curl_easy_setopt(c->easy, CURLOPT_USERAGENT, "hapwatch/" HW_VERSION);
		/* A new connection per probe, as a load balancer would. */
		curl_easy_setopt(c->easy, CURLOPT_FORBID_REUSE, 1L);
		curl_easy_setopt(c->easy, CURLOPT_PROTOCOLS_STR, "http,https");
	}
	c->body_len = 0;
	curlev_add(c->env.curl, c->easy, probe_http_done, c);
}

/* ---- tcp ---- */

static void
probe_tcp_close(struct probe *c)
{
	reap_event(c->io);		/* its callback may be running */
	c->io = NULL;
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}

static void
probe_tcp_cb(evutil_socket_t fd, short what, void *arg)
{
	struct probe	*c = arg;
	int		 err = 0;
	socklen_t	 len = sizeof(err);

	if (what & EV_TIMEOUT) {
		probe_tcp_close(c);
		probe_result(c, false, "connect timeout");
		return;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		err = errno;
	probe_tcp_close(c);
	probe_result(c, err == 0, err == 0 ? "connected" : strerror(err));
}

static void
probe_tcp_send(struct probe *c)
{
	struct timeval	tv = tv_ms(c->timeout);

	c->fd = socket(c->addr.family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0);
	if (c->fd < 0) {
		probe_result(c, false, strerror(errno));
		return;
	}
	if (connect(c->fd, (const struct sockaddr *)&c->addr.ss, c->addr.len) < 0 &&
	    errno != EINPROGRESS) {
		int err = errno;

		probe_tcp_close(c);
		probe_result(c, false, strerror(err));
		return;
	}
	c->io = event_new(c->env.base, c->fd, EV_WRITE, probe_tcp_cb, c);
	event_add(c->io, &tv);
}

/* ---- exec ---- */

int
probe_parse_weight(const char *line)
{
	const char	*p = line;
	long		 v;
	char		*end;

	while (*p == ' ' || *p == '\t')
		p++;
	if (strncmp(p, "weight:", 7) == 0)
		p += 7;
	if (*p < '0' || *p > '9')
		return -1;
	v = strtol(p, &end, 10);
	if (*end == '%')
		end++;
	else if (p == line || strncmp(line, "weight:", 7) != 0)
		return -1;	/* a bare number is no weight: "3 disks" */
	while (*end == ' ' || *end == '\t' || *end == '\r')
		end++;
	return *end == '\0' && v <= 100 ? (int)v : -1;
}

static void
probe_exec_done(void *arg, const struct child_result *r)
{
	struct probe	*c = arg;
	char		 reason[PROBE_REASON_MAX], line[PROBE_REASON_MAX];
	const char	*nl;
	size_t		 l;

	c->child = NULL;
	child_describe(r, reason, sizeof(reason));
	/* The first line it printed says more than its exit status, and may
	 * give a weight. */
	nl = memchr(r->output, '\n', r->outlen);
	l = nl != NULL ? (size_t)(nl - r->output) : r->outlen;
	c->weight = -1;
	if (l > 0 && !r->timed_out && r->spawn_err == 0) {
		if (l >= sizeof(line))
			l = sizeof(line) - 1;
		memcpy(line, r->output, l);
		line[l] = '\0';
		c->weight = probe_parse_weight(line);
		snprintf(reason + strlen(reason), sizeof(reason) - strlen(reason),
		    ": %s", line);
	}
	probe_result(c, r->spawn_err == 0 && !r->timed_out &&
	    WIFEXITED(r->status) && WEXITSTATUS(r->status) == 0, reason);
}

static void
probe_exec_send(struct probe *c)
{
	c->child = child_spawn(c->env.children, c->argv, NULL, c->timeout,
	    PROBE_EXEC_OUTPUT, probe_exec_done, c);
}

/* ---- load ---- */

/* The first line of a small /proc file; false if it cannot be read. */
static bool
read_proc_line(const char *path, char *buf, size_t len)
{
	FILE	*f = fopen(path, "re");
	bool	 ok;

	if (f == NULL)
		return false;
	ok = fgets(buf, (int)len, f) != NULL;
	fclose(f);
	return ok;
}

/* The idle share since the last read, from /proc/stat's "cpu" line, in
 * *w; false if it cannot be read. */
static bool
load_cpu(struct probe *c, int *w, char *reason, size_t len)
{
	unsigned long long	v[10] = { 0 }, total = 0, idle, dt, di;
	char			line[512];
	int			n, i;

	if (!read_proc_line("/proc/stat", line, sizeof(line)) ||
	    (n = sscanf(line, "cpu %llu %llu %llu %llu %llu %llu %llu %llu",
	    &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7])) < 4) {
		snprintf(reason, len, "cannot read /proc/stat");
		return false;
	}
	for (i = 0; i < n; i++)
		total += v[i];
	idle = v[3] + v[4];		/* idle + iowait */
	dt = total - c->cpu_total;
	di = idle - c->cpu_idle;
	*w = c->cpu_total == 0 || dt == 0 ? 100 : (int)(100 * di / dt);
	c->cpu_total = total;
	c->cpu_idle = idle;
	snprintf(reason, len, "cpu %d%% idle", *w);
	return true;
}

/* 1 - the 1-minute load average per core, from /proc/loadavg, in *w (it
 * goes under 0 when overloaded); false if it cannot be read. */
static bool
load_avg(int *w, char *reason, size_t len)
{
	char	line[128];
	double	la;
	long	cores = sysconf(_SC_NPROCESSORS_ONLN);

	if (!read_proc_line("/proc/loadavg", line, sizeof(line)) ||
	    sscanf(line, "%lf", &la) != 1) {
		snprintf(reason, len, "cannot read /proc/loadavg");
		return false;
	}
	if (cores < 1)
		cores = 1;
	*w = (int)(100.0 * (1.0 - la / (double)cores));
	snprintf(reason, len, "load %.2f on %ld cores", la, cores);
	return true;
}

/* Reading /proc is memory, not disk: done at once, on the loop. The
 * weight never goes under the floor: an overloaded server still takes
 * its share of the floor, it is not down. */
static void
probe_load_send(struct probe *c)
{
	char	reason[PROBE_REASON_MAX];
	int	w = 0;
	bool	ok = c->load == PROBE_LOAD_CPU ? load_cpu(c, &w, reason,
		    sizeof(reason)) : load_avg(&w, reason, sizeof(reason));

	if (ok) {
		c->weight = w < c->floor ? c->floor : w > 100 ? 100 : w;
		snprintf(reason + strlen(reason), sizeof(reason) - strlen(reason),
		    ": weight %d%%", c->weight);
	}
	probe_result(c, ok, reason);
}

/* ---- schedule ---- */

static void
probe_tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct probe	*c = arg;

	if (c->in_flight)
		return;
	c->in_flight = true;
	c->started = mono_ms();
	switch (c->kind) {
	case PROBE_HTTP:
		probe_http_send(c);
		break;
	case PROBE_TCP:
		probe_tcp_send(c);
		break;
	case PROBE_EXEC:
		probe_exec_send(c);
		break;
	case PROBE_LOAD:
		probe_load_send(c);
		break;
	}
}

static char **
argv_copy(char *const *argv)
{
	size_t	n = 0, i;
	char	**out;

	while (argv[n] != NULL)
		n++;
	out = xcalloc(n + 1, sizeof(*out));
	for (i = 0; i < n; i++)
		out[i] = xstrdup(argv[i]);
	return out;
}

struct probe *
probe_new(const struct probe_env *env, const struct probe_params *p,
    probe_change_cb *cb, void *arg)
{
	struct probe	*c = xcalloc(1, sizeof(*c));
	size_t		 i;

	c->env = *env;
	c->name = xstrdup(p->name);
	c->kind = p->kind;
	c->interval = p->interval;
	c->timeout = p->timeout;
	c->rise = p->rise;
	c->fall = p->fall;
	c->cb = cb;
	c->cb_arg = arg;
	c->state = PROBE_UNKNOWN;
	c->fd = -1;
	c->weight = -1;
	snprintf(c->reason, sizeof(c->reason), "not probed yet");
	c->tick = evtimer_new(env->base, probe_tick_cb, c);
	if (p->kind == PROBE_HTTP) {
		c->url = xstrdup(p->url);
		c->tls_verify = p->tls_verify;
		c->nexpect = p->nexpect;
		c->expect = xcalloc(p->nexpect, sizeof(*c->expect));
		memcpy(c->expect, p->expect, p->nexpect * sizeof(*c->expect));
		for (i = 0; i < p->nheaders; i++)
			c->headers = curl_slist_append(c->headers, p->headers[i]);
	} else if (p->kind == PROBE_TCP) {
		c->addr = p->addr;
	} else if (p->kind == PROBE_LOAD) {
		c->load = p->load;
		c->floor = p->floor;
	} else {
		c->argv = argv_copy(p->argv);
	}
	return c;
}

static bool
probe_same_target(const struct probe *a, const struct probe *b)
{
	size_t	i;

	if (a->kind != b->kind)
		return false;
	if (a->kind == PROBE_HTTP)
		return strcmp(a->url, b->url) == 0;
	if (a->kind == PROBE_TCP)
		return addr_equal(&a->addr, &b->addr);
	if (a->kind == PROBE_LOAD)
		return a->load == b->load;
	for (i = 0; a->argv[i] != NULL && b->argv[i] != NULL; i++)
		if (strcmp(a->argv[i], b->argv[i]) != 0)
			return false;
	return a->argv[i] == NULL && b->argv[i] == NULL;
}

void
probe_inherit(struct probe *c, const struct probe *old)
{
	if (!probe_same_target(c, old))
		return;
	c->state = old->state;
	c->streak = old->streak;
	c->probes = old->probes;
	c->failures = old->failures;
	memcpy(c->reason, old->reason, sizeof(c->reason));
}

void
probe_start(struct probe *c)
{
	struct timeval	tv = { 0, 0 };

	evtimer_add(c->tick, &tv);
}

enum probe_state
probe_state(const struct probe *c)
{
	return c->state;
}

const char *
probe_reason(const struct probe *c)
{
	return c->reason;
}

const char *
probe_name(const struct probe *c)
{
	return c->name;
}

uint64_t
probe_count(const struct probe *c)
{
	return c->probes;
}

int
probe_weight(const struct probe *c)
{
	return c->weight;
}

uint64_t
probe_failures(const struct probe *c)
{
	return c->failures;
}

void
probe_free(struct probe *c)
{
	size_t	i;

	if (c == NULL)
		return;
	if (c->easy != NULL) {
		if (c->in_flight)
			curlev_remove(c->env.curl, c->easy);
		curl_easy_cleanup(c->easy);
	}
	curl_slist_free_all(c->headers);
	probe_tcp_close(c);
	if (c->child != NULL)
		child_abandon(c->child);
	event_free(c->tick);
	for (i = 0; c->argv != NULL && c->argv[i] != NULL; i++)
		free(c->argv[i]);
	free(c->argv);
	free(c->expect);
	free(c->url);
	free(c->name);
	free(c);
}
