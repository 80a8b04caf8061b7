/*
 * http_parse.c: HTTP/1.0 and 1.1 request heads (RFC 9112), parsed in place
 * in one forward pass over the caller's buffer. No allocation, no global
 * state beyond a constant character table.
 *
 * The parser is stateless: the caller hands it the whole buffer again when
 * more bytes arrive. Every byte seen is checked as it is passed, so
 * garbage is HTTP_PARSE_BAD as soon as the offending byte is in, and
 * HTTP_PARSE_INCOMPLETE always means "a valid prefix so far". Nothing past
 * buf[min(len, max_head)) is ever read.
 */
#include <string.h>

#include "http_parse.h"

#define HTTP_MAX_EMPTY	4	/* empty lines tolerated before the request */

/* Character classes. */
#define HC_TCHAR	0x01	/* token: method, field name (RFC 9110 5.6.2) */
#define HC_TARGET	0x02	/* request-target: VCHAR except '#' */
#define HC_VALUE	0x04	/* field value: HTAB, SP, VCHAR, obs-text */

#define HC_IS_TCHAR(c)							\
	(((c) >= '0' && (c) <= '9') || ((c) >= 'a' && (c) <= 'z') ||	\
	((c) >= 'A' && (c) <= 'Z') || (c) == '!' || (c) == '#' ||	\
	(c) == '$' || (c) == '%' || (c) == '&' || (c) == '\'' ||	\
	(c) == '*' || (c) == '+' || (c) == '-' || (c) == '.' ||		\
	(c) == '^' || (c) == '_' || (c) == '`' || (c) == '|' || (c) == '~')
#define HC(c)								\
	((HC_IS_TCHAR(c) ? HC_TCHAR : 0) |				\
	((c) > 0x20 && (c) < 0x7f && (c) != '#' ? HC_TARGET : 0) |	\
	((c) == '\t' || ((c) >= 0x20 && (c) != 0x7f) ? HC_VALUE : 0))
#define HC4(c)	HC(c), HC((c) + 1), HC((c) + 2), HC((c) + 3)
#define HC16(c)	HC4(c), HC4((c) + 4), HC4((c) + 8), HC4((c) + 12)
#define HC64(c)	HC16(c), HC16((c) + 16), HC16((c) + 32), HC16((c) + 48)

static const uint8_t http_cls[256] = {
	HC64(0), HC64(64), HC64(128), HC64(192)
};

#define HTTP_IS(ch, cls)	(http_cls[(uint8_t)(ch)] & (cls))

/* A read position in the bytes received so far, and what the Connection
 * fields said. */
struct http_cur {
	const char	*p;
	const char	*end;
	bool		 conn_close;
	bool		 conn_keepalive;
};

static int
http_lower(int ch)
{
	return ch >= 'A' && ch <= 'Z' ? ch + ('a' - 'A') : ch;
}

/* Does s[0..n) equal the lowercase literal lit, ignoring case? */
static bool
http_ci_eq(const char *s, const char *lit, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++)
		if (http_lower((unsigned char)s[i]) != lit[i])
			return false;
	return true;
}

/*
 * Consume a line end, CRLF or bare LF. A CR followed by anything else is
 * BAD; a CR as the last byte received is INCOMPLETE.
 */
static enum http_parse_result
http_eol(struct http_cur *c)
{
	if (c->p == c->end)
		return HTTP_PARSE_INCOMPLETE;
	if (*c->p == '\n') {
		c->p++;
		return HTTP_PARSE_OK;
	}
	if (*c->p != '\r')
		return HTTP_PARSE_BAD;
	if (c->end - c->p < 2)
		return HTTP_PARSE_INCOMPLETE;
	if (c->p[1] != '\n')
		return HTTP_PARSE_BAD;
	c->p += 2;
	return HTTP_PARSE_OK;
}

/* RFC 9112 2.2: ignore a few empty lines before the request line. */
static enum http_parse_result
http_skip_empty(struct http_cur *c)
{
	enum http_parse_result	r;
	int			i;

	for (i = 0; i < HTTP_MAX_EMPTY && c->p < c->end; i++) {
		if (*c->p != '\r' && *c->p != '\n')
			return HTTP_PARSE_OK;
		if ((r = http_eol(c)) != HTTP_PARSE_OK)
			return r;
	}
	return c->p < c->end ? HTTP_PARSE_OK : HTTP_PARSE_INCOMPLETE;
}

static enum http_method
http_method(const char *m, size_t n)
{
	if (n == 3 && memcmp(m, "GET", 3) == 0)
		return HTTP_GET;
	if (n == 4 && memcmp(m, "HEAD", 4) == 0)
		return HTTP_HEAD;
	if (n == 4 && memcmp(m, "POST", 4) == 0)
		return HTTP_POST;
	return HTTP_OTHER;
}

/* Is t[0..n) the start of "http://" or "https://" (any case)? */
static bool
http_scheme_prefix(const char *t, size_t n)
{
	return http_ci_eq(t, "http://", n < 7 ? n : 7) ||
	    http_ci_eq(t, "https://", n < 8 ? n : 8);
}

