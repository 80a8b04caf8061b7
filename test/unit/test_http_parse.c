/*
 * test_http_parse.c: HTTP/1.x request head parsing.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "http_parse.h"

static const char alb_probe[] =
    "GET /haproxy_status HTTP/1.1\r\n"
    "Host: 10.0.0.1:8080\r\n"
    "User-Agent: ELB-HealthChecker/2.0\r\n"
    "Accept-Encoding: gzip, compress, deflate\r\n"
    "\r\n";

static const char nlb_probe[] =
    "GET /haproxy_status HTTP/1.1\r\n"
    "Host: 10.0.0.1:8080\r\n"
    "Connection: close\r\n"
    "User-Agent: ELB-HealthChecker/2.0\r\n"
    "Accept-Encoding: gzip, compress, deflate\r\n"
    "\r\n";

static const char classic_probe[] =
    "GET /haproxy_status HTTP/1.1\r\n"
    "Host: 10.0.0.1:8080\r\n"
    "User-Agent: ELB-HealthChecker/1.0\r\n"
    "Accept: */*\r\n"
    "\r\n";

static enum http_parse_result
parse(const char *s, struct http_req *req)
{
	return http_parse_head(s, strlen(s), HTTP_MAX_HEAD, req);
}

static enum http_parse_result
parse_n(const char *s, size_t n, struct http_req *req)
{
	return http_parse_head(s, n, HTTP_MAX_HEAD, req);
}

static void
assert_path(const struct http_req *req, const char *path)
{
	assert_non_null(req->path);
	assert_int_equal(req->pathlen, strlen(path));
	assert_memory_equal(req->path, path, req->pathlen);
}

/* Every strict prefix is INCOMPLETE, the whole is OK, head_len is all. */
static void
assert_incremental(const char *s)
{
	struct http_req	req;
	size_t		i, n = strlen(s);

	for (i = 0; i < n; i++) {
		if (parse_n(s, i, &req) != HTTP_PARSE_INCOMPLETE)
			fail_msg("prefix of %zu bytes of \"%s\"", i, s);
	}
	assert_int_equal(parse_n(s, n, &req), HTTP_PARSE_OK);
	assert_int_equal(req.head_len, n);
}

static void
assert_bad(const char *s)
{
	struct http_req	req;

	if (parse(s, &req) != HTTP_PARSE_BAD)
		fail_msg("not BAD: \"%s\"", s);
}

static void
test_alb_probe(void **state)
{
	struct http_req	req;

	(void)state;
	assert_int_equal(parse(alb_probe, &req), HTTP_PARSE_OK);
	assert_int_equal(req.method, HTTP_GET);
	assert_path(&req, "/haproxy_status");
	assert_int_equal(req.minor, 1);
	assert_true(req.keepalive);
	assert_int_equal(req.content_length, -1);
	assert_false(req.chunked);
	assert_null(req.auth);
	assert_int_equal(req.head_len, strlen(alb_probe));
	/* The path points into the caller's buffer. */
	assert_ptr_equal(req.path, alb_probe + 4);
}

static void
test_nlb_probe(void **state)
{
	struct http_req	req;

	(void)state;
	assert_int_equal(parse(nlb_probe, &req), HTTP_PARSE_OK);
	assert_int_equal(req.method, HTTP_GET);
	assert_path(&req, "/haproxy_status");
	assert_false(req.keepalive);
	assert_int_equal(req.head_len, strlen(nlb_probe));
}

static void
test_classic_probe(void **state)
{
	struct http_req	req;

	(void)state;
	assert_int_equal(parse(classic_probe, &req), HTTP_PARSE_OK);
	assert_path(&req, "/haproxy_status");
	assert_true(req.keepalive);
	assert_int_equal(req.head_len, strlen(classic_probe));
}

static void
test_head(void **state)
{
	struct http_req	req;

	(void)state;
	assert_int_equal(parse("HEAD /haproxy_status HTTP/1.1\r\n"
	    "Host: x\r\n\r\n", &req), HTTP_PARSE_OK);
	assert_int_equal(req.method, HTTP_HEAD);
	assert_path(&req, "/haproxy_status");
}

