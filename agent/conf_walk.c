/*
 * conf_walk.c: the generic half of the schema: typed values with their
 * errors, the table-driven walk over an object's keys (defaults, unknown
 * keys, "only applies to", required keys), iteration over members and
 * elements with their JSON paths, and name references.
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <json-c/json.h>

#include "conf.h"
#include "conf_int.h"

/* ---- values ----------------------------------------------------------- */

bool
conf_is_object(struct conf_ctx *cx, json_object *v)
{
	if (json_object_is_type(v, json_type_object))
		return true;
	conf_err(cx, "expected an object");
	return false;
}

bool
conf_is_array(struct conf_ctx *cx, json_object *v)
{
	if (json_object_is_type(v, json_type_array))
		return true;
	conf_err(cx, "expected an array");
	return false;
}

bool
conf_get_string(struct conf_ctx *cx, json_object *v, const char **out)
{
	if (!json_object_is_type(v, json_type_string)) {
		conf_err(cx, "expected a string");
		return false;
	}
	*out = json_object_get_string(v);
	if (strlen(*out) != (size_t)json_object_get_string_len(v)) {
		conf_err(cx, "a NUL character is not allowed here");
		return false;
	}
	return true;
}

/* "12h": digits then a unit, whatever the value. */
static bool
duration_shaped(const char *s)
{
	size_t	n = strspn(s, "0123456789");

	return n > 0 && (strcmp(s + n, "ms") == 0 || strcmp(s + n, "s") == 0 ||
	    strcmp(s + n, "m") == 0 || strcmp(s + n, "h") == 0);
}

bool
conf_get_duration(struct conf_ctx *cx, json_object *v, int64_t min, int64_t max,
    int64_t *out)
{
	const char	*s;
	int64_t		 ms;
	char		 lo[32], hi[32];

	if (!json_object_is_type(v, json_type_string)) {
		conf_err(cx, "expected a duration string like \"1s\"");
		return false;
	}
	s = json_object_get_string(v);
	fmt_duration(min, lo, sizeof(lo));
	fmt_duration(max, hi, sizeof(hi));
	if (strlen(s) != (size_t)json_object_get_string_len(v) ||
	    (!parse_duration(s, &ms) && !duration_shaped(s))) {
		conf_err(cx, "%s is not a duration (a whole number and a unit: "
		    "ms, s, m or h, like \"1s\")", conf_quote(cx, s));
		return false;
	}
	if (!parse_duration(s, &ms) || ms < min || ms > max) {
		conf_err(cx, "%s is out of range (%s to %s)", conf_quote(cx, s),
		    lo, hi);
		return false;
	}
	*out = ms;
	return true;
}

bool
conf_get_int(struct conf_ctx *cx, json_object *v, int64_t min, int64_t max,
    int *out)
{
	int64_t	n;

	if (!json_object_is_type(v, json_type_int)) {
		conf_err(cx, "expected an integer");
		return false;
	}
	n = json_object_get_int64(v);
	if (n < min || n > max) {
		conf_err(cx, "%s is out of range (%lld to %lld)",
		    json_object_to_json_string(v), (long long)min,
		    (long long)max);
		return false;
	}
	*out = (int)n;
	return true;
}

bool
conf_get_bool(struct conf_ctx *cx, json_object *v, bool *out)
{
	if (!json_object_is_type(v, json_type_boolean)) {
		conf_err(cx, "expected true or false");
		return false;
	}
	*out = json_object_get_boolean(v);
	return true;
}

bool
conf_valid_name(const char *s, size_t maxlen, const char *chars)
{
	size_t	len = strlen(s);

	return len >= 1 && len <= maxlen && strspn(s, chars) == len;
}

/* http:// or https:// and something after it, no space or control. */
bool
conf_is_url(const char *s)
{
	size_t	i, n;

	if (strncasecmp(s, "http://", 7) == 0)
		n = 7;
	else if (strncasecmp(s, "https://", 8) == 0)
		n = 8;
	else
		return false;
	if (s[n] == '\0')
		return false;
	for (i = n; s[i] != '\0'; i++)
		if ((unsigned char)s[i] <= ' ' || s[i] == 0x7f)
			return false;
	return true;
}

void
conf_set_string(char **dst, const char *s)
{
	free(*dst);
	*dst = xstrdup(s);
}

/* ---- walking ---------------------------------------------------------- */

