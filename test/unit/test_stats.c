/*
 * test_stats.c: checks/stats.c against real HAProxy output: the captures
 * of test/unit/data/ (hap26_* from Debian's 2.6.12, hap30_*, hap32_* and
 * hap34_* from Debian's 3.0, 3.2 and 3.4; test/fuzz/capture_versions.py
 * wrote them, data/README.md says what they hold) held against the
 * expectations below, written from HAPROXY.md, and synthetic input.
 * test_stats_versions.c holds the same captures against what HAProxy
 * itself said while they were taken.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "stats.h"
#include "captures.h"

/* Parse one buffer into a fresh snapshot; must succeed. */
static void
parse_ok(struct stats_snapshot *snap, const char *buf, size_t len)
{
	char	 err[128] = "";

	if (!stats_parse_csv(buf, len, snap, err, sizeof(err)))
		fail_msg("parse failed: %s", err);
	stats_snapshot_finish(snap);
}

static void
parse_file_ok(struct stats_snapshot *snap, const char *path)
{
	char	*buf;
	size_t	 len;

	buf = slurp(path, &len);
	parse_ok(snap, buf, len);
	free(buf);
}

/* Parse hapMN_<what> of version ver; must succeed. */
static void
parse_cap_ok(struct stats_snapshot *snap, const char *ver, const char *what)
{
	char	*buf, err[128] = "";
	size_t	 len;

	buf = cap_slurp(ver, what, &len);
	if (!stats_parse_csv(buf, len, snap, err, sizeof(err)))
		fail_msg("%s_%s: parse failed: %s", ver, what, err);
	stats_snapshot_finish(snap);
	free(buf);
}

/* Parse a NUL-terminated string; must fail with err containing want. */
static void
parse_bad(const char *s, const char *want)
{
	struct stats_snapshot	 snap;
	char			 err[128] = "";

	memset(&snap, 0, sizeof(snap));
	if (stats_parse_csv(s, strlen(s), &snap, err, sizeof(err)))
		fail_msg("accepted: %s", s);
	assert_int_equal(snap.nbackends, 0);
	assert_true(err[0] != '\0');
	if (want != NULL && strstr(err, want) == NULL)
		fail_msg("error \"%s\" lacks \"%s\" for: %s", err, want, s);
	stats_snapshot_clear(&snap);
}

static const struct stats_backend *
find(const struct stats_snapshot *snap, const char *name)
{
	const struct stats_backend *be = stats_find_backend(snap, name);

	if (be == NULL)
		fail_msg("backend %s not found", name);
	return be;
}

/* Expected state of one backend after a full "show stat" (type 1 + 2). */
struct be_want {
	const char	*name;
	bool		 up;		/* backend status begins with "UP" */
	int		 act, bck;
	bool		 has_servers;
	int		 srv_active, srv_active_usable;
	int		 srv_backup, srv_backup_usable;
	int		 nbsrv, nbsrv_allbackups;
	int		 capacity;	/* with nbsrv (no allbackups) */
};

/*
 * Every capture's world (data/hapMN_haproxy.cfg), the same on every
 * version. The nbsrv rows are HAPROXY.md section 2's table.
 */
static const struct be_want want_cli[] = {
	/* listen section without servers */
	{ "stats",	true,  0, 0, false, 0, 0, 0, 0, 0, 0, 0 },
	/* 2 of 3 actives UP */
	{ "web",	true,  2, 0, true,  3, 2, 0, 0, 2, 2, 66 },
	/* no checks; one at weight 0: not usable, status still "no check" */
	{ "api.v2:x-1",	true,  1, 0, true,  2, 1, 0, 0, 1, 1, 50 },
	/* 1 active DOWN, 2 backups UP: nbsrv 1 / 2 with allbackups */
	{ "bk_first",	true,  0, 2, true,  1, 0, 2, 2, 1, 2, 0 },
	{ "bk_all",	true,  0, 2, true,  1, 0, 2, 2, 1, 2, 0 },
	/* backups only: no active configured, so 100 while nbsrv >= 1 */
	{ "bkonly",	true,  0, 2, true,  0, 0, 2, 2, 1, 2, 100 },
	/* no servers: status UP, act 0, bck 0 */
	{ "empty",	true,  0, 0, false, 0, 0, 0, 0, 0, 0, 0 },
	/* actives drained and at weight 0, one backup UP */
	{ "drained",	true,  0, 1, true,  2, 0, 1, 1, 1, 1, 0 },
	/* every server DOWN: status DOWN */
	{ "alldown",	false, 0, 0, true,  1, 0, 1, 0, 0, 0, 0 },
	/* one per state: UP, no check and UP 1/2 are the usable ones */
	{ "be",		true,  3, 1, true, 11, 3, 1, 1, 3, 3, 27 },
	{ "slow",	true,  3, 0, true,  3, 3, 0, 0, 3, 3, 100 },
	/* agent-only servers: "no check" when UP, DRAIN/DOWN (agent) */
	{ "agents",	true,  1, 0, true,  3, 1, 0, 0, 1, 1, 33 },
	/* 3.4 only, unpublished: counted as if published ("UP (UNPUB)") */
	{ "unpub",	true,  2, 0, true,  3, 2, 0, 0, 2, 2, 66 },
	{ "unpub_down",	false, 0, 0, true,  1, 0, 0, 0, 0, 0, 0 },
	{ "unpub_empty", true, 0, 0, false, 0, 0, 0, 0, 0, 0, 0 },
	{ "unpub_bk",	true,  0, 1, true,  1, 0, 1, 1, 1, 1, 0 },
};
#define WANT_UNPUB	4	/* the last entries, 3.4 only */

/* How many of want_cli's backends version ver has. */
static size_t
nwant(const char *ver)
{
	return ARRAY_SIZE(want_cli) - (cap_has_unpub(ver) ? 0 : WANT_UNPUB);
}

