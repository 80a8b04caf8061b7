/*
 * log.h: one line per event on stderr. Under systemd (JOURNAL_STREAM set)
 * each line carries its syslog priority prefix ("<4>") so journald keeps
 * the level. Every function preserves errno.
 */
#ifndef HW_LOG_H
#define HW_LOG_H

#include <stdbool.h>

#include "util.h"

enum log_level {
	LOG_LVL_ERR = 3,
	LOG_LVL_WARNING = 4,
	LOG_LVL_NOTICE = 5,
	LOG_LVL_INFO = 6,
	LOG_LVL_DEBUG = 7,
};

/* Set the threshold; messages above it (less severe) are dropped. */
void	log_init(enum log_level max);
void	log_set_level(enum log_level max);
/* Parse "debug|info|notice|warning|error"; false if unknown. */
bool	log_level_parse(const char *s, enum log_level *out) MUST_CHECK;
bool	log_enabled(enum log_level lvl);

void	log_msg(enum log_level lvl, const char *fmt, ...) PRINTF(2, 3);
/* A line as it is, with no "hapwatch: level: " tag (config errors keep
 * their "file:line:col: " form), but with the priority prefix under
 * journald, so that "hapwatch -c" in ExecStartPre or ExecReload shows its
 * errors at their level ("journalctl -p err"). */
void	log_line(enum log_level lvl, const char *fmt, ...) PRINTF(2, 3);
/* log_warn appends ": strerror(errno)"; the x forms do not. */
void	log_warn(const char *fmt, ...) PRINTF(1, 2);
void	log_warnx(const char *fmt, ...) PRINTF(1, 2);
void	log_notice(const char *fmt, ...) PRINTF(1, 2);
void	log_info(const char *fmt, ...) PRINTF(1, 2);
void	log_debug(const char *fmt, ...) PRINTF(1, 2);
void	log_errx(const char *fmt, ...) PRINTF(1, 2);
/* Log at error level and exit with status 2 (runtime failure at start). */
void	fatal(const char *fmt, ...) PRINTF(1, 2) __attribute__((noreturn));
void	fatalx(const char *fmt, ...) PRINTF(1, 2) __attribute__((noreturn));

#endif
