/*
 * admin.h: the admin routes of an http listener with "admin": true, and
 * the operations the daemon offers them.
 *
 *   GET  /status                       the daemon's view (status.h)
 *   GET  /metrics                      Prometheus text (metrics.h)
 *   POST /services/[NAME/]drain|ready|maint
 *   POST /haproxy/save-state           202; /status's state_file says when
 *   GET  /events[?since=SEQ][&wait=DUR] the events after SEQ (events.h);
 *                                      with wait, a long-poll
 *
 * A route table maps method and path to a handler; the http responder
 * parses the request and writes the answer.
 */
#ifndef HW_ADMIN_H
#define HW_ADMIN_H

#include <stdbool.h>
#include <stdint.h>

#include "service.h"

struct conf_listen;
struct events;
struct http_req;
struct view;

/* An operator's override, as asked (POST /services/[NAME/]ACTION, with an
 * optional JSON body {"by": WHO, "for": DURATION, "if_by": WHO}). */
struct override_req {
	enum svc_override	 o;
	const char		*by;		/* who: "operator" if unset */
	const char		*route;		/* the admin listener's address */
	int64_t			 for_ms;	/* > 0: lifts itself after */
	const char		*if_by;		/* ready: only an override of
						 * this one's making */
};

/* What the daemon offers the admin routes (its arg is admin_arg). */
struct admin_ops {
	/* Fill v with the daemon as it is now. */
	void	(*view)(void *arg, struct view *v);
	/* The operator's override on service idx, or all (CONF_NONE): the
	 * HTTP status (200 done, 409 left as is: another's override) and a
	 * line for the answer in msg. */
	int	(*override)(void *arg, size_t idx, const struct override_req *req,
		    char *msg, size_t msglen);
	/* Ask for a state file save; false if none is configured. */
	bool	(*save_state)(void *arg, uint64_t *seq);
};

/* The longest a long-poll of /events may wait. */
#define ADMIN_EVENTS_WAIT_MAX	60000

/* An answer to write. */
struct admin_answer {
	int		 code;
	const char	*ctype;		/* Content-Type */
	const char	*headers;	/* extra header lines, or NULL */
	struct sbuf	 body;		/* the caller frees it */
	/* > 0: a long-poll of /events with nothing to say yet: the caller
	 * waits (events_wait) until an event after since, or wait_ms, then
	 * answers with admin_events_answer(). */
	int64_t		 wait_ms;
	uint64_t	 since;
};

/*
 * Answer req if its path is an admin route (token checked against c's);
 * false if it is none (the caller answers 404). A request refused for its
 * token is answered 401 and *auth_failed set.
 */
bool	admin_route(const struct admin_ops *ops, void *arg,
	    const struct events *events, const struct conf_listen *c,
	    const struct conf *conf, const struct http_req *req,
	    struct admin_answer *ans, bool *auth_failed);
/* The answer of a long-poll that waited: the events after since. */
void	admin_events_answer(const struct events *events, uint64_t since,
	    struct admin_answer *ans);
/* Whether path is one of the admin routes (a health path may not be). */
bool	admin_is_route(const char *path);
/* Whether req is an admin POST (a route that takes a small body). */
bool	admin_is_post(const struct http_req *req);

#endif