static const struct be_want *
want_named(const char *name)
{
	size_t	 i;

	for (i = 0; i < ARRAY_SIZE(want_cli); i++)
		if (strcmp(want_cli[i].name, name) == 0)
			return &want_cli[i];
	fail_msg("no want entry for %s", name);
	return NULL;
}

static void
check_backend(const struct stats_snapshot *snap, const struct be_want *w,
    bool servers)
{
	const struct stats_backend	*be = find(snap, w->name);

	assert_string_equal(be->name, w->name);
	assert_true(be->has_row);
	assert_int_equal(be->status_up, w->up);
	assert_int_equal(be->act, w->act);
	assert_int_equal(be->bck, w->bck);
	assert_int_equal(be->has_servers, w->has_servers);
	assert_int_equal(stats_nbsrv(be->act, be->bck, false), w->nbsrv);
	assert_int_equal(stats_nbsrv(be->act, be->bck, true),
	    w->nbsrv_allbackups);
	if (!servers) {
		assert_false(be->have_servers_rows);
		assert_int_equal(stats_capacity(be, w->nbsrv),
		    w->has_servers ? -1 : 0);
		return;
	}
	assert_int_equal(be->have_servers_rows, w->has_servers);
	assert_int_equal(be->srv_active, w->srv_active);
	assert_int_equal(be->srv_active_usable, w->srv_active_usable);
	assert_int_equal(be->srv_backup, w->srv_backup);
	assert_int_equal(be->srv_backup_usable, w->srv_backup_usable);
	assert_int_equal(stats_capacity(be, w->nbsrv), w->capacity);
}

static void
check_backends(const struct stats_snapshot *snap, const struct be_want *w,
    size_t n, bool servers)
{
	size_t	 i;

	assert_int_equal(snap->nbackends, n);
	for (i = 0; i < n; i++)
		check_backend(snap, &w[i], servers);
	/* Frontend rows are not backends; a disabled backend has no row;
	 * names come out sorted. */
	assert_null(stats_find_backend(snap, "fe_only"));
	assert_null(stats_find_backend(snap, "hw_nbsrv"));
	assert_null(stats_find_backend(snap, "nosuch"));
	assert_null(stats_find_backend(snap, "off"));
	for (i = 1; i < snap->nbackends; i++)
		assert_true(strcmp(snap->backends[i - 1].name,
		    snap->backends[i].name) < 0);
}

/* One capture of every version against want_cli. */
static void
check_versions(const char *what, bool servers)
{
	struct stats_snapshot	 snap;
	size_t			 v;

	for (v = 0; v < CAP_NVERSIONS; v++) {
		print_message("%s_%s\n", cap_versions[v], what);
		memset(&snap, 0, sizeof(snap));
		parse_cap_ok(&snap, cap_versions[v], what);
		check_backends(&snap, want_cli, nwant(cap_versions[v]),
		    servers);
		stats_snapshot_clear(&snap);
	}
}

static void
test_csv_cli_full(void **state)
{
	struct stats_snapshot	 snap;
	char			*buf;
	size_t			 len, v;

	(void)state;
	check_versions("show_stat.csv", true);
	check_versions("show_stat_-1_6_-1.csv", true);
	/* A user-level socket gives the same rows (no addr/cookie). */
	check_versions("show_stat_-1_6_-1_user.csv", true);
	for (v = 0; v < CAP_NVERSIONS; v++) {
		buf = cap_slurp(cap_versions[v], "show_stat.csv", &len);
		/* The CLI adds a blank line after the output. */
		assert_true(len > 2 && buf[len - 1] == '\n' &&
		    buf[len - 2] == '\n');
		/* The same without the trailing blank line. */
		memset(&snap, 0, sizeof(snap));
		parse_ok(&snap, buf, len - 1);
		check_backends(&snap, want_cli, nwant(cap_versions[v]), true);
		stats_snapshot_clear(&snap);
		assert_int_equal(snap.nbackends, 0);
		assert_null(snap.backends);
		free(buf);
	}
}

static void
test_csv_stats_page(void **state)
{
	struct stats_snapshot	 snap;
	char			*buf, *buf2;
	size_t			 len, v;

	(void)state;
	check_versions("stats_page.csv", true);
	for (v = 0; v < CAP_NVERSIONS; v++) {
		buf = cap_slurp(cap_versions[v], "stats_page.csv", &len);
		/* The stats page has no trailing blank line. */
		assert_true(len > 2 && buf[len - 1] == '\n' &&
		    buf[len - 2] != '\n');
		/* And with one added. */
		buf2 = xmalloc(len + 1);
		memcpy(buf2, buf, len);
		buf2[len] = '\n';
		memset(&snap, 0, sizeof(snap));
		parse_ok(&snap, buf2, len + 1);
		check_backends(&snap, want_cli, nwant(cap_versions[v]), true);
		stats_snapshot_clear(&snap);
		free(buf2);
		free(buf);
	}
}

/*
 * Column positions differ: 2.6's 128 columns, 3.0's 205, 3.2's 207 and
 * 3.4's 213 (new columns after 99, and module columns after "-"), and
 * each version's columns reversed, where every column read moves.
 */
static void
test_csv_header_by_name(void **state)
{
	(void)state;
	check_versions("show_stat_reversed.csv", true);
}

static void
test_csv_backend_rows_only(void **state)
{
	(void)state;
	check_versions("show_stat_-1_2_-1.csv", false);
	/* "up" modifier: "UP (7/12)", "UP (0/0)" for the empty backend,
	 * and 3.4's "UP (UNPUB) (2/3)". */
	check_versions("show_stat_-1_2_-1_up.csv", false);
}

