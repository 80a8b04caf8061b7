/*
 * logtrig.h: HAProxy's own log lines as a trigger. HAProxy logs a server
 * or backend changing state at once (HAPROXY.md section 6: "Server be/s is
 * DOWN", "backend be has no server available!", maintenance and drain
 * messages); with "log 127.0.0.1:5140 local0" it sends them here over UDP,
 * and a matching line asks for a poll at once, so hapwatch follows HAProxy
 * within milliseconds instead of one interval later. The line is only a
 * hint: the verdict always comes from the poll it triggers.
 */
#ifndef HW_LOGTRIG_H
#define HW_LOGTRIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"

struct event_base;
struct logtrig;

#define LOGTRIG_MAX_DGRAM	4096	/* HAProxy's default is 1024 */

struct logtrig_counters {
	uint64_t	received;	/* datagrams */
	uint64_t	matched;	/* state-change lines */
};

/* Whether a syslog datagram is a server or backend state-change line. */
bool	logtrig_match(const char *msg, size_t len);

/* Bind a UDP socket on addr; trigger(arg) on every matching line. NULL
 * with a reason in err if the socket cannot be bound. */
struct logtrig	*logtrig_new(struct event_base *base, const struct addr *addr,
		    void (*trigger)(void *), void *arg, char *err, size_t errlen);
const struct logtrig_counters *logtrig_counters(const struct logtrig *lt);
void		 logtrig_free(struct logtrig *lt);

#endif
