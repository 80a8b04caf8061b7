/*
 * ovfile.c: the overrides' state file.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "conf.h"
#include "filewrite.h"
#include "jsonw.h"
#include "log.h"
#include "ovfile.h"

#define OVFILE_NAME	"overrides.json"
#define OVFILE_MAX	(1u << 20)

struct ovfile {
	struct event_base	*base;
	char			*path;
	char			*aside;		/* path.bad */
	struct filewrite	*job;		/* a save in flight */
	char			*pending;	/* the next save's text */
	bool			 kept_aside;
	char			 error[192];
	uint64_t		 saves;
	uint64_t		 failures;
};

struct ovfile *
ovfile_new(struct event_base *base, const char *dir)
{
	struct ovfile	*f = xcalloc(1, sizeof(*f));

	f->base = base;
	f->path = xasprintf("%s/%s", dir, OVFILE_NAME);
	f->aside = xasprintf("%s.bad", f->path);
	if (mkdir(dir, 0750) == 0)
		log_info("made directory %s for %s", dir, OVFILE_NAME);
	return f;
}

/* ---- the text ---- */

char *
ovfile_render(const struct conf *conf, const struct svc *svcs)
{
	json_object	*root = json_object_new_object();
	json_object	*ovs = json_object_new_object();
	char		*text;
	size_t		 i;

	json_object_object_add(root, "version", json_object_new_int(1));
	for (i = 0; i < conf->nservices; i++) {
		const struct svc	*s = &svcs[i];
		json_object		*o;

		if (s->override == OVR_NONE)
			continue;
		o = json_object_new_object();
		json_object_object_add(o, "override",
		    json_object_new_string(svc_override_name(s->override)));
		json_object_object_add(o, "since", jsonw_time(s->ovr.since));
		json_object_object_add(o, "until", jsonw_time(s->ovr.until));
		if (s->override == OVR_DRAIN)
			json_object_object_add(o, "let_go",
			    jsonw_time(s->ovr.let_go));
		json_object_object_add(o, "by", json_object_new_string(
		    s->ovr.by[0] != '\0' ? s->ovr.by : "operator"));
		json_object_object_add(o, "route",
		    json_object_new_string(s->ovr.route));
		json_object_object_add(ovs, conf->services[i].name, o);
	}
	json_object_object_add(root, "overrides", ovs);
	text = xasprintf("%s\n", json_object_to_json_string_ext(root,
	    JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(root);
	return text;
}

/* "2026-12-02T10:00:00Z" -> wall ms; null -> 0. */
static bool
parse_time(json_object *v, int64_t *out)
{
	struct tm	 tm;
	const char	*s, *end;

	*out = 0;
	if (v == NULL)
		return true;
	if (!json_object_is_type(v, json_type_string))
		return false;
	s = json_object_get_string(v);
	memset(&tm, 0, sizeof(tm));
	end = strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm);
	if (end == NULL || *end != '\0')
		return false;
	*out = (int64_t)timegm(&tm) * 1000;
	return true;
}

static bool
parse_string(json_object *o, const char *key, char *dst, size_t len)
{
	json_object	*v;

	if (!json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, json_type_string))
		return false;
	snprintf(dst, len, "%s", json_object_get_string(v));
	return true;
}

static bool
parse_entry(const char *name, json_object *o, struct ovfile_entry *e,
    char *err, size_t errlen)
{
	char		word[16];
	json_object	*v;

	memset(e, 0, sizeof(*e));
	snprintf(e->service, sizeof(e->service), "%s", name);
	if (!json_object_is_type(o, json_type_object) ||
	    !parse_string(o, "override", word, sizeof(word)) ||
	    !svc_override_parse(word, &e->o) || e->o == OVR_NONE) {
		snprintf(err, errlen, "overrides.%s: no valid \"override\"", name);
		return false;
	}
	if (!parse_time(json_object_object_get_ex(o, "since", &v) ? v : NULL,
	    &e->info.since) ||
	    !parse_time(json_object_object_get_ex(o, "until", &v) ? v : NULL,
	    &e->info.until) ||
	    !parse_time(json_object_object_get_ex(o, "let_go", &v) ? v : NULL,
	    &e->info.let_go)) {
		snprintf(err, errlen, "overrides.%s: a time that is not "
		    "YYYY-MM-DDTHH:MM:SSZ", name);
		return false;
	}
	if (!parse_string(o, "by", e->info.by, sizeof(e->info.by)))
		snprintf(e->info.by, sizeof(e->info.by), "operator");
	(void)parse_string(o, "route", e->info.route, sizeof(e->info.route));
	return true;
}