static void
test_csv_server_rows_only(void **state)
{
	struct stats_snapshot		 snap;
	const struct stats_backend	*be;
	size_t				 v;

	(void)state;
	for (v = 0; v < CAP_NVERSIONS; v++) {
		memset(&snap, 0, sizeof(snap));
		parse_cap_ok(&snap, cap_versions[v], "show_stat_-1_4_-1.csv");
		/* Backends with servers only; no backend row. */
		assert_int_equal(snap.nbackends,
		    cap_has_unpub(cap_versions[v]) ? 13 : 10);
		assert_null(stats_find_backend(&snap, "empty"));
		assert_null(stats_find_backend(&snap, "stats"));
		be = find(&snap, "web");
		assert_false(be->has_row);
		assert_true(be->has_servers);
		assert_true(be->have_servers_rows);
		assert_int_equal(be->srv_active, 3);
		assert_int_equal(be->srv_active_usable, 2);
		assert_int_equal(stats_capacity(be, 2), 66);
		be = find(&snap, "drained");
		assert_int_equal(be->srv_active, 2);
		assert_int_equal(be->srv_active_usable, 0);
		assert_int_equal(be->srv_backup, 1);
		assert_int_equal(be->srv_backup_usable, 1);
		be = find(&snap, "be");
		assert_int_equal(be->srv_active, 11);
		assert_int_equal(be->srv_active_usable, 3);
		stats_snapshot_clear(&snap);
	}
}

/* Several "show stat <be> 6 -1" outputs merged into one snapshot. */
static void
test_csv_merge_version(const char *ver)
{
	static const char *const multi[] = {
		"bk_first", "bk_all", "empty", "drained",
	};
	struct stats_snapshot		 snap;
	const struct stats_backend	*be;
	char				*buf, *p, *end, *nl;
	size_t				 len, nseg = 0, i;
	int				 round;

	/* Backend rows first, then one backend's servers, finish between. */
	memset(&snap, 0, sizeof(snap));
	parse_cap_ok(&snap, ver, "show_stat_-1_2_-1.csv");
	parse_cap_ok(&snap, ver, "show_stat_be_6_-1.csv");
	assert_int_equal(snap.nbackends, nwant(ver));
	be = find(&snap, "be");
	assert_true(be->has_row && be->have_servers_rows);
	assert_int_equal(be->srv_active, 11);
	assert_int_equal(be->srv_active_usable, 3);
	assert_int_equal(stats_capacity(be, stats_nbsrv(be->act, be->bck,
	    false)), 27);
	/* The same output again replaces, never adds up. */
	parse_cap_ok(&snap, ver, "show_stat_be_6_-1.csv");
	be = find(&snap, "be");
	assert_int_equal(be->srv_active, 11);
	assert_int_equal(be->srv_backup, 1);
	parse_cap_ok(&snap, ver, "show_stat_web_6_-1.csv");
	parse_cap_ok(&snap, ver, "show_stat_agents_6_-1.csv");
	assert_int_equal(snap.nbackends, nwant(ver));
	assert_int_equal(stats_capacity(find(&snap, "web"), 2), 66);
	assert_int_equal(stats_capacity(find(&snap, "agents"), 1), 33);
	assert_int_equal(stats_capacity(find(&snap, "empty"), 0), 0);
	assert_int_equal(stats_capacity(find(&snap, "bk_first"), 1), -1);
	stats_snapshot_clear(&snap);

	/*
	 * One CLI line "show stat bk_first 6 -1;show stat bk_all 6 -1;...":
	 * each output ends with a blank line; feed them one by one, once
	 * with a finish after each and once with a finish at the end.
	 */
	buf = cap_slurp(ver, "show_stat_multi.txt", &len);
	for (round = 0; round < 2; round++) {
		memset(&snap, 0, sizeof(snap));
		end = buf + len;
		for (p = buf, nseg = 0; p < end; p = nl + 2, nseg++) {
			nl = strstr(p, "\n\n");
			assert_non_null(nl);
			if (round == 0)
				parse_ok(&snap, p, (size_t)(nl + 2 - p));
			else {
				char err[128];

				assert_true(stats_parse_csv(p,
				    (size_t)(nl + 2 - p), &snap, err,
				    sizeof(err)));
			}
		}
		/* Appended unsorted: bk_first, bk_all, empty, drained. */
		if (round == 1)
			assert_string_equal(snap.backends[0].name, "bk_first");
		stats_snapshot_finish(&snap);
		assert_int_equal(nseg, ARRAY_SIZE(multi));
		assert_int_equal(snap.nbackends, ARRAY_SIZE(multi));
		for (i = 0; i < ARRAY_SIZE(multi); i++)
			check_backend(&snap, want_named(multi[i]), true);
		stats_snapshot_clear(&snap);
	}
	free(buf);

	/* The whole multi-output buffer is not one output. */
	buf = cap_slurp(ver, "show_stat_multi.txt", &len);
	buf[len - 1] = '\0';
	parse_bad(buf, "after the blank line");
	free(buf);
}

static void
test_csv_merge(void **state)
{
	size_t	 v;

	(void)state;
	for (v = 0; v < CAP_NVERSIONS; v++)
		test_csv_merge_version(cap_versions[v]);
}

/* show stat <frontend-only> 2 -1: the header alone. */
static void
test_csv_header_only(void **state)
{
	struct stats_snapshot	 snap;
	size_t			 v;

	(void)state;
	for (v = 0; v < CAP_NVERSIONS; v++) {
		memset(&snap, 0, sizeof(snap));
		parse_cap_ok(&snap, cap_versions[v],
		    "show_stat_fe_only_2_-1.txt");
		assert_int_equal(snap.nbackends, 0);
		assert_null(stats_find_backend(&snap, "fe_only"));
		stats_snapshot_clear(&snap);
	}
}
/*
 * Right after start, before most first checks: 2.6-3.2 show "UP 1/3",
 * 3.4 "UP -1/3" (slow: rise 2 fall 3) and "UP 0/1" (rise 1 fall 1), and
 * HAProxy counts them all in act. So must hapwatch: every backend's usable
 * servers are its row's act and bck.
 */
