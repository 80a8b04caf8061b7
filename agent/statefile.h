/*
 * statefile.h: HAProxy's server-state file, kept by hapwatch.
 *
 * HAProxy never writes it: an operator (seed 004) dumps "show servers
 * state" into it before each reload so that the new process, with
 * "server-state-file" and "load-server-state-from-file global", starts
 * from the real server states instead of everyone UP. hapwatch does it
 * every state_file_interval and on demand ("hapwatch ctl save-state",
 * for ExecReload), atomically (write, fsync, rename, fsync the directory),
 * and a failed or partial read never replaces a good file.
 */
#ifndef HW_STATEFILE_H
#define HW_STATEFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct event_base;
struct conf_haproxy;
struct statefile;

struct statefile_status {
	uint64_t	 requested;	/* sequence of the latest request */
	uint64_t	 completed;	/* latest request finished (ok or not) */
	uint64_t	 saved;		/* latest request that was written */
	uint64_t	 failures;
	int64_t		 last_save_wall;
	const char	*last_error;	/* NULL after a success */
};

/* For h's state_file (copied); NULL when there is none, or HAProxy's word
 * comes from the stats page (no "show servers state" there). */
struct statefile *statefile_new(struct event_base *base,
		    const struct conf_haproxy *h);
/* After a reload: follow h (path, socket, timeout, interval). Returns sf
 * (a save in flight carries on), a new one if there was none, or NULL
 * (sf freed) if h has none now. */
struct statefile *statefile_reconfigure(struct statefile *sf,
		    struct event_base *base, const struct conf_haproxy *h);
/* Save now (or right after the save in flight); returns its sequence. */
uint64_t	 statefile_request(struct statefile *sf);
void		 statefile_status(const struct statefile *sf,
		    struct statefile_status *st);
void		 statefile_free(struct statefile *sf);

/*
 * Whether reply is a whole "show servers state" dump: "1" (format
 * version), the "# be_id ..." header, rows, and the empty line that ends
 * every CLI output. *len is set to the length without that empty line.
 */
bool		 statefile_valid(const char *reply, size_t *len);

#endif