static void
test_methods(void **state)
{
	struct http_req	req;

	(void)state;
	assert_int_equal(parse("DELETE / HTTP/1.1\r\n\r\n", &req),
	    HTTP_PARSE_OK);
	assert_int_equal(req.method, HTTP_OTHER);
	/* Methods are case-sensitive: "get" is a valid, unknown token. */
	assert_int_equal(parse("get / HTTP/1.1\r\n\r\n", &req), HTTP_PARSE_OK);
	assert_int_equal(req.method, HTTP_OTHER);
	assert_int_equal(parse("GETX / HTTP/1.1\r\n\r\n", &req),
	    HTTP_PARSE_OK);
	assert_int_equal(req.method, HTTP_OTHER);
	assert_int_equal(parse("M-SEARCH / HTTP/1.1\r\n\r\n", &req),
	    HTTP_PARSE_OK);
	assert_int_equal(req.method, HTTP_OTHER);
}

static void
test_post_content_length(void **state)
{
	static const char	buf[] =
	    "POST /services/web/drain HTTP/1.1\r\n"
	    "Host: 127.0.0.1\r\n"
	    "Authorization:   Bearer s3cret  \r\n"
	    "Content-Length: 5\r\n"
	    "\r\n"
	    "hello";
	struct http_req		req;

	(void)state;
	assert_int_equal(parse(buf, &req), HTTP_PARSE_OK);
	assert_int_equal(req.method, HTTP_POST);
	assert_path(&req, "/services/web/drain");
	assert_int_equal(req.content_length, 5);
	assert_int_equal(req.head_len, strlen(buf) - 5);
	assert_non_null(req.auth);
	assert_int_equal(req.authlen, strlen("Bearer s3cret"));
	assert_memory_equal(req.auth, "Bearer s3cret", req.authlen);

	assert_int_equal(parse("POST / HTTP/1.1\r\ncontent-length: 0\r\n\r\n",
	    &req), HTTP_PARSE_OK);
	assert_int_equal(req.content_length, 0);
	assert_int_equal(parse("POST / HTTP/1.1\r\nContent-Length: "
	    "9223372036854775807\r\n\r\n", &req), HTTP_PARSE_OK);
	assert_int_equal(req.content_length, INT64_MAX);
}

static void
test_content_length_bad(void **state)
{
	struct http_req	req;

	(void)state;
	/* The same value twice is tolerated. */
	assert_int_equal(parse("POST / HTTP/1.1\r\nContent-Length: 5\r\n"
	    "content-length: 5\r\n\r\n", &req), HTTP_PARSE_OK);
	assert_int_equal(req.content_length, 5);
	assert_bad("POST / HTTP/1.1\r\nContent-Length: 5\r\n"
	    "Content-Length: 6\r\n\r\n");
	assert_bad("POST / HTTP/1.1\r\nContent-Length: 5, 5\r\n\r\n");
	assert_bad("POST / HTTP/1.1\r\nContent-Length: 5, 6\r\n\r\n");
	assert_bad("POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n");
	assert_bad("POST / HTTP/1.1\r\nContent-Length: +1\r\n\r\n");
	assert_bad("POST / HTTP/1.1\r\nContent-Length: 0x10\r\n\r\n");
	assert_bad("POST / HTTP/1.1\r\nContent-Length: 1 0\r\n\r\n");
	assert_bad("POST / HTTP/1.1\r\nContent-Length:\r\n\r\n");
	assert_bad("POST / HTTP/1.1\r\nContent-Length: \r\n\r\n");
	assert_bad("POST / HTTP/1.1\r\nContent-Length: "
	    "9223372036854775808\r\n\r\n");
	assert_bad("POST / HTTP/1.1\r\nContent-Length: "
	    "99999999999999999999999\r\n\r\n");
}

static void
test_transfer_encoding(void **state)
{
	struct http_req	req;

	(void)state;
	assert_int_equal(parse("POST / HTTP/1.1\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n", &req), HTTP_PARSE_OK);
	assert_true(req.chunked);
	assert_int_equal(parse("POST / HTTP/1.1\r\n"
	    "TRANSFER-ENCODING: gzip\r\n\r\n", &req), HTTP_PARSE_OK);
	assert_true(req.chunked);
}