static void
test_csv_startup(void **state)
{
	struct stats_snapshot		 snap;
	const struct stats_backend	*be;
	char				*buf;
	size_t				 len, v, i;

	(void)state;
	for (v = 0; v < CAP_NVERSIONS; v++) {
		buf = cap_slurp(cap_versions[v], "show_stat_startup.csv", &len);
		/* The case is in the capture. */
		assert_non_null(strstr(buf, strcmp(cap_versions[v], "hap34") ==
		    0 ? "\nslow,s1,0,0,0,0,,0,0,0,,0,,0,0,0,0,UP -1/3," :
		    "\nslow,s1,0,0,0,0,,0,0,0,,0,,0,0,0,0,UP 1/3,"));
		memset(&snap, 0, sizeof(snap));
		parse_ok(&snap, buf, len);
		assert_int_equal(snap.nbackends, nwant(cap_versions[v]));
		for (i = 0; i < snap.nbackends; i++) {
			be = &snap.backends[i];
			assert_true(be->has_row);
			if (be->srv_active_usable != be->act ||
			    be->srv_backup_usable != be->bck)
				fail_msg("%s %s: %d/%d usable, HAProxy's row says "
				    "act %d bck %d", cap_versions[v], be->name,
				    be->srv_active_usable, be->srv_backup_usable,
				    be->act, be->bck);
		}
		be = find(&snap, "slow");
		assert_int_equal(be->act, 3);
		assert_int_equal(stats_capacity(be, stats_nbsrv(be->act, be->bck,
		    false)), 100);
		stats_snapshot_clear(&snap);
		free(buf);
	}
}

static void
test_csv_quoting(void **state)
{
	struct stats_snapshot		 snap;
	const struct stats_backend	*be;
	const char			*s;

	(void)state;
	/* Live: last_agt "via agent : up (all, ""good"")" keeps columns. */
	memset(&snap, 0, sizeof(snap));
	parse_file_ok(&snap, DATA("hap26_show_stat_agents_6_-1.csv"));
	be = find(&snap, "agents");
	assert_int_equal(be->srv_active, 3);
	assert_int_equal(be->srv_active_usable, 1);
	stats_snapshot_clear(&snap);

	/* Quoted names with commas, doubled quotes, CR and LF inside. */
	s = "# pxname,svname,status,weight,act,bck,type,desc,\n"
	    "\"a,\"\"b\",s1,UP,1,0,0,2,\"x, \"\"y\"\"\",\n"
	    "\"a,\"\"b\",s2,\"UP\",1,0,0,2,\"two\r\nlines\",\n"
	    "\"a,\"\"b\",BACKEND,UP,2,2,0,1,\"\",\n"
	    "\"\"\"\",BACKEND,\"DOWN\",0,0,0,1,,\n"
	    "plain,BACKEND,UP,1,1,0,1,\"\"\"\"\"\",\n"
	    "\n";
	parse_ok(&snap, s, strlen(s));
	assert_int_equal(snap.nbackends, 3);
	be = find(&snap, "a,\"b");
	assert_int_equal(be->act, 2);
	assert_int_equal(be->srv_active, 2);
	assert_int_equal(be->srv_active_usable, 2);
	be = find(&snap, "\"");
	assert_false(be->status_up);
	assert_true(be->has_servers);
	assert_int_equal(find(&snap, "plain")->act, 1);
	stats_snapshot_clear(&snap);

	parse_bad("# pxname,svname,status,weight,act,bck,type,\n"
	    "a\"b,BACKEND,UP,0,0,0,1,\n", "quote");
	parse_bad("# pxname,svname,status,weight,act,bck,type,\n"
	    "\"ab\"c,BACKEND,UP,0,0,0,1,\n", "quoting");
	parse_bad("# pxname,svname,status,weight,act,bck,type,\n"
	    "\"ab,BACKEND,UP,0,0,0,1,\n", "unterminated");
	parse_bad("# pxname,svname,status,weight,act,bck,type,\n"
	    "ab,BACKEND,UP,0,0,0,\"1\"\"", "unterminated");
	parse_bad("# pxname,svname,status,weight,act,bck,type,\n"
	    "ab,BACKEND,UP,0,0,0,\"1\"", "truncated");
	parse_bad("# pxname,svname,status,weight,act,bck,type,\n"
	    "ab,BACKEND,UP,0,0,0,\"1\" ,\n", "quoting");
}

static void
test_csv_missing_columns(void **state)
{
	static const char *const cols[] = {
		"pxname", "svname", "status", "weight", "act", "bck", "type",
	};
	char	 hdr[256], want[32];
	size_t	 i, j;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cols); i++) {
		strcpy(hdr, "# ");
		for (j = 0; j < ARRAY_SIZE(cols); j++) {
			strcat(hdr, i == j ? "x" : cols[j]);
			strcat(hdr, ",");
		}
		strcat(hdr, "\na,BACKEND,UP,1,1,0,1,\n");
		snprintf(want, sizeof(want), "\"%s\"", cols[i]);
		parse_bad(hdr, want);
	}
	/* Prefixes of a name are not the name. */
	parse_bad("# pxnam,svname,status,weight,act,bck,type,typ,\n", "pxname");
	parse_bad("# pxname,svname,status,weight,act,bck,types,\n", "type");
}

/* HAProxy's answers that are neither show stat nor show info output
 * (hapMN_cli_texts.txt). */
static const char *const not_csv[] = {
	"show infox  (unknown command)",
	"disable server be/up1  [user socket]",
	"disable server be/up1  [operator socket]",
	"show servers state nosuch",
	"show stat domain dns  (2.6's doc says dns)",
	"set server nosuch/s1 state ready",
	"disable frontend nosuch",
	"disable frontend fe_only  (again)",
};