bool
ovfile_parse(const char *text, struct ovfile_entry **out, size_t *n,
    char *err, size_t errlen)
{
	json_object			*root, *ovs, *ver;
	struct json_object_iterator	 it, end;
	bool				 ok = true;

	*out = NULL;
	*n = 0;
	root = json_tokener_parse(text);
	if (root == NULL || !json_object_object_get_ex(root, "version", &ver) ||
	    json_object_get_int(ver) != 1 ||
	    !json_object_object_get_ex(root, "overrides", &ovs) ||
	    !json_object_is_type(ovs, json_type_object)) {
		snprintf(err, errlen, "not a version 1 overrides file");
		json_object_put(root);
		return false;
	}
	*out = xcalloc((size_t)json_object_object_length(ovs) + 1,
	    sizeof(**out));
	it = json_object_iter_begin(ovs);
	end = json_object_iter_end(ovs);
	for (; ok && !json_object_iter_equal(&it, &end);
	    json_object_iter_next(&it))
		if ((ok = parse_entry(json_object_iter_peek_name(&it),
		    json_object_iter_peek_value(&it), &(*out)[*n], err, errlen)))
			(*n)++;
	json_object_put(root);
	if (!ok)
		FREE(*out);
	return ok;
}

/* ---- the file ---- */

/* The whole file into a string; NULL with errno (ENOENT: none). */
static char *
read_file(const char *path)
{
	char	*buf = NULL;
	size_t	 len = 0;
	ssize_t	 r;
	int	 fd = open(path, O_RDONLY | O_CLOEXEC), err;

	if (fd < 0)
		return NULL;
	buf = xmalloc(OVFILE_MAX + 1);
	while (len < OVFILE_MAX &&
	    (r = read(fd, buf + len, OVFILE_MAX - len)) != 0) {
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			err = errno;
			close(fd);
			free(buf);
			errno = err;
			return NULL;
		}
		len += (size_t)r;
	}
	close(fd);
	if (len == OVFILE_MAX) {
		free(buf);
		errno = EFBIG;
		return NULL;
	}
	buf[len] = '\0';
	return buf;
}

enum ovfile_result
ovfile_load(struct ovfile *f, struct ovfile_entry **out, size_t *n)
{
	char	*text = read_file(f->path), why[160];

	*out = NULL;
	*n = 0;
	if (text == NULL && errno == ENOENT)
		return OVFILE_NONE;
	if (text == NULL)
		snprintf(why, sizeof(why), "%s", strerror(errno));
	else if (ovfile_parse(text, out, n, why, sizeof(why))) {
		free(text);
		return OVFILE_OK;
	}
	free(text);
	snprintf(f->error, sizeof(f->error), "%s: %s", f->path, why);
	/* Kept aside for the operator to look at; the next save writes a
	 * good one in its place. */
	f->kept_aside = rename(f->path, f->aside) == 0;
	log_errx("overrides: %s (%s)", f->error, f->kept_aside ?
	    "kept aside as .bad" : "it could not be renamed aside either");
	return OVFILE_BAD;
}

static void ovfile_written_cb(void *arg, int err);

/* Write the pending text, unless a write is in flight (it does then). */
static void
ovfile_flush(struct ovfile *f)
{
	char	*text = f->pending;

	if (f->job != NULL || text == NULL)
		return;
	f->pending = NULL;
	f->saves++;
	f->job = filewrite_start(f->base, f->path, text, strlen(text), 0640,
	    ovfile_written_cb, f);
	if (f->job == NULL)
		ovfile_written_cb(f, errno);
	free(text);
}

static void
ovfile_written_cb(void *arg, int err)
{
	struct ovfile	*f = arg;

	f->job = NULL;
	if (err != 0) {
		f->failures++;
		snprintf(f->error, sizeof(f->error), "save %s: %s", f->path,
		    strerror(err));
		log_warnx("overrides: %s: a restart would not keep them",
		    f->error);
	} else if (!f->kept_aside) {
		f->error[0] = '\0';
	}
	ovfile_flush(f);
}

void
ovfile_save(struct ovfile *f, const struct conf *conf, const struct svc *svcs)
{
	free(f->pending);
	f->pending = ovfile_render(conf, svcs);
	ovfile_flush(f);
}

void
ovfile_status(const struct ovfile *f, struct ovfile_status *st)
{
	st->path = f->path;
	st->error = f->error[0] != '\0' ? f->error : NULL;
	st->kept_aside = f->kept_aside ? f->aside : NULL;
	st->saves = f->saves;
	st->failures = f->failures;
}

void
ovfile_free(struct ovfile *f)
{
	if (f == NULL)
		return;
	filewrite_cancel(f->job);
	if (f->pending != NULL && !filewrite_sync(f->path, f->pending,
	    strlen(f->pending), 0640))
		log_warn("overrides: save %s", f->path);
	free(f->pending);
	free(f->path);
	free(f->aside);
	free(f);
}
