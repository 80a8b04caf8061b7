/*
 * test_metrics.c: /metrics (agent/metrics.c): the counters, and the page
 * rendered from a view built without a daemon (view_fixture.h), against
 * data/golden_metrics.txt; checked to be well-formed Prometheus text
 * (exposition format 0.0.4) line by line, with the values that matter.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <ctype.h>
#include <math.h>

#include <cmocka.h>

#include "view_fixture.h"

/* ---- a Prometheus text format checker ------------------------------------ */

#define MAX_FAMILIES	128
#define MAX_SERIES	1024

struct prom {
	char	 fam[MAX_FAMILIES][96];	/* declared by HELP, in order */
	char	 type[MAX_FAMILIES][16];
	size_t	 nfam;
	size_t	 cur;			/* family of the last TYPE */
	char	*series[MAX_SERIES];	/* name{labels} seen */
	size_t	 nseries;
	/* the current histogram's buckets */
	double	 last_le, last_bucket;
	bool	 inf_seen;
	char	 err[256];
};

static bool PRINTF(2, 3)
prom_bad(struct prom *p, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(p->err, sizeof(p->err), fmt, ap);
	va_end(ap);
	return false;
}

static bool
prom_name(const char **p, bool colon)
{
	const char	*s = *p;

	if (!(isalpha((unsigned char)*s) || *s == '_' || (colon && *s == ':')))
		return false;
	while (isalnum((unsigned char)*s) || *s == '_' || (colon && *s == ':'))
		s++;
	*p = s;
	return true;
}

static bool
prom_value(const char *s, double *v)
{
	char	*end;

	if (strcmp(s, "+Inf") == 0 || strcmp(s, "-Inf") == 0 ||
	    strcmp(s, "NaN") == 0) {
		*v = s[0] == '-' ? -INFINITY : s[0] == '+' ? INFINITY : NAN;
		return true;
	}
	if (!isdigit((unsigned char)s[0]) && s[0] != '-' && s[0] != '+' &&
	    s[0] != '.')
		return false;
	*v = strtod(s, &end);
	return end != s && *end == '\0';
}

static size_t
prom_family(const struct prom *p, const char *name, size_t len)
{
	size_t	i;

	for (i = 0; i < p->nfam; i++)
		if (strlen(p->fam[i]) == len && memcmp(p->fam[i], name, len) == 0)
			return i;
	return SIZE_MAX;
}

/* "# HELP name text" then "# TYPE name type", once each per family. */
static bool
prom_comment(struct prom *p, const char *line)
{
	const char	*s = line + 7, *e = s;
	size_t		 f;

	if (strncmp(line, "# HELP ", 7) != 0 && strncmp(line, "# TYPE ", 7) != 0)
		return prom_bad(p, "unknown comment: %s", line);
	if (!prom_name(&e, true) || *e != ' ' || e[1] == '\0')
		return prom_bad(p, "bad comment: %s", line);
	f = prom_family(p, s, (size_t)(e - s));
	if (line[2] == 'H') {
		if (f != SIZE_MAX)
			return prom_bad(p, "HELP twice: %s", line);
		assert_true(p->nfam < MAX_FAMILIES);
		f = p->nfam++;
		snprintf(p->fam[f], sizeof(p->fam[f]), "%.*s", (int)(e - s), s);
		p->cur = SIZE_MAX;	/* no samples before its TYPE */
		return true;
	}
	if (f == SIZE_MAX || p->type[f][0] != '\0' || f != p->nfam - 1)
		return prom_bad(p, "TYPE without its HELP, or twice: %s", line);
	if (strcmp(e + 1, "counter") != 0 && strcmp(e + 1, "gauge") != 0 &&
	    strcmp(e + 1, "histogram") != 0)
		return prom_bad(p, "bad type: %s", line);
	snprintf(p->type[f], sizeof(p->type[f]), "%s", e + 1);
	p->cur = f;
	p->last_le = -INFINITY;
	p->last_bucket = 0;
	p->inf_seen = false;
	return true;
}

/* {a="x",b="y\"z"}: returns the end, or NULL; le gets le's value. */
static const char *
prom_labels(const char *s, char *le, size_t lelen)
{
	if (*s != '{')
		return s;
	s++;
	while (*s != '}') {
		const char	*n = s, *v;

		if (!prom_name(&s, false) || s[0] != '=' || s[1] != '"')
			return NULL;
		v = s += 2;
		for (; *s != '"'; s++) {
			if (*s == '\0' || *s == '\n')
				return NULL;
			if (*s == '\\' && s[1] != '\\' && s[1] != '"' && s[1] != 'n')
				return NULL;
			if (*s == '\\')
				s++;
		}
		if (strncmp(n, "le=", 3) == 0)
			snprintf(le, lelen, "%.*s", (int)(s - v), v);
		s++;
		if (*s == ',')
			s++;
		else if (*s != '}')
			return NULL;
	}
	return s + 1;
}

