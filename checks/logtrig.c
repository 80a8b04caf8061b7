/*
 * logtrig.c: a UDP syslog listener that matches HAProxy's state lines.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>

#include "logtrig.h"
#include "util.h"

#define LOGTRIG_BATCH	64	/* datagrams per wakeup */

struct logtrig {
	int			 fd;
	struct event		*ev;
	void			(*trigger)(void *);
	void			*arg;
	struct logtrig_counters	 cnt;
};

static bool
has(const char *msg, size_t len, const char *s)
{
	return memmem(msg, len, s, strlen(s)) != NULL;
}

bool
logtrig_match(const char *msg, size_t len)
{
	/* "backend be has no server available!" (LOG_EMERG) */
	if (has(msg, len, " has no server available!"))
		return true;
	/* "[Backup ]Server be/s is DOWN|UP|going DOWN for maintenance...",
	 * "... (leaving forced maintenance)", "... enters drain state",
	 * "... (leaving forced drain)". Our own "Paused/Resumed frontend"
	 * lines do not match, so disabling a frontend never loops back. */
	if (!has(msg, len, "Server "))
		return false;
	return has(msg, len, " is DOWN") || has(msg, len, " is UP") ||
	    has(msg, len, " maintenance") || has(msg, len, " drain");
}

static void
logtrig_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct logtrig	*lt = arg;
	char		 buf[LOGTRIG_MAX_DGRAM];
	bool		 hit = false;
	ssize_t		 n;
	int		 i;

	for (i = 0; i < LOGTRIG_BATCH; i++) {
		n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n < 0)
			break;		/* EAGAIN: drained */
		lt->cnt.received++;
		if (logtrig_match(buf, (size_t)n)) {
			lt->cnt.matched++;
			hit = true;
		}
	}
	/* One trigger per burst: the poller folds them anyway. */
	if (hit)
		lt->trigger(lt->arg);
}

struct logtrig *
logtrig_new(struct event_base *base, const struct addr *addr,
    void (*trigger)(void *), void *arg, char *err, size_t errlen)
{
	struct logtrig	*lt = xcalloc(1, sizeof(*lt));
	int		 one = 1;

	lt->trigger = trigger;
	lt->arg = arg;
	lt->fd = socket(addr->family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0);
	if (lt->fd < 0)
		goto fail;
	setsockopt(lt->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(lt->fd, (const struct sockaddr *)&addr->ss, addr->len) < 0)
		goto fail;
	lt->ev = event_new(base, lt->fd, EV_READ | EV_PERSIST, logtrig_read_cb,
	    lt);
	event_add(lt->ev, NULL);
	return lt;
fail:
	snprintf(err, errlen, "cannot listen on udp:%s: %s", addr->text,
	    strerror(errno));
	if (lt->fd >= 0)
		close(lt->fd);
	free(lt);
	return NULL;
}

const struct logtrig_counters *
logtrig_counters(const struct logtrig *lt)
{
	return &lt->cnt;
}

void
logtrig_free(struct logtrig *lt)
{
	if (lt == NULL)
		return;
	event_free(lt->ev);
	close(lt->fd);
	free(lt);
}
