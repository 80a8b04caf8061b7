/*
 * source.h: where HAProxy's word comes from. One module per transport,
 * each behind the same small interface, scheduled by the poller
 * (poller.h):
 *
 *   source_cli.c    the CLI socket (unix or tcp): "show info;show stat ..."
 *   source_page.c   the stats page's CSV, through libcurl
 *
 * A source answers one poll at a time: send() starts it, and the owner's
 * done callback runs exactly once from the loop (never from inside send),
 * unless cancel() comes first. A source reads what identifies the HAProxy
 * process that answered (its pid, its age), so that the poller can tell a
 * new process and how long its word is still young, whatever the
 * transport.
 */
#ifndef HW_SOURCE_H
#define HW_SOURCE_H

#include <stdbool.h>
#include <stdint.h>

#include "addr.h"
#include "stats.h"

struct event_base;
struct curlev;
struct source;

/* Largest reply accepted: "show stat -1 6 -1" for 10,000 servers is
 * 2.5 MB; this leaves room for ten times that. */
#define SOURCE_MAX_REPLY	(32u << 20)

enum poll_error {
	POLL_OK,
	POLL_ECONNECT,		/* socket missing or refused */
	POLL_ETIMEOUT,		/* no complete reply within the timeout */
	POLL_ETOOBIG,		/* reply over SOURCE_MAX_REPLY */
	POLL_EIO,		/* reset or read error */
	POLL_ETRUNCATED,	/* reply cut short (no final empty line) */
	POLL_EGARBLED,		/* reply is not what was asked for */
	POLL_ESTOPPING,		/* an old, soft-stopping process answered */
	POLL_NERRORS
};

/* What to ask for: the backends the services watch. */
struct poll_target {
	const char	*backend;	/* copied by whoever keeps a plan */
	bool		 servers;	/* also fetch its server rows */
};

struct poll_plan {
	struct poll_target	*targets;
	size_t			 ntargets;
	bool			 all;		/* every backend's row */
	bool			 all_servers;	/* every server row too */
	const char *const	*frontends;	/* frontend rows to fetch too
						 * (while a drain runs) */
	size_t			 nfrontends;
};

/* What a CLI line asks for, output by output after "show info". */
struct cli_shape {
	size_t	nstat;		/* "show stat" outputs for the backends */
	bool	targeted;	/* one per backend: "No such proxy." there
				 * is an absent backend */
	size_t	nfe;		/* then one per frontend (each targeted) */
};

/* One poll's outcome, as a source reports it. */
struct source_reply {
	enum poll_error		 error;
	char			 detail[160];	/* why, for logs and /status */
	struct stats_snapshot	*snap;		/* POLL_OK; see poller_cb */
	int64_t			 duration_us;
	/* The process that answered, as far as the transport shows it. */
	int			 pid;		/* 0: not shown (stats page) */
	int64_t			 age_ms;	/* its age; -1 unknown */
	bool			 restarted;	/* no pid, yet a new process */
};

typedef void source_done_cb(void *arg, struct source_reply *r);

struct source_ops {
	/* Ask for plan from now on (copied). */
	void		 (*set_plan)(struct source *s, const struct poll_plan *plan);
	void		 (*set_timeout)(struct source *s, int64_t ms);
	void		 (*send)(struct source *s);
	void		 (*cancel)(struct source *s);
	/* What a poll sends, for debug logs and tests. */
	const char	*(*request)(const struct source *s);
	void		 (*free)(struct source *s);
};

/* The head of every source. The owner sets done and arg. */
struct source {
	const struct source_ops	*ops;
	source_done_cb		*done;
	void			*arg;
	bool			 busy;		/* a poll is in flight */
};

/* The CLI socket at addr. */
struct source	*source_cli_new(struct event_base *base,
		    const struct addr *addr, int64_t timeout_ms);
/* The stats page at url (";csv" is added); basic auth from the URL, TLS
 * verified. The page gives every row: the plan only filters what is kept,
 * so that verdicts are the same whichever transport answers. */
struct source	*source_page_new(struct event_base *base, struct curlev *cv,
		    const char *url, int64_t timeout_ms);

const char	*poll_error_str(enum poll_error e);

/*
 * Parse a whole CLI reply: "show info" output then the "show stat"
 * outputs of shape (exposed for unit tests and fuzzing). Where an output
 * names one proxy, "No such proxy." means it is absent. Fills snap;
 * returns POLL_OK or the failure, with a reason in detail.
 */
enum poll_error	 source_cli_parse_reply(const struct cli_shape *shape,
		    const char *reply, size_t len, struct stats_snapshot *snap,
		    char *detail, size_t detlen);
/*
 * The CLI line for plan ("show info;show stat web 2 -1;..."): one targeted
 * "show stat" per backend while that stays under HACLI_MAX_LINE and
 * POLL_MAX_TARGETED backends, else one "show stat -1 2 -1" (6 with server
 * rows); then "show stat <fe> 1 -1" per frontend of the plan (dropped if
 * they would pass HACLI_MAX_LINE). Fills *shape with what it asks for.
 */
void		 source_cli_build_line(const struct poll_plan *plan,
		    struct sbuf *line, struct cli_shape *shape);

/* Above this many watched backends, ask for all backend rows at once. */
#define POLL_MAX_TARGETED	48

#endif
