/*
 * conf_schema.c: what a config may hold. One table of keys per kind of
 * object drives defaults, types, ranges, "unknown key" with its "did you
 * mean", and "only applies to"; handlers do what a table cannot (names,
 * addresses, references). Every value is checked and every error reported
 * (conf_err), in document order; nothing stops the walk.
 */
#include <netinet/in.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <json-c/json.h>

#include "admin.h"
#include "conf.h"
#include "conf_int.h"

#define MS(n)		((int64_t)(n))
#define SEC(n)		((int64_t)(n) * 1000)
#define HOUR		SEC(3600)

#define ALNUM		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz" \
			"0123456789"
#define NAME_CHARS	ALNUM "_.-"		/* services and checks */
#define NAME_MAX_LEN	64
#define PROXY_CHARS	ALNUM "_.:-"		/* HAProxy proxy names */
#define PROXY_MAX_LEN	127
#define TOKEN_CHARS	ALNUM "!#$%&'*+-.^_`|~"	/* HTTP header names */

#define DEFAULT_STATS	"unix:/run/haproxy/admin.sock"

/* Key table entries. T is the struct the table fills. */
#define DUR(T, n, f, lo, hi, d, k) { .name = (n), .type = KT_DURATION, \
	.off = offsetof(T, f), .min = (lo), .max = (hi), .def = (d), \
	.kinds = (k) }
#define INT(T, n, f, lo, hi, d, k) { .name = (n), .type = KT_INT, \
	.off = offsetof(T, f), .min = (lo), .max = (hi), .def = (d), \
	.kinds = (k) }
#define BOOL(T, n, f, d, k) { .name = (n), .type = KT_BOOL, \
	.off = offsetof(T, f), .def = (d), .kinds = (k) }
#define CUSTOM(T, n, f, h, k) { .name = (n), .type = KT_CUSTOM, \
	.off = offsetof(T, f), .fn = (h), .kinds = (k) }
#define SCHEMA(noun, keys) { (noun), NULL, 0, (keys), ARRAY_SIZE(keys) }
#define SCHEMA_K(noun, kinds, keys) { (noun), (kinds), ARRAY_SIZE(kinds), \
	(keys), ARRAY_SIZE(keys) }

/* ---- shared handlers -------------------------------------------------- */

/* A URL into the char * at k->off. */
static void
h_url(struct conf_ctx *cx, const struct conf_key *k, json_object *v,
    void *target)
{
	const char	*s;

	if (!conf_get_string(cx, v, &s))
		return;
	if (!conf_is_url(s)) {
		conf_err(cx, "%s is not an http:// or https:// URL",
		    conf_quote(cx, s));
		return;
	}
	conf_set_string((char **)(void *)((char *)target + k->off), s);
}

/* An absolute path into the char * at k->off. */
static void
h_abspath(struct conf_ctx *cx, const struct conf_key *k, json_object *v,
    void *target)
{
	const char	*s;

	if (!conf_get_string(cx, v, &s))
		return;
	if (s[0] != '/') {
		conf_err(cx, "%s is not an absolute path", conf_quote(cx, s));
		return;
	}
	conf_set_string((char **)(void *)((char *)target + k->off), s);
}

static bool stats_is_http(json_object *root);

/* haproxy.state_file: an absolute path, and a CLI to dump states from. */
static void
h_state_file(struct conf_ctx *cx, const struct conf_key *k, json_object *v,
    void *target)
{
	h_abspath(cx, k, v, target);
	if (stats_is_http(cx->root))
		conf_err(cx, "needs a unix: or tcp: stats socket (the stats "
		    "page cannot dump server states)");
}

/* ["/abs/prog", "arg", ...] into a NULL-terminated argv and argv[0]. */
static void
parse_argv(struct conf_ctx *cx, json_object *v, char ***argvp, char **prog)
{
	const char	*s;
	char		**argv;
	size_t		  i, n, mark;

	if (!conf_is_array(cx, v))
		return;
	if ((n = json_object_array_length(v)) == 0) {
		conf_err(cx, "needs at least one string (the program's "
		    "absolute path)");
		return;
	}
	argv = xcalloc(n + 1, sizeof(char *));
	for (i = 0; i < n; i++) {
		mark = conf_path_index(cx, i);
		if (!conf_get_string(cx, json_object_array_get_idx(v, i), &s))
			s = "";
		else if (i == 0 && s[0] != '/')
			conf_err(cx, "%s is not an absolute path",
			    conf_quote(cx, s));
		argv[i] = xstrdup(s);
		conf_path_pop(cx, mark);
	}
	conf_free_argv(*argvp);
	*argvp = argv;
	conf_set_string(prog, argv[0]);
}

/* ---- haproxy ---------------------------------------------------------- */

static bool
stats_set(struct conf_ctx *cx, struct conf_haproxy *h, const char *s)
{
	char	err[128];

	if (conf_is_url(s)) {
		h->stats_kind = STATS_HTTP;
		memset(&h->stats_addr, 0, sizeof(h->stats_addr));
	} else if (strncmp(s, "unix:", 5) == 0 || strncmp(s, "tcp:", 4) == 0) {
		if (!addr_parse(s, ADDR_TCP_PREFIX, &h->stats_addr, err,
		    sizeof(err))) {
			conf_err(cx, "invalid address %s: %s",
			    conf_quote(cx, s), err);
			return false;
		}
		h->stats_kind = s[0] == 'u' ? STATS_UNIX : STATS_TCP;
	} else {
		conf_err(cx, "%s must start with unix:, tcp:, http:// or "
		    "https://", conf_quote(cx, s));
		return false;
	}
	conf_set_string(&h->stats, s);
	return true;
}

