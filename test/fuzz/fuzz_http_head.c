/*
 * fuzz_http_head.c: http_parse_head() (agent/http_parse.h) on request heads
 * as an HTTP listener receives them from the network.
 *
 * Invariants checked on every input:
 *  - TOO_BIG only when len >= max_head, INCOMPLETE only when len < max_head;
 *  - OK: 0 < head_len <= min(len, max_head) and the head ends with its
 *    blank line; path starts with '/', holds no '?', '#', space or control
 *    byte, and lies inside the head (or is the constant "/" that an
 *    absolute-form target without a path gives); auth lies inside the head,
 *    trimmed, without CR, LF or NUL; minor is 0 or 1; content_length >= -1;
 *  - OK on buf: buf cut to head_len parses to the same request, and strict
 *    prefixes of the head are INCOMPLETE;
 *  - BAD or VERSION on a prefix stays so whatever bytes follow;
 *  - a smaller max_head gives the same request if the head fits, TOO_BIG if
 *    it does not;
 *  - OK: the request is what a model reads from the head line by line:
 *    method, path (absolute form reduced, query cut), version, the
 *    Authorization value (trimmed), Content-Length, Transfer-Encoding, and
 *    keep-alive from the version and the Connection tokens;
 *  - nothing is read past min(len, max_head): every parse gets an
 *    exact-size heap copy, so ASan sees any over-read.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "http_parse.h"

/* A parse, by offsets into its buffer, so that parses of different copies
 * compare. */
struct head_sum {
	enum http_parse_result	 r;
	enum http_method	 method;
	long			 path_off;	/* -1: the constant "/" */
	size_t			 pathlen;
	int			 minor;
	bool			 keepalive;
	int64_t			 content_length;
	bool			 chunked;
	long			 auth_off;	/* -1: none */
	size_t			 authlen;
	size_t			 head_len;
};

static bool
is_blank(char c)
{
	return c == ' ' || c == '\t';
}

static void
check_ok(const char *buf, size_t len, size_t max_head,
    const struct http_req *req)
{
	size_t	lim = len < max_head ? len : max_head, h = req->head_len, i;

	FZ_CHECK(h > 0 && h <= lim);
	FZ_CHECK(buf[h - 1] == '\n');
	FZ_CHECK(h >= 2 && (buf[h - 2] == '\n' ||
	    (h >= 3 && buf[h - 2] == '\r' && buf[h - 3] == '\n')));
	FZ_CHECK(req->minor == 0 || req->minor == 1);
	FZ_CHECK(req->content_length >= -1);
	FZ_CHECK(req->method >= HTTP_GET && req->method <= HTTP_OTHER);

	FZ_CHECK(req->path != NULL && req->pathlen > 0);
	FZ_CHECK(req->path[0] == '/');
	if (req->path < buf || req->path >= buf + len)
		FZ_CHECK(req->pathlen == 1);	/* the constant "/" */
	else
		FZ_CHECK(req->path + req->pathlen <= buf + h);
	for (i = 0; i < req->pathlen; i++) {
		unsigned char c = (unsigned char)req->path[i];

		FZ_CHECK(c > 0x20 && c < 0x7f && c != '#' && c != '?');
	}

	if (req->auth == NULL) {
		FZ_CHECK(req->authlen == 0);
		return;
	}
	FZ_CHECK(req->auth >= buf && req->auth + req->authlen <= buf + h);
	for (i = 0; i < req->authlen; i++)
		FZ_CHECK(req->auth[i] != '\0' && req->auth[i] != '\r' &&
		    req->auth[i] != '\n');
	if (req->authlen > 0)
		FZ_CHECK(!is_blank(req->auth[0]) &&
		    !is_blank(req->auth[req->authlen - 1]));
}

/* ---- the model of an accepted head ---------------------------------- */

static bool
ci_eq(const char *s, size_t n, const char *lit)
{
	size_t	i;

	if (n != strlen(lit))
		return false;
	for (i = 0; i < n; i++) {
		char c = s[i] >= 'A' && s[i] <= 'Z' ? s[i] + 32 : s[i];

		if (c != lit[i])
			return false;
	}
	return true;
}

