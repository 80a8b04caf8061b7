/*
 * child.h: child processes on the event loop, for exec checks and hooks.
 *
 * A child runs argv without a shell, in a new process group, with stdin
 * on /dev/null and stdout+stderr captured (bounded) through a pipe. Its
 * exit is collected by a SIGCHLD event, never by a blocking wait. Past its
 * timeout the whole group gets SIGTERM, then SIGKILL if it lingers.
 */
#ifndef HW_CHILD_H
#define HW_CHILD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct event_base;
struct childmgr;
struct child;

#define CHILD_KILL_GRACE_MS	2000	/* SIGTERM -> SIGKILL */

struct child_result {
	int		 status;	/* waitpid() status; valid if !spawn_err */
	int		 spawn_err;	/* errno when it could not start */
	bool		 timed_out;	/* killed for its timeout */
	int64_t		 timeout_ms;	/* the timeout it had */
	const char	*output;	/* captured stdout+stderr, bounded */
	size_t		 outlen;
	int64_t		 duration_ms;
};

typedef void child_cb(void *arg, const struct child_result *res);

/* One per event base: owns the SIGCHLD event. */
struct childmgr	*childmgr_new(struct event_base *base);
/* Kill (SIGKILL, whole groups) and forget every child still running. */
void		 childmgr_free(struct childmgr *m);

/*
 * Start argv[0] (an absolute path) with envp (NULL: inherit ours). cb is
 * called once from the loop when the child has exited (or failed to
 * start), with up to max_output bytes of what it printed. Returns a handle
 * for child_abandon(), which kills the group and drops cb.
 */
struct child	*child_spawn(struct childmgr *m, char *const argv[],
		    char *const envp[], int64_t timeout_ms, size_t max_output,
		    child_cb *cb, void *arg);
void		 child_abandon(struct child *c);

/* "exit 3", "killed by signal 9", "timed out after 5s"... into buf. */
void		 child_describe(const struct child_result *r, char *buf,
		    size_t len);

#endif