static void
h_stats(struct conf_ctx *cx, const struct conf_key *k, json_object *v,
    void *target)
{
	const char	*s;

	if (conf_get_string(cx, v, &s))
		(void)stats_set(cx, target, s);
}

static void
h_log_listen(struct conf_ctx *cx, const struct conf_key *k, json_object *v,
    void *target)
{
	struct conf_haproxy	*h = target;
	const char		*s;
	char			 err[128];

	if (!conf_get_string(cx, v, &s))
		return;
	if (strncmp(s, "udp:", 4) != 0) {
		conf_err(cx, "%s must be udp:HOST:PORT", conf_quote(cx, s));
		return;
	}
	if (!addr_parse(s + 4, ADDR_NO_UNIX | ADDR_PASSIVE, &h->log_addr, err,
	    sizeof(err))) {
		conf_err(cx, "invalid address %s: %s", conf_quote(cx, s), err);
		return;
	}
	conf_set_string(&h->log_listen, s);
}

/* haproxy.master: HAProxy's master CLI ("-S" in master-worker mode). */
static void
h_master(struct conf_ctx *cx, const struct conf_key *k, json_object *v,
    void *target)
{
	struct conf_haproxy	*h = target;
	const char		*s;
	char			 err[128];

	if (!conf_get_string(cx, v, &s))
		return;
	if ((strncmp(s, "unix:", 5) != 0 && strncmp(s, "tcp:", 4) != 0) ||
	    !addr_parse(s, ADDR_TCP_PREFIX, &h->master_addr, err,
	    sizeof(err))) {
		conf_err(cx, "%s is not unix:PATH or tcp:HOST:PORT",
		    conf_quote(cx, s));
		return;
	}
	conf_set_string(&h->master, s);
}

static const struct conf_key haproxy_keys[] = {
	CUSTOM(struct conf_haproxy, "stats", stats, h_stats, 0),
	DUR(struct conf_haproxy, "interval", interval, MS(10), HOUR, SEC(1), 0),
	DUR(struct conf_haproxy, "timeout", timeout, MS(10), HOUR, MS(500), 0),
	DUR(struct conf_haproxy, "grace", grace, 0, HOUR, SEC(10), 0),
	DUR(struct conf_haproxy, "settle", settle, 0, HOUR, SEC(5), 0),
	CUSTOM(struct conf_haproxy, "log_listen", log_listen, h_log_listen, 0),
	CUSTOM(struct conf_haproxy, "state_file", state_file, h_state_file, 0),
	DUR(struct conf_haproxy, "state_file_interval", state_file_interval,
	    SEC(1), HOUR, SEC(30), 0),
	CUSTOM(struct conf_haproxy, "master", master, h_master, 0),
};
static const struct conf_schema haproxy_schema =
    SCHEMA("settings", haproxy_keys);

/* ---- checks ----------------------------------------------------------- */

static const char *const check_kinds[] = { "http", "tcp", "exec", "load" };

static void
h_check_load(struct conf_ctx *cx, const struct conf_key *k, json_object *v,
    void *target)
{
	struct conf_check	*ch = target;
	const char		*s;

	if (!conf_get_string(cx, v, &s))
		return;
	if (strcmp(s, "cpu") == 0)
		ch->load = LOAD_CPU;
	else if (strcmp(s, "loadavg") == 0)
		ch->load = LOAD_LOADAVG;
	else
		conf_err(cx, "%s: \"cpu\" (the idle share) or \"loadavg\" (the "
		    "1-minute load per core)", conf_quote(cx, s));
	conf_set_string(&ch->target, s);
}

static void
h_check_tcp(struct conf_ctx *cx, const struct conf_key *k, json_object *v,
    void *target)
{
	struct conf_check	*ch = target;
	const char		*s;
	char			 err[128];

	if (!conf_get_string(cx, v, &s))
		return;
	if (!addr_parse(s, ADDR_NO_UNIX, &ch->addr, err, sizeof(err))) {
		conf_err(cx, "invalid address %s: %s", conf_quote(cx, s), err);
		return;
	}
	conf_set_string(&ch->target, s);
}

static void
h_check_exec(struct conf_ctx *cx, const struct conf_key *k, json_object *v,
    void *target)
{
	struct conf_check	*ch = target;

	parse_argv(cx, v, &ch->argv, &ch->target);
}

static void
h_expect(struct conf_ctx *cx, const struct conf_key *k, json_object *v,
    void *target)
{
	struct conf_check	*ch = target;
	size_t			 i, mark;

	if (!conf_is_array(cx, v))
		return;
	if (json_object_array_length(v) == 0) {
		conf_err(cx, "needs at least one status code");
		return;
	}
	free(ch->expect);
	ch->nexpect = json_object_array_length(v);
	ch->expect = xcalloc(ch->nexpect, sizeof(int));
	for (i = 0; i < ch->nexpect; i++) {
		mark = conf_path_index(cx, i);
		(void)conf_get_int(cx, json_object_array_get_idx(v, i), 100,
		    599, &ch->expect[i]);
		conf_path_pop(cx, mark);
	}
}

static void
header_parse(struct conf_ctx *cx, const char *name, json_object *v,
    void *elem)
{
	struct conf_header	*hd = elem;
	const char		*s;

	hd->name = xstrdup(name);
	if (!conf_valid_name(name, 256, TOKEN_CHARS)) {
		conf_err(cx, "invalid header name");
		return;
	}
	if (!conf_get_string(cx, v, &s))
		return;
	if (strpbrk(s, "\r\n") != NULL) {
		conf_err(cx, "a header value cannot contain CR or LF");
		return;
	}
	hd->value = xstrdup(s);
}