/* A histogram's series: buckets rising to +Inf, _sum, _count = +Inf. */
static bool
prom_histogram(struct prom *p, const char *line, const char *suffix,
    const char *le, double v)
{
	double	bound;

	if (strncmp(suffix, "_bucket", 7) == 0 && (suffix[7] == '{' ||
	    suffix[7] == ' ')) {
		if (!prom_value(le, &bound) || bound <= p->last_le ||
		    v < p->last_bucket || p->inf_seen)
			return prom_bad(p, "bucket out of order: %s", line);
		p->last_le = bound;
		p->last_bucket = v;
		p->inf_seen = isinf(bound);
	} else if (strncmp(suffix, "_count ", 7) == 0) {
		if (!p->inf_seen || v != p->last_bucket)
			return prom_bad(p, "_count is not the +Inf bucket: %s",
			    line);
	} else if (strncmp(suffix, "_sum ", 5) != 0) {
		return prom_bad(p, "not a histogram series: %s", line);
	}
	return true;
}

static bool
prom_sample(struct prom *p, const char *line)
{
	const char	*s = line, *name_end, *end;
	char		 le[32] = "";
	size_t		 f = p->cur, i, fl;
	double		 v;

	if (!prom_name(&s, true))
		return prom_bad(p, "bad metric name: %s", line);
	name_end = s;
	if ((end = prom_labels(s, le, sizeof(le))) == NULL || *end != ' ' ||
	    !prom_value(end + 1, &v))
		return prom_bad(p, "bad sample: %s", line);
	/* Samples follow their family's TYPE, all together. */
	if (f == SIZE_MAX)
		return prom_bad(p, "sample before its TYPE: %s", line);
	fl = strlen(p->fam[f]);
	if (strcmp(p->type[f], "histogram") == 0) {
		if (strncmp(line, p->fam[f], fl) != 0 ||
		    !prom_histogram(p, line, line + fl, le, v))
			return prom_bad(p, "%s", p->err[0] ? p->err :
			    "sample outside its family");
	} else if ((size_t)(name_end - line) != fl ||
	    strncmp(line, p->fam[f], fl) != 0) {
		return prom_bad(p, "sample outside its family: %s", line);
	}
	for (i = 0; i < p->nseries; i++)
		if (strlen(p->series[i]) == (size_t)(end - line) &&
		    strncmp(p->series[i], line, (size_t)(end - line)) == 0)
			return prom_bad(p, "series twice: %s", line);
	assert_true(p->nseries < MAX_SERIES);
	p->series[p->nseries++] = xstrndup(line, (size_t)(end - line));
	return true;
}

static bool
prom_lines(struct prom *p, char *page)
{
	char	*line, *next;
	size_t	 i;

	if (page[0] == '\0' || page[strlen(page) - 1] != '\n')
		return prom_bad(p, "no final newline");
	for (line = page; *line != '\0'; line = next) {
		next = strchr(line, '\n');
		*next++ = '\0';
		if (line[0] == '\0')
			return prom_bad(p, "empty line");
		if (!(line[0] == '#' ? prom_comment(p, line) :
		    prom_sample(p, line)))
			return false;
	}
	for (i = 0; i < p->nfam; i++)
		if (p->type[i][0] == '\0')
			return prom_bad(p, "%s: no TYPE", p->fam[i]);
	return true;
}

/*
 * Check a whole page. Returns the number of families, or 0 with the
 * first fault in err.
 */
static size_t
prom_check(const char *page, char *err, size_t errlen)
{
	struct prom	*p = xcalloc(1, sizeof(*p));
	char		*copy = xstrdup(page);
	size_t		 i, n;

	n = prom_lines(p, copy) ? p->nfam : 0;
	snprintf(err, errlen, "%s", p->err);
	for (i = 0; i < p->nseries; i++)
		free(p->series[i]);
	free(p);
	free(copy);
	return n;
}

/* page must be well-formed; returns its number of families. */
static size_t
prom_ok(const char *page)
{
	char	err[256];
	size_t	n = prom_check(page, err, sizeof(err));

	if (n == 0)
		fail_msg("not Prometheus text: %s", err);
	return n;
}

/* The value of one series ("name{labels}"), which must be there once. */
static double
sample(const char *page, const char *series)
{
	char		*key = xasprintf("\n%s ", series);
	const char	*at = strstr(page, key);
	double		 v;

	if (at == NULL)
		fail_msg("no series %s", series);
	if (strstr(at + 1, key) != NULL)
		fail_msg("series %s twice", series);
	v = strtod(at + strlen(key), NULL);
	free(key);
	return v;
}