/*
 * A target cut short by the end of the data: INCOMPLETE if it can still
 * become origin-form, absolute-form or "*", BAD otherwise.
 */
static enum http_parse_result
http_target_partial(const char *t, size_t n)
{
	if (n == 0 || *t == '/' || (*t == '*' && n == 1))
		return HTTP_PARSE_INCOMPLETE;
	if (http_scheme_prefix(t, n))
		return HTTP_PARSE_INCOMPLETE;
	return HTTP_PARSE_BAD;
}

/*
 * Reduce an absolute-form target t[0..n) ("http://host[:port]/path") to
 * its path: "http://host" alone and "http://host?q" give "/" (a constant,
 * not in the caller's buffer). False if t is not absolute-form.
 */
static bool
http_absolute(const char *t, size_t n, const char **path, size_t *plen)
{
	size_t	s, i;

	if (n >= 7 && http_ci_eq(t, "http://", 7))
		s = 7;
	else if (n >= 8 && http_ci_eq(t, "https://", 8))
		s = 8;
	else
		return false;
	for (i = s; i < n && t[i] != '/' && t[i] != '?'; i++)
		continue;
	if (i == s)
		return false;			/* no authority */
	if (i == n || t[i] == '?') {
		*path = "/";
		*plen = 1;
	} else {
		*path = t + i;
		*plen = n - i;
	}
	return true;
}

/*
 * The request-target and the SP after it. Sets out->path (query cut off)
 * and out->query.
 * *star is set for "*", which is only refused once the version is known,
 * so that "PRI * HTTP/2.0" gets HTTP_PARSE_VERSION.
 */
static enum http_parse_result
http_target(struct http_cur *c, struct http_req *out, bool *star)
{
	const char	*t = c->p, *path, *q;
	size_t		 n, plen;

	while (c->p < c->end && HTTP_IS(*c->p, HC_TARGET))
		c->p++;
	n = (size_t)(c->p - t);
	if (c->p == c->end)
		return http_target_partial(t, n);
	if (*c->p != ' ' || n == 0)
		return HTTP_PARSE_BAD;
	c->p++;

	*star = false;
	if (*t == '/') {
		path = t;
		plen = n;
	} else if (n == 1 && *t == '*') {
		*star = true;
		path = t;
		plen = n;
	} else if (!http_absolute(t, n, &path, &plen))
		return HTTP_PARSE_BAD;
	if ((q = memchr(path, '?', plen)) != NULL) {
		out->query = q + 1;
		out->querylen = plen - (size_t)(q + 1 - path);
		plen = (size_t)(q - path);
	}
	out->path = path;
	out->pathlen = plen;
	return HTTP_PARSE_OK;
}

/*
 * "HTTP/" DIGIT "." DIGIT and the line end. HTTP/1.0 and 1.1 are OK, any
 * other well-formed version is HTTP_PARSE_VERSION, the rest BAD.
 */
static enum http_parse_result
http_version(struct http_cur *c, struct http_req *out)
{
	static const char	 name[] = "HTTP/";
	const char		*v = c->p;
	enum http_parse_result	 r;
	size_t			 i, avail = (size_t)(c->end - c->p);
	bool			 ok;

	for (i = 0; i < 8; i++) {
		if (i == avail)
			return HTTP_PARSE_INCOMPLETE;
		if (i < 5)
			ok = v[i] == name[i];
		else if (i == 6)
			ok = v[i] == '.';
		else
			ok = v[i] >= '0' && v[i] <= '9';
		if (!ok)
			return HTTP_PARSE_BAD;
	}
	c->p += 8;
	if ((r = http_eol(c)) != HTTP_PARSE_OK)
		return r;
	if (v[5] != '1' || (v[7] != '0' && v[7] != '1'))
		return HTTP_PARSE_VERSION;
	out->minor = v[7] - '0';
	return HTTP_PARSE_OK;
}

/* METHOD SP request-target SP HTTP-version CRLF */
static enum http_parse_result
http_request_line(struct http_cur *c, struct http_req *out)
{
	const char		*m = c->p;
	enum http_parse_result	 r;
	bool			 star;

	while (c->p < c->end && HTTP_IS(*c->p, HC_TCHAR))
		c->p++;
	if (c->p == c->end)
		return HTTP_PARSE_INCOMPLETE;
	if (*c->p != ' ' || c->p == m)
		return HTTP_PARSE_BAD;
	out->method = http_method(m, (size_t)(c->p - m));
	c->p++;

	if ((r = http_target(c, out, &star)) != HTTP_PARSE_OK)
		return r;
	if ((r = http_version(c, out)) != HTTP_PARSE_OK)
		return r;
	return star ? HTTP_PARSE_BAD : HTTP_PARSE_OK;
}

