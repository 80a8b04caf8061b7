/*
 * hacli.h: one-shot requests to HAProxy's CLI (the stats socket), on the
 * event loop.
 *
 * A request connects (unix or tcp), writes one line of commands joined by
 * ';' and ending in '\n' (HAPROXY.md section 4: HAProxy reads up to '\n',
 * answers every command followed by an empty line, then closes), and reads
 * until EOF, bounded in size and in time. Nothing blocks: the socket is a
 * bufferevent, the deadline an event timer.
 */
#ifndef HW_HACLI_H
#define HW_HACLI_H

#include <stddef.h>
#include <stdint.h>

#include "addr.h"

struct event_base;
struct hacli_req;

/* Keep command lines well under HAProxy 2.6's 16 KiB line buffer: lines of
 * 15.4 KB and more were seen to hang the session (HAPROXY.md section 4). */
#define HACLI_MAX_LINE	8192

enum hacli_status {
	HACLI_OK,		/* EOF after a reply: reply/len are valid */
	HACLI_ECONNECT,		/* socket missing, refused, ... */
	HACLI_ETIMEOUT,		/* the whole exchange took longer than allowed */
	HACLI_ETOOBIG,		/* the reply passed the size bound */
	HACLI_EIO,		/* reset or read error after connecting */
};

struct hacli_result {
	enum hacli_status	 status;
	int			 err;		/* errno, when there is one */
	const char		*reply;		/* not NUL-terminated; valid in cb */
	size_t			 len;
	int64_t			 duration_us;
};

typedef void hacli_cb(void *arg, const struct hacli_result *res);

/*
 * Send line (without its final '\n', which is added; at most
 * HACLI_MAX_LINE bytes) to the CLI at addr. cb is called exactly once,
 * from the loop, never from inside hacli_request() itself. The request
 * owns itself and is freed after cb returns. Returns a handle for
 * hacli_cancel(), which frees it without calling cb.
 */
struct hacli_req *hacli_request(struct event_base *base,
	    const struct addr *addr, const char *line, size_t max_reply,
	    int64_t timeout_ms, hacli_cb *cb, void *arg);
/*
 * The same, then a half-close once the line is sent: HAProxy's master CLI
 * answers and closes only when the client has closed its side (a
 * worker's closes on its own, and is asked with hacli_request()).
 */
struct hacli_req *hacli_request_shut(struct event_base *base,
	    const struct addr *addr, const char *line, size_t max_reply,
	    int64_t timeout_ms, hacli_cb *cb, void *arg);
void	hacli_cancel(struct hacli_req *req);
const char *hacli_status_str(enum hacli_status s);

/*
 * Split a reply into the outputs of its commands: each ends with an empty
 * line. Stores up to max (start, length) pairs, the length covering the
 * output's lines with their '\n' but not the empty line. Returns the number
 * of outputs, or -1 if the reply does not end with an empty line (it was
 * cut short) or holds more than max outputs.
 */
int	hacli_split(const char *reply, size_t len, const char **starts,
	    size_t *lens, size_t max);

#endif
