/*
 * listener.h: a listening socket and the connections it accepted.
 *
 * A listener binds its address, accepts without blocking (backing off on
 * EMFILE and friends, never spinning), stops accepting at max_connections
 * so that new connections wait in the kernel's backlog, and opens and
 * closes its socket as its responder wants (a failed re-bind is retried
 * with backoff). What an accepted connection gets is the responder's
 * business (responder.h): the listener knows no kind.
 */
#ifndef HW_LISTENER_H
#define HW_LISTENER_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/queue.h>

#include "conf.h"
#include "responder.h"

struct listener;

/* The head of every accepted connection, embedded first in each
 * responder's struct; the listener tracks them to close them all when it
 * goes. close() must unlink it (listener_conn_del) and leave its memory
 * to reap_later(): it may run inside the connection's own callbacks. */
struct lconn {
	struct listener		*ls;
	int			 fd;
	void			(*close)(struct lconn *c);
	TAILQ_ENTRY(lconn)	 link;
};

/* Make the responder for c and bind. NULL, with a reason in err, if it
 * cannot bind. */
struct listener	*listener_new(const struct conf_listen *c,
		    const struct responder_env *env, char *err, size_t errlen);
/* After a reload, the same kind at the same address: serve c, keeping the
 * socket and the connections. */
void		 listener_adopt(struct listener *l, const struct conf_listen *c,
		    const struct responder_env *env);
/* After a reload, another kind at old's address: a new listener on old's
 * socket (no moment without one); old, its connections closed, is freed. */
struct listener	*listener_take(struct listener *old,
		    const struct conf_listen *c, const struct responder_env *env);
/* Open or close the socket as the responder wants (closed: stopping). */
void		 listener_update(struct listener *l, bool stopping);
/* Close every connection and the socket, and free (deferred). */
void		 listener_free(struct listener *l);

const struct conf_listen *listener_conf(const struct listener *l);
bool		 listener_is_open(const struct listener *l);
int		 listener_connections(const struct listener *l);
/* Why it cannot open, while it wants to and cannot; else NULL. */
const char	*listener_error(const struct listener *l);
const char	*listen_kind_name(enum listen_kind k);

/* A responder's connections: register one, or forget one that closes. */
void		 listener_conn_add(struct listener *l, struct lconn *c);
void		 listener_conn_del(struct lconn *c);

#endif
