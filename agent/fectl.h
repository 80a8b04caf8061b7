/*
 * fectl.h: frontend control. HAProxy frontends disabled while their service's verdict is
 * down ("disable frontend" on the admin socket takes the listening socket
 * out of LISTEN, so clients get an instant RST), enabled again on up, at
 * every HAProxy reload (a reload re-enables every frontend) and on a clean
 * stop. Errors (no such frontend, no admin level) are logged and shown in
 * /status, never fatal.
 */
#ifndef HW_FECTL_H
#define HW_FECTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"

struct event_base;
struct conf;
struct svc;
struct fectl;

/* Where HAProxy's admin socket is. */
struct fectl_env {
	struct event_base	*base;
	struct addr		 stats;		/* the CLI socket */
	int64_t			 timeout;
};

enum fe_applied {
	FE_UNKNOWN,		/* not applied on this HAProxy process yet */
	FE_ENABLED,
	FE_DISABLED,
	FE_ERROR,		/* HAProxy refused; retried after a reload */
};

struct fe_status {
	const char	*name;
	size_t		 svc;		/* CONF_NONE: removed from the config */
	bool		 want_enabled;
	enum fe_applied	 applied;
	const char	*error;		/* HAProxy's words, or NULL */
};

/* Control conf's frontends, following the verdicts of svcs (the
 * services of conf, read-only). */
struct fectl	*fectl_new(const struct fectl_env *env, const struct conf *conf,
		    const struct svc *svcs);
/* After a reload: carry over what old applied, by frontend name; those
 * it disabled that the new config drops are enabled again. */
void		 fectl_inherit(struct fectl *f, const struct fectl *old);
/* Apply what the verdicts want, where it differs from what is applied. */
void		 fectl_update(struct fectl *f);
/* HAProxy was reloaded or restarted: apply everything again. */
void		 fectl_reapply(struct fectl *f);
/* Enable every frontend we disabled; done() runs when that is over. */
void		 fectl_restore(struct fectl *f, void (*done)(void *), void *arg);
size_t		 fectl_count(const struct fectl *f);
void		 fectl_status(const struct fectl *f, size_t i, struct fe_status *st);
void		 fectl_free(struct fectl *f);

#endif