/* ---- tests ---------------------------------------------------------------- */

static char *
render(const struct view *v)
{
	struct sbuf	out = { 0 };

	metrics_render(v, &out);
	assert_non_null(out.data);
	return out.data;
}

static void
test_metrics_golden(void **state)
{
	struct vfix	 x;
	char		*page;

	vf_init(&x);
	page = render(&x.v);
	vf_golden("metrics.txt", page, "version=\"", "\"");
	free(page);
	vf_free(&x);
}

static void
test_metrics_well_formed(void **state)
{
	struct vfix	 x;
	char		*page;

	vf_init(&x);
	page = render(&x.v);
	assert_true(prom_ok(page) >= 20);
	free(page);
	/* And with no snapshot, no checks, nothing counted. */
	metrics_free(x.metrics);
	x.metrics = metrics_new();
	x.v.metrics = x.metrics;
	x.v.haproxy.snap = NULL;
	page = render(&x.v);
	prom_ok(page);
	assert_null(strstr(page, "hapwatch_backend_active_servers{"));
	assert_true(sample(page, "hapwatch_stats_poll_duration_seconds_count")
	    == 0);
	free(page);
	vf_free(&x);
}

/* The checker itself refuses what Prometheus would not take. */
static void
test_checker_refuses(void **state)
{
#define H	"# HELP a_total A.\n# TYPE a_total counter\n"
#define HH	"# HELP h H.\n# TYPE h histogram\n"
	static const char *const bad[] = {
		"",					/* empty page */
		H "a_total 1",				/* no final newline */
		H "a_total 1\n\n",			/* empty line */
		"a_total 1\n",				/* no TYPE */
		"# TYPE a_total counter\na_total 1\n",	/* no HELP */
		H "# HELP a_total again\n",		/* HELP twice */
		H "# TYPE a_total gauge\n",		/* TYPE twice */
		"# HELP a_total A.\n# TYPE a_total count\n",
		"# HELP a_total A.\na_total 1\n# TYPE a_total counter\n",
		H "b_total 1\n",			/* another family */
		H "a_total{x=\"1\"} 1\na_total{x=\"1\"} 2\n",
		H "a_total{x=\"\\q\"} 1\n",		/* bad escape */
		H "a_total{x=\"1} 1\n",			/* unclosed */
		H "a_total{x=1} 1\n",			/* unquoted */
		H "a_total{1x=\"1\"} 1\n",		/* label name */
		H "a_total one\n",			/* value */
		H "a_total 1 \n",
		H "a_total\n",
		H "# something\n",
		HH "h_bucket{le=\"2\"} 1\nh_bucket{le=\"1\"} 1\n",
		HH "h_bucket{le=\"1\"} 2\nh_bucket{le=\"2\"} 1\n",
		HH "h_bucket{le=\"1\"} 1\nh_count 1\n",	/* no +Inf */
		HH "h_bucket{le=\"+Inf\"} 1\nh_count 2\n",
		HH "h_total 1\n",
	};
	static const char *const good[] = {
		H "a_total 1\n",
		H "a_total{x=\"q\\\"\\\\\\n\",y=\"\"} 1.5e3\n",
		HH "h_bucket{le=\"0.5\"} 1\nh_bucket{le=\"+Inf\"} 2\n"
		    "h_sum 3.25\nh_count 2\n" H "a_total NaN\n",
	};
	char	err[256];
	size_t	i;

	for (i = 0; i < ARRAY_SIZE(bad); i++)
		if (prom_check(bad[i], err, sizeof(err)) != 0)
			fail_msg("accepted bad page %zu:\n%s", i, bad[i]);
	for (i = 0; i < ARRAY_SIZE(good); i++)
		if (prom_check(good[i], err, sizeof(err)) == 0)
			fail_msg("refused good page %zu: %s", i, err);
#undef H
#undef HH
}