static void
h_headers(struct conf_ctx *cx, const struct conf_key *k, json_object *v,
    void *target)
{
	struct conf_check	*ch = target;

	if (!conf_is_object(cx, v) || ch->headers != NULL)
		return;
	ch->nheaders = (size_t)json_object_object_length(v);
	ch->headers = xcalloc(ch->nheaders, sizeof(*ch->headers));
	conf_each_member(cx, v, header_parse, ch->headers,
	    sizeof(*ch->headers));
}

static const struct conf_key check_keys[] = {
	CUSTOM(struct conf_check, "http", target, h_url, KIND(CHECK_HTTP)),
	CUSTOM(struct conf_check, "tcp", target, h_check_tcp, KIND(CHECK_TCP)),
	CUSTOM(struct conf_check, "exec", argv, h_check_exec,
	    KIND(CHECK_EXEC)),
	CUSTOM(struct conf_check, "load", target, h_check_load,
	    KIND(CHECK_LOAD)),
	INT(struct conf_check, "floor", floor, 1, 100, 1, KIND(CHECK_LOAD)),
	DUR(struct conf_check, "interval", interval, MS(10), HOUR, SEC(2), 0),
	DUR(struct conf_check, "timeout", timeout, MS(10), HOUR, SEC(1), 0),
	INT(struct conf_check, "rise", rise, 1, 100, 2, 0),
	INT(struct conf_check, "fall", fall, 1, 100, 3, 0),
	CUSTOM(struct conf_check, "expect", expect, h_expect,
	    KIND(CHECK_HTTP)),
	CUSTOM(struct conf_check, "headers", headers, h_headers,
	    KIND(CHECK_HTTP)),
	BOOL(struct conf_check, "tls_verify", tls_verify, true,
	    KIND(CHECK_HTTP)),
};
static const struct conf_schema check_schema =
    SCHEMA_K("checks", check_kinds, check_keys);

static void
check_parse(struct conf_ctx *cx, const char *name, json_object *v,
    void *elem)
{
	struct conf_check	*ch = elem;
	int			 kind;

	if (!conf_valid_name(name, NAME_MAX_LEN, NAME_CHARS))
		conf_err(cx, "invalid check name (use 1 to %d letters, digits, "
		    "\"_\", \".\" or \"-\")", NAME_MAX_LEN);
	if (!conf_is_object(cx, v))
		return;
	kind = conf_kind(cx, &check_schema, v);
	conf_defaults(&check_schema, ch);
	conf_walk(cx, &check_schema, v, ch, kind);
	ch->kind = kind < 0 ? CHECK_HTTP : (enum check_kind)kind;
	if (kind == CHECK_HTTP && ch->expect == NULL) {
		ch->expect = xcalloc(1, sizeof(int));
		ch->expect[0] = 200;
		ch->nexpect = 1;
	}
}

/* ---- services --------------------------------------------------------- */

static const char *const cond_kinds[] = { "backend", "check", "haproxy",
	"any", "at_least" };
enum { CK_BACKEND, CK_CHECK, CK_HAPROXY, CK_ANY, CK_AT_LEAST };

static void
h_cond_backend(struct conf_ctx *cx, const struct conf_key *k, json_object *v,
    void *target)
{
	struct conf_cond	*cd = target;
	const char		*s;

	if (!conf_get_string(cx, v, &s))
		return;
	if (strcmp(s, "*") != 0 &&
	    !conf_valid_name(s, PROXY_MAX_LEN, PROXY_CHARS)) {
		conf_err(cx, "invalid backend name %s (use 1 to %d letters, "
		    "digits, \"_\", \".\", \":\" or \"-\", or \"*\" for all)",
		    conf_quote(cx, s), PROXY_MAX_LEN);
		return;
	}
	cd->kind = strcmp(s, "*") == 0 ? COND_ALL_BACKENDS : COND_BACKEND;
	conf_set_string(&cd->name, s);
}

static void
h_cond_check(struct conf_ctx *cx, const struct conf_key *k, json_object *v,
    void *target)
{
	struct conf_cond	*cd = target;
	const char		*s;

	if (!conf_get_string(cx, v, &s))
		return;
	cd->check = conf_ref_check(cx, s);
	conf_set_string(&cd->name, s);
}

/* {"haproxy": "alive"}: the only thing asked of HAProxy itself so far. */
static void
h_cond_haproxy(struct conf_ctx *cx, const struct conf_key *k, json_object *v,
    void *target)
{
	struct conf_cond	*cd = target;
	const char		*s;

	if (!conf_get_string(cx, v, &s))
		return;
	if (strcmp(s, "alive") != 0)
		conf_err(cx, "%s: the only value is \"alive\"", conf_quote(cx, s));
	cd->kind = COND_HAPROXY_ALIVE;
	conf_set_string(&cd->name, s);
}

static void cond_list(struct conf_ctx *cx, json_object *v,
    struct conf_cond **conds, size_t *n);

/* "any" and "of": the list a combinator judges. */
static void
h_cond_list(struct conf_ctx *cx, const struct conf_key *k, json_object *v,
    void *target)
{
	struct conf_cond	*cd = target;

	cond_list(cx, v, &cd->sub, &cd->nsub);
}