/* Errors at v and below name the quick option that put v there. */
static const char *
enter(struct conf_ctx *cx, const json_object *v)
{
	const char	*saved = cx->pathover, *opt;

	if ((opt = conf_override_of(cx, v)) != NULL)
		cx->pathover = opt;
	return saved;
}

static const struct conf_key *
key_find(const struct conf_schema *s, const char *name)
{
	size_t	i;

	for (i = 0; i < s->nkeys; i++)
		if (strcmp(s->keys[i].name, name) == 0)
			return &s->keys[i];
	return NULL;
}

static void
unknown_key(struct conf_ctx *cx, const struct conf_schema *s,
    const char *name)
{
	const char	**names = xcalloc(s->nkeys, sizeof(char *));
	size_t		  i;

	for (i = 0; i < s->nkeys; i++)
		names[i] = s->keys[i].name;
	conf_err(cx, "unknown key %s%s", conf_quote(cx, name),
	    conf_did_you_mean(cx, name, names, s->nkeys));
	free(names);
}

/* "\"http\", \"tcp\" or \"exec\"" from a mask of kinds (all if 0). */
static void
kinds_list(struct sbuf *b, const struct conf_schema *s, unsigned mask,
    const char *last, bool quote)
{
	size_t	i, n = 0, total = 0;

	for (i = 0; i < s->nkinds; i++)
		if (mask == 0 || (mask & KIND(i)))
			total++;
	for (i = 0; i < s->nkinds; i++) {
		if (mask != 0 && !(mask & KIND(i)))
			continue;
		if (n > 0)
			sbuf_puts(b, n + 1 == total ? last : ", ");
		sbuf_printf(b, quote ? "\"%s\"" : "%s", s->kinds[i]);
		n++;
	}
}

static void
wrong_kind(struct conf_ctx *cx, const struct conf_schema *s,
    const struct conf_key *k)
{
	struct sbuf	b = { 0 };

	kinds_list(&b, s, k->kinds, " and ", false);
	conf_err(cx, "\"%s\" only applies to %s %s", k->name, b.data, s->noun);
	sbuf_free(&b);
}

int
conf_kind(struct conf_ctx *cx, const struct conf_schema *s, json_object *obj)
{
	struct sbuf	b = { 0 };
	size_t		i, found = 0;
	int		kind = -1;

	for (i = 0; i < s->nkinds; i++) {
		if (json_object_object_get_ex(obj, s->kinds[i], NULL)) {
			kind = (int)i;
			found++;
		}
	}
	if (found == 1)
		return kind;
	kinds_list(&b, s, 0, " or ", true);
	conf_err(cx, "needs exactly one of %s", b.data);
	sbuf_free(&b);
	return -1;
}

void
conf_defaults(const struct conf_schema *s, void *target)
{
	const struct conf_key	*k;
	char			*p;

	for (k = s->keys; k < s->keys + s->nkeys; k++) {
		p = (char *)target + k->off;
		if (k->type == KT_DURATION)
			*(int64_t *)(void *)p = k->def;
		else if (k->type == KT_INT)
			*(int *)(void *)p = (int)k->def;
		else if (k->type == KT_BOOL)
			*(bool *)(void *)p = k->def != 0;
	}
}

static void
walk_value(struct conf_ctx *cx, const struct conf_key *k, json_object *v,
    void *target)
{
	char	*p = (char *)target + k->off;

	switch (k->type) {
	case KT_DURATION:
		(void)conf_get_duration(cx, v, k->min, k->max,
		    (int64_t *)(void *)p);
		break;
	case KT_INT:
		(void)conf_get_int(cx, v, k->min, k->max, (int *)(void *)p);
		break;
	case KT_BOOL:
		(void)conf_get_bool(cx, v, (bool *)(void *)p);
		break;
	case KT_CUSTOM:
		k->fn(cx, k, v, target);
		break;
	}
}

static void
missing_keys(struct conf_ctx *cx, const struct conf_schema *s,
    json_object *obj)
{
	const struct conf_key	*k;
	size_t			 mark;

	for (k = s->keys; k < s->keys + s->nkeys; k++) {
		if (!(k->flags & KF_REQUIRED) ||
		    json_object_object_get_ex(obj, k->name, NULL))
			continue;
		mark = conf_path_key(cx, k->name);
		conf_err(cx, "at least one %s is required", k->what);
		conf_path_pop(cx, mark);
	}
}

