/*
 * conf.c: load the config: read the file, parse the JSON (comments
 * allowed), apply the quick options to the tree, hand it to the schema
 * (conf_schema.c), and collect every error on the way, each a full line:
 *
 *   FILE:LINE:COL: message          syntax (LINE and COL 1-based, bytes)
 *   FILE: PATH: message             meaning (PATH: services.web.require[1])
 *   FILE: --http: message           a quick option's value
 *
 * The config is built whole or not at all: any error gives NULL.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "conf.h"
#include "conf_int.h"

#define CONF_MAX_SIZE	(16 * 1024 * 1024)	/* bytes of config text */
#define QUOTE_MAX	64			/* bytes of a value quoted */
#define BUILTIN_NAME	"(built-in default)"

/* conf/hapwatch.json is this with every default written out. */
static const char conf_default[] =
    "{ \"haproxy\": { \"stats\": \"unix:/run/haproxy/admin.sock\",\n"
    "                \"master\": \"unix:/run/haproxy-master.sock\" },\n"
    "  \"services\": { \"default\": {\n"
    "      \"require\": [ { \"backend\": \"*\" } ] } },\n"
    "  \"listen\": [\n"
    "    { \"http\": \"0.0.0.0:8080\",\n"
    "      \"paths\": { \"/haproxy_status\": \"default\" } },\n"
    "    { \"agent\": \"0.0.0.0:9707\", \"service\": \"default\" },\n"
    "    { \"http\": \"unix:/run/hapwatch/admin.sock\",\n"
    "      \"admin\": true } ] }\n";

const char *
conf_default_text(void)
{
	return conf_default;
}

/* ---- errors ----------------------------------------------------------- */

static void
errs_add(struct conf_errors *errs, char *msg)
{
	/* One error, one line, whatever the input echoed into it. */
	str_sanitize(msg, strlen(msg) + 1, msg);
	errs->msgs = xrealloc(errs->msgs, (errs->n + 1) * sizeof(char *));
	errs->msgs[errs->n++] = msg;
}

void
conf_errors_free(struct conf_errors *errs)
{
	size_t	i;

	if (errs == NULL)
		return;
	for (i = 0; i < errs->n; i++)
		free(errs->msgs[i]);
	FREE(errs->msgs);
	errs->n = 0;
}

void
conf_err(struct conf_ctx *cx, const char *fmt, ...)
{
	struct sbuf	 b = { 0 };
	const char	*path;
	va_list		 ap;
	char		*msg;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	path = cx->pathover != NULL ? cx->pathover : cx->path.data;
	sbuf_printf(&b, "%s: ", cx->file);
	if (path != NULL && path[0] != '\0')
		sbuf_printf(&b, "%s: ", path);
	sbuf_puts(&b, msg != NULL ? msg : "out of memory");
	free(msg);
	errs_add(cx->errs, b.data);
}

/* A syntax error at byte offset off of text. */
static void
conf_err_at(struct conf_ctx *cx, const char *text, size_t off,
    const char *msg)
{
	size_t	i, line = 1, col = 1;

	for (i = 0; i < off; i++) {
		if (text[i] == '\n') {
			line++;
			col = 1;
		} else
			col++;
	}
	errs_add(cx->errs, xasprintf("%s:%zu:%zu: %s", cx->file, line, col,
	    msg));
}

/* ---- paths and quoting ------------------------------------------------ */

static bool
is_ident(const char *s)
{
	if (!(s[0] == '_' || (s[0] >= 'A' && s[0] <= 'Z') ||
	    (s[0] >= 'a' && s[0] <= 'z')))
		return false;
	return strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789_") == strlen(s);
}

