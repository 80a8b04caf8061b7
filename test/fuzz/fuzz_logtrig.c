/*
 * fuzz_logtrig.c: logtrig_match() (checks/logtrig.h) on syslog datagrams,
 * as anything that can reach the log_listen UDP port sends them.
 *
 * Each input is tried three ways:
 *  1. raw, as one datagram;
 *  2. its bytes turned into a proxy and a server name (HAProxy's name
 *     characters) and put into HAProxy 2.6/3.x state-change messages
 *     (HAPROXY.md section 6), behind a syslog header whose format and PRI
 *     the input also picks: each must match;
 *  3. the same names in HAProxy lines that are not state changes (our own
 *     "disable frontend" echoing back as "Paused frontend", health check
 *     results, proxy start/stop): none may match, or hapwatch would poll
 *     itself in a loop.
 *
 * Invariants: the above; a match on a raw datagram mentions a server or a
 * backend ("Server " or " has no server available"); the answer does not
 * depend on the trailing '\n' HAProxy adds; nothing is read past len
 * (exact-size heap copies, ASan).
 */
#include <stdbool.h>
#include <string.h>

#include "fuzz.h"
#include "logtrig.h"

#define NAME_MAX_LEN	48

static const char name_chars[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.:-";

/* Syslog headers HAProxy writes: "local" (the default), rfc3164 with
 * log-send-hostname, rfc5424. %d is the PRI. */
static const char *const headers[] = {
	"<%d>Nov 22 02:04:58 haproxy[9332]: ",
	"<%d>Nov 22 02:04:58 lb-1 haproxy[9332]: ",
	"<%d>1 2025-11-22T02:04:58.123456+00:00 lb-1 haproxy 9332 - - ",
	"",
};

/* State changes: %s are the proxy, then the server, as needed. */
static const char *const must_match[] = {
	"Server %s/%s is DOWN, reason: Layer4 connection problem, info: "
	    "\"Connection refused\", check duration: 0ms. 0 active and 0 "
	    "backup servers left. 0 sessions active, 0 requeued, 0 remaining "
	    "in queue.",
	"Server %s/%s is DOWN, reason: Layer7 wrong status, code: 0, info: "
	    "\"via agent : down (my reason)\", check duration: 306ms. 1 "
	    "active and 1 backup servers left. 0 sessions active, 0 requeued, "
	    "0 remaining in queue.",
	"Backup Server %s/%s is DOWN, reason: Layer4 timeout, check "
	    "duration: 2001ms. 1 active and 0 backup servers left. Running on "
	    "backup. 0 sessions active, 0 requeued, 0 remaining in queue.",
	"Server %s/%s is UP, reason: Layer7 check passed, code: 200, check "
	    "duration: 1ms. 2 active and 0 backup servers online. 0 sessions "
	    "requeued, 0 total in queue.",
	"Server %s/%s is going DOWN for maintenance. 1 active and 0 backup "
	    "servers left. 0 sessions active, 0 requeued, 0 remaining in "
	    "queue.",
	"Server %s/%s is UP/READY (leaving forced maintenance).",
	"Server %s/%s is UP/DRAIN (leaving forced maintenance).",
	"Server %s/%s enters drain state. 1 active and 0 backup servers "
	    "online. 0 sessions requeued, 0 total in queue.",
	"Server %s/%s is UP (leaving forced drain).",
	"Server %s/%s is DOWN, reason: Layer4 connection problem, info: "
	    "\"ECONNREFUSED returned by OS (Connection refused)\", check "
	    "duration: 0ms. 0 active and 0 backup servers left. 0 sessions "
	    "active, 0 requeued, 0 remaining in queue.",
	"backend %s has no server available!",
	"proxy %s has no server available!",
};

/* Not state changes. */
static const char *const must_not_match[] = {
	"Paused frontend %s.",
	"Resumed frontend %s.",
	"Proxy %s started.",
	"Stopping frontend %s in 0 ms.",
	"Proxy %s stopped (cumulated conns: FE: 0, BE: 0).",
	"Health check for server %s/%s succeeded, reason: Layer7 check "
	    "passed, code: 200, check duration: 1ms, status: 3/3 UP.",
	"Health check for server %s/%s failed, reason: Layer4 connection "
	    "problem, info: \"Connection refused\", check duration: 0ms, "
	    "status: 0/2 DOWN.",
	"Agent check for server %s/%s succeeded, reason: Layer7 check "
	    "passed, code: 0, info: \"via agent : up\", check duration: 0ms, "
	    "status: 1/1 UP.",
};

/* Match an exact-size copy, with and without the trailing '\n'. */
static bool
match(const char *msg, size_t len)
{
	uint8_t	*a = fz_memdup((const uint8_t *)msg, len);
	uint8_t	*b = malloc(len + 1);
	bool	 r, rn;

	FZ_CHECK(b != NULL);
	memcpy(b, msg, len);
	b[len] = '\n';
	r = logtrig_match((const char *)a, len);
	rn = logtrig_match((const char *)b, len + 1);
	FZ_CHECK(logtrig_match((const char *)a, len) == r);
	if (len == 0 || msg[len - 1] != '\n')
		FZ_CHECK(r == rn);
	free(b);
	free(a);
	return r;
}

static bool
contains(const char *s, size_t len, const char *lit)
{
	return memmem(s, len, lit, strlen(lit)) != NULL;
}

/* A proxy name from data[from..to): HAProxy's name characters only. */
static void
make_name(char *dst, const uint8_t *data, size_t from, size_t to)
{
	size_t	n = 0, i;

	for (i = from; i < to && n < NAME_MAX_LEN; i++)
		dst[n++] = name_chars[data[i] % (sizeof(name_chars) - 1)];
	if (n == 0)
		dst[n++] = 'x';
	dst[n] = '\0';
}

/* The templates take the proxy then the server; one %s takes the proxy. */
static void
try_templates(const char *hdr, const char *px, const char *sv,
    const char *const *tmpl, size_t n, bool want)
{
	char	line[1024];
	size_t	i;
	int	len;

	for (i = 0; i < n; i++) {
		len = snprintf(line, sizeof(line), "%s", hdr);
		FZ_CHECK(len >= 0 && (size_t)len < sizeof(line));
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
		len += snprintf(line + len, sizeof(line) - (size_t)len,
		    tmpl[i], px, sv);
#pragma GCC diagnostic pop
		FZ_CHECK((size_t)len < sizeof(line));
		if (match(line, (size_t)len) != want)
			fprintf(stderr, "logtrig: %s: \"%s\"\n",
			    want ? "missed" : "matched", line);
		FZ_CHECK(match(line, (size_t)len) == want);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char	px[NAME_MAX_LEN + 1], sv[NAME_MAX_LEN + 1], hdr[128];
	size_t	half = size / 2;
	int	pri;

	/* 1. The raw datagram. */
	if (match((const char *)data, size))
		FZ_CHECK(contains((const char *)data, size, "Server ") ||
		    contains((const char *)data, size,
		    " has no server available"));

	/* 2 and 3. Names from the input in HAProxy's own lines. */
	make_name(px, data, 0, half);
	make_name(sv, data, half, size);
	pri = size > 0 ? data[0] % 192 : 129;
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
	snprintf(hdr, sizeof(hdr), headers[size % (sizeof(headers) /
	    sizeof(headers[0]))], pri);
#pragma GCC diagnostic pop
	try_templates(hdr, px, sv, must_match,
	    sizeof(must_match) / sizeof(must_match[0]), true);
	try_templates(hdr, px, sv, must_not_match,
	    sizeof(must_not_match) / sizeof(must_not_match[0]), false);
	return 0;
}
