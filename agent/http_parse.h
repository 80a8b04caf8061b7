/*
 * http_parse.h: HTTP/1.0 and 1.1 request heads, parsed in place without
 * allocation. Pointers in struct http_req point into the caller's buffer.
 */
#ifndef HW_HTTP_PARSE_H
#define HW_HTTP_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HTTP_MAX_HEAD	8192	/* request line + headers + blank line */

enum http_method {
	HTTP_GET,
	HTTP_HEAD,
	HTTP_POST,
	HTTP_OTHER,		/* a valid token we do not serve: 405 */
};

enum http_parse_result {
	HTTP_PARSE_OK,
	HTTP_PARSE_INCOMPLETE,	/* no blank line yet, within the limit */
	HTTP_PARSE_BAD,		/* 400 */
	HTTP_PARSE_TOO_BIG,	/* 431: head over the limit */
	HTTP_PARSE_VERSION,	/* 505: not HTTP/1.x */
};

struct http_req {
	enum http_method method;
	const char	*path;		/* origin-form path, query cut off */
	size_t		 pathlen;
	const char	*query;		/* after '?', or NULL */
	size_t		 querylen;
	int		 minor;		/* 0 or 1 */
	bool		 keepalive;	/* after Connection and version rules */
	int64_t		 content_length;/* -1 when absent */
	bool		 chunked;	/* Transfer-Encoding present */
	const char	*auth;		/* Authorization value, or NULL */
	size_t		 authlen;
	size_t		 head_len;	/* bytes of the head, blank line included */
	/* Set by the caller once the body has come (Content-Length). */
	const char	*body;
	size_t		 bodylen;
};

/*
 * Parse one request head from buf[0..len). max_head bounds the head
 * (HTTP_MAX_HEAD for listeners). Accepts CRLF and bare LF line ends.
 * Absolute-form targets ("http://host/path") are reduced to their path.
 * Duplicate or invalid Content-Length, obs-fold and a missing or malformed
 * request line are HTTP_PARSE_BAD.
 */
enum http_parse_result http_parse_head(const char *buf, size_t len,
	    size_t max_head, struct http_req *out);

#endif