/* Append s JSON-quoted, cut at max bytes (0: no limit) with "...". */
static void
quote_into(struct sbuf *b, const char *s, size_t max)
{
	size_t	len = strlen(s), i;
	bool	cut = false;

	if (max != 0 && len > max) {
		len = max - 3;
		while (len > 0 && ((unsigned char)s[len] & 0xc0) == 0x80)
			len--;		/* not inside a UTF-8 sequence */
		cut = true;
	}
	sbuf_puts(b, "\"");
	for (i = 0; i < len; i++) {
		unsigned char	ch = (unsigned char)s[i];

		if (ch == '"' || ch == '\\')
			sbuf_printf(b, "\\%c", ch);
		else if (ch == '\n')
			sbuf_puts(b, "\\n");
		else if (ch == '\t')
			sbuf_puts(b, "\\t");
		else if (ch < 0x20 || ch == 0x7f)
			sbuf_printf(b, "\\u%04x", ch);
		else
			sbuf_append(b, &s[i], 1);
	}
	sbuf_puts(b, cut ? "...\"" : "\"");
}

static const char *
scratch_keep(struct conf_ctx *cx, char *s)
{
	cx->scratch = xrealloc(cx->scratch,
	    (cx->nscratch + 1) * sizeof(char *));
	cx->scratch[cx->nscratch++] = s;
	return s;
}

const char *
conf_quote(struct conf_ctx *cx, const char *s)
{
	struct sbuf	b = { 0 };

	quote_into(&b, s, QUOTE_MAX);
	return scratch_keep(cx, b.data);
}

/* Push ".key" (or "key" at the top, or "[\"key\"]" when it is not an
 * identifier). Returns the mark to pop back to. */
size_t
conf_path_key(struct conf_ctx *cx, const char *key)
{
	size_t	mark = cx->path.len;

	if (!is_ident(key)) {
		sbuf_puts(&cx->path, "[");
		quote_into(&cx->path, key, 0);
		sbuf_puts(&cx->path, "]");
	} else if (mark == 0)
		sbuf_puts(&cx->path, key);
	else
		sbuf_printf(&cx->path, ".%s", key);
	return mark;
}

size_t
conf_path_index(struct conf_ctx *cx, size_t i)
{
	size_t	mark = cx->path.len;

	sbuf_printf(&cx->path, "[%zu]", i);
	return mark;
}

void
conf_path_pop(struct conf_ctx *cx, size_t mark)
{
	cx->path.len = mark;
	if (cx->path.data != NULL)
		cx->path.data[mark] = '\0';
}

const char *
conf_override_of(const struct conf_ctx *cx, const json_object *v)
{
	size_t	i;

	for (i = 0; i < cx->novnodes; i++)
		if (cx->ovnodes[i].node == v)
			return cx->ovnodes[i].opt;
	return NULL;
}

/* ---- did you mean ----------------------------------------------------- */

#define DL_MAX	64	/* longer words get no suggestion */

static size_t
min3(size_t a, size_t b, size_t c)
{
	size_t	m = a < b ? a : b;

	return m < c ? m : c;
}

/* Damerau-Levenshtein distance (optimal string alignment) of a and b. */
static size_t
dl_distance(const char *a, const char *b)
{
	size_t	rows[3][DL_MAX + 1];
	size_t	la = strlen(a), lb = strlen(b), i, j;
	size_t	*prev2 = rows[0], *prev = rows[1], *cur = rows[2], *t;

	if (la > DL_MAX || lb > DL_MAX)
		return SIZE_MAX;
	for (j = 0; j <= lb; j++)
		prev[j] = j;
	for (i = 1; i <= la; i++) {
		cur[0] = i;
		for (j = 1; j <= lb; j++) {
			size_t	cost = a[i - 1] != b[j - 1];

			cur[j] = min3(prev[j] + 1, cur[j - 1] + 1,
			    prev[j - 1] + cost);
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] &&
			    a[i - 2] == b[j - 1] && prev2[j - 2] + 1 < cur[j])
				cur[j] = prev2[j - 2] + 1;
		}
		t = prev2;
		prev2 = prev;
		prev = cur;
		cur = t;
	}
	return prev[lb];
}