static void
test_csv_garbage(void **state)
{
	char	*buf;
	size_t	 len, v, i;

	(void)state;
	parse_bad("", "header");
	parse_bad("\n", "header");
	parse_bad("\n\n", "header");
	parse_bad("#", "header");
	parse_bad("# ", "truncated");
	parse_bad("# \n", "pxname");
	parse_bad("pxname,svname,status,weight,act,bck,type,\n", "header");
	parse_bad(" # pxname,svname,status,weight,act,bck,type,\n", "header");
	/* What HAProxy says instead of CSV (captured live). */
	for (v = 0; v < CAP_NVERSIONS; v++) {
		for (i = 0; i < ARRAY_SIZE(not_csv); i++) {
			buf = cap_cli_text(cap_versions[v], not_csv[i], &len);
			parse_bad(buf, "header");
			free(buf);
		}
		buf = cap_slurp(cap_versions[v], "show_stat_nosuch_2_-1.txt",
		    &len);
		assert_string_equal(buf, "No such proxy.\n\n");
		parse_bad(buf, "header");
		free(buf);
		buf = cap_slurp(cap_versions[v], "show_info.txt", &len);
		parse_bad(buf, "header");
		free(buf);
	}
	/* A NUL byte anywhere. */
	{
		static const char s[] = "# pxname,svname,status,weight,act,"
		    "bck,type,\na,BACKEND,U\0P,1,1,0,1,\n";
		struct stats_snapshot snap;
		char err[128];

		memset(&snap, 0, sizeof(snap));
		assert_false(stats_parse_csv(s, sizeof(s) - 1, &snap, err,
		    sizeof(err)));
		assert_non_null(strstr(err, "NUL"));
	}
	/* NULL buffer, zero-size err. */
	{
		struct stats_snapshot snap;
		char err[1] = "";

		memset(&snap, 0, sizeof(snap));
		assert_false(stats_parse_csv(NULL, 0, &snap, err,
		    sizeof(err)));
		assert_false(stats_parse_csv("x", 1, &snap, NULL, 0));
	}
	/* CRLF line ends. */
	parse_bad("# pxname,svname,status,weight,act,bck,type,\r\n", "end");
	/* Lines must end with ",\n". */
	parse_bad("# pxname,svname,status,weight,act,bck,type\n", "end with");
	parse_bad("# pxname,svname,status,weight,act,bck,type,\n"
	    "a,BACKEND,UP,1,1,0,1\n", "end with");
	/* Data after the blank line. */
	parse_bad("# pxname,svname,status,weight,act,bck,type,\n\n"
	    "a,BACKEND,UP,1,1,0,1,\n", "after the blank line");
	parse_bad("# pxname,svname,status,weight,act,bck,type,\n"
	    "a,BACKEND,UP,1,1,0,1,\n\n\n", "after the blank line");
}

static void
test_csv_field_count(void **state)
{
	char	*buf, *p;
	size_t	 len;

	(void)state;
	parse_bad("# pxname,svname,status,weight,act,bck,type,\n"
	    "a,BACKEND,UP,1,1,0,\n", "6 fields, the header has 7");
	parse_bad("# pxname,svname,status,weight,act,bck,type,\n"
	    "a,BACKEND,UP,1,1,0,1,,\n", "8 fields");
	parse_bad("# pxname,svname,status,weight,act,bck,type,\n"
	    "a,BACKEND,UP,1,1,0,1,\n,\n", "line 3");
	/* A frontend row with one field too few in the live capture. */
	buf = slurp(DATA("hap26_show_stat.csv"), &len);
	p = strstr(buf, "\nfe_only,FRONTEND,,,");
	assert_non_null(p);
	memmove(p + 18, p + 19, len - (size_t)(p + 19 - buf) + 1);
	parse_bad(buf, "line 2: 127 fields, the header has 128");
	free(buf);
	/* A server row with one more. */
	buf = slurp(DATA("hap26_show_stat.csv"), &len);
	buf = xrealloc(buf, len + 2);
	p = strstr(buf, "\nweb,s2,");
	assert_non_null(p);
	p = strchr(p + 1, '\n');
	memmove(p + 1, p, len - (size_t)(p - buf) + 1);
	*p = ',';
	parse_bad(buf, "129 fields");
	free(buf);
}

static void
test_csv_numbers(void **state)
{
	static const char *const bad[] = {
		"a,BACKEND,UP,1,x,0,1,\n",
		"a,BACKEND,UP,1,,0,1,\n",
		"a,BACKEND,UP,1,-1,0,1,\n",
		"a,BACKEND,UP,1,+1,0,1,\n",
		"a,BACKEND,UP,1, 1,0,1,\n",
		"a,BACKEND,UP,1,99999999999,0,1,\n",
		"a,BACKEND,UP,1,1,1.5,1,\n",
		"a,BACKEND,UP,1,1,,1,\n",
		"a,BACKEND,UP,1e3,1,0,1,\n",
		"a,BACKEND,UP,,1,0,1,\n",
		"a,s1,UP,,1,0,2,\n",
		"a,s1,UP,99999999999999999999999,1,0,2,\n",
		"a,s1,UP,9223372036854775808,1,0,2,\n",
		"a,BACKEND,UP,1,2147483648,0,1,\n",
		"a,BACKEND,UP,1,1,0,BE,\n",
		"a,BACKEND,UP,1,1,0,,\n",
		"a,FRONTEND,OPEN,,,,,\n",
		",BACKEND,UP,1,1,0,1,\n",
	};
	char			 s[256];
	struct stats_snapshot	 snap;
	size_t			 i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		snprintf(s, sizeof(s), "# pxname,svname,status,weight,act,"
		    "bck,type,\n%s", bad[i]);
		parse_bad(s, NULL);
	}
	/* Frontend and listener rows may leave act/bck/weight empty. */
	memset(&snap, 0, sizeof(snap));
	snprintf(s, sizeof(s), "# pxname,svname,status,weight,act,bck,"
	    "type,\nf,FRONTEND,OPEN,,,,0,\nf,sock-1,OPEN,,,,3,\n"
	    "x,y,z,,,,7,\n");
	parse_ok(&snap, s, strlen(s));
	assert_int_equal(snap.nbackends, 0);
	stats_snapshot_clear(&snap);
	/* The largest values fit. */
	snprintf(s, sizeof(s), "# pxname,svname,status,weight,act,bck,"
	    "type,\na,s,UP,9223372036854775807,1,0,2,\n"
	    "a,BACKEND,UP,0,2147483647,0002147483647,1,\n");
	parse_ok(&snap, s, strlen(s));
	assert_int_equal(find(&snap, "a")->act, INT_MAX);
	assert_int_equal(find(&snap, "a")->bck, INT_MAX);
	assert_int_equal(find(&snap, "a")->srv_active_usable, 1);
	stats_snapshot_clear(&snap);
}

