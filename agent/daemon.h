/*
 * daemon.h: the running daemon. Its struct is its own (daemon.c): other
 * modules get, when they are made, what they need of it (a view of the
 * services, the counters, callbacks), never the struct.
 */
#ifndef HW_DAEMON_H
#define HW_DAEMON_H

#include "conf.h"

struct daemon;

/* Create the daemon for conf (taken over), loaded from path with ov (both
 * copied, for reloads); binds listeners. NULL, with the reason logged, if
 * a listener cannot be bound or libcurl cannot be loaded. */
struct daemon	*daemon_new(struct conf *conf, const char *path,
		    const struct conf_overrides *ov);
/* Run the loop until a clean stop (SIGTERM, SIGINT); returns the exit
 * status. */
int		 daemon_run(struct daemon *d);
void		 daemon_free(struct daemon *d);

#endif