const char *
conf_suggest(const char *word, const char *const *cands, size_t n)
{
	size_t		 limit = strlen(word) <= 4 ? 1 : 2, best = SIZE_MAX;
	size_t		 i, d;
	const char	*pick = NULL;

	for (i = 0; i < n; i++) {
		if (cands[i] == NULL)
			continue;
		d = dl_distance(word, cands[i]);
		if (d <= limit && d < best) {
			best = d;
			pick = cands[i];
		}
	}
	return pick;
}

const char *
conf_did_you_mean(struct conf_ctx *cx, const char *word,
    const char *const *cands, size_t n)
{
	const char	*s = conf_suggest(word, cands, n);

	if (s == NULL)
		return "";
	return scratch_keep(cx, xasprintf(" (did you mean %s?)",
	    conf_quote(cx, s)));
}

/* ---- JSON text -------------------------------------------------------- */

static bool
is_blank(char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n';
}

/* Skip white space and comments from off; returns where they end. */
static size_t
skip_blank(const char *text, size_t len, size_t off)
{
	const char	*e;

	while (off < len) {
		if (is_blank(text[off]))
			off++;
		else if (off + 1 < len && text[off] == '/' &&
		    text[off + 1] == '/') {
			e = memchr(text + off, '\n', len - off);
			off = e != NULL ? (size_t)(e - text) : len;
		} else if (off + 1 < len && text[off] == '/' &&
		    text[off + 1] == '*') {
			e = memmem(text + off + 2, len - off - 2, "*/", 2);
			if (e == NULL)
				return off;
			off = (size_t)(e - text) + 2;
		} else
			break;
	}
	return off;
}

/* json-c's error, in our words. */
static const char *
tok_error_str(enum json_tokener_error e)
{
	switch (e) {
	case json_tokener_continue:
	case json_tokener_error_parse_eof:
		return "unexpected end of file";
	case json_tokener_error_depth:
		return "nesting too deep";
	case json_tokener_error_parse_unexpected:
		return "unexpected character";
	case json_tokener_error_parse_null:
		return "invalid literal (expected null)";
	case json_tokener_error_parse_boolean:
		return "invalid literal (expected true or false)";
	case json_tokener_error_parse_number:
		return "invalid number";
	case json_tokener_error_parse_array:
		return "expected ',' or ']'";
	case json_tokener_error_parse_object_key_name:
		return "expected a quoted key";
	case json_tokener_error_parse_object_key_sep:
		return "expected ':'";
	case json_tokener_error_parse_object_value_sep:
		return "expected ',' or '}'";
	case json_tokener_error_parse_string:
		return "invalid escape sequence in string";
	case json_tokener_error_parse_comment:
		return "invalid comment";
	case json_tokener_error_parse_utf8_string:
		return "invalid UTF-8";
	default:
		return json_tokener_error_desc(e);
	}
}

/* Run json-c over text; *end is where it stopped, *jerr why. */
static json_object *
tokenize(const char *text, size_t len, size_t *end,
    enum json_tokener_error *jerr)
{
	struct json_tokener	*tok;
	json_object		*root;

	if ((tok = json_tokener_new()) == NULL)
		abort();
	json_tokener_set_flags(tok, JSON_TOKENER_VALIDATE_UTF8);
	root = json_tokener_parse_ex(tok, text, (int)len);
	*jerr = json_tokener_get_error(tok);
	*end = json_tokener_get_parse_end(tok);
	if (*jerr == json_tokener_continue) {
		/* A comment or number may end with the text: end them. */
		root = json_tokener_parse_ex(tok, "\n", 1);
		*jerr = json_tokener_get_error(tok);
		*end = len;
	}
	json_tokener_free(tok);
	if (root == NULL && *end >= len) {
		/* At the end: point just after the last token. */
		for (*end = len; *end > 0 && is_blank(text[*end - 1]); (*end)--)
			continue;
	}
	return root;
}

/* ---- duplicate keys --------------------------------------------------- */