/* The fixture's page, series by series. */
static const struct {
	const char	*series;
	double		 value;
} values[] = {
	/* Services: effective state, one-hot; drain is not up. */
	{ "hapwatch_service_up{service=\"web\"}", 1 },
	{ "hapwatch_service_up{service=\"first\"}", 0 },
	{ "hapwatch_service_up{service=\"be\"}", 0 },
	{ "hapwatch_service_state{service=\"be\",state=\"drain\"}", 1 },
	{ "hapwatch_service_state{service=\"be\",state=\"up\"}", 0 },
	{ "hapwatch_service_transitions_total{service=\"be\"}", 2 },
	{ "hapwatch_condition_nbsrv{service=\"first\",proxy=\"bk_all\"}", 2 },
	/* Backends, from the capture. */
	{ "hapwatch_backend_active_servers{proxy=\"be\"}", 3 },
	{ "hapwatch_backend_backup_servers{proxy=\"bk_all\"}", 2 },
	{ "hapwatch_backend_servers{proxy=\"web\"}", 3 },
	/* Polls: bucket bounds are inclusive. */
	{ "hapwatch_stats_poll_duration_seconds_bucket{le=\"0.001\"}", 2 },
	{ "hapwatch_stats_poll_duration_seconds_bucket{le=\"0.002\"}", 3 },
	{ "hapwatch_stats_poll_duration_seconds_bucket{le=\"1\"}", 5 },
	{ "hapwatch_stats_poll_duration_seconds_bucket{le=\"+Inf\"}", 6 },
	{ "hapwatch_stats_poll_duration_seconds_sum", 3.132801 },
	{ "hapwatch_stats_errors_total{reason=\"timeout\"}", 1 },
	{ "hapwatch_haproxy_reloads_total", 2 },
	/* Answers and errors. */
	{ "hapwatch_http_requests_total{code=\"200\"}", 3 },
	{ "hapwatch_http_requests_total{code=\"other\"}", 1 },
	{ "hapwatch_agent_replies_total{state=\"drain\"}", 1 },
	{ "hapwatch_connection_errors_total{reason=\"silent\"}", 2 },
	{ "hapwatch_check_up{check=\"db\"}", 0 },
	/* Given up and dropped webhooks are both failures. */
	{ "hapwatch_webhook_failures_total", 3 },
	{ "hapwatch_track_file_writes_total", 5 },
	{ "hapwatch_config_reload_failures_total", 1 },
};

static void
test_metrics_values(void **state)
{
	struct vfix	 x;
	char		*page, *build;
	size_t		 i;

	vf_init(&x);
	page = render(&x.v);
	for (i = 0; i < ARRAY_SIZE(values); i++)
		if (fabs(sample(page, values[i].series) - values[i].value) > 1e-9)
			fail_msg("%s: %g, want %g", values[i].series,
			    sample(page, values[i].series), values[i].value);
	/* An absent backend has no nbsrv series. */
	assert_null(strstr(page, "proxy=\"nosuch\""));
	/* Without a log trigger or state file, their families are absent. */
	assert_null(strstr(page, "hapwatch_log_lines_total"));
	assert_null(strstr(page, "hapwatch_state_file_saves_total"));
	build = xasprintf("hapwatch_build_info{version=\"%s\"}", HW_VERSION);
	assert_true(sample(page, build) == 1);
	free(build);
	free(page);
	vf_free(&x);
}

/* Label values are escaped: backslash, quote, newline. */
static void
test_metrics_label_escaping(void **state)
{
	static char		 odd[] = "a\"b\\c\nd";
	struct vfix		 x;
	struct conf_service	 cs;
	const struct conf_service *saved;
	char			*page;

	vf_init(&x);
	saved = x.svcs[0].conf;
	cs = *saved;
	cs.name = odd;
	x.svcs[0].conf = &cs;
	page = render(&x.v);
	prom_ok(page);
	assert_true(sample(page,
	    "hapwatch_service_up{service=\"a\\\"b\\\\c\\nd\"}") == 1);
	free(page);
	x.svcs[0].conf = saved;
	vf_free(&x);
}

static void
test_counters(void **state)
{
	struct metrics	*m = metrics_new();
	int		 c;

	for (c = 0; c < MC_NCOUNTERS; c++)
		assert_int_equal(metrics_get(m, (enum metric_counter)c), 0);
	metrics_inc(m, MC_HOOK_RUNS);
	metrics_inc(m, MC_HOOK_RUNS);
	assert_int_equal(metrics_get(m, MC_HOOK_RUNS), 2);
	assert_int_equal(metrics_get(m, MC_HOOK_FAILURES), 0);
	metrics_conn_error(m, CONN_ERR_PROXY);
	assert_int_equal(metrics_conn_errors(m, CONN_ERR_PROXY), 1);
	assert_int_equal(metrics_conn_errors(m, CONN_ERR_ACCEPT), 0);
	metrics_poll(m, POLL_OK, 10);
	metrics_poll(m, POLL_EGARBLED, 10);
	assert_int_equal(metrics_polls(m)->polls, 2);
	assert_int_equal(metrics_polls(m)->errors, 1);
	assert_int_equal(metrics_polls(m)->errors_by[POLL_EGARBLED], 1);
	assert_int_equal(metrics_polls(m)->errors_by[POLL_OK], 0);
	assert_int_equal(metrics_polls(m)->hist[0], 2);
	metrics_free(m);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_counters),
		cmocka_unit_test(test_metrics_golden),
		cmocka_unit_test(test_metrics_well_formed),
		cmocka_unit_test(test_checker_refuses),
		cmocka_unit_test(test_metrics_values),
		cmocka_unit_test(test_metrics_label_escaping),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
