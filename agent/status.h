/*
 * status.h: /status, the daemon's view (view.h) as one JSON object (times
 * in RFC 3339, UTC), for operators, "hapwatch ctl status" and tests.
 */
#ifndef HW_STATUS_H
#define HW_STATUS_H

#include "util.h"

struct view;

/* Render /status for v, appended to out (pretty-printed, one final '\n'). */
void	status_render(const struct view *v, struct sbuf *out);

#endif