/* The next line of head[*pos..h): its bytes without CR LF or LF. */
static size_t
m_line(const char *head, size_t h, size_t *pos, const char **line)
{
	size_t	 start = *pos, end;

	*line = head + start;
	end = (size_t)((const char *)memchr(head + start, '\n', h - start) -
	    head);
	*pos = end + 1;
	if (end > start && head[end - 1] == '\r')
		end--;
	return end - start;
}

static void
m_trim(const char **v, size_t *n)
{
	while (*n > 0 && is_blank(**v)) {
		(*v)++;
		(*n)--;
	}
	while (*n > 0 && is_blank((*v)[*n - 1]))
		(*n)--;
}

static void
m_connection(const char *v, size_t n, bool *close, bool *ka)
{
	const char	*tok;
	size_t		 i = 0, s, len;

	while (i <= n) {
		for (s = i; i < n && v[i] != ','; i++)
			continue;
		tok = v + s;
		len = i - s;
		m_trim(&tok, &len);
		if (ci_eq(tok, len, "close"))
			*close = true;
		if (ci_eq(tok, len, "keep-alive"))
			*ka = true;
		i++;
	}
}

/* The path of the request target t[0..n), query cut off. */
static void
m_path(const char *t, size_t n, const char **path, size_t *plen)
{
	const char	*q;
	size_t		 i, skip = 0;

	if (n >= 7 && ci_eq(t, 7, "http://"))
		skip = 7;
	else if (n >= 8 && ci_eq(t, 8, "https://"))
		skip = 8;
	if (skip == 0 || t[0] == '/') {
		*path = t;
		*plen = n;
	} else {
		for (i = skip; i < n && t[i] != '/' && t[i] != '?'; i++)
			continue;
		*path = i < n && t[i] == '/' ? t + i : "/";
		*plen = i < n && t[i] == '/' ? n - i : 1;
	}
	if ((q = memchr(*path, '?', *plen)) != NULL)
		*plen = (size_t)(q - *path);
}

static void
model_check(const char *buf, const struct http_req *req)
{
	const char	*line, *sp1, *sp2, *path, *name, *v;
	size_t		 h = req->head_len, pos = 0, n, plen, vlen;
	bool		 close = false, ka = false, chunked = false;
	const char	*auth = NULL;
	size_t		 authlen = 0;
	int64_t		 cl = -1;
	enum http_method m;

	while ((n = m_line(buf, h, &pos, &line)) == 0)
		continue;			/* empty lines before it */
	sp1 = memchr(line, ' ', n);
	FZ_CHECK(sp1 != NULL);
	sp2 = memchr(sp1 + 1, ' ', n - (size_t)(sp1 + 1 - line));
	FZ_CHECK(sp2 != NULL && line + n - sp2 == 9);	/* " HTTP/1.x" */
	if (sp1 - line == 3 && memcmp(line, "GET", 3) == 0)
		m = HTTP_GET;
	else if (sp1 - line == 4 && memcmp(line, "HEAD", 4) == 0)
		m = HTTP_HEAD;
	else if (sp1 - line == 4 && memcmp(line, "POST", 4) == 0)
		m = HTTP_POST;
	else
		m = HTTP_OTHER;		/* methods are case-sensitive */
	FZ_CHECK(req->method == m);
	FZ_CHECK(memcmp(sp2 + 1, "HTTP/1.", 7) == 0);
	FZ_CHECK(req->minor == sp2[8] - '0');
	m_path(sp1 + 1, (size_t)(sp2 - sp1 - 1), &path, &plen);
	FZ_CHECK(req->pathlen == plen && memcmp(req->path, path, plen) == 0);

	while ((n = m_line(buf, h, &pos, &line)) > 0) {
		name = line;
		v = memchr(line, ':', n);
		FZ_CHECK(v != NULL);
		n -= (size_t)(v + 1 - line);
		vlen = n;
		n = (size_t)(v - name);
		v++;
		m_trim(&v, &vlen);
		if (ci_eq(name, n, "authorization")) {
			FZ_CHECK(auth == NULL);	/* a second one is BAD */
			auth = v;
			authlen = vlen;
		} else if (ci_eq(name, n, "content-length"))
			cl = strtoll(v, NULL, 10);
		else if (ci_eq(name, n, "transfer-encoding"))
			chunked = true;
		else if (ci_eq(name, n, "connection"))
			m_connection(v, vlen, &close, &ka);
	}
	FZ_CHECK(pos == h);
	FZ_CHECK(req->auth == auth && req->authlen == authlen);
	FZ_CHECK(req->content_length == cl);
	FZ_CHECK(req->chunked == chunked);
	FZ_CHECK(req->keepalive == (req->minor == 1 ? !close : ka && !close));
}