void
conf_walk(struct conf_ctx *cx, const struct conf_schema *s, json_object *obj,
    void *target, int kind)
{
	struct json_object_iterator	 it, end;
	const struct conf_key		*k;
	const char			*name, *saved;
	json_object			*v;
	size_t				 mark;

	it = json_object_iter_begin(obj);
	end = json_object_iter_end(obj);
	for (; !json_object_iter_equal(&it, &end); json_object_iter_next(&it)) {
		name = json_object_iter_peek_name(&it);
		v = json_object_iter_peek_value(&it);
		if ((k = key_find(s, name)) == NULL) {
			unknown_key(cx, s, name);
			continue;
		}
		if (kind >= 0 && k->kinds != 0 && !(k->kinds & KIND(kind))) {
			wrong_kind(cx, s, k);
			continue;
		}
		mark = conf_path_key(cx, name);
		saved = enter(cx, v);
		walk_value(cx, k, v, target);
		cx->pathover = saved;
		conf_path_pop(cx, mark);
	}
	missing_keys(cx, s, obj);
}

/* Call fn on each member of obj, with elem the matching one of arr. */
void
conf_each_member(struct conf_ctx *cx, json_object *obj, member_fn fn, void *arr,
    size_t size)
{
	struct json_object_iterator	 it, end;
	const char			*name, *saved;
	json_object			*v;
	size_t				 mark, i = 0;

	it = json_object_iter_begin(obj);
	end = json_object_iter_end(obj);
	for (; !json_object_iter_equal(&it, &end); json_object_iter_next(&it)) {
		name = json_object_iter_peek_name(&it);
		v = json_object_iter_peek_value(&it);
		mark = conf_path_key(cx, name);
		saved = enter(cx, v);
		fn(cx, name, v, (char *)arr + i++ * size);
		cx->pathover = saved;
		conf_path_pop(cx, mark);
	}
}

/* Allocate *out (zeroed, *n elements of size) for the array arr, then call
 * fn on each element. *out and *n are set first, so fn sees the earlier
 * elements and the whole is freeable whatever fn finds. */
void
conf_each_element(struct conf_ctx *cx, json_object *arr, element_fn fn,
    size_t size, void *out, size_t *n)
{
	const char	*saved;
	json_object	*v;
	size_t		 i, mark;
	char		*elems;

	*n = json_object_array_length(arr);
	elems = xcalloc(*n, size);
	memcpy(out, &elems, sizeof(elems));
	for (i = 0; i < *n; i++) {
		v = json_object_array_get_idx(arr, i);
		mark = conf_path_index(cx, i);
		saved = enter(cx, v);
		fn(cx, v, elems + i * size, i);
		cx->pathover = saved;
		conf_path_pop(cx, mark);
	}
}

/* ---- references ------------------------------------------------------- */

/* Names of n structs of size bytes whose char *name is at off. */
static const char **
names_of(const void *arr, size_t n, size_t size, size_t off)
{
	const char	**names = xcalloc(n, sizeof(char *));
	size_t		  i;

	for (i = 0; i < n; i++)
		memcpy(&names[i], (const char *)arr + i * size + off,
		    sizeof(char *));
	return names;
}

size_t
conf_ref_service(struct conf_ctx *cx, json_object *v)
{
	const struct conf	 *c = cx->c;
	const char		 *s, **names;
	size_t			  idx;

	if (!conf_get_string(cx, v, &s))
		return CONF_NONE;
	if ((idx = conf_service_index(c, s)) != CONF_NONE || !cx->svcs_known)
		return idx;
	names = names_of(c->services, c->nservices, sizeof(*c->services),
	    offsetof(struct conf_service, name));
	conf_err(cx, "unknown service %s%s", conf_quote(cx, s),
	    conf_did_you_mean(cx, s, names, c->nservices));
	free(names);
	return CONF_NONE;
}

size_t
conf_ref_check(struct conf_ctx *cx, const char *s)
{
	const struct conf	 *c = cx->c;
	const char		**names;
	size_t			  i;

	for (i = 0; i < c->nchecks; i++)
		if (strcmp(c->checks[i].name, s) == 0)
			return i;
	if (!cx->checks_known)
		return CONF_NONE;
	names = names_of(c->checks, c->nchecks, sizeof(*c->checks),
	    offsetof(struct conf_check, name));
	conf_err(cx, "unknown check %s%s", conf_quote(cx, s),
	    conf_did_you_mean(cx, s, names, c->nchecks));
	free(names);
	return CONF_NONE;
}