/* A failed parse leaves the snapshot as it was. */
static void
test_csv_failure_atomic(void **state)
{
	struct stats_snapshot		 snap;
	const struct stats_backend	*be;
	char				 err[128];
	const char			*s;

	(void)state;
	memset(&snap, 0, sizeof(snap));
	parse_file_ok(&snap, DATA("hap26_show_stat_web_6_-1.csv"));
	s = "# pxname,svname,status,weight,act,bck,type,\n"
	    "web,s9,UP,1,1,0,2,\n"
	    "web,BACKEND,DOWN,0,0,0,1,\n"
	    "new,BACKEND,UP,1,1,0,1,\n"
	    "bad,BACKEND,UP,1,1,0,1";
	assert_false(stats_parse_csv(s, strlen(s), &snap, err, sizeof(err)));
	assert_non_null(strstr(err, "line 5"));
	assert_int_equal(snap.nbackends, 1);
	be = find(&snap, "web");
	assert_int_equal(be->act, 2);
	assert_true(be->status_up);
	assert_int_equal(be->srv_active, 3);
	stats_snapshot_clear(&snap);
}

/* Every prefix of real output: never a crash; accepted only at '\n'. */
static void
test_csv_truncated(void **state)
{
	static const char *const files[] = {
		DATA("hap26_show_stat.csv"),
		DATA("hap26_show_stat_agents_6_-1.csv"),
		DATA("hap34_show_stat.csv"),
		DATA("hap34_show_stat_unpub_6_-1.csv"),
	};
	struct stats_snapshot	 snap;
	char			 err[128];
	char			*buf, *copy;
	size_t			 len, n, f;
	bool			 ok;

	(void)state;
	for (f = 0; f < ARRAY_SIZE(files); f++) {
		buf = slurp(files[f], &len);
		for (n = 0; n <= len; n++) {
			/* Exact-size copy so ASan sees any overread. */
			copy = xmalloc(n ? n : 1);
			memcpy(copy, buf, n);
			memset(&snap, 0, sizeof(snap));
			ok = stats_parse_csv(copy, n, &snap, err, sizeof(err));
			if (n == 0 || buf[n - 1] != '\n')
				assert_false(ok);
			else if (!ok)
				fail_msg("prefix %zu of %s: %s", n, files[f],
				    err);
			stats_snapshot_finish(&snap);
			stats_snapshot_clear(&snap);
			free(copy);
		}
		free(buf);
	}
}

static void
test_server_usable(void **state)
{
	static const char *const yes[] = {
		"UP", "UP 1/3", "UP 2/3", "UP 12/345", "no check",
		/* 3.4, before the first check (rise 2 fall 3, rise 1 fall 1) */
		"UP -1/3", "UP 0/1", "UP -12/345",
	};
	static const char *const no[] = {
		"DOWN", "DOWN 1/2", "DOWN (agent)", "NOLB", "NOLB 1/2",
		"DRAIN", "DRAIN 1/3", "DRAIN (agent)", "MAINT",
		"MAINT (via be/s1)", "MAINT (resolution)",
		/* not HAProxy's */
		"", "U", "up", "UP ", "UP 1", "UP 1/", "UP /3", "UP 1/3x",
		"UP x/3", "UP 1//3", "UP  1/3", "UPX", "UP (agent)",
		"UP --1/3", "UP -/3", "UP - 1/3", "UP 1/-3", "UP -1/", "UP -",
		"UP +1/3", "DOWN -1/3",
		"UP (2/3)", "no check ", "No check", "OPEN",
	};
	size_t	 i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(yes); i++) {
		if (!stats_server_usable(yes[i], strlen(yes[i]), 1))
			fail_msg("\"%s\" should be usable", yes[i]);
		/* weight 0 is never usable */
		assert_false(stats_server_usable(yes[i], strlen(yes[i]), 0));
		assert_false(stats_server_usable(yes[i], strlen(yes[i]), -1));
	}
	for (i = 0; i < ARRAY_SIZE(no); i++)
		if (stats_server_usable(no[i], strlen(no[i]), 10))
			fail_msg("\"%s\" should not be usable", no[i]);
	/* The length counts, not the NUL. */
	assert_true(stats_server_usable("UP 1/3 and more", 6, 1));
	assert_true(stats_server_usable("UPSTAIRS", 2, 1));
	assert_false(stats_server_usable("UP", 1, 1));
	assert_false(stats_server_usable(NULL, 0, 1));
}

static void
test_nbsrv(void **state)
{
	(void)state;
	/* HAPROXY.md section 2 table */
	assert_int_equal(stats_nbsrv(0, 2, false), 1);	/* 1 DOWN + 2 bck */
	assert_int_equal(stats_nbsrv(0, 2, true), 2);	/* allbackups */
	assert_int_equal(stats_nbsrv(0, 0, false), 0);	/* empty */
	assert_int_equal(stats_nbsrv(0, 0, true), 0);
	assert_int_equal(stats_nbsrv(0, 1, false), 1);	/* drained + bck */
	assert_int_equal(stats_nbsrv(0, 1, true), 1);
	/* actives win; backups ignored */
	assert_int_equal(stats_nbsrv(2, 1, false), 2);
	assert_int_equal(stats_nbsrv(2, 1, true), 2);
	assert_int_equal(stats_nbsrv(3, 0, false), 3);
	assert_int_equal(stats_nbsrv(-1, -1, true), 0);
}