static void
test_keepalive(void **state)
{
	struct http_req	req;

	(void)state;
	assert_int_equal(parse("GET / HTTP/1.0\r\n\r\n", &req), HTTP_PARSE_OK);
	assert_int_equal(req.minor, 0);
	assert_false(req.keepalive);
	assert_int_equal(parse("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n",
	    &req), HTTP_PARSE_OK);
	assert_true(req.keepalive);
	assert_int_equal(parse("GET / HTTP/1.0\r\n"
	    "Connection: keep-alive, close\r\n\r\n", &req), HTTP_PARSE_OK);
	assert_false(req.keepalive);
	assert_int_equal(parse("GET / HTTP/1.0\r\nConnection: TE,keep-alive\r\n"
	    "\r\n", &req), HTTP_PARSE_OK);
	assert_true(req.keepalive);
	assert_int_equal(parse("GET / HTTP/1.0\r\nConnection: keep-alives\r\n"
	    "\r\n", &req), HTTP_PARSE_OK);
	assert_false(req.keepalive);

	assert_int_equal(parse("GET / HTTP/1.1\r\nConnection: CLOSE\r\n\r\n",
	    &req), HTTP_PARSE_OK);
	assert_false(req.keepalive);
	assert_int_equal(parse("GET / HTTP/1.1\r\nConnection: Upgrade , close "
	    "\r\n\r\n", &req), HTTP_PARSE_OK);
	assert_false(req.keepalive);
	assert_int_equal(parse("GET / HTTP/1.1\r\nConnection: Upgrade\r\n"
	    "connection: close\r\n\r\n", &req), HTTP_PARSE_OK);
	assert_false(req.keepalive);
	assert_int_equal(parse("GET / HTTP/1.1\r\nConnection: closed\r\n\r\n",
	    &req), HTTP_PARSE_OK);
	assert_true(req.keepalive);
	assert_int_equal(parse("GET / HTTP/1.1\r\nX-Connection: close\r\n\r\n",
	    &req), HTTP_PARSE_OK);
	assert_true(req.keepalive);
}

static void
test_pipelined(void **state)
{
	static const char	buf[] =
	    "GET /a HTTP/1.1\r\nHost: x\r\n\r\n"
	    "HEAD /b?q=1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
	    "GET /c";
	struct http_req		req;
	size_t			off = 0, len = strlen(buf);

	(void)state;
	assert_int_equal(parse_n(buf, len, &req), HTTP_PARSE_OK);
	assert_int_equal(req.method, HTTP_GET);
	assert_path(&req, "/a");
	assert_true(req.keepalive);
	off += req.head_len;
	assert_int_equal(off, strlen("GET /a HTTP/1.1\r\nHost: x\r\n\r\n"));

	assert_int_equal(parse_n(buf + off, len - off, &req), HTTP_PARSE_OK);
	assert_int_equal(req.method, HTTP_HEAD);
	assert_path(&req, "/b");
	assert_false(req.keepalive);
	off += req.head_len;

	assert_int_equal(parse_n(buf + off, len - off, &req),
	    HTTP_PARSE_INCOMPLETE);
}

static void
test_incremental(void **state)
{
	(void)state;
	assert_incremental(alb_probe);
	assert_incremental(nlb_probe);
	assert_incremental(classic_probe);
	assert_incremental("GET / HTTP/1.0\n\n");
	assert_incremental("\r\nGET http://h:1/x?y HTTP/1.1\r\nA:\r\nB: \t\r\n\r\n");
	assert_incremental("POST /services/drain HTTP/1.1\r\n"
	    "Authorization: Bearer t\r\nContent-Length: 0\r\n\r\n");
}

static void
test_query_string(void **state)
{
	struct http_req	req;

	(void)state;
	assert_int_equal(parse("GET /haproxy_status?probe=1&x=y HTTP/1.1\r\n\r\n",
	    &req), HTTP_PARSE_OK);
	assert_path(&req, "/haproxy_status");
	assert_int_equal(parse("GET /? HTTP/1.1\r\n\r\n", &req), HTTP_PARSE_OK);
	assert_path(&req, "/");
	assert_int_equal(parse("GET /a?b?c HTTP/1.1\r\n\r\n", &req),
	    HTTP_PARSE_OK);
	assert_path(&req, "/a");
	/* A fragment is never sent by a client. */
	assert_bad("GET /a#b HTTP/1.1\r\n\r\n");
}

