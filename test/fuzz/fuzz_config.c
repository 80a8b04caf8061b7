/*
 * fuzz_config.c: conf_load_string() (agent/conf.h), the whole config
 * loader: json-c with comments, the schema walk, addresses, references,
 * the quick options of the command line, and every error message.
 *
 * Input: the config text (cut at its first NUL, as a C string is). Comment
 * lines of the form "//@stats VALUE", "//@http VALUE", "//@agent VALUE"
 * and "//@backend NAME" (up to 4) anywhere in it become the quick options
 * --stats, --http, --agent and --backend, so the fuzzer reaches the
 * override code while the text stays a valid config. Host names are not
 * resolved (nodns.c): only numeric hosts and "localhost" parse.
 *
 * Invariants checked on every input:
 *  - NULL is returned iff errors were added; every error is one non-empty
 *    line that starts with the file name;
 *  - the same text gives the same result and the same errors twice, and
 *    the same NULL-ness with errs NULL or already holding an error (which
 *    is kept, first);
 *  - a loaded conf is whole: every index (services, checks) in range,
 *    names present and resolvable with conf_service_index(), values
 *    within the ranges DESIGN.md gives; backend and frontend names, which
 *    go on HAProxy's CLI line, hold only HAProxy's name characters (no ';',
 *    space or control byte), check headers no CR or LF;
 *  - no leak (LeakSanitizer, after conf_free() and conf_errors_free()).
 */
#include <stdbool.h>
#include <string.h>

#include "conf.h"
#include "fuzz.h"

#define FZ_NAME		"fuzz.json"
#define HOUR_MS		3600000LL
#define MAX_BACKENDS	4

struct fz_ov {
	struct conf_overrides	 ov;
	const char		*backends[MAX_BACKENDS];
	char			*vals[3 + MAX_BACKENDS];
	size_t			 nvals;
};

/* Collect "//@key value" lines into quick options. */
static void
ov_scan(struct fz_ov *o, const char *text)
{
	const char	*p = text, *nl, *v;
	char		*val;
	size_t		 n;

	memset(o, 0, sizeof(*o));
	o->ov.backends = o->backends;
	for (; p != NULL && *p != '\0'; p = nl != NULL ? nl + 1 : NULL) {
		nl = strchr(p, '\n');
		if (strncmp(p, "//@", 3) != 0)
			continue;
		if ((v = strchr(p, ' ')) == NULL || (nl != NULL && v > nl))
			continue;
		v++;
		n = nl != NULL ? (size_t)(nl - v) : strlen(v);
		if (o->nvals == sizeof(o->vals) / sizeof(o->vals[0]))
			break;
		val = strndup(v, n);
		FZ_CHECK(val != NULL);
		o->vals[o->nvals++] = val;
		if (strncmp(p, "//@stats ", 9) == 0)
			o->ov.stats = val;
		else if (strncmp(p, "//@http ", 8) == 0)
			o->ov.http = val;
		else if (strncmp(p, "//@agent ", 9) == 0)
			o->ov.agent = val;
		else if (strncmp(p, "//@backend ", 11) == 0 &&
		    o->ov.nbackends < MAX_BACKENDS)
			o->backends[o->ov.nbackends++] = val;
	}
}

static void
ov_free(struct fz_ov *o)
{
	size_t	i;

	for (i = 0; i < o->nvals; i++)
		free(o->vals[i]);
}

static void
check_errors(const struct conf_errors *e, size_t from)
{
	size_t	i;

	for (i = from; i < e->n; i++) {
		FZ_CHECK(e->msgs[i] != NULL);
		FZ_CHECK(strncmp(e->msgs[i], FZ_NAME ":",
		    sizeof(FZ_NAME)) == 0);
		FZ_CHECK(strlen(e->msgs[i]) > sizeof(FZ_NAME));
		FZ_CHECK(strchr(e->msgs[i], '\n') == NULL);
	}
}

#define ALNUM	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

/* 1 to max bytes, all from chars: a name that goes on HAProxy's CLI line
 * ("show stat NAME", "disable frontend NAME": no ';', space or control),
 * into metrics labels and agent replies. */
static bool
name_ok(const char *s, size_t max, const char *chars)
{
	size_t	n = strlen(s);

	return n >= 1 && n <= max && strspn(s, chars) == n;
}

static bool
in_range(int64_t v, int64_t lo, int64_t hi)
{
	return v >= lo && v <= hi;
}

static void
check_argv(char **argv)
{
	FZ_CHECK(argv != NULL && argv[0] != NULL && argv[0][0] != '\0');
}

