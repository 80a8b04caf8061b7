/*
 * addr.h: socket addresses as written in the config.
 *
 *   unix:/run/haproxy/admin.sock      a unix stream socket
 *   tcp:127.0.0.1:9999                tcp, explicit
 *   127.0.0.1:8080, [::1]:8080        tcp, as listeners write them
 *   0.0.0.0:8080, *:8080              any address
 *
 * Hosts are IP addresses (or "localhost"): nothing is resolved, since a
 * config is also loaded on SIGHUP, inside the event loop.
 */
#ifndef HW_ADDR_H
#define HW_ADDR_H

#include <stdbool.h>
#include <sys/socket.h>

#include "util.h"

struct addr {
	struct sockaddr_storage	ss;
	socklen_t		len;
	int			family;		/* AF_UNIX, AF_INET, AF_INET6 */
	char			text[128];	/* canonical, for logs and /status */
};

#define ADDR_TCP_PREFIX	0x01	/* "tcp:" may prefix a host:port */
#define ADDR_NO_UNIX	0x02	/* refuse unix: */
#define ADDR_PASSIVE	0x04	/* listening: "*" and empty host mean any */

/*
 * Parse s into out. flags: ADDR_*. On failure returns false and writes a
 * short reason ("port out of range") into err.
 */
bool	addr_parse(const char *s, int flags, struct addr *out, char *err,
	    size_t errlen) MUST_CHECK;
/* True for unix sockets and 127.0.0.0/8, ::1. */
bool	addr_is_local(const struct addr *a);
bool	addr_equal(const struct addr *a, const struct addr *b);
/* Port of an inet address, 0 for unix. */
int	addr_port(const struct addr *a);

#endif