static void
test_absolute_form(void **state)
{
	struct http_req	req;

	(void)state;
	assert_int_equal(parse("GET http://10.0.0.1:8080/haproxy_status?x=1 "
	    "HTTP/1.1\r\n\r\n", &req), HTTP_PARSE_OK);
	assert_path(&req, "/haproxy_status");
	assert_int_equal(parse("GET http://example.com HTTP/1.1\r\n\r\n", &req),
	    HTTP_PARSE_OK);
	assert_path(&req, "/");
	assert_int_equal(parse("GET http://example.com?x HTTP/1.1\r\n\r\n",
	    &req), HTTP_PARSE_OK);
	assert_path(&req, "/");
	assert_int_equal(parse("GET HTTPS://h/a/b HTTP/1.1\r\n\r\n", &req),
	    HTTP_PARSE_OK);
	assert_path(&req, "/a/b");
	assert_bad("GET http:///x HTTP/1.1\r\n\r\n");
	assert_bad("GET http:// HTTP/1.1\r\n\r\n");
	assert_bad("GET ftp://h/x HTTP/1.1\r\n\r\n");
	assert_bad("GET http:/h/x HTTP/1.1\r\n\r\n");
	assert_bad("GET haproxy_status HTTP/1.1\r\n\r\n");
	assert_bad("CONNECT h:443 HTTP/1.1\r\n\r\n");
	assert_bad("OPTIONS * HTTP/1.1\r\n\r\n");
	/* Refused early, before the request line ends. */
	assert_int_equal(parse("GET htx", &req), HTTP_PARSE_BAD);
	assert_int_equal(parse("GET http:/", &req), HTTP_PARSE_INCOMPLETE);
	assert_int_equal(parse("GET https:", &req), HTTP_PARSE_INCOMPLETE);
	assert_int_equal(parse("GET *x", &req), HTTP_PARSE_BAD);
}

static void
test_bare_lf(void **state)
{
	struct http_req	req;
	static const char	buf[] =
	    "GET /haproxy_status HTTP/1.1\nHost: x\r\nConnection: close\n\n";

	(void)state;
	assert_int_equal(parse(buf, &req), HTTP_PARSE_OK);
	assert_path(&req, "/haproxy_status");
	assert_false(req.keepalive);
	assert_int_equal(req.head_len, strlen(buf));
	/* A CR must be followed by LF. */
	assert_bad("GET / HTTP/1.1\rHost: x\r\n\r\n");
	assert_bad("GET / HTTP/1.1\r\nHost: x\r\r\n\r\n");
	assert_bad("GET / HTTP/1.1\r\nHost: x\r\n\r\r\n");
	assert_int_equal(parse("GET / HTTP/1.1\r\nHost: x\r\n\r", &req),
	    HTTP_PARSE_INCOMPLETE);
}

/* Fill buf with "GET / HTTP/1.1" and padding headers, n bytes in all. */
static size_t
pad_head(char *buf, size_t size, size_t upto)
{
	size_t	n;

	n = (size_t)snprintf(buf, size, "GET / HTTP/1.1\r\n");
	while (n + 19 <= upto)
		n += (size_t)snprintf(buf + n, size - n, "X-Pad: 0123456789\r\n");
	return n;
}

static void
test_too_big(void **state)
{
	static char	buf[HTTP_MAX_HEAD + 64];
	struct http_req	req;
	size_t		n, fill;

	(void)state;
	/* Headers past 8 KiB and no end in sight. */
	n = pad_head(buf, sizeof(buf), sizeof(buf));
	assert_true(n > HTTP_MAX_HEAD);
	assert_int_equal(parse_n(buf, HTTP_MAX_HEAD - 1, &req),
	    HTTP_PARSE_INCOMPLETE);
	assert_int_equal(parse_n(buf, HTTP_MAX_HEAD, &req), HTTP_PARSE_TOO_BIG);
	assert_int_equal(parse_n(buf, n, &req), HTTP_PARSE_TOO_BIG);

	/* A head of exactly max_head bytes fits; one byte less does not. */
	n = pad_head(buf, sizeof(buf), HTTP_MAX_HEAD - 64);
	fill = HTTP_MAX_HEAD - n - strlen("X-Fill: ") - 4;
	memcpy(buf + n, "X-Fill: ", 8);
	memset(buf + n + 8, 'x', fill);
	memcpy(buf + n + 8 + fill, "\r\n\r\nGET", 7);
	assert_int_equal(parse_n(buf, HTTP_MAX_HEAD, &req), HTTP_PARSE_OK);
	assert_int_equal(req.head_len, HTTP_MAX_HEAD);
	assert_int_equal(parse_n(buf, HTTP_MAX_HEAD + 3, &req), HTTP_PARSE_OK);
	assert_int_equal(req.head_len, HTTP_MAX_HEAD);
	assert_int_equal(http_parse_head(buf, HTTP_MAX_HEAD, HTTP_MAX_HEAD - 1,
	    &req), HTTP_PARSE_TOO_BIG);

	/* A huge request line alone. */
	memset(buf, 'a', sizeof(buf));
	memcpy(buf, "GET /", 5);
	assert_int_equal(parse_n(buf, sizeof(buf), &req), HTTP_PARSE_TOO_BIG);
	/* Small limits are honoured; BAD before the limit wins. */
	assert_int_equal(http_parse_head(alb_probe, strlen(alb_probe), 32,
	    &req), HTTP_PARSE_TOO_BIG);
	assert_int_equal(http_parse_head("GET / HTTP/1.1\r\n\x01", 17, 16,
	    &req), HTTP_PARSE_TOO_BIG);
	assert_int_equal(http_parse_head("GET / HTTP/1.1\r\n\x01", 17, 17,
	    &req), HTTP_PARSE_BAD);
}

