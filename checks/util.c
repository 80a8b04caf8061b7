/*
 * util.c: allocation, clocks, durations and string buffers.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>

#include "util.h"

static void
oom(void)
{
	static const char msg[] = "hapwatch: out of memory\n";

	/* Nothing sensible can be done: say so without allocating. */
	(void)!fwrite(msg, 1, sizeof(msg) - 1, stderr);
	abort();
}

void *
xmalloc(size_t n)
{
	void	*p = malloc(n ? n : 1);

	if (p == NULL)
		oom();
	return p;
}

void *
xcalloc(size_t nmemb, size_t size)
{
	void	*p = calloc(nmemb ? nmemb : 1, size ? size : 1);

	if (p == NULL)
		oom();
	return p;
}

void *
xrealloc(void *p, size_t n)
{
	void	*q = realloc(p, n ? n : 1);

	if (q == NULL)
		oom();
	return q;
}

char *
xstrdup(const char *s)
{
	char	*p = strdup(s);

	if (p == NULL)
		oom();
	return p;
}

char *
xstrndup(const char *s, size_t n)
{
	char	*p = strndup(s, n);

	if (p == NULL)
		oom();
	return p;
}

char *
xasprintf(const char *fmt, ...)
{
	va_list	 ap;
	char	*p;
	int	 r;

	va_start(ap, fmt);
	r = vasprintf(&p, fmt, ap);
	va_end(ap);
	if (r < 0)
		oom();
	return p;
}

struct timeval
tv_ms(int64_t ms)
{
	struct timeval	tv;

	tv.tv_sec = (time_t)(ms / 1000);
	tv.tv_usec = (suseconds_t)((ms % 1000) * 1000);
	return tv;
}

int64_t
mono_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t
mono_us(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t
wall_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void
fmt_rfc3339(int64_t wall, char *buf, size_t len)
{
	time_t		t = (time_t)(wall / 1000);
	struct tm	tm;

	gmtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

bool
parse_duration(const char *s, int64_t *ms)
{
	static const struct {
		const char	*unit;
		int64_t		 mult;
	} units[] = {
		{ "ms", 1 }, { "s", 1000 }, { "m", 60000 }, { "h", 3600000 },
	};
	const int64_t	 week = 7 * 24 * 3600000LL;
	int64_t		 v = 0;
	const char	*p = s;
	size_t		 i;

	if (s == NULL || !isdigit((unsigned char)*p))
		return false;
	for (; isdigit((unsigned char)*p); p++) {
		v = v * 10 + (*p - '0');
		if (v > week)
			return false;
	}
	for (i = 0; i < ARRAY_SIZE(units); i++) {
		if (strcmp(p, units[i].unit) != 0)
			continue;
		if (v > week / units[i].mult)
			return false;
		*ms = v * units[i].mult;
		return true;
	}
	return false;
}

void
fmt_duration(int64_t ms, char *buf, size_t len)
{
	if (ms != 0 && ms % 3600000 == 0)
		snprintf(buf, len, "%lldh", (long long)(ms / 3600000));
	else if (ms != 0 && ms % 60000 == 0)
		snprintf(buf, len, "%lldm", (long long)(ms / 60000));
	else if (ms % 1000 == 0)
		snprintf(buf, len, "%llds", (long long)(ms / 1000));
	else
		snprintf(buf, len, "%lldms", (long long)ms);
}

static void
sbuf_reserve(struct sbuf *b, size_t extra)
{
	size_t	need = b->len + extra + 1;

	if (need <= b->cap)
		return;
	if (b->cap == 0)
		b->cap = 64;
	while (b->cap < need)
		b->cap *= 2;
	b->data = xrealloc(b->data, b->cap);
}

void
sbuf_append(struct sbuf *b, const void *p, size_t n)
{
	sbuf_reserve(b, n);
	memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
}

void
sbuf_puts(struct sbuf *b, const char *s)
{
	sbuf_append(b, s, strlen(s));
}

void
sbuf_printf(struct sbuf *b, const char *fmt, ...)
{
	va_list	ap;
	int	n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	sbuf_reserve(b, (size_t)n);
	va_start(ap, fmt);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

void
sbuf_reset(struct sbuf *b)
{
	b->len = 0;
	if (b->data != NULL)
		b->data[0] = '\0';
}

void
sbuf_free(struct sbuf *b)
{
	FREE(b->data);
	b->len = b->cap = 0;
}

void
url_redact(const char *url, bool no_path, char *buf, size_t len)
{
	const char	*auth = strstr(url, "://");
	const char	*host, *slash, *at, *colon;

	if (auth == NULL) {
		snprintf(buf, len, "%s", url);
		return;
	}
	host = auth + 3;
	slash = host + strcspn(host, "/?#");
	at = memchr(host, '@', (size_t)(slash - host));
	colon = at != NULL ? memchr(host, ':', (size_t)(at - host)) : NULL;
	if (colon != NULL)
		snprintf(buf, len, "%.*s:***%.*s%s", (int)(colon - url), url,
		    (int)(slash - at), at, no_path && *slash ? "/..." : slash);
	else
		snprintf(buf, len, "%.*s%s", (int)(slash - url), url,
		    no_path && *slash ? "/..." : slash);
}

void
str_sanitize(char *dst, size_t n, const char *s)
{
	size_t	i;

	if (n == 0)
		return;
	for (i = 0; i + 1 < n && s[i] != '\0'; i++)
		dst[i] = iscntrl((unsigned char)s[i]) ? ' ' : s[i];
	dst[i] = '\0';
}

/* ---- deferred frees ---- */

struct reap_item {
	void	(*fn)(void *);
	void	*obj;
};

static struct reap_item	*reap_items;
static size_t		 reap_n, reap_cap;

void
reap_later(void (*fn)(void *), void *obj)
{
	if (reap_n == reap_cap) {
		reap_cap = reap_cap ? reap_cap * 2 : 64;
		reap_items = xrealloc(reap_items, reap_cap * sizeof(*reap_items));
	}
	reap_items[reap_n].fn = fn;
	reap_items[reap_n].obj = obj;
	reap_n++;
}

static void
reap_event_free(void *ev)
{
	event_free(ev);
}

void
reap_event(struct event *ev)
{
	if (ev == NULL)
		return;
	event_del(ev);
	reap_later(reap_event_free, ev);
}

void
reap_now(void)
{
	size_t	i;

	/* A free may hand over more (a listener's connections): go on
	 * until none is left. */
	for (i = 0; i < reap_n; i++)
		reap_items[i].fn(reap_items[i].obj);
	reap_n = 0;
	if (reap_cap > 1024) {
		FREE(reap_items);
		reap_cap = 0;
	}
}
