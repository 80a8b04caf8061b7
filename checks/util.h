/*
 * util.h: allocation that aborts on OOM, clocks, durations, a growable
 * string buffer. Shared by checks/ and agent/; depends on nothing else.
 */
#ifndef HW_UTIL_H
#define HW_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/time.h>

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
#define MUST_CHECK	__attribute__((warn_unused_result))
#define PRINTF(f, a)	__attribute__((format(printf, f, a)))

/* Free and clear: FREE(p) leaves p NULL. */
#define FREE(p)		do { free(p); (p) = NULL; } while (0)

void	*xmalloc(size_t n);
void	*xcalloc(size_t nmemb, size_t size);
void	*xrealloc(void *p, size_t n);
char	*xstrdup(const char *s);
char	*xstrndup(const char *s, size_t n);
/* asprintf that aborts on failure; the caller frees the result. */
char	*xasprintf(const char *fmt, ...) PRINTF(1, 2);

/* A duration in milliseconds as a struct timeval, for event timeouts. */
struct timeval	 tv_ms(int64_t ms);

/* Milliseconds on CLOCK_MONOTONIC: for every interval and deadline. */
int64_t	 mono_ms(void);
/* Microseconds on CLOCK_MONOTONIC: for measuring short durations. */
int64_t	 mono_us(void);
/* Wall clock in milliseconds since the epoch: for display only. */
int64_t	 wall_ms(void);
/* Format a wall-clock time (ms since epoch) as RFC 3339 UTC, second
 * precision ("2026-11-22T10:00:00Z"); buf needs 21 bytes. */
void	 fmt_rfc3339(int64_t wall, char *buf, size_t len);

/*
 * Parse a duration: a whole number and a unit, "ms", "s", "m" or "h"
 * ("250ms", "10s"). No sign, no fraction, no compound, no spaces.
 * Stores milliseconds in *ms. Returns false on any other input or on a
 * value above one week.
 */
bool	 parse_duration(const char *s, int64_t *ms) MUST_CHECK;
/* Render milliseconds back in the largest exact unit ("1500ms", "2s"). */
void	 fmt_duration(int64_t ms, char *buf, size_t len);

/* Growable NUL-terminated byte buffer. A zeroed struct is empty. */
struct sbuf {
	char	*data;
	size_t	 len;
	size_t	 cap;
};

void	 sbuf_append(struct sbuf *b, const void *p, size_t n);
void	 sbuf_puts(struct sbuf *b, const char *s);
void	 sbuf_printf(struct sbuf *b, const char *fmt, ...) PRINTF(2, 3);
void	 sbuf_reset(struct sbuf *b);
void	 sbuf_free(struct sbuf *b);

/*
 * A URL fit for logs and /status: the password of "user:pass@" becomes
 * "***"; with no_path, everything after the host is "/..." too (webhook
 * URLs carry their secret in the path).
 */
void	 url_redact(const char *url, bool no_path, char *buf, size_t len);

/*
 * Deferred frees (pgbouncer's "justfree"): an object closed from inside
 * its own callback chain (a connection that answered and is done, a
 * listener closed by a request it accepted) is handed to reap_later(),
 * which calls fn(obj) after the loop turn, when no callback can hold it.
 * Close it first: its events deleted, its fd closed, unlinked from every
 * list. The daemon calls reap_now() after every turn of the event loop
 * (and at exit).
 */
void	 reap_later(void (*fn)(void *), void *obj);
void	 reap_now(void);
struct event;
/* event_del() now, event_free() after the loop turn: for an event whose
 * own callback is running. NULL is a no-op. */
void	 reap_event(struct event *ev);

/* Copy s into dst (size n), replacing control characters by spaces and
 * cutting at n-1 bytes: for reasons that end up in one-line replies. */
void	 str_sanitize(char *dst, size_t n, const char *s);

#endif