/*
 * json-c keeps the last of two equal keys in an object and says nothing, so
 * a second "web" under "services", or a second "require" in a service, would
 * silently replace the first: a condition lost without a word. The text has
 * already parsed, so this walk only needs to know strings (both quotes, as
 * json-c takes them), comments and brackets. Keys are compared as written
 * between their quotes.
 */
struct dup_key {
	size_t	obj;		/* which object: numbered as they open */
	size_t	off;		/* the opening quote */
	size_t	len;		/* bytes between the quotes */
};

struct dup_found {
	size_t	off, first, len;
};

#define DUP_MAX_DEPTH	64	/* json-c refuses more than 32 */

static int
dup_key_cmp(const void *a, const void *b, void *arg)
{
	const struct dup_key	*x = a, *y = b;
	const char		*text = *(const char **)arg;
	size_t			 n = x->len < y->len ? x->len : y->len;
	int			 c;

	if (x->obj != y->obj)
		return x->obj < y->obj ? -1 : 1;
	if ((c = memcmp(text + x->off + 1, text + y->off + 1, n)) != 0)
		return c;
	if (x->len != y->len)
		return x->len < y->len ? -1 : 1;
	return x->off < y->off ? -1 : x->off > y->off;
}

static int
dup_found_cmp(const void *a, const void *b)
{
	const struct dup_found	*x = a, *y = b;

	return x->off < y->off ? -1 : x->off > y->off;
}

/* Past the string that opens at text[off]; len if it does not end. */
static size_t
skip_string(const char *text, size_t len, size_t off)
{
	char	q = text[off];

	for (off++; off < len && text[off] != q; off++)
		if (text[off] == '\\')
			off++;
	return off < len ? off + 1 : len;
}

/* Every key of the text's objects, in document order, into *keys. */
static size_t
dup_collect(const char *text, size_t len, struct dup_key **keys)
{
	size_t	 off = 0, n = 0, cap = 0, nobj = 0, depth = 0;
	size_t	 obj[DUP_MAX_DEPTH];	/* object number, or SIZE_MAX */
	bool	 want_key = false;

	*keys = NULL;
	while ((off = skip_blank(text, len, off)) < len) {
		switch (text[off]) {
		case '"':
		case '\'':
			if (want_key && depth > 0 && obj[depth - 1] != SIZE_MAX) {
				if (n == cap) {
					cap = cap != 0 ? cap * 2 : 32;
					*keys = xrealloc(*keys,
					    cap * sizeof(**keys));
				}
				(*keys)[n].obj = obj[depth - 1];
				(*keys)[n].off = off;
				want_key = false;
				off = skip_string(text, len, off);
				/* Parsed, so the string ended: 2 quotes. */
				(*keys)[n].len = off - (*keys)[n].off >= 2 ?
				    off - (*keys)[n].off - 2 : 0;
				n++;
			} else
				off = skip_string(text, len, off);
			continue;
		case '{':
		case '[':
			if (depth == DUP_MAX_DEPTH)
				return n;	/* cannot happen: parsed */
			obj[depth++] = text[off] == '{' ? nobj++ : SIZE_MAX;
			want_key = text[off] == '{';
			break;
		case '}':
		case ']':
			if (depth > 0)
				depth--;
			want_key = false;
			break;
		case ',':
			want_key = depth > 0 && obj[depth - 1] != SIZE_MAX;
			break;
		default:
			break;
		}
		off++;
	}
	return n;
}

/* Line and column (1-based, bytes) of off, from the offsets where lines
 * start: a binary search, so that many errors in a big text stay cheap. */
static void
line_col(const size_t *starts, size_t nlines, size_t off, size_t *line,
    size_t *col)
{
	size_t	lo = 0, hi = nlines, mid;

	while (hi - lo > 1) {
		mid = lo + (hi - lo) / 2;
		if (starts[mid] <= off)
			lo = mid;
		else
			hi = mid;
	}
	*line = lo + 1;
	*col = off - starts[lo] + 1;
}