static void
test_versions(void **state)
{
	struct http_req	req;

	(void)state;
	assert_int_equal(parse("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", &req),
	    HTTP_PARSE_VERSION);
	assert_int_equal(parse("GET / HTTP/2.0\r\n\r\n", &req),
	    HTTP_PARSE_VERSION);
	assert_int_equal(parse("GET / HTTP/1.2\r\n\r\n", &req),
	    HTTP_PARSE_VERSION);
	assert_int_equal(parse("GET / HTTP/0.9\r\n\r\n", &req),
	    HTTP_PARSE_VERSION);
	assert_int_equal(parse("GET / HTTP/3.0\n", &req), HTTP_PARSE_VERSION);
	assert_bad("GET / HTTP/1.10\r\n\r\n");
	assert_bad("GET / HTTP/1\r\n\r\n");
	assert_bad("GET / HTTP/11\r\n\r\n");
	assert_bad("GET / http/1.1\r\n\r\n");
	assert_bad("GET / HTTP/1.1 \r\n\r\n");
	assert_bad("GET / HTTPS/1.1\r\n\r\n");
	assert_bad("GET / FOO\r\n\r\n");
	/* HTTP/0.9: no version at all. */
	assert_bad("GET /\r\n");
	assert_bad("GET /\r\n\r\n");
	assert_bad("GET /\n");
	assert_int_equal(parse("GET / HTTP/1.", &req), HTTP_PARSE_INCOMPLETE);
	assert_int_equal(parse("GET / HTTP/1.1", &req), HTTP_PARSE_INCOMPLETE);
	assert_int_equal(parse("GET / HTTP/1.1\r", &req),
	    HTTP_PARSE_INCOMPLETE);
}

static void
test_invalid_request_line(void **state)
{
	struct http_req	req;

	(void)state;
	assert_bad("G(T / HTTP/1.1\r\n\r\n");
	assert_bad(" GET / HTTP/1.1\r\n\r\n");
	assert_bad("GET  / HTTP/1.1\r\n\r\n");
	assert_bad("GET /  HTTP/1.1\r\n\r\n");
	assert_bad("GET\t/ HTTP/1.1\r\n\r\n");
	assert_bad("/ HTTP/1.1\r\n\r\n");
	assert_bad("GET /\xc3\xa9 HTTP/1.1\r\n\r\n");
	/* Garbage is refused at once, not after 8 KiB. */
	assert_int_equal(parse_n("\x16\x03\x01\x02\x00", 1, &req),
	    HTTP_PARSE_BAD);
	assert_int_equal(parse_n("{\"json\"", 1, &req), HTTP_PARSE_BAD);
	assert_int_equal(parse_n("\0", 1, &req), HTTP_PARSE_BAD);
	assert_int_equal(parse("GE(", &req), HTTP_PARSE_BAD);
	assert_int_equal(parse("GET x", &req), HTTP_PARSE_BAD);
	assert_int_equal(parse("GET /a b", &req), HTTP_PARSE_BAD);
	assert_int_equal(parse("SSH-2.0-OpenSSH_9.2p1 Debian", &req),
	    HTTP_PARSE_BAD);
	assert_int_equal(parse("", &req), HTTP_PARSE_INCOMPLETE);
	assert_int_equal(parse("G", &req), HTTP_PARSE_INCOMPLETE);
}