static const struct conf_key cond_keys[] = {
	CUSTOM(struct conf_cond, "backend", name, h_cond_backend, KIND(CK_BACKEND)),
	CUSTOM(struct conf_cond, "check", name, h_cond_check, KIND(CK_CHECK)),
	CUSTOM(struct conf_cond, "haproxy", name, h_cond_haproxy,
	    KIND(CK_HAPROXY)),
	INT(struct conf_cond, "min", min, 0, 100000, 1, KIND(CK_BACKEND)),
	INT(struct conf_cond, "min_percent", min_percent, 1, 100, -1,
	    KIND(CK_BACKEND)),
	BOOL(struct conf_cond, "allbackups", allbackups, false, KIND(CK_BACKEND)),
	CUSTOM(struct conf_cond, "any", sub, h_cond_list, KIND(CK_ANY)),
	INT(struct conf_cond, "at_least", at_least, 1, 1000, 1,
	    KIND(CK_AT_LEAST)),
	{ .name = "of", .type = KT_CUSTOM, .fn = h_cond_list,
	  .kinds = KIND(CK_AT_LEAST) },
};
static const struct conf_schema cond_schema =
    SCHEMA_K("conditions", cond_kinds, cond_keys);

static void
cond_parse(struct conf_ctx *cx, json_object *v, void *elem, size_t i)
{
	struct conf_cond	*cd = elem;
	int			 kind;
	size_t			 mark;

	if (!conf_is_object(cx, v))
		return;
	kind = conf_kind(cx, &cond_schema, v);
	conf_defaults(&cond_schema, cd);
	cd->check = CONF_NONE;
	conf_walk(cx, &cond_schema, v, cd, kind);
	switch (kind) {
	case CK_CHECK:
		cd->kind = COND_CHECK;
		cd->min = -1;
		break;
	case CK_HAPROXY:
		cd->kind = COND_HAPROXY_ALIVE;
		cd->min = -1;
		break;
	case CK_ANY:
		cd->kind = COND_ANY;
		cd->min = -1;
		cd->at_least = 1;
		break;
	case CK_AT_LEAST:
		cd->kind = COND_AT_LEAST;
		cd->min = -1;
		if (!json_object_object_get_ex(v, "of", NULL))
			conf_err(cx, "\"at_least\" needs \"of\", the list of "
			    "conditions it counts");
		else if (cd->nsub > 0 && (size_t)cd->at_least > cd->nsub) {
			mark = conf_path_key(cx, "at_least");
			conf_err(cx, "%d is more than the %zu condition%s of "
			    "\"of\"", cd->at_least, cd->nsub,
			    cd->nsub == 1 ? "" : "s");
			conf_path_pop(cx, mark);
		}
		break;
	default:
		if (!json_object_object_get_ex(v, "min", NULL) &&
		    json_object_object_get_ex(v, "min_percent", NULL))
			cd->min = -1;
		break;
	}
}

/* A list of conditions: "require", or a combinator's. Not empty; nested
 * at most COND_MAX_DEPTH deep. */
static void
cond_list(struct conf_ctx *cx, json_object *v, struct conf_cond **conds,
    size_t *n)
{
	if (!conf_is_array(cx, v) || *conds != NULL)
		return;
	if (json_object_array_length(v) == 0) {
		conf_err(cx, "an empty list: at least one condition is required");
		return;
	}
	/* require is depth 0; each any/at_least list one more. */
	if (cx->cond_depth > COND_MAX_DEPTH) {
		conf_err(cx, "more than %d levels of any/at_least",
		    COND_MAX_DEPTH);
		return;
	}
	cx->cond_depth++;
	conf_each_element(cx, v, cond_parse, sizeof(**conds), conds, n);
	cx->cond_depth--;
}

static void
h_require(struct conf_ctx *cx, const struct conf_key *k, json_object *v,
    void *target)
{
	struct conf_service	*s = target;

	cond_list(cx, v, &s->conds, &s->nconds);
}

/* weight_from: the agent weight comes from this check. */
static void
h_weight_from(struct conf_ctx *cx, const struct conf_key *k, json_object *v,
    void *target)
{
	struct conf_service	*s = target;
	const char		*name;

	if (conf_get_string(cx, v, &name))
		s->weight_from = conf_ref_check(cx, name);
}

/*
 * After the walk, when every check's kind is known (the file may name a
 * check in "services" before "checks" says what it is): weight_from must
 * be a check that gives a weight. An http or tcp check would leave the
 * agent at "up 1%" for good.
 */
static void
services_check_weight_from(struct conf_ctx *cx)
{
	const struct conf	*c = cx->c;
	size_t			 i, mark;

	for (i = 0; i < c->nservices; i++) {
		const struct conf_service *s = &c->services[i];
		const struct conf_check *ch;

		if (s->weight_from >= c->nchecks)	/* CONF_NONE */
			continue;
		ch = &c->checks[s->weight_from];
		if (ch->kind == CHECK_LOAD || ch->kind == CHECK_EXEC)
			continue;
		mark = conf_path_key(cx, "services");
		(void)conf_path_key(cx, s->name);
		(void)conf_path_key(cx, "weight_from");
		conf_err(cx, "check %s gives no weight: use a \"load\" check, "
		    "or an \"exec\" check that prints \"66%%\" or "
		    "\"weight:66\"", conf_quote(cx, ch->name));
		conf_path_pop(cx, mark);
	}
}

static const struct conf_key let_go_keys[] = {
	INT(struct conf_let_go, "failures", failures, 1, 100, 2, 0),
	DUR(struct conf_let_go, "quiet", quiet, 0, HOUR, SEC(10), 0),
	DUR(struct conf_let_go, "tcp", tcp, 0, HOUR, SEC(60), 0),
};
static const struct conf_schema let_go_schema = SCHEMA("let_go", let_go_keys);