/* Report every key written twice in one object, in document order. */
static void
conf_dup_keys(struct conf_ctx *cx, const char *text, size_t len)
{
	struct dup_key		*keys;
	struct dup_found	*found = NULL;
	size_t			*starts = NULL, nlines = 1;
	size_t			 n, i, run, nfound = 0, cap = 0, l, c, fl, fc;
	char			*key;

	if ((n = dup_collect(text, len, &keys)) < 2) {
		free(keys);
		return;		/* and qsort_r() must not see NULL */
	}
	qsort_r(keys, n, sizeof(*keys), dup_key_cmp, &text);
	for (i = 1, run = 0; i < n; i++) {
		if (keys[i].obj != keys[run].obj ||
		    keys[i].len != keys[run].len ||
		    memcmp(text + keys[i].off + 1, text + keys[run].off + 1,
		    keys[i].len) != 0) {
			run = i;
			continue;
		}
		if (nfound == cap) {
			cap = cap != 0 ? cap * 2 : 8;
			found = xrealloc(found, cap * sizeof(*found));
		}
		found[nfound].off = keys[i].off;
		found[nfound].len = keys[i].len;
		found[nfound++].first = keys[run].off;
	}
	free(keys);
	if (nfound == 0)
		return;
	qsort(found, nfound, sizeof(*found), dup_found_cmp);
	for (i = 0; i < len; i++)
		nlines += text[i] == '\n';
	starts = xmalloc(nlines * sizeof(*starts));
	starts[0] = 0;
	for (i = 0, l = 1; i < len; i++)
		if (text[i] == '\n')
			starts[l++] = i + 1;
	for (i = 0; i < nfound; i++) {
		line_col(starts, nlines, found[i].off, &l, &c);
		line_col(starts, nlines, found[i].first, &fl, &fc);
		key = xstrndup(text + found[i].off + 1, found[i].len);
		errs_add(cx->errs, xasprintf("%s:%zu:%zu: duplicate key %s: the "
		    "first is at %zu:%zu, and only one can count", cx->file, l,
		    c, conf_quote(cx, key), fl, fc));
		free(key);
	}
	free(starts);
	free(found);
}

/* Parse text (len bytes) into the top-level object, or report and NULL. */
static json_object *
conf_parse(struct conf_ctx *cx, const char *text, size_t len)
{
	json_object		*root;
	enum json_tokener_error	 jerr;
	size_t			 end;
	const char		*nul = memchr(text, '\0', len);

	if (nul != NULL) {
		conf_err_at(cx, text, (size_t)(nul - text), "NUL byte in text");
		return NULL;
	}
	if ((root = tokenize(text, len, &end, &jerr)) == NULL) {
		conf_err_at(cx, text, end, tok_error_str(jerr));
		return NULL;
	}
	if ((end = skip_blank(text, len, end)) < len) {
		conf_err_at(cx, text, end,
		    "unexpected text after the top-level object");
		json_object_put(root);
		return NULL;
	}
	conf_dup_keys(cx, text, len);
	if (!json_object_is_type(root, json_type_object)) {
		conf_err(cx, "expected an object at the top level");
		json_object_put(root);
		return NULL;
	}
	return root;
}

/* ---- quick options ---------------------------------------------------- */

static json_object *
ov_register(struct conf_ctx *cx, json_object *node, const char *opt)
{
	cx->ovnodes = xrealloc(cx->ovnodes,
	    (cx->novnodes + 1) * sizeof(*cx->ovnodes));
	cx->ovnodes[cx->novnodes].node = node;
	cx->ovnodes[cx->novnodes++].opt = opt;
	return node;
}

/* The member key of obj, if obj is an object that has it. */
static json_object *
ov_get(json_object *obj, const char *key)
{
	json_object	*v;

	if (!json_object_is_type(obj, json_type_object) ||
	    !json_object_object_get_ex(obj, key, &v))
		return NULL;
	return v;
}