static void
check_services(const struct conf *c)
{
	const struct conf_service	*s;
	const struct conf_cond		*cd;
	size_t				 i, j;

	FZ_CHECK(c->nservices >= 1 && c->services != NULL);
	for (i = 0; i < c->nservices; i++) {
		s = &c->services[i];
		FZ_CHECK(s->name != NULL && name_ok(s->name, 64, ALNUM "_.-"));
		FZ_CHECK(conf_service_index(c, s->name) == i);
		FZ_CHECK(in_range(s->up_after, 0, HOUR_MS));
		FZ_CHECK(in_range(s->down_after, 0, HOUR_MS));
		FZ_CHECK(s->nconds == 0 || s->conds != NULL);
		for (j = 0; j < s->nconds; j++) {
			cd = &s->conds[j];
			FZ_CHECK(cd->kind == COND_BACKEND ||
			    cd->kind == COND_ALL_BACKENDS ||
			    cd->kind == COND_CHECK);
			FZ_CHECK(cd->name != NULL);
			if (cd->kind == COND_ALL_BACKENDS)
				FZ_CHECK(strcmp(cd->name, "*") == 0);
			else if (cd->kind == COND_BACKEND)
				FZ_CHECK(name_ok(cd->name, 127, ALNUM "_.:-"));
			if (cd->kind == COND_CHECK) {
				FZ_CHECK(cd->check < c->nchecks);
				FZ_CHECK(strcmp(cd->name,
				    c->checks[cd->check].name) == 0);
			}
			FZ_CHECK(cd->min == -1 || in_range(cd->min, 0, 100000));
			FZ_CHECK(cd->min_percent == -1 ||
			    in_range(cd->min_percent, 1, 100));
		}
	}
}

static void
check_checks(const struct conf *c)
{
	const struct conf_check	*ch;
	size_t			 i, j;

	FZ_CHECK(c->nchecks == 0 || c->checks != NULL);
	for (i = 0; i < c->nchecks; i++) {
		ch = &c->checks[i];
		FZ_CHECK(ch->name != NULL && name_ok(ch->name, 64,
		    ALNUM "_.-"));
		for (j = 0; j < i; j++)
			FZ_CHECK(strcmp(c->checks[j].name, ch->name) != 0);
		FZ_CHECK(ch->kind == CHECK_HTTP || ch->kind == CHECK_TCP ||
		    ch->kind == CHECK_EXEC);
		FZ_CHECK(ch->target != NULL);
		if (ch->kind == CHECK_EXEC)
			check_argv(ch->argv);
		if (ch->kind == CHECK_TCP)
			FZ_CHECK(ch->addr.family == AF_INET ||
			    ch->addr.family == AF_INET6);
		FZ_CHECK(ch->nexpect == 0 || ch->expect != NULL);
		for (j = 0; j < ch->nexpect; j++)
			FZ_CHECK(in_range(ch->expect[j], 100, 599));
		FZ_CHECK(ch->nheaders == 0 || ch->headers != NULL);
		/* Headers go into every check request: no injection. */
		for (j = 0; j < ch->nheaders; j++) {
			FZ_CHECK(ch->headers[j].name != NULL &&
			    ch->headers[j].value != NULL);
			FZ_CHECK(name_ok(ch->headers[j].name, 256,
			    ALNUM "!#$%&'*+-.^_`|~"));
			FZ_CHECK(strpbrk(ch->headers[j].value, "\r\n") == NULL);
		}
		FZ_CHECK(in_range(ch->interval, 10, HOUR_MS));
		FZ_CHECK(in_range(ch->timeout, 10, HOUR_MS));
		FZ_CHECK(in_range(ch->rise, 1, 100));
		FZ_CHECK(in_range(ch->fall, 1, 100));
	}
}

static void
check_listens(const struct conf *c)
{
	const struct conf_listen	*l;
	size_t				 i, j;

	FZ_CHECK(c->nlistens == 0 || c->listens != NULL);
	for (i = 0; i < c->nlistens; i++) {
		l = &c->listens[i];
		FZ_CHECK(l->kind == LISTEN_HTTP || l->kind == LISTEN_AGENT ||
		    l->kind == LISTEN_TCP);
		FZ_CHECK(l->address != NULL);
		FZ_CHECK(l->addr.family == AF_UNIX ||
		    l->addr.family == AF_INET || l->addr.family == AF_INET6);
		FZ_CHECK(l->svc == CONF_NONE || l->svc < c->nservices);
		FZ_CHECK(l->npaths == 0 || l->paths != NULL);
		for (j = 0; j < l->npaths; j++) {
			FZ_CHECK(l->paths[j].path != NULL &&
			    l->paths[j].path[0] == '/');
			FZ_CHECK(l->paths[j].svc < c->nservices);
		}
		for (j = 0; j < SVC_NSTATES; j++)
			FZ_CHECK(in_range(l->codes[j], 200, 599) ||
			    l->kind != LISTEN_HTTP);
		FZ_CHECK(l->max_connections >= 1);
		FZ_CHECK(l->weight == 0 || in_range(l->weight, 1, 25600));
		/* Two listeners never share an address. */
		for (j = 0; j < i; j++)
			FZ_CHECK(strcmp(c->listens[j].addr.text,
			    l->addr.text) != 0 ||
			    c->listens[j].addr.family != l->addr.family);
	}
}