static void
h_let_go(struct conf_ctx *cx, const struct conf_key *k, json_object *v,
    void *target)
{
	struct conf_service	*s = target;

	if (conf_is_object(cx, v))
		conf_walk(cx, &let_go_schema, v, &s->let_go, -1);
}

/* A list of HAProxy proxy names, into a NULL-free array. */
static void
h_drain_frontends(struct conf_ctx *cx, const struct conf_key *k,
    json_object *v, void *target)
{
	struct conf_service	*s = target;
	const char		*name;
	size_t			 i, n, mark;

	if (!conf_is_array(cx, v) || s->drain_frontends != NULL)
		return;
	n = json_object_array_length(v);
	s->drain_frontends = xcalloc(n, sizeof(char *));
	for (i = 0; i < n; i++) {
		mark = conf_path_index(cx, i);
		if (conf_get_string(cx, json_object_array_get_idx(v, i), &name)) {
			if (!conf_valid_name(name, PROXY_MAX_LEN, PROXY_CHARS))
				conf_err(cx, "invalid frontend name %s",
				    conf_quote(cx, name));
			s->drain_frontends[s->ndrain_frontends++] =
			    xstrdup(name);
		}
		conf_path_pop(cx, mark);
	}
}

static const struct conf_key service_keys[] = {
	{ .name = "require", .type = KT_CUSTOM, .fn = h_require,
	  .flags = KF_REQUIRED, .what = "condition" },
	DUR(struct conf_service, "up_after", up_after, 0, HOUR, 0, 0),
	DUR(struct conf_service, "down_after", down_after, 0, HOUR, 0, 0),
	{ .name = "let_go", .type = KT_CUSTOM, .fn = h_let_go },
	CUSTOM(struct conf_service, "weight_from", weight_from, h_weight_from, 0),
	INT(struct conf_service, "degraded_below", degraded_below, 1, 100, 0, 0),
	{ .name = "drain_frontends", .type = KT_CUSTOM, .fn = h_drain_frontends },
};
static const struct conf_schema service_schema =
    SCHEMA("services", service_keys);

/* A condition that gives a capacity: a backend. */
static bool
cond_has_capacity(const struct conf_cond *cd, void *arg)
{
	(void)arg;
	return cd->kind == COND_BACKEND || cd->kind == COND_ALL_BACKENDS;
}

static void
service_parse(struct conf_ctx *cx, const char *name, json_object *v,
    void *elem)
{
	struct conf_service	*s = elem;
	size_t			 mark;

	s->weight_from = CONF_NONE;
	if (!conf_valid_name(name, NAME_MAX_LEN, NAME_CHARS))
		conf_err(cx, "invalid service name (use 1 to %d letters, "
		    "digits, \"_\", \".\" or \"-\")", NAME_MAX_LEN);
	if (!conf_is_object(cx, v))
		return;
	conf_defaults(&service_schema, s);
	conf_defaults(&let_go_schema, &s->let_go);
	s->weight_from = CONF_NONE;
	conf_walk(cx, &service_schema, v, s, -1);
	if (s->degraded_below > 0 && s->weight_from == CONF_NONE &&
	    s->conds != NULL &&
	    !conf_cond_find(s->conds, s->nconds, cond_has_capacity, NULL)) {
		mark = conf_path_key(cx, "degraded_below");
		conf_err(cx, "this service has no backend and no weight_from: "
		    "its capacity is always 100%%");
		conf_path_pop(cx, mark);
	}
}

/* ---- listeners -------------------------------------------------------- */

static const char *const listen_kinds[] = { "http", "agent", "tcp" };

static void
h_listen_addr(struct conf_ctx *cx, const struct conf_key *k, json_object *v,
    void *target)
{
	struct conf_listen	*l = target;
	const char		*s;
	char			 err[128];

	if (!conf_get_string(cx, v, &s))
		return;
	if (k->kinds != KIND(LISTEN_HTTP) && strncmp(s, "unix:", 5) == 0) {
		conf_err(cx, "unix sockets are only allowed for http "
		    "listeners");
		return;
	}
	if (!addr_parse(s, ADDR_PASSIVE, &l->addr, err, sizeof(err))) {
		conf_err(cx, "invalid address %s: %s", conf_quote(cx, s), err);
		return;
	}
	conf_set_string(&l->address, s);
}

static void
path_parse(struct conf_ctx *cx, const char *name, json_object *v, void *elem)
{
	struct conf_path	*p = elem;
	size_t			 i;

	p->path = xstrdup(name);
	if (name[0] != '/')
		conf_err(cx, "a path must start with \"/\"");
	for (i = 0; name[i] != '\0'; i++) {
		if ((unsigned char)name[i] <= ' ' || name[i] == 0x7f) {
			conf_err(cx, "a path cannot contain spaces or control "
			    "characters");
			break;
		}
	}
	p->svc = conf_ref_service(cx, v);
}

static void
h_paths(struct conf_ctx *cx, const struct conf_key *k, json_object *v,
    void *target)
{
	struct conf_listen	*l = target;

	if (!conf_is_object(cx, v) || l->paths != NULL)
		return;
	l->npaths = (size_t)json_object_object_length(v);
	l->paths = xcalloc(l->npaths, sizeof(*l->paths));
	conf_each_member(cx, v, path_parse, l->paths, sizeof(*l->paths));
}