/* The first service's key and value, in document order. */
static const char *
ov_first_service(json_object *root, json_object **val)
{
	json_object			*svcs = ov_get(root, "services");
	struct json_object_iterator	 it;

	if (!json_object_is_type(svcs, json_type_object) ||
	    json_object_object_length(svcs) == 0)
		return NULL;
	it = json_object_iter_begin(svcs);
	if (val != NULL)
		*val = json_object_iter_peek_value(&it);
	return json_object_iter_peek_name(&it);
}

static void
ov_stats(struct conf_ctx *cx, json_object *root, const char *stats)
{
	json_object	*hap;

	if (!json_object_object_get_ex(root, "haproxy", &hap)) {
		hap = json_object_new_object();
		json_object_object_add(root, "haproxy", hap);
	}
	if (!json_object_is_type(hap, json_type_object))
		return;		/* reported by the schema */
	json_object_object_add(hap, "stats",
	    ov_register(cx, json_object_new_string(stats), "--stats"));
}

/* The first listener of kind key (not an admin one); NULL if none. */
static json_object *
ov_find_listener(json_object *listen, const char *key)
{
	json_object	*l, *admin;
	size_t		 i;

	for (i = 0; i < json_object_array_length(listen); i++) {
		l = json_object_array_get_idx(listen, i);
		if (ov_get(l, key) == NULL)
			continue;
		admin = ov_get(l, "admin");
		if (admin != NULL && json_object_is_type(admin,
		    json_type_boolean) && json_object_get_boolean(admin))
			continue;
		return l;
	}
	return NULL;
}

/* --http and --agent: set the first listener's address, or append one
 * serving the first service. */
static void
ov_listener(struct conf_ctx *cx, json_object *root, const char *key,
    const char *addr, const char *opt)
{
	json_object	*listen, *l, *paths;
	const char	*svc;

	if (!json_object_object_get_ex(root, "listen", &listen)) {
		listen = json_object_new_array();
		json_object_object_add(root, "listen", listen);
	}
	if (!json_object_is_type(listen, json_type_array))
		return;		/* reported by the schema */
	if ((l = ov_find_listener(listen, key)) != NULL) {
		json_object_object_add(l, key,
		    ov_register(cx, json_object_new_string(addr), opt));
		return;
	}
	if ((svc = ov_first_service(root, NULL)) == NULL)
		return;		/* "services" is reported by the schema */
	l = ov_register(cx, json_object_new_object(), opt);
	json_object_object_add(l, key, json_object_new_string(addr));
	if (strcmp(key, "http") == 0) {
		paths = json_object_new_object();
		json_object_object_add(paths, "/haproxy_status",
		    json_object_new_string(svc));
		json_object_object_add(l, "paths", paths);
	} else
		json_object_object_add(l, "service",
		    json_object_new_string(svc));
	json_object_array_add(listen, l);
}

/* --backend: the first service requires exactly these backends. */
static void
ov_backends(struct conf_ctx *cx, json_object *root,
    const struct conf_overrides *ov)
{
	json_object	*svc, *req, *cond;
	size_t		 i;

	if (ov_first_service(root, &svc) == NULL ||
	    !json_object_is_type(svc, json_type_object))
		return;		/* reported by the schema */
	req = json_object_new_array();
	for (i = 0; i < ov->nbackends; i++) {
		cond = json_object_new_object();
		json_object_object_add(cond, "backend", ov_register(cx,
		    json_object_new_string(ov->backends[i]), "--backend"));
		json_object_array_add(req, cond);
	}
	json_object_object_add(svc, "require", req);
}

static void
conf_apply_overrides(struct conf_ctx *cx, json_object *root,
    const struct conf_overrides *ov)
{
	if (ov == NULL)
		return;
	if (ov->stats != NULL)
		ov_stats(cx, root, ov->stats);
	if (ov->http != NULL)
		ov_listener(cx, root, "http", ov->http, "--http");
	if (ov->agent != NULL)
		ov_listener(cx, root, "agent", ov->agent, "--agent");
	if (ov->nbackends > 0)
		ov_backends(cx, root, ov);
}