/* Connection: a comma-separated list of tokens, any case. */
static void
http_connection(struct http_cur *c, const char *v, size_t n)
{
	size_t	i = 0, s, e;

	while (i < n) {
		while (i < n && (v[i] == ' ' || v[i] == '\t' || v[i] == ','))
			i++;
		s = i;
		while (i < n && v[i] != ',')
			i++;
		e = i;
		while (e > s && (v[e - 1] == ' ' || v[e - 1] == '\t'))
			e--;
		if (e - s == 5 && http_ci_eq(v + s, "close", 5))
			c->conn_close = true;
		else if (e - s == 10 && http_ci_eq(v + s, "keep-alive", 10))
			c->conn_keepalive = true;
	}
}

/* Content-Length: digits only; a repeat must carry the same value. */
static enum http_parse_result
http_content_length(struct http_req *out, const char *v, size_t n)
{
	int64_t	cl = 0;
	size_t	i;
	int	d;

	if (n == 0)
		return HTTP_PARSE_BAD;
	for (i = 0; i < n; i++) {
		if (v[i] < '0' || v[i] > '9')
			return HTTP_PARSE_BAD;
		d = v[i] - '0';
		if (cl > (INT64_MAX - d) / 10)
			return HTTP_PARSE_BAD;
		cl = cl * 10 + d;
	}
	if (out->content_length >= 0 && out->content_length != cl)
		return HTTP_PARSE_BAD;
	out->content_length = cl;
	return HTTP_PARSE_OK;
}

/* Act on one header field; names are matched by length, then any case. */
static enum http_parse_result
http_field(struct http_cur *c, struct http_req *out, const char *name,
    size_t nlen, const char *v, size_t vlen)
{
	switch (nlen) {
	case 10:
		if (http_ci_eq(name, "connection", 10))
			http_connection(c, v, vlen);
		break;
	case 13:
		if (http_ci_eq(name, "authorization", 13)) {
			if (out->auth != NULL)
				return HTTP_PARSE_BAD;	/* ambiguous */
			out->auth = v;
			out->authlen = vlen;
		}
		break;
	case 14:
		if (http_ci_eq(name, "content-length", 14))
			return http_content_length(out, v, vlen);
		break;
	case 17:
		if (http_ci_eq(name, "transfer-encoding", 17))
			out->chunked = true;
		break;
	}
	return HTTP_PARSE_OK;
}

/* One "name: value" line; c->p is before its first byte, not at the end. */
static enum http_parse_result
http_header_line(struct http_cur *c, struct http_req *out)
{
	const char		*name = c->p, *v, *vend;
	enum http_parse_result	 r;
	size_t			 nlen;

	if (*c->p == ' ' || *c->p == '\t')
		return HTTP_PARSE_BAD;		/* obs-fold */
	while (c->p < c->end && HTTP_IS(*c->p, HC_TCHAR))
		c->p++;
	if (c->p == c->end)
		return HTTP_PARSE_INCOMPLETE;
	if (*c->p != ':' || c->p == name)
		return HTTP_PARSE_BAD;
	nlen = (size_t)(c->p - name);
	c->p++;

	while (c->p < c->end && (*c->p == ' ' || *c->p == '\t'))
		c->p++;
	v = c->p;
	while (c->p < c->end && HTTP_IS(*c->p, HC_VALUE))
		c->p++;
	vend = c->p;
	if ((r = http_eol(c)) != HTTP_PARSE_OK)
		return r;
	while (vend > v && (vend[-1] == ' ' || vend[-1] == '\t'))
		vend--;
	return http_field(c, out, name, nlen, v, (size_t)(vend - v));
}

/* Header lines up to and including the empty line that ends the head. */
static enum http_parse_result
http_headers(struct http_cur *c, struct http_req *out)
{
	enum http_parse_result	r;

	for (;;) {
		if (c->p == c->end)
			return HTTP_PARSE_INCOMPLETE;
		if (*c->p == '\r' || *c->p == '\n')
			return http_eol(c);
		if ((r = http_header_line(c, out)) != HTTP_PARSE_OK)
			return r;
	}
}

enum http_parse_result
http_parse_head(const char *buf, size_t len, size_t max_head,
    struct http_req *out)
{
	struct http_cur		c;
	enum http_parse_result	r;

	out->method = HTTP_OTHER;
	out->path = NULL;
	out->pathlen = 0;
	out->query = NULL;
	out->querylen = 0;
	out->minor = 0;
	out->keepalive = false;
	out->content_length = -1;
	out->chunked = false;
	out->body = NULL;
	out->bodylen = 0;
	out->auth = NULL;
	out->authlen = 0;
	out->head_len = 0;

	c.p = buf;
	c.end = buf + (len < max_head ? len : max_head);
	c.conn_close = false;
	c.conn_keepalive = false;

	if ((r = http_skip_empty(&c)) == HTTP_PARSE_OK &&
	    (r = http_request_line(&c, out)) == HTTP_PARSE_OK)
		r = http_headers(&c, out);
	if (r == HTTP_PARSE_INCOMPLETE && len >= max_head)
		return HTTP_PARSE_TOO_BIG;
	if (r != HTTP_PARSE_OK)
		return r;

	if (out->minor == 1)
		out->keepalive = !c.conn_close;
	else
		out->keepalive = c.conn_keepalive && !c.conn_close;
	out->head_len = (size_t)(c.p - buf);
	return HTTP_PARSE_OK;
}
