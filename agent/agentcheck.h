/*
 * agentcheck.h: HAProxy's agent-check protocol, as hapwatch speaks it
 * (HAPROXY.md section 1; DESIGN.md's table). Pure: no I/O.
 *
 * A reply is one line ending in '\n' (HAProxy ignores a line without it)
 * carrying a health word, and a weight with every "up", so that each reply
 * reverts whatever the previous one set. The space before '#' is needed:
 * HAProxy only takes '#' as the start of the description at a word's
 * start.
 */
#ifndef HW_AGENTCHECK_H
#define HW_AGENTCHECK_H

#include <stdbool.h>
#include <stddef.h>

#include "conf.h"

/* An agent-send line naming a service: "web\n" (CRLF accepted). */
#define AGENTCHECK_LINE_MAX	256

enum agentcheck_req {
	AGENTCHECK_REQ_MORE,	/* no '\n' yet, within AGENTCHECK_LINE_MAX */
	AGENTCHECK_REQ_BAD,	/* longer than AGENTCHECK_LINE_MAX, or a NUL */
	AGENTCHECK_REQ_OK,	/* name holds the line without its end */
};

/* Parse the line at buf[0..len); name needs AGENTCHECK_LINE_MAX + 1
 * bytes. */
enum agentcheck_req agentcheck_parse_request(const char *buf, size_t len,
	    char *name, size_t namelen);

/*
 * The reply for a service in state st, written into buf with its '\n'.
 * fixed_weight is the listener's fixed percent, or 0 to use svc_weight
 * (the service's capacity); admin_words sends HAProxy's ready/drain/maint.
 * Returns the length.
 */
size_t	agentcheck_format_reply(char *buf, size_t len, enum svc_state st,
	    const char *reason, int svc_weight, int fixed_weight,
	    bool admin_words);

#endif