/* ---- loading ---------------------------------------------------------- */

static void
ctx_free(struct conf_ctx *cx)
{
	size_t	i;

	for (i = 0; i < cx->nscratch; i++)
		free(cx->scratch[i]);
	free(cx->scratch);
	free(cx->ovnodes);
	sbuf_free(&cx->path);
}

static struct conf *
conf_load_text(const char *name, const char *text, size_t len,
    bool builtin, const struct conf_overrides *ov, struct conf_errors *errs)
{
	struct conf_ctx	 cx;
	json_object	*root;
	size_t		 nerrs = errs->n;

	memset(&cx, 0, sizeof(cx));
	cx.file = name;
	cx.errs = errs;
	if (len > CONF_MAX_SIZE) {
		conf_err(&cx, "cannot read: larger than %d MiB",
		    CONF_MAX_SIZE >> 20);
		return NULL;
	}
	if ((root = conf_parse(&cx, text, len)) != NULL) {
		conf_apply_overrides(&cx, root, ov);
		cx.c = xcalloc(1, sizeof(*cx.c));
		conf_build(&cx, root);
		json_object_put(root);
	}
	ctx_free(&cx);
	if (errs->n > nerrs) {
		conf_free(cx.c);
		return NULL;
	}
	cx.c->file = builtin ? NULL : xstrdup(name);
	return cx.c;
}

/* Read path whole into b; false with errno set on failure. */
static bool
read_file(const char *path, struct sbuf *b)
{
	FILE	*f;
	char	 buf[8192];
	size_t	 n;
	int	 saved;

	if ((f = fopen(path, "r")) == NULL)
		return false;
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0) {
		sbuf_append(b, buf, n);
		if (b->len > CONF_MAX_SIZE)
			break;		/* conf_load_text() reports it */
	}
	if (ferror(f)) {
		saved = errno;
		fclose(f);
		errno = saved != 0 ? saved : EIO;
		return false;
	}
	fclose(f);
	if (b->data == NULL)
		sbuf_puts(b, "");
	return true;
}

struct conf *
conf_load_string(const char *name, const char *text,
    const struct conf_overrides *ov, struct conf_errors *errs)
{
	struct conf_errors	 none = { 0 };
	struct conf		*c;

	c = conf_load_text(name, text, strlen(text), false, ov,
	    errs != NULL ? errs : &none);
	conf_errors_free(&none);
	return c;
}

struct conf *
conf_load(const char *path, const struct conf_overrides *ov,
    struct conf_errors *errs)
{
	struct conf_errors	 none = { 0 };
	struct sbuf		 b = { 0 };
	struct conf		*c = NULL;

	if (errs == NULL)
		errs = &none;
	if (path == NULL && access(CONF_DEFAULT_PATH, F_OK) != 0)
		c = conf_load_text(BUILTIN_NAME, conf_default,
		    strlen(conf_default), true, ov, errs);
	else {
		if (path == NULL)
			path = CONF_DEFAULT_PATH;
		if (read_file(path, &b))
			c = conf_load_text(path, b.data, b.len, false, ov,
			    errs);
		else
			errs_add(errs, xasprintf("%s: cannot read: %s", path,
			    strerror(errno)));
	}
	sbuf_free(&b);
	conf_errors_free(&none);
	return c;
}

/* ---- freeing and lookups ---------------------------------------------- */

void
conf_free_argv(char **argv)
{
	size_t	i;

	if (argv == NULL)
		return;
	for (i = 0; argv[i] != NULL; i++)
		free(argv[i]);
	free(argv);
}

static void
conf_free_check(struct conf_check *ch)
{
	size_t	i;

	free(ch->name);
	free(ch->target);
	conf_free_argv(ch->argv);
	free(ch->expect);
	for (i = 0; i < ch->nheaders; i++) {
		free(ch->headers[i].name);
		free(ch->headers[i].value);
	}
	free(ch->headers);
}