static void
h_token(struct conf_ctx *cx, const struct conf_key *k, json_object *v,
    void *target)
{
	struct conf_listen	*l = target;
	const char		*s;
	size_t			 i;

	if (!conf_get_string(cx, v, &s))
		return;
	if (s[0] == '\0') {
		conf_err(cx, "the token cannot be empty");
		return;
	}
	for (i = 0; s[i] != '\0'; i++) {
		if ((unsigned char)s[i] <= ' ' ||
		    (unsigned char)s[i] >= 0x7f) {
			conf_err(cx, "the token must be printable ASCII "
			    "without spaces");
			return;
		}
	}
	conf_set_string(&l->token, s);
}

/* codes[] of a listener, indexed by enum svc_state. */
#define CODE(n, st, d) { .name = (n), .type = KT_INT, \
	.off = (st) * sizeof(int), .min = 200, .max = 599, .def = (d) }

static const struct conf_key code_keys[] = {
	CODE("up", SVC_UP, 200),
	CODE("down", SVC_DOWN, 503),
	CODE("drain", SVC_DRAIN, 503),
	CODE("maint", SVC_MAINT, 503),
	CODE("degraded", SVC_DEGRADED, 200),
};
static const struct conf_schema code_schema =
    SCHEMA("codes", code_keys);

static void
h_codes(struct conf_ctx *cx, const struct conf_key *k, json_object *v,
    void *target)
{
	struct conf_listen	*l = target;
	size_t			 mark;
	int			 code;

	if (!conf_is_object(cx, v))
		return;
	conf_walk(cx, &code_schema, v, l->codes, -1);
	/* The answer carries the reason: a code that has no body cannot. */
	json_object_object_foreach(v, key, val) {
		if (!json_object_is_type(val, json_type_int))
			continue;
		code = json_object_get_int(val);
		if (code != 204 && code != 205 && code != 304)
			continue;
		mark = conf_path_key(cx, key);
		conf_err(cx, "%d has no body to carry the reason: use another "
		    "code from 200 to 599", code);
		conf_path_pop(cx, mark);
	}
}

static void
h_listen_service(struct conf_ctx *cx, const struct conf_key *k,
    json_object *v, void *target)
{
	struct conf_listen	*l = target;

	l->svc = conf_ref_service(cx, v);
}

#define L_HTTP	KIND(LISTEN_HTTP)
#define L_AGENT	KIND(LISTEN_AGENT)
#define L_TCP	KIND(LISTEN_TCP)

static const struct conf_key listen_keys[] = {
	CUSTOM(struct conf_listen, "http", address, h_listen_addr, L_HTTP),
	CUSTOM(struct conf_listen, "agent", address, h_listen_addr, L_AGENT),
	CUSTOM(struct conf_listen, "tcp", address, h_listen_addr, L_TCP),
	INT(struct conf_listen, "max_connections", max_connections, 1,
	    1000000, 4096, 0),
	CUSTOM(struct conf_listen, "paths", paths, h_paths, L_HTTP),
	BOOL(struct conf_listen, "admin", admin, false, L_HTTP),
	CUSTOM(struct conf_listen, "token", token, h_token, L_HTTP),
	CUSTOM(struct conf_listen, "codes", codes, h_codes, L_HTTP),
	BOOL(struct conf_listen, "close_when_down", close_when_down, false,
	    L_HTTP),
	BOOL(struct conf_listen, "accept_proxy", accept_proxy, false,
	    L_HTTP | L_TCP),
	CUSTOM(struct conf_listen, "service", svc, h_listen_service,
	    L_AGENT | L_TCP),
	INT(struct conf_listen, "weight", weight, 1, 25600, 0, L_AGENT),
	BOOL(struct conf_listen, "admin_words", admin_words, false, L_AGENT),
};
static const struct conf_schema listen_schema =
    SCHEMA_K("listeners", listen_kinds, listen_keys);

static bool
addr_is_any(const struct addr *a)
{
	const struct sockaddr_in	*sin = (const void *)&a->ss;
	const struct sockaddr_in6	*sin6 = (const void *)&a->ss;

	if (a->family == AF_INET)
		return sin->sin_addr.s_addr == htonl(INADDR_ANY);
	if (a->family == AF_INET6)
		return IN6_IS_ADDR_UNSPECIFIED(&sin6->sin6_addr);
	return false;
}

/* The address of listener i against those before it. */
static void
listen_check_dup(struct conf_ctx *cx, const struct conf_listen *l, size_t i)
{
	const struct conf_listen	*o;
	size_t				 j;

	for (j = 0; j < i; j++) {
		o = &cx->c->listens[j];
		if (o->address == NULL || o->addr.family != l->addr.family)
			continue;
		if (addr_equal(&o->addr, &l->addr)) {
			conf_err(cx, "address %s is already used by "
			    "listen[%zu]", l->addr.text, j);
			return;
		}
		if (l->addr.family != AF_UNIX &&
		    addr_port(&o->addr) == addr_port(&l->addr) &&
		    (addr_is_any(&o->addr) || addr_is_any(&l->addr))) {
			conf_err(cx, "address %s overlaps %s of listen[%zu]",
			    l->addr.text, o->addr.text, j);
			return;
		}
	}
}

/* Admin routes shadow health paths of the same name. */
static void
listen_check_routes(struct conf_ctx *cx, const struct conf_listen *l)
{
	const char	*p;
	size_t		 i, mark;

	for (i = 0; i < l->npaths; i++) {
		p = l->paths[i].path;
		if (!admin_is_route(p))
			continue;
		mark = conf_path_key(cx, "paths");
		(void)conf_path_key(cx, p);
		conf_err(cx, "%s is an admin route on this listener",
		    conf_quote(cx, p));
		conf_path_pop(cx, mark);
	}
}

