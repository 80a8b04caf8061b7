/*
 * log.c: stderr logging with journald priority prefixes.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "log.h"

static enum log_level	log_max = LOG_LVL_INFO;
static bool		log_journal;

void
log_init(enum log_level max)
{
	const char	*js = getenv("JOURNAL_STREAM");

	log_max = max;
	log_journal = js != NULL && *js != '\0';
}

void
log_set_level(enum log_level max)
{
	log_max = max;
}

bool
log_level_parse(const char *s, enum log_level *out)
{
	static const struct {
		const char	*name;
		enum log_level	 lvl;
	} names[] = {
		{ "debug", LOG_LVL_DEBUG }, { "info", LOG_LVL_INFO },
		{ "notice", LOG_LVL_NOTICE }, { "warning", LOG_LVL_WARNING },
		{ "error", LOG_LVL_ERR },
	};
	size_t	i;

	for (i = 0; i < ARRAY_SIZE(names); i++) {
		if (strcasecmp(s, names[i].name) == 0) {
			*out = names[i].lvl;
			return true;
		}
	}
	return false;
}

bool
log_enabled(enum log_level lvl)
{
	return lvl <= log_max;
}

static void
log_vmsg(enum log_level lvl, const char *suffix, const char *fmt, va_list ap)
{
	static const char *const tags[] = {
		[LOG_LVL_ERR] = "error", [LOG_LVL_WARNING] = "warning",
		[LOG_LVL_NOTICE] = "notice", [LOG_LVL_INFO] = "info",
		[LOG_LVL_DEBUG] = "debug",
	};
	char	line[2048];
	int	saved = errno;
	int	n;

	if (!log_enabled(lvl))
		return;
	if (log_journal)
		n = snprintf(line, sizeof(line), "<%d>", (int)lvl);
	else
		n = snprintf(line, sizeof(line), "hapwatch: %s: ", tags[lvl]);
	vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	if (suffix != NULL) {
		size_t	l = strlen(line);

		snprintf(line + l, sizeof(line) - l, ": %s", suffix);
	}
	fprintf(stderr, "%s\n", line);
	errno = saved;
}

void
log_line(enum log_level lvl, const char *fmt, ...)
{
	va_list	ap;
	int	saved = errno;

	if (!log_enabled(lvl))
		return;
	if (log_journal)
		fprintf(stderr, "<%d>", (int)lvl);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	errno = saved;
}

void
log_msg(enum log_level lvl, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	log_vmsg(lvl, NULL, fmt, ap);
	va_end(ap);
}

#define LOG_FN(name, lvl, suffix)				\
void								\
name(const char *fmt, ...)					\
{								\
	va_list	ap;						\
								\
	va_start(ap, fmt);					\
	log_vmsg(lvl, suffix, fmt, ap);				\
	va_end(ap);						\
}

LOG_FN(log_warn, LOG_LVL_WARNING, strerror(errno))
LOG_FN(log_warnx, LOG_LVL_WARNING, NULL)
LOG_FN(log_notice, LOG_LVL_NOTICE, NULL)
LOG_FN(log_info, LOG_LVL_INFO, NULL)
LOG_FN(log_debug, LOG_LVL_DEBUG, NULL)
LOG_FN(log_errx, LOG_LVL_ERR, NULL)

void
fatal(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	log_vmsg(LOG_LVL_ERR, strerror(errno), fmt, ap);
	va_end(ap);
	exit(2);
}

void
fatalx(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	log_vmsg(LOG_LVL_ERR, NULL, fmt, ap);
	va_end(ap);
	exit(2);
}