static void
conf_free_conds(struct conf_cond *conds, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++) {
		free(conds[i].name);
		conf_free_conds(conds[i].sub, conds[i].nsub);
	}
	free(conds);
}

bool
conf_cond_find(const struct conf_cond *conds, size_t n,
    bool (*pred)(const struct conf_cond *, void *), void *arg)
{
	size_t	i;

	for (i = 0; i < n; i++) {
		if (conds[i].kind == COND_ANY || conds[i].kind == COND_AT_LEAST) {
			if (conf_cond_find(conds[i].sub, conds[i].nsub, pred, arg))
				return true;
		} else if (pred(&conds[i], arg)) {
			return true;
		}
	}
	return false;
}

static void
conf_free_service(struct conf_service *s)
{
	size_t	i;

	free(s->name);
	conf_free_conds(s->conds, s->nconds);
	for (i = 0; i < s->ndrain_frontends; i++)
		free(s->drain_frontends[i]);
	free(s->drain_frontends);
}

static void
conf_free_listen(struct conf_listen *l)
{
	size_t	i;

	free(l->address);
	for (i = 0; i < l->npaths; i++)
		free(l->paths[i].path);
	free(l->paths);
	free(l->token);
}

void
conf_free(struct conf *c)
{
	size_t	i;

	if (c == NULL)
		return;
	free(c->file);
	free(c->state_dir);
	free(c->haproxy.stats);
	free(c->haproxy.log_listen);
	free(c->haproxy.state_file);
	free(c->haproxy.master);
	for (i = 0; i < c->nchecks; i++)
		conf_free_check(&c->checks[i]);
	free(c->checks);
	for (i = 0; i < c->nservices; i++)
		conf_free_service(&c->services[i]);
	free(c->services);
	for (i = 0; i < c->nlistens; i++)
		conf_free_listen(&c->listens[i]);
	free(c->listens);
	for (i = 0; i < c->nfrontends; i++)
		free(c->frontends[i].name);
	free(c->frontends);
	for (i = 0; i < c->nnotifies; i++) {
		free(c->notifies[i].target);
		conf_free_argv(c->notifies[i].argv);
		free(c->notifies[i].svcs);
	}
	free(c->notifies);
	free(c);
}

bool
conf_needs_curl(const struct conf *c)
{
	size_t	i;

	if (c->haproxy.stats_kind == STATS_HTTP)
		return true;
	for (i = 0; i < c->nchecks; i++)
		if (c->checks[i].kind == CHECK_HTTP)
			return true;
	for (i = 0; i < c->nnotifies; i++)
		if (c->notifies[i].kind == NOTIFY_WEBHOOK)
			return true;
	return false;
}

size_t
conf_service_index(const struct conf *c, const char *name)
{
	size_t	i;

	for (i = 0; i < c->nservices; i++)
		if (c->services[i].name != NULL &&
		    strcmp(c->services[i].name, name) == 0)
			return i;
	return CONF_NONE;
}

const char *
conf_state_dir(const struct conf *c)
{
	static char	 env[4096];
	const char	*e = getenv("STATE_DIRECTORY");
	size_t		 n;

	if (c->state_dir != NULL)
		return c->state_dir;
	if (e == NULL || e[0] == '\0')
		return CONF_STATE_DIR;
	/* systemd joins several with ':'; ours is the first. */
	n = strcspn(e, ":");
	if (n >= sizeof(env))
		return CONF_STATE_DIR;
	memcpy(env, e, n);
	env[n] = '\0';
	return env;
}

static bool
cond_not_check(const struct conf_cond *cd, void *arg)
{
	(void)arg;
	return cd->kind != COND_CHECK;
}

bool
conf_watches_haproxy(const struct conf *c)
{
	size_t	i;

	if (c->nfrontends > 0)
		return true;
	for (i = 0; i < c->nservices; i++)
		if (c->services[i].ndrain_frontends > 0 ||
		    conf_cond_find(c->services[i].conds, c->services[i].nconds,
		    cond_not_check, NULL))
			return true;
	return false;
}
