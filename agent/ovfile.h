/*
 * ovfile.h: the operators' overrides (drain, maint), kept across restarts
 * in <state dir>/overrides.json, written atomically (filewrite.h) on every
 * change and read at start, so that a restart, a crash or a package
 * upgrade in the middle of maintenance never puts a node back into
 * rotation.
 *
 *   { "version": 1,
 *     "overrides": { "web": { "override": "drain",
 *                             "since": "2026-12-02T10:00:00Z",
 *                             "until": null, "let_go": null,
 *                             "by": "operator",
 *                             "route": "unix:/run/hapwatch/admin.sock" } } }
 *
 * A drain's let_go says when it let go (null: not yet): a drain restored
 * at start that had let go has, and one that had not watches anew.
 *
 * A file that cannot be read or parsed is renamed aside
 * (overrides.json.bad) and reported: the daemon then drains every
 * service, the safe side, until an operator says ready.
 */
#ifndef HW_OVFILE_H
#define HW_OVFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "service.h"

struct event_base;
struct conf;
struct ovfile;

struct ovfile_entry {
	char				service[80];
	enum svc_override		o;
	struct svc_override_info	info;
};

enum ovfile_result {
	OVFILE_NONE,		/* no file: nothing to restore */
	OVFILE_OK,		/* the entries */
	OVFILE_BAD,		/* unreadable or corrupt: see ovfile_status */
};

struct ovfile_status {
	const char	*path;
	const char	*error;		/* the last load or save error, or NULL */
	const char	*kept_aside;	/* where a bad file went, or NULL */
	uint64_t	 saves;
	uint64_t	 failures;
};

/* The file in dir (made, 0750, if missing). */
struct ovfile	*ovfile_new(struct event_base *base, const char *dir);
/* Read it; *out (freed by the caller) holds *n entries for OVFILE_OK. */
enum ovfile_result ovfile_load(struct ovfile *f, struct ovfile_entry **out,
		    size_t *n);
/* Save the overrides of svcs (conf's services), off the loop; saves asked
 * while one is written fold into one after it. */
void		 ovfile_save(struct ovfile *f, const struct conf *conf,
		    const struct svc *svcs);
void		 ovfile_status(const struct ovfile *f, struct ovfile_status *st);
/* Finish (a save still pending is written now, blocking) and free. */
void		 ovfile_free(struct ovfile *f);

/* The JSON text for svcs, and its parse (exposed for tests): false, with
 * why in err, on anything that is not such a file. */
char		*ovfile_render(const struct conf *conf, const struct svc *svcs);
bool		 ovfile_parse(const char *text, struct ovfile_entry **out,
		    size_t *n, char *err, size_t errlen);

#endif
