/*
 * responder.h: what answers on a listening socket. The listener
 * (listener.h) binds, accepts and opens or closes its socket; a responder
 * says what to do with an accepted connection and when the socket should
 * listen at all. One responder per listener kind, behind one ops table
 * (keepalived's checker_funcs_t, relayd's check_*.c):
 *
 *   http_responder.c        health paths, and admin routes (admin.c)
 *   agentcheck_responder.c  HAProxy's agent-check (agentcheck.c)
 *   tcp_responder.c         a port open only while its service is up
 *
 * A responder is given, when it is made, what it needs and nothing else:
 * its listen config, a read-only view of the services (by config index),
 * the counters it bumps, and for admin routes the operations the daemon
 * offers. A config reload hands the same things anew (adopt).
 *
 * To add a kind: a LISTEN_* in conf.h and its keys in conf_schema.c, a
 * <kind>_responder.c exporting its ops, and a line in responder.c.
 */
#ifndef HW_RESPONDER_H
#define HW_RESPONDER_H

#include <stdbool.h>

#include "conf.h"

struct event_base;
struct metrics;
struct probers;
struct sockaddr;
struct svc;
struct listener;
struct admin_ops;
struct events;

struct responder_env {
	struct event_base	*base;
	struct metrics		*metrics;
	struct probers		*probers;	/* who probes, for drains */
	const struct conf	*conf;		/* names, for lookups */
	const struct svc	*svcs;		/* conf->nservices, read-only */
	const struct admin_ops	*admin;		/* admin routes (http) */
	void			*admin_arg;
	struct events		*events;	/* GET /events, its long-polls */
};

struct responder_ops {
	/* Make the responder of listen config c. */
	void	*(*make)(const struct conf_listen *c,
		    const struct responder_env *env);
	/* After a config reload: serve c with env from now on; connections
	 * already accepted stay. */
	void	 (*adopt)(void *r, const struct conf_listen *c,
		    const struct responder_env *env);
	/* Whether its socket should listen now. */
	bool	 (*wanted)(const void *r);
	/* Take over an accepted, non-blocking socket of l, from peer. */
	void	 (*accept)(void *r, struct listener *l, int fd,
		    const struct sockaddr *peer);
	/* Free; the listener has closed every connection before. */
	void	 (*free)(void *r);
	/* Its clients send first (HTTP), so the listener may let the kernel
	 * hold a connection until its first bytes come (TCP_DEFER_ACCEPT).
	 * Not an agent-check's (HAProxy's agent sends nothing) nor a tcp
	 * probe's (it connects and closes). */
	bool	 client_speaks_first;
};

/* The responder of a listener kind. */
const struct responder_ops *responder_for(enum listen_kind kind);

extern const struct responder_ops http_responder_ops;
extern const struct responder_ops agentcheck_responder_ops;
extern const struct responder_ops tcp_responder_ops;

#endif