static void
check_conf(const struct conf *c)
{
	const struct conf_haproxy	*h = &c->haproxy;
	size_t				 i, j;

	FZ_CHECK(c->file != NULL && strcmp(c->file, FZ_NAME) == 0);
	FZ_CHECK(h->stats != NULL);
	FZ_CHECK(h->stats_kind == STATS_UNIX || h->stats_kind == STATS_TCP ||
	    h->stats_kind == STATS_HTTP);
	FZ_CHECK(in_range(h->interval, 10, HOUR_MS));
	FZ_CHECK(in_range(h->timeout, 10, HOUR_MS));
	FZ_CHECK(in_range(h->grace, 0, HOUR_MS));
	FZ_CHECK(in_range(h->settle, 0, HOUR_MS));
	FZ_CHECK(h->state_file_interval > 0);
	check_checks(c);
	check_services(c);
	check_listens(c);
	FZ_CHECK(c->nfrontends == 0 || c->frontends != NULL);
	for (i = 0; i < c->nfrontends; i++) {
		FZ_CHECK(c->frontends[i].name != NULL &&
		    name_ok(c->frontends[i].name, 127, ALNUM "_.:-"));
		FZ_CHECK(c->frontends[i].svc < c->nservices);
	}
	FZ_CHECK(c->nnotifies == 0 || c->notifies != NULL);
	for (i = 0; i < c->nnotifies; i++) {
		const struct conf_notify *n = &c->notifies[i];

		FZ_CHECK(n->kind == NOTIFY_WEBHOOK || n->kind == NOTIFY_EXEC ||
		    n->kind == NOTIFY_TRACK_FILE);
		FZ_CHECK(n->target != NULL);
		if (n->kind == NOTIFY_EXEC)
			check_argv(n->argv);
		FZ_CHECK(n->timeout >= 0);
		FZ_CHECK(n->nsvcs == 0 || n->svcs != NULL);
		for (j = 0; j < n->nsvcs; j++)
			FZ_CHECK(n->svcs[j] < c->nservices);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char			*text = fz_strndup(data, size);
	struct conf_errors	 e1 = { 0 }, e2 = { 0 }, e3 = { 0 };
	struct conf		*c1, *c2, *c3;
	struct fz_ov		 o;
	size_t			 i;

	ov_scan(&o, text);

	c1 = conf_load_string(FZ_NAME, text, &o.ov, &e1);
	FZ_CHECK((c1 == NULL) == (e1.n > 0));
	check_errors(&e1, 0);
	if (c1 != NULL)
		check_conf(c1);

	/* Again: the same answer, word for word. */
	c2 = conf_load_string(FZ_NAME, text, &o.ov, &e2);
	FZ_CHECK((c2 == NULL) == (c1 == NULL));
	FZ_CHECK(e2.n == e1.n);
	for (i = 0; i < e1.n; i++)
		FZ_CHECK(strcmp(e1.msgs[i], e2.msgs[i]) == 0);
	conf_free(c2);

	/* Without an error list, and with one that already holds an error. */
	c2 = conf_load_string(FZ_NAME, text, &o.ov, NULL);
	FZ_CHECK((c2 == NULL) == (c1 == NULL));
	conf_free(c2);
	e3.msgs = malloc(sizeof(char *));
	FZ_CHECK(e3.msgs != NULL);
	e3.msgs[0] = strdup("earlier: error");
	e3.n = 1;
	c3 = conf_load_string(FZ_NAME, text, &o.ov, &e3);
	FZ_CHECK((c3 == NULL) == (c1 == NULL));
	FZ_CHECK(e3.n == 1 + e1.n);
	FZ_CHECK(strcmp(e3.msgs[0], "earlier: error") == 0);
	check_errors(&e3, 1);
	conf_free(c3);

	conf_free(c1);
	conf_errors_free(&e1);
	conf_errors_free(&e2);
	conf_errors_free(&e3);
	ov_free(&o);
	free(text);
	return 0;
}