static void
test_capacity(void **state)
{
	struct stats_backend	 be;

	(void)state;
	memset(&be, 0, sizeof(be));
	/* No rows at all: unknown. */
	assert_int_equal(stats_capacity(&be, 1), -1);
	/* Backend row only, with servers: unknown. */
	be.has_row = be.has_servers = be.status_up = true;
	be.act = 2;
	assert_int_equal(stats_capacity(&be, 2), -1);
	be.have_servers_rows = true;
	be.srv_active = 3;
	be.srv_active_usable = 2;
	assert_int_equal(stats_capacity(&be, 2), 66);
	be.srv_active_usable = 3;
	assert_int_equal(stats_capacity(&be, 3), 100);
	be.srv_active_usable = 0;
	assert_int_equal(stats_capacity(&be, 1), 0);
	be.srv_active = 7;
	be.srv_active_usable = 1;
	assert_int_equal(stats_capacity(&be, 1), 14);
	/* Backups only: 100 while nbsrv >= 1, else 0. */
	be.srv_active = be.srv_active_usable = 0;
	be.srv_backup = 2;
	be.srv_backup_usable = 1;
	assert_int_equal(stats_capacity(&be, 1), 100);
	assert_int_equal(stats_capacity(&be, 2), 100);
	be.srv_backup_usable = 0;
	assert_int_equal(stats_capacity(&be, 0), 0);
	/* Empty backend known from its row alone. */
	memset(&be, 0, sizeof(be));
	be.has_row = be.status_up = true;
	assert_int_equal(stats_capacity(&be, 0), 0);
	assert_int_equal(stats_capacity(&be, 1), 100);
}

static void
test_find_and_finish(void **state)
{
	struct stats_snapshot	 snap;
	char			 s[64 * 64], name[32];
	size_t			 i, n = 0;

	(void)state;
	memset(&snap, 0, sizeof(snap));
	assert_null(stats_find_backend(&snap, "x"));
	stats_snapshot_finish(&snap);
	stats_snapshot_clear(&snap);
	stats_snapshot_clear(NULL);

	/* 50 names in scrambled order, found after finish. */
	n = (size_t)snprintf(s, sizeof(s), "# pxname,svname,status,weight,"
	    "act,bck,type,\n");
	for (i = 0; i < 50; i++)
		n += (size_t)snprintf(s + n, sizeof(s) - n,
		    "b%02zu,BACKEND,UP,%zu,%zu,0,1,\n", (i * 37) % 50, i + 1,
		    i + 1);
	parse_ok(&snap, s, n);
	assert_int_equal(snap.nbackends, 50);
	for (i = 0; i < 50; i++) {
		snprintf(name, sizeof(name), "b%02zu", i);
		assert_string_equal(find(&snap, name)->name, name);
		assert_string_equal(snap.backends[i].name, name);
	}
	assert_null(stats_find_backend(&snap, "b"));
	assert_null(stats_find_backend(&snap, "b50"));
	assert_null(stats_find_backend(&snap, "a"));
	assert_null(stats_find_backend(&snap, "c"));
	stats_snapshot_clear(&snap);
}

