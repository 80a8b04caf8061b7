/*
 * conf_int.h: what conf.c (loading, errors, paths, overrides) and
 * conf_schema.c (the key tables and their handlers) share. Private to
 * the config loader; nothing outside agent/conf*.c includes it (the unit
 * test does, to reach conf_suggest()).
 */
#ifndef HW_CONF_INT_H
#define HW_CONF_INT_H

#include <json-c/json.h>

#include "conf.h"

/* A JSON node that a quick option put in the tree: errors on it and below
 * it name the option ("--http") instead of the JSON path. */
struct conf_ovnode {
	const json_object	*node;
	const char		*opt;
};

/* The state of one load. Lives on conf_load*()'s stack. */
struct conf_ctx {
	const char		*file;		/* name in messages */
	struct conf_errors	*errs;		/* where errors go */
	struct sbuf		 path;		/* "services.web.require[1]" */
	const char		*pathover;	/* option shown as path */
	struct conf_ovnode	*ovnodes;
	size_t			 novnodes;
	char			**scratch;	/* strings freed with the ctx */
	size_t			 nscratch;
	struct conf		*c;		/* being built */
	json_object		*root;
	bool			 svcs_known;	/* "services" has members */
	bool			 checks_known;	/* "checks" absent or object */
	int			 cond_depth;	/* any/at_least being parsed */
};

/* Types of the generic keys; KT_CUSTOM calls conf_key.fn. */
enum conf_ktype {
	KT_DURATION,		/* int64_t ms */
	KT_INT,			/* int */
	KT_BOOL,		/* bool */
	KT_CUSTOM,
};

#define KF_REQUIRED	0x01	/* error when absent: "at least one WHAT" */

struct conf_key;
typedef void	(*conf_key_fn)(struct conf_ctx *, const struct conf_key *,
		    json_object *, void *);

/* One key of one kind of object: the one table that drives defaults,
 * type and range checks, "only applies to" and "did you mean". */
struct conf_key {
	const char	*name;
	enum conf_ktype	 type;
	unsigned	 kinds;		/* KIND() mask it applies to; 0: all */
	size_t		 off;		/* field in the target struct */
	int64_t		 min, max;	/* KT_DURATION, KT_INT */
	int64_t		 def;		/* default, but for KT_CUSTOM */
	conf_key_fn	 fn;		/* KT_CUSTOM */
	unsigned	 flags;		/* KF_* */
	const char	*what;		/* KF_REQUIRED: "service" */
};

#define KIND(k)		(1u << (k))

/* An object with its keys and, for objects of several kinds (checks,
 * listeners, conditions, notify), the keys that select the kind, in the
 * order of its enum. */
struct conf_schema {
	const char		*noun;		/* "checks", "listeners" */
	const char *const	*kinds;
	size_t			 nkinds;
	const struct conf_key	*keys;
	size_t			 nkeys;
};

/* conf.c: errors and paths. */
void	 conf_err(struct conf_ctx *cx, const char *fmt, ...) PRINTF(2, 3);
size_t	 conf_path_key(struct conf_ctx *cx, const char *key);
size_t	 conf_path_index(struct conf_ctx *cx, size_t i);
void	 conf_path_pop(struct conf_ctx *cx, size_t mark);
const char *conf_override_of(const struct conf_ctx *cx, const json_object *v);
/* JSON-quote s for a message; the result lives as long as the ctx. */
const char *conf_quote(struct conf_ctx *cx, const char *s);
/*
 * The candidate closest to word by Damerau-Levenshtein distance, if it is
 * within 2 edits (1 for words of 4 bytes or fewer), else NULL. Ties go to
 * the first candidate.
 */
const char *conf_suggest(const char *word, const char *const *cands,
	    size_t n);
/* " (did you mean \"x\"?)" or "", living as long as the ctx. */
const char *conf_did_you_mean(struct conf_ctx *cx, const char *word,
	    const char *const *cands, size_t n);

/* conf_schema.c: validate the whole tree into cx->c. */
void	 conf_build(struct conf_ctx *cx, json_object *root);

/*
 * conf_walk.c: typed values. Each reports its error at the current path
 * and returns false; on success it stores the value (strings are
 * borrowed from the tree).
 */
bool	 conf_is_object(struct conf_ctx *cx, json_object *v) MUST_CHECK;
bool	 conf_is_array(struct conf_ctx *cx, json_object *v) MUST_CHECK;
bool	 conf_get_string(struct conf_ctx *cx, json_object *v,
	    const char **out) MUST_CHECK;
bool	 conf_get_duration(struct conf_ctx *cx, json_object *v, int64_t min,
	    int64_t max, int64_t *out);
bool	 conf_get_int(struct conf_ctx *cx, json_object *v, int64_t min,
	    int64_t max, int *out);
bool	 conf_get_bool(struct conf_ctx *cx, json_object *v, bool *out);
/* 1 to maxlen bytes, all from chars. */
bool	 conf_valid_name(const char *s, size_t maxlen, const char *chars);
/* "http://" or "https://", something after it, no space or control. */
bool	 conf_is_url(const char *s);
/* Free *dst, store a copy of s. */
void	 conf_set_string(char **dst, const char *s);

/* conf_walk.c: the table-driven walk. */
/* Store every default of s's keys into target. */
void	 conf_defaults(const struct conf_schema *s, void *target);
/* The kind of obj (index into s->kinds), or -1 after reporting that it
 * needs exactly one of them. */
int	 conf_kind(struct conf_ctx *cx, const struct conf_schema *s,
	    json_object *obj);
/* Check and store every key of obj into target, in document order; kind
 * -1 lets every key apply. Reports required keys that are absent. */
void	 conf_walk(struct conf_ctx *cx, const struct conf_schema *s,
	    json_object *obj, void *target, int kind);

typedef void	(*member_fn)(struct conf_ctx *, const char *, json_object *,
		    void *);
typedef void	(*element_fn)(struct conf_ctx *, json_object *, void *,
		    size_t);
/* fn on each member of obj, elem being the matching one of arr (elements
 * of size bytes, allocated by the caller), with the path pushed. */
void	 conf_each_member(struct conf_ctx *cx, json_object *obj, member_fn fn,
	    void *arr, size_t size);
/* Allocate *(void **)out as a zeroed array of *n elements of size for the
 * JSON array arr (both set first, so fn sees the earlier elements and the
 * whole is freeable whatever fn finds), then fn on each element. */
void	 conf_each_element(struct conf_ctx *cx, json_object *arr,
	    element_fn fn, size_t size, void *out, size_t *n);
/* Index of the service or check named, or CONF_NONE after reporting it
 * (with a "did you mean"), unless the section itself is broken. */
size_t	 conf_ref_service(struct conf_ctx *cx, json_object *v);
size_t	 conf_ref_check(struct conf_ctx *cx, const char *name);

/* conf.c: freeing parts. */
void	 conf_free_argv(char **argv);

#endif