/* What one listener needs once all its keys are read. A key that is
 * present but wrong has had its error: do not report it missing too. */
static void
listen_check(struct conf_ctx *cx, const struct conf_listen *l,
    json_object *obj, size_t i, int kind)
{
	json_object	*paths;
	bool		 has_token, has_svc, bad_paths;

	has_token = json_object_object_get_ex(obj, "token", NULL);
	has_svc = json_object_object_get_ex(obj, "service", NULL);
	bad_paths = json_object_object_get_ex(obj, "paths", &paths) &&
	    !json_object_is_type(paths, json_type_object);

	if (l->address != NULL)
		listen_check_dup(cx, l, i);
	if (l->admin && !has_token && l->address != NULL &&
	    !addr_is_local(&l->addr))
		conf_err(cx, "an admin listener on a non-loopback address "
		    "needs a \"token\"");
	if (has_token && !l->admin)
		conf_err(cx, "\"token\" only applies to admin listeners "
		    "(\"admin\": true)");
	if (kind == LISTEN_HTTP && !l->admin && l->npaths == 0 && !bad_paths)
		conf_err(cx, "an http listener needs at least one path in "
		    "\"paths\" (or \"admin\": true)");
	if (kind == LISTEN_TCP && !has_svc)
		conf_err(cx, "a tcp listener needs a \"service\"");
	if (l->admin)
		listen_check_routes(cx, l);
}

static void
listen_parse(struct conf_ctx *cx, json_object *v, void *elem, size_t i)
{
	struct conf_listen	*l = elem;
	int			 kind;

	if (!conf_is_object(cx, v))
		return;
	kind = conf_kind(cx, &listen_schema, v);
	conf_defaults(&listen_schema, l);
	conf_defaults(&code_schema, l->codes);
	l->svc = CONF_NONE;
	conf_walk(cx, &listen_schema, v, l, kind);
	l->kind = kind < 0 ? LISTEN_HTTP : (enum listen_kind)kind;
	if (kind >= 0)
		listen_check(cx, l, v, i, kind);
}

/* ---- notify ----------------------------------------------------------- */

static const char *const notify_kinds[] = { "webhook", "exec", "track_file" };

static void
h_notify_exec(struct conf_ctx *cx, const struct conf_key *k, json_object *v,
    void *target)
{
	struct conf_notify	*n = target;

	parse_argv(cx, v, &n->argv, &n->target);
}

static void
h_notify_services(struct conf_ctx *cx, const struct conf_key *k,
    json_object *v, void *target)
{
	struct conf_notify	*n = target;
	size_t			 i, mark;

	if (!conf_is_array(cx, v) || n->svcs != NULL)
		return;
	if (json_object_array_length(v) == 0) {
		conf_err(cx, "at least one service is required (leave "
		    "\"services\" out for all)");
		return;
	}
	n->nsvcs = json_object_array_length(v);
	n->svcs = xcalloc(n->nsvcs, sizeof(size_t));
	for (i = 0; i < n->nsvcs; i++) {
		mark = conf_path_index(cx, i);
		n->svcs[i] = conf_ref_service(cx,
		    json_object_array_get_idx(v, i));
		conf_path_pop(cx, mark);
	}
}

#define N_WEBHOOK	KIND(NOTIFY_WEBHOOK)
#define N_EXEC		KIND(NOTIFY_EXEC)
#define N_TRACK		KIND(NOTIFY_TRACK_FILE)

static const struct conf_key notify_keys[] = {
	CUSTOM(struct conf_notify, "webhook", target, h_url, N_WEBHOOK),
	CUSTOM(struct conf_notify, "exec", argv, h_notify_exec, N_EXEC),
	CUSTOM(struct conf_notify, "track_file", target, h_abspath, N_TRACK),
	CUSTOM(struct conf_notify, "services", svcs, h_notify_services, 0),
	/* The default depends on the kind: notify_parse() sets it. */
	DUR(struct conf_notify, "timeout", timeout, MS(10), HOUR, 0,
	    N_WEBHOOK | N_EXEC),
	BOOL(struct conf_notify, "tls_verify", tls_verify, true, N_WEBHOOK),
};
static const struct conf_schema notify_schema =
    SCHEMA_K("notifications", notify_kinds, notify_keys);

static void
notify_parse(struct conf_ctx *cx, json_object *v, void *elem, size_t i)
{
	struct conf_notify	*n = elem;
	int			 kind;

	if (!conf_is_object(cx, v))
		return;
	kind = conf_kind(cx, &notify_schema, v);
	conf_defaults(&notify_schema, n);
	if (kind == NOTIFY_EXEC)
		n->timeout = SEC(30);
	else if (kind == NOTIFY_WEBHOOK)
		n->timeout = SEC(10);
	conf_walk(cx, &notify_schema, v, n, kind);
	n->kind = kind < 0 ? NOTIFY_WEBHOOK : (enum notify_kind)kind;
}

/* ---- top level -------------------------------------------------------- */

static void
h_haproxy(struct conf_ctx *cx, const struct conf_key *k, json_object *v,
    void *target)
{
	if (conf_is_object(cx, v))
		conf_walk(cx, &haproxy_schema, v, &cx->c->haproxy, -1);
}

static void
h_checks(struct conf_ctx *cx, const struct conf_key *k, json_object *v,
    void *target)
{
	if (conf_is_object(cx, v))
		conf_each_member(cx, v, check_parse, cx->c->checks,
		    sizeof(*cx->c->checks));
}

