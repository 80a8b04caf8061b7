/*
 * listener.h: listening sockets and the connections they accept.
 *
 * A listener binds its address, accepts without blocking (backing off on
 * EMFILE and friends, never spinning), stops accepting at max_connections
 * so that new connections wait in the kernel's backlog, and can be closed
 * and reopened as its services go down and up (a failed re-bind is retried
 * with backoff). Each kind (http, agent, tcp) supplies what to do with an
 * accepted socket.
 */
#ifndef HW_LISTENER_H
#define HW_LISTENER_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/queue.h>

#include "conf.h"

struct event;
struct hw;
struct listener;

/* The head of every accepted connection, embedded first in each kind's
 * struct; the listener tracks them to close them all at shutdown. */
struct lconn {
	struct listener		*ls;
	int			 fd;
	void			(*close)(struct lconn *c);
	TAILQ_ENTRY(lconn)	 link;
};

struct http_path_cache;

struct listener {
	struct hw			*hw;
	const struct conf_listen	*conf;
	int				 fd;		/* -1 while closed */
	struct event			*ev;		/* accept */
	struct event			*retry;		/* re-bind or EMFILE */
	bool				 want_open;
	bool				 full;		/* at max_connections */
	bool				 backoff;	/* EMFILE pause */
	int64_t				 retry_ms;	/* current backoff */
	int				 nconns;
	TAILQ_HEAD(, lconn)		 conns;
	char				 error[128];	/* last bind error */
	uint64_t			 accepted;
	struct http_path_cache		*cache;		/* http: per path */
};

/* Create and bind. Returns NULL with a reason in err if it cannot bind. */
struct listener	*listener_new(struct hw *hw, const struct conf_listen *c,
		    char *err, size_t errlen);
/* After a reload: serve conf c on the same socket and connections. */
void		 listener_adopt(struct listener *l, const struct conf_listen *c);
/* Open or close the socket, as the listener's services allow. */
void		 listener_update(struct listener *l);
/* Register an accepted connection, or forget one that is closing. */
void		 listener_conn_add(struct listener *l, struct lconn *c);
void		 listener_conn_del(struct lconn *c);
bool		 listener_is_open(const struct listener *l);
const char	*listen_kind_name(enum listen_kind k);
/* Close every connection and the socket, and free. */
void		 listener_free(struct listener *l);

/* Per kind: take over an accepted, non-blocking socket. */
void		 http_accept(struct listener *l, int fd);
void		 agent_accept(struct listener *l, int fd);
void		 tcp_accept(struct listener *l, int fd);
void		 http_cache_free(struct listener *l);

/* An agent-send line naming a service: "web\n" (CRLF accepted). */
#define AGENT_LINE_MAX	256

enum agent_req {
	AGENT_REQ_MORE,		/* no '\n' yet, within AGENT_LINE_MAX */
	AGENT_REQ_BAD,		/* longer than AGENT_LINE_MAX, or a NUL */
	AGENT_REQ_OK,		/* name holds the line without its end */
};

/* Parse the line at buf[0..len); name needs AGENT_LINE_MAX + 1 bytes. */
enum agent_req	 agent_parse_request(const char *buf, size_t len, char *name,
		    size_t namelen);

/*
 * The agent-check reply for a service in state st (HAProxy's agent
 * protocol; DESIGN.md's table), written into buf with its '\n'. weight is
 * the listener's fixed percent, or 0 to use the service's capacity.
 * Returns the length.
 */
size_t		 agent_format_reply(char *buf, size_t len, enum svc_state st,
		    const char *reason, int svc_weight, int fixed_weight,
		    bool admin_words);

#endif
