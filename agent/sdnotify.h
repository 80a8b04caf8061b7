/*
 * sdnotify.h: systemd's notify protocol, without libsystemd: one datagram
 * of "KEY=value" lines to the unix socket named by $NOTIFY_SOCKET (a path,
 * or an abstract name when it starts with '@'). A no-op without it.
 */
#ifndef HW_SDNOTIFY_H
#define HW_SDNOTIFY_H

#include <stdbool.h>
#include <stdint.h>

#include "util.h"

/* Send one message; returns false if $NOTIFY_SOCKET is set but the send
 * failed (logged by the caller if it cares). */
bool	sd_notifyf(const char *fmt, ...) PRINTF(1, 2);
/* The watchdog interval from $WATCHDOG_USEC (for us: $WATCHDOG_PID unset
 * or ours), in ms; 0 when there is none. */
int64_t	sd_watchdog_ms(void);

#endif