static void
h_services(struct conf_ctx *cx, const struct conf_key *k, json_object *v,
    void *target)
{
	if (!conf_is_object(cx, v))
		return;
	if (json_object_object_length(v) == 0) {
		conf_err(cx, "at least one service is required");
		return;
	}
	conf_each_member(cx, v, service_parse, cx->c->services,
	    sizeof(*cx->c->services));
}

static void
h_listen(struct conf_ctx *cx, const struct conf_key *k, json_object *v,
    void *target)
{
	struct conf	*c = cx->c;

	if (!conf_is_array(cx, v))
		return;
	if (json_object_array_length(v) == 0) {
		conf_err(cx, "at least one listener is required (leave "
		    "\"listen\" out for none)");
		return;
	}
	conf_each_element(cx, v, listen_parse, sizeof(*c->listens), &c->listens,
	    &c->nlistens);
}

static void
frontend_parse(struct conf_ctx *cx, const char *name, json_object *v,
    void *elem)
{
	struct conf_frontend	*f = elem;

	f->name = xstrdup(name);
	if (!conf_valid_name(name, PROXY_MAX_LEN, PROXY_CHARS))
		conf_err(cx, "invalid frontend name (use 1 to %d letters, "
		    "digits, \"_\", \".\", \":\" or \"-\")", PROXY_MAX_LEN);
	f->svc = conf_ref_service(cx, v);
}

/* Whether the tree's haproxy.stats is the stats page (http). The tree,
 * not the conf: "frontends" may come before "haproxy". */
static bool
stats_is_http(json_object *root)
{
	json_object	*h, *s;

	return json_object_object_get_ex(root, "haproxy", &h) &&
	    json_object_is_type(h, json_type_object) &&
	    json_object_object_get_ex(h, "stats", &s) &&
	    json_object_is_type(s, json_type_string) &&
	    conf_is_url(json_object_get_string(s));
}

static void
h_frontends(struct conf_ctx *cx, const struct conf_key *k, json_object *v,
    void *target)
{
	struct conf	*c = cx->c;

	if (!conf_is_object(cx, v))
		return;
	c->nfrontends = (size_t)json_object_object_length(v);
	if (c->nfrontends > 0 && stats_is_http(cx->root))
		conf_err(cx, "needs a unix: or tcp: stats socket (the stats "
		    "page cannot disable frontends)");
	c->frontends = xcalloc(c->nfrontends, sizeof(*c->frontends));
	conf_each_member(cx, v, frontend_parse, c->frontends,
	    sizeof(*c->frontends));
}

static void
h_notify(struct conf_ctx *cx, const struct conf_key *k, json_object *v,
    void *target)
{
	struct conf	*c = cx->c;

	if (conf_is_array(cx, v))
		conf_each_element(cx, v, notify_parse, sizeof(*c->notifies),
		    &c->notifies, &c->nnotifies);
}

static void
h_state_dir(struct conf_ctx *cx, const struct conf_key *k, json_object *v,
    void *target)
{
	h_abspath(cx, k, v, cx->c);
}

static const struct conf_key top_keys[] = {
	{ .name = "haproxy", .type = KT_CUSTOM, .fn = h_haproxy },
	CUSTOM(struct conf, "state_dir", state_dir, h_state_dir, 0),
	{ .name = "checks", .type = KT_CUSTOM, .fn = h_checks },
	{ .name = "services", .type = KT_CUSTOM, .fn = h_services,
	  .flags = KF_REQUIRED, .what = "service" },
	{ .name = "listen", .type = KT_CUSTOM, .fn = h_listen },
	{ .name = "frontends", .type = KT_CUSTOM, .fn = h_frontends },
	{ .name = "notify", .type = KT_CUSTOM, .fn = h_notify },
};
static const struct conf_schema top_schema =
    SCHEMA("sections", top_keys);

/* Allocate the named objects of obj (checks, services) up front, names
 * set, so that references resolve whatever the order in the file. */
static void *
alloc_named(json_object *obj, size_t size, size_t nameoff, size_t *n)
{
	struct json_object_iterator	 it, end;
	char				*arr, *name;
	size_t				 i = 0;

	*n = (size_t)json_object_object_length(obj);
	arr = xcalloc(*n, size);
	it = json_object_iter_begin(obj);
	end = json_object_iter_end(obj);
	for (; !json_object_iter_equal(&it, &end); json_object_iter_next(&it)) {
		name = xstrdup(json_object_iter_peek_name(&it));
		memcpy(arr + i++ * size + nameoff, &name, sizeof(name));
	}
	return arr;
}

void
conf_build(struct conf_ctx *cx, json_object *root)
{
	struct conf	*c = cx->c;
	json_object	*v;

	cx->root = root;
	if (json_object_object_get_ex(root, "services", &v) &&
	    json_object_is_type(v, json_type_object) &&
	    json_object_object_length(v) > 0) {
		c->services = alloc_named(v, sizeof(*c->services),
		    offsetof(struct conf_service, name), &c->nservices);
		cx->svcs_known = true;
	}
	cx->checks_known = true;
	if (json_object_object_get_ex(root, "checks", &v)) {
		cx->checks_known = json_object_is_type(v, json_type_object);
		if (cx->checks_known)
			c->checks = alloc_named(v, sizeof(*c->checks),
			    offsetof(struct conf_check, name), &c->nchecks);
	}
	conf_defaults(&haproxy_schema, &c->haproxy);
	if (!stats_set(cx, &c->haproxy, DEFAULT_STATS))
		abort();
	conf_walk(cx, &top_schema, root, c, -1);
	services_check_weight_from(cx);
}