/* 10,000 server rows in the 2.6.12 layout, as one poll could bring. */
static void
test_csv_speed(void **state)
{
	struct stats_snapshot		 snap;
	const struct stats_backend	*be;
	struct sbuf			 b;
	struct timespec			 t0, t1;
	char				*hdr, *row, *nl, name[32];
	size_t				 len, i, j;
	double				 ms;

	(void)state;
	memset(&b, 0, sizeof(b));
	hdr = slurp(DATA("hap26_show_stat_web_6_-1.csv"), &len);
	nl = strchr(hdr, '\n');
	sbuf_append(&b, hdr, (size_t)(nl + 1 - hdr));
	row = nl + 1;		/* "web,s1,...": the server row template */
	nl = strchr(row, '\n');
	for (i = 0; i < 500; i++) {
		for (j = 0; j < 20; j++) {
			/* web,s1,<rest>: rename backend and server */
			sbuf_printf(&b, "pool%03zu,srv%02zu", i, j);
			sbuf_append(&b, row + 6, (size_t)(nl + 1 - row - 6));
		}
	}
	sbuf_puts(&b, "\n");
	memset(&snap, 0, sizeof(snap));
	clock_gettime(CLOCK_MONOTONIC, &t0);
	parse_ok(&snap, b.data, b.len);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 +
	    (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
	print_message("10000 server rows, %zu bytes: %.2f ms\n", b.len, ms);
	assert_true(ms < 2000);
	assert_int_equal(snap.nbackends, 500);
	for (i = 0; i < 500; i += 97) {
		snprintf(name, sizeof(name), "pool%03zu", i);
		be = find(&snap, name);
		assert_int_equal(be->srv_active, 20);
		assert_int_equal(be->srv_active_usable, 20);
		assert_false(be->has_row);
	}
	stats_snapshot_clear(&snap);
	sbuf_free(&b);
	free(hdr);
}

static void
test_info_real(void **state)
{
	struct stats_info	 info;
	char		 err[128];
	char		*buf;
	size_t		 len;

	(void)state;
	buf = slurp(DATA("hap26_show_info.txt"), &len);
	memset(&info, 0xff, sizeof(info));
	assert_true(stats_parse_info(buf, len, &info, err, sizeof(err)));
	assert_int_equal(info.pid, 21356);
	assert_int_equal(info.uptime_sec, 29);
	assert_false(info.stopping);
	assert_string_equal(info.version, "2.6.12-1+deb12u4");
	/* Without the trailing blank line. */
	assert_true(stats_parse_info(buf, len - 1, &info, err, sizeof(err)));
	/* Every prefix: never a crash, and a cut line is refused. */
	{
		size_t	 n;
		char	*copy;

		for (n = 0; n < len; n++) {
			copy = xmalloc(n ? n : 1);
			memcpy(copy, buf, n);
			if (n == 0 || buf[n - 1] != '\n')
				assert_false(stats_parse_info(copy, n, &info,
				    err, sizeof(err)));
			else if (stats_parse_info(copy, n, &info, err,
			    sizeof(err)))
				assert_int_equal(info.pid, 21356);
			free(copy);
		}
	}
	free(buf);
}

static void
info_bad(const char *s, const char *want)
{
	struct stats_info	 info;
	char		 err[128] = "";

	memset(&info, 0, sizeof(info));
	info.pid = 42;
	if (stats_parse_info(s, strlen(s), &info, err, sizeof(err)))
		fail_msg("accepted: %s", s);
	assert_int_equal(info.pid, 42);		/* untouched */
	if (strstr(err, want) == NULL)
		fail_msg("error \"%s\" lacks \"%s\" for: %s", err, want, s);
}

#define INFO_OK	"Name: HAProxy\nVersion: 3.4.0\nPid: 77\nUptime_sec: 5\n" \
		"Unstoppable Jobs: 0\nBuild info: 3.4.0\nnode: \n"

static void
test_info_synthetic(void **state)
{
	struct stats_info	 info;
	char		 err[128];
	char		*buf;
	size_t		 len, v, i;
	const char	*s;

	(void)state;
	s = INFO_OK "Stopping: 1\n\n";
	assert_true(stats_parse_info(s, strlen(s), &info, err, sizeof(err)));
	assert_int_equal(info.pid, 77);
	assert_int_equal(info.uptime_sec, 5);
	assert_true(info.stopping);
	assert_string_equal(info.version, "3.4.0");
	/* A long version is cut to fit; control characters become spaces. */
	s = "Version: 0123456789012345678901234567890123456789\n"
	    "Pid: 1\nUptime_sec: 9223372036854775807\nStopping: 0\n";
	assert_true(stats_parse_info(s, strlen(s), &info, err, sizeof(err)));
	assert_int_equal(strlen(info.version), sizeof(info.version) - 1);
	assert_int_equal(info.uptime_sec, INT64_MAX);
	s = "Version: a\tb\nPid: 1\nUptime_sec: 0\nStopping: 0\n";
	assert_true(stats_parse_info(s, strlen(s), &info, err, sizeof(err)));
	assert_string_equal(info.version, "a b");

	/* What HAProxy says when it is not show info (captured live). */
	for (v = 0; v < CAP_NVERSIONS; v++) {
		for (i = 0; i < ARRAY_SIZE(not_csv); i++) {
			buf = cap_cli_text(cap_versions[v], not_csv[i], &len);
			info_bad(buf, "not show info");
			free(buf);
		}
		buf = cap_slurp(cap_versions[v], "show_stat_nosuch_2_-1.txt",
		    &len);
		info_bad(buf, "not show info");
		free(buf);
		buf = cap_slurp(cap_versions[v], "show_stat_web_6_-1.csv",
		    &len);
		info_bad(buf, "not show info");
		free(buf);
	}
	info_bad("Unknown command: 'show', but maybe one of the following "
	    "ones is a better match:\n  show info    : report\n\n",
	    "not show info");
	info_bad("", "no Pid");
	info_bad("\n", "no Pid");
	info_bad(INFO_OK "Stopping: 0", "truncated");
	info_bad(INFO_OK "Stopping: 0\n\nPid: 1\n", "after the blank line");
	info_bad("Version: 1\nUptime_sec: 1\nStopping: 0\n", "no Pid");
	info_bad("Pid: 1\nVersion: 1\nStopping: 0\n", "no Uptime_sec");
	info_bad("Pid: 1\nVersion: 1\nUptime_sec: 1\n", "no Stopping");
	info_bad("Pid: 1\nStopping: 0\nUptime_sec: 1\n", "no Version");
	info_bad(INFO_OK "Stopping: 0\nPid: 0\n", "bad Pid");
	info_bad(INFO_OK "Stopping: 0\nPid: -1\n", "bad Pid");
	info_bad(INFO_OK "Stopping: 0\nPid: x\n", "bad Pid");
	info_bad(INFO_OK "Stopping: 0\nPid: \n", "bad Pid");
	info_bad(INFO_OK "Stopping: 0\nPid: 2147483648\n", "bad Pid");
	info_bad(INFO_OK "Stopping: 2\n", "bad Stopping");
	info_bad(INFO_OK "Stopping: 0\nUptime_sec: 9223372036854775808\n",
	    "bad Uptime_sec");
	info_bad(INFO_OK "Stopping: 0\nVersion: \n", "empty Version");
	info_bad(INFO_OK "Stopping: 0\nNo colon here\n", "not show info");
	info_bad(INFO_OK "Stopping: 0\n: no name\n", "not show info");
	info_bad(INFO_OK "Stopping: 0\n Pid: 3\n", "not show info");
	info_bad(INFO_OK "Stopping: 0\nPid:3\n", "not show info");
	info_bad(INFO_OK "Stopping: 0\r\n", "bad Stopping");
	{
		static const char s0[] = "Pid: 1\nVersion: 1\nUptime_sec: 1\n"
		    "Stopping: 0\nNa\0me: x\n";

		assert_false(stats_parse_info(s0, sizeof(s0) - 1, &info, err,
		    sizeof(err)));
		assert_false(stats_parse_info(NULL, 0, &info, err,
		    sizeof(err)));
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_csv_cli_full),
		cmocka_unit_test(test_csv_stats_page),
		cmocka_unit_test(test_csv_header_by_name),
		cmocka_unit_test(test_csv_backend_rows_only),
		cmocka_unit_test(test_csv_server_rows_only),
		cmocka_unit_test(test_csv_merge),
		cmocka_unit_test(test_csv_header_only),
		cmocka_unit_test(test_csv_startup),
		cmocka_unit_test(test_csv_quoting),
		cmocka_unit_test(test_csv_missing_columns),
		cmocka_unit_test(test_csv_garbage),
		cmocka_unit_test(test_csv_field_count),
		cmocka_unit_test(test_csv_numbers),
		cmocka_unit_test(test_csv_failure_atomic),
		cmocka_unit_test(test_csv_truncated),
		cmocka_unit_test(test_server_usable),
		cmocka_unit_test(test_nbsrv),
		cmocka_unit_test(test_capacity),
		cmocka_unit_test(test_find_and_finish),
		cmocka_unit_test(test_csv_speed),
		cmocka_unit_test(test_info_real),
		cmocka_unit_test(test_info_synthetic),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