/* Parse data[0..len) from an exact-size copy, check it, summarize it. */
static struct head_sum
parse(const uint8_t *data, size_t len, size_t max_head)
{
	uint8_t		*copy = fz_memdup(data, len);
	const char	*buf = (const char *)copy;
	struct http_req	 req;
	struct head_sum	 s;

	memset(&s, 0, sizeof(s));
	s.r = http_parse_head(buf, len, max_head, &req);
	switch (s.r) {
	case HTTP_PARSE_OK:
		check_ok(buf, len, max_head, &req);
		model_check(buf, &req);
		break;
	case HTTP_PARSE_INCOMPLETE:
		FZ_CHECK(len < max_head);
		break;
	case HTTP_PARSE_TOO_BIG:
		FZ_CHECK(len >= max_head);
		break;
	case HTTP_PARSE_BAD:
	case HTTP_PARSE_VERSION:
		break;
	default:
		FZ_CHECK(!"unknown result");
	}
	if (s.r == HTTP_PARSE_OK) {
		s.method = req.method;
		s.path_off = req.path >= buf && req.path < buf + len ?
		    (long)(req.path - buf) : -1;
		s.pathlen = req.pathlen;
		s.minor = req.minor;
		s.keepalive = req.keepalive;
		s.content_length = req.content_length;
		s.chunked = req.chunked;
		s.auth_off = req.auth != NULL ? (long)(req.auth - buf) : -1;
		s.authlen = req.authlen;
		s.head_len = req.head_len;
	}
	free(copy);
	return s;
}

static bool
sum_eq(const struct head_sum *a, const struct head_sum *b)
{
	return a->r == b->r && a->method == b->method &&
	    a->path_off == b->path_off && a->pathlen == b->pathlen &&
	    a->minor == b->minor && a->keepalive == b->keepalive &&
	    a->content_length == b->content_length &&
	    a->chunked == b->chunked && a->auth_off == b->auth_off &&
	    a->authlen == b->authlen && a->head_len == b->head_len;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct head_sum	 full, cut, pre;
	size_t		 ks[4], i, small;

	full = parse(data, size, HTTP_MAX_HEAD);

	if (full.r == HTTP_PARSE_OK) {
		size_t h = full.head_len;

		/* Extra bytes after the head change nothing. */
		cut = parse(data, h, HTTP_MAX_HEAD);
		FZ_CHECK(sum_eq(&cut, &full));
		/* Strict prefixes of the head are only incomplete. */
		ks[0] = h - 1;
		ks[1] = h / 2;
		ks[2] = h > 1 ? (size_t)data[0] % h : 0;
		ks[3] = h > 2 ? h - 2 : 0;
		for (i = 0; i < 4; i++) {
			pre = parse(data, ks[i], HTTP_MAX_HEAD);
			FZ_CHECK(pre.r == HTTP_PARSE_INCOMPLETE);
		}
	} else if (size > 0) {
		/* A verdict of BAD or VERSION on a prefix is final. */
		ks[0] = size - 1;
		ks[1] = size / 2;
		for (i = 0; i < 2; i++) {
			pre = parse(data, ks[i], HTTP_MAX_HEAD);
			if (pre.r == HTTP_PARSE_BAD ||
			    pre.r == HTTP_PARSE_VERSION)
				FZ_CHECK(full.r == pre.r);
			if (pre.r == HTTP_PARSE_OK)
				FZ_CHECK(!"OK on a prefix, not on the whole");
		}
	}

	/* A smaller bound: the same request if it fits, else TOO_BIG. */
	small = size > 0 ? 1 + (size_t)data[size - 1] * 4 : 1;
	if (small < HTTP_MAX_HEAD) {
		pre = parse(data, size, small);
		if (full.r == HTTP_PARSE_OK && full.head_len <= small)
			FZ_CHECK(sum_eq(&pre, &full));
		else if (full.r == HTTP_PARSE_OK)
			FZ_CHECK(pre.r == HTTP_PARSE_TOO_BIG);
		else if (pre.r == HTTP_PARSE_OK)
			FZ_CHECK(!"OK under a smaller bound only");
	}
	return 0;
}