static void
test_control_chars(void **state)
{
	static const char	nul_value[] =
	    "GET / HTTP/1.1\r\nHost: a\0b\r\n\r\n";
	static const char	nul_path[] = "GET /a\0b HTTP/1.1\r\n\r\n";
	struct http_req		req;

	(void)state;
	assert_int_equal(parse_n(nul_value, sizeof(nul_value) - 1, &req),
	    HTTP_PARSE_BAD);
	assert_int_equal(parse_n(nul_path, sizeof(nul_path) - 1, &req),
	    HTTP_PARSE_BAD);
	assert_bad("GET / HTTP/1.1\r\nHost: a\x01" "b\r\n\r\n");
	assert_bad("GET / HTTP/1.1\r\nHost: a\x7f\r\n\r\n");
	assert_bad("GET / HTTP/1.1\r\nHost: a\x1b[1m\r\n\r\n");
	assert_bad("GET / HTTP/1.1\r\nHost: a\rb\r\n\r\n");
	assert_bad("GET / HTTP/1.1\r\nHo\x01st: a\r\n\r\n");
	assert_bad("GET /\x7f HTTP/1.1\r\n\r\n");
	assert_bad("GET /\t HTTP/1.1\r\n\r\n");
	/* HTAB and obs-text are fine in values. */
	assert_int_equal(parse("GET / HTTP/1.1\r\nX-A: a\tb\r\n"
	    "X-B: caf\xc3\xa9\r\n\r\n", &req), HTTP_PARSE_OK);
}

static void
test_header_syntax(void **state)
{
	struct http_req	req;

	(void)state;
	assert_bad("GET / HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n");
	assert_bad("GET / HTTP/1.1\r\nHost: x\r\n\tfolded\r\n\r\n");
	assert_bad("GET / HTTP/1.1\r\n Host: x\r\n\r\n");
	assert_bad("GET / HTTP/1.1\r\nHost\r\n\r\n");
	assert_bad("GET / HTTP/1.1\r\nHost x\r\n\r\n");
	assert_bad("GET / HTTP/1.1\r\nHost : x\r\n\r\n");
	assert_bad("GET / HTTP/1.1\r\n: x\r\n\r\n");
	assert_bad("GET / HTTP/1.1\r\nX(y): x\r\n\r\n");
	assert_int_equal(parse("GET / HTTP/1.1\r\nHost", &req),
	    HTTP_PARSE_INCOMPLETE);
	assert_int_equal(parse("GET / HTTP/1.1\r\nHost:x\r\nEmpty:\r\n"
	    "Spaces: \t \r\n\r\n", &req), HTTP_PARSE_OK);
}

static void
test_authorization(void **state)
{
	struct http_req	req;

	(void)state;
	assert_int_equal(parse("GET /status HTTP/1.1\r\n"
	    "authorization: Bearer abc\r\n\r\n", &req), HTTP_PARSE_OK);
	assert_int_equal(req.authlen, 10);
	assert_memory_equal(req.auth, "Bearer abc", 10);
	assert_bad("GET /status HTTP/1.1\r\nAuthorization: Bearer a\r\n"
	    "Authorization: Bearer b\r\n\r\n");
}

static void
test_leading_empty_lines(void **state)
{
	static const char	buf[] = "\r\n\nGET / HTTP/1.1\r\n\r\n";
	struct http_req		req;

	(void)state;
	assert_int_equal(parse(buf, &req), HTTP_PARSE_OK);
	assert_int_equal(req.head_len, strlen(buf));
	assert_path(&req, "/");
	assert_int_equal(parse("\r\n", &req), HTTP_PARSE_INCOMPLETE);
	assert_int_equal(parse("\r", &req), HTTP_PARSE_INCOMPLETE);
	assert_int_equal(parse("\r\n\r\n\r\n\r\n", &req),
	    HTTP_PARSE_INCOMPLETE);
	assert_bad("\r\n\r\n\r\n\r\n\r\nGET / HTTP/1.1\r\n\r\n");
	assert_bad("\rGET / HTTP/1.1\r\n\r\n");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_alb_probe),
		cmocka_unit_test(test_nlb_probe),
		cmocka_unit_test(test_classic_probe),
		cmocka_unit_test(test_head),
		cmocka_unit_test(test_methods),
		cmocka_unit_test(test_post_content_length),
		cmocka_unit_test(test_content_length_bad),
		cmocka_unit_test(test_transfer_encoding),
		cmocka_unit_test(test_keepalive),
		cmocka_unit_test(test_pipelined),
		cmocka_unit_test(test_incremental),
		cmocka_unit_test(test_query_string),
		cmocka_unit_test(test_absolute_form),
		cmocka_unit_test(test_bare_lf),
		cmocka_unit_test(test_too_big),
		cmocka_unit_test(test_versions),
		cmocka_unit_test(test_invalid_request_line),
		cmocka_unit_test(test_control_chars),
		cmocka_unit_test(test_header_syntax),
		cmocka_unit_test(test_authorization),
		cmocka_unit_test(test_leading_empty_lines),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
