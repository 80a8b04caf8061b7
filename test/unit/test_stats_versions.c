/*
 * test_stats_versions.c: every version's captures (test/unit/data/hapMN_*,
 * HAProxy 2.6, 3.0, 3.2 and 3.4; see data/README.md) held against what
 * HAProxy itself said while they were taken (hapMN_expect.txt): its Pid
 * and Version, and per backend its own nbsrv(), its backend row's act and
 * bck, and how many servers it has. hapwatch's nbsrv must be HAProxy's;
 * the servers it counts usable must be the ones HAProxy counts in act and
 * bck; its capacity follows from those. The whole poll replies are parsed
 * by the poller's own parser, and the poller must build the very lines
 * that the capture sent.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <event2/event.h>

#include "addr.h"
#include "hacli.h"
#include "source.h"
#include "stats.h"
#include "captures.h"

/* How a capture relates to the backends: which rows it holds. */
#define ROWS_BE		0x01	/* backend rows */
#define ROWS_SV		0x02	/* server rows */

/*
 * One backend of snap against HAProxy's word on it. rows: what the output
 * held for it. A backend HAProxy showed no row for must not be in snap.
 */
static void
check_one(const char *ver, const char *what, const struct stats_snapshot *snap,
    const struct cap_backend *x, int rows)
{
	const struct stats_backend	*be = stats_find_backend(snap, x->name);
	int				 nbsrv, cap;

	if (!x->present) {
		if (be != NULL)
			fail_msg("%s_%s: %s has no row in HAProxy's show stat, "
			    "but is in the snapshot", ver, what, x->name);
		/* HAProxy's nbsrv() of a backend without a row: 0. */
		assert_int_equal(x->nbsrv, 0);
		return;
	}
	if (be == NULL)
		fail_msg("%s_%s: %s missing", ver, what, x->name);
	if (rows & ROWS_BE) {
		assert_true(be->has_row);
		if (be->act != x->act || be->bck != x->bck)
			fail_msg("%s_%s: %s act/bck %d/%d, HAProxy's %d/%d", ver,
			    what, x->name, be->act, be->bck, x->act, x->bck);
		nbsrv = stats_nbsrv(be->act, be->bck, x->allbackups);
		if (nbsrv != x->nbsrv)
			fail_msg("%s_%s: %s nbsrv %d, HAProxy's nbsrv() %d", ver,
			    what, x->name, nbsrv, x->nbsrv);
		assert_int_equal(be->status_up,
		    strncmp(x->status, "UP", 2) == 0);
		assert_int_equal(be->has_servers, x->actives + x->backups > 0);
	}
	if (!(rows & ROWS_SV)) {
		assert_false(be->have_servers_rows);
		if (rows & ROWS_BE)
			assert_int_equal(stats_capacity(be, x->nbsrv),
			    x->actives + x->backups > 0 ? -1 : 0);
		return;
	}
	assert_int_equal(be->have_servers_rows, x->actives + x->backups > 0);
	assert_int_equal(be->srv_active, x->actives);
	assert_int_equal(be->srv_backup, x->backups);
	/* The servers HAProxy counts usable are its row's act and bck. */
	if (be->srv_active_usable != x->act || be->srv_backup_usable != x->bck)
		fail_msg("%s_%s: %s has %d/%d usable servers, HAProxy counts "
		    "act %d bck %d", ver, what, x->name, be->srv_active_usable,
		    be->srv_backup_usable, x->act, x->bck);
	cap = x->actives > 0 ? 100 * x->act / x->actives : x->nbsrv >= 1 ?
	    100 : 0;
	assert_int_equal(stats_capacity(be, x->nbsrv), cap);
}

/* Every backend of e in snap, and nothing else. */
static void
check_snap(const char *ver, const char *what, const struct stats_snapshot *snap,
    const struct cap_expect *e, int rows)
{
	size_t	 i, n = 0;

	for (i = 0; i < e->nbe; i++) {
		check_one(ver, what, snap, &e->be[i], rows);
		n += e->be[i].present;
	}
	/* Nothing else but the stats page's own listen section. */
	if (rows & ROWS_BE)
		assert_int_equal(snap->nbackends, n + 1);
	assert_null(stats_find_backend(snap, "fe_only"));
	assert_null(stats_find_backend(snap, "hw_nbsrv"));
}

static void
parse_cap(const char *ver, const char *what, struct stats_snapshot *snap)
{
	char	*buf, err[128];
	size_t	 len;

	buf = cap_slurp(ver, what, &len);
	stats_snapshot_init(snap);
	if (!stats_parse_csv(buf, len, snap, err, sizeof(err)))
		fail_msg("%s_%s: %s", ver, what, err);
	stats_snapshot_finish(snap);
	free(buf);
}

static void
test_info(void **state)
{
	struct cap_expect	 e;
	struct stats_info		 info;
	char			*buf, err[128];
	size_t			 len, v;

	(void)state;
	for (v = 0; v < CAP_NVERSIONS; v++) {
		cap_expect(cap_versions[v], &e);
		buf = cap_slurp(cap_versions[v], "show_info.txt", &len);
		if (!stats_parse_info(buf, len, &info, err, sizeof(err)))
			fail_msg("%s: %s", cap_versions[v], err);
		assert_int_equal(info.pid, e.pid);
		assert_string_equal(info.version, e.version);
		assert_false(info.stopping);
		assert_true(info.uptime_sec > 0);
		free(buf);
	}
}

/* Every output with backend and server rows. */
static void
test_full(void **state)
{
	static const char *const files[] = {
		"show_stat.csv", "show_stat_-1_6_-1.csv",
		"show_stat_-1_6_-1_user.csv", "stats_page.csv",
		"show_stat_reversed.csv",
	};
	struct stats_snapshot	 snap;
	struct cap_expect	 e;
	size_t			 v, f;

	(void)state;
	for (v = 0; v < CAP_NVERSIONS; v++) {
		cap_expect(cap_versions[v], &e);
		for (f = 0; f < ARRAY_SIZE(files); f++) {
			parse_cap(cap_versions[v], files[f], &snap);
			check_snap(cap_versions[v], files[f], &snap, &e,
			    ROWS_BE | ROWS_SV);
			stats_snapshot_clear(&snap);
		}
	}
}

/* Backend rows alone, then server rows alone, then both merged. */
static void
test_rows(void **state)
{
	struct stats_snapshot	 snap;
	struct cap_expect	 e;
	char			*buf, err[128];
	size_t			 v, len;

	(void)state;
	for (v = 0; v < CAP_NVERSIONS; v++) {
		cap_expect(cap_versions[v], &e);
		parse_cap(cap_versions[v], "show_stat_-1_2_-1.csv", &snap);
		check_snap(cap_versions[v], "-1 2 -1", &snap, &e, ROWS_BE);
		stats_snapshot_clear(&snap);
		parse_cap(cap_versions[v], "show_stat_-1_2_-1_up.csv", &snap);
		check_snap(cap_versions[v], "-1 2 -1 up", &snap, &e, ROWS_BE);
		/* The server rows merged in complete the picture. */
		buf = cap_slurp(cap_versions[v], "show_stat_-1_4_-1.csv", &len);
		assert_true(stats_parse_csv(buf, len, &snap, err, sizeof(err)));
		stats_snapshot_finish(&snap);
		check_snap(cap_versions[v], "-1 2 -1 up + -1 4 -1", &snap, &e,
		    ROWS_BE | ROWS_SV);
		stats_snapshot_clear(&snap);
		free(buf);
	}
}

/* ---- whole poll replies ---- */

/* The command that wrote hapMN_<what>, from hapMN_captures.txt; caller
 * frees. */
static char *
cap_command(const char *ver, const char *what)
{
	char	*buf, key[128], *p, *nl, *out;
	size_t	 len;

	buf = cap_slurp(ver, "captures.txt", &len);
	snprintf(key, sizeof(key), "\n%s_%s\t", ver, what);
	if ((p = strstr(buf, key)) == NULL ||
	    (p = strstr(p + 1, "socket: ")) == NULL)
		fail_msg("%s_captures.txt: no command for %s", ver, what);
	p += strlen("socket: ");
	nl = strchr(p, '\n');
	assert_non_null(nl);
	out = xmalloc((size_t)(nl - p) + 1);
	memcpy(out, p, (size_t)(nl - p));
	out[nl - p] = '\0';
	free(buf);
	return out;
}

/*
 * The plan that makes the poller send cmd ("show info;show stat X T -1"
 * ...). Backend names point into cmd, which must outlive the plan.
 */
static void
plan_of(char *cmd, struct poll_plan *plan, bool *targeted, size_t *nstat)
{
	char	*save = NULL, *tok, name[160];
	int	 type;

	memset(plan, 0, sizeof(*plan));
	plan->targets = xcalloc(64, sizeof(*plan->targets));
	*nstat = 0;
	*targeted = true;
	tok = strtok_r(cmd, ";", &save);
	assert_string_equal(tok, "show info");
	while ((tok = strtok_r(NULL, ";", &save)) != NULL) {
		if (sscanf(tok, "show stat %159s %d -1", name, &type) != 2)
			fail_msg("not a poll's show stat: %s", tok);
		assert_true(type == 2 || type == 6);
		(*nstat)++;
		if (strcmp(name, "-1") == 0) {
			plan->all = true;
			plan->all_servers = type == 6;
			*targeted = false;
			continue;
		}
		assert_true(plan->ntargets < 64);
		plan->targets[plan->ntargets].backend = tok + strlen("show stat ");
		tok[strlen("show stat ") + strlen(name)] = '\0';
		plan->targets[plan->ntargets++].servers = type == 6;
	}
}

/* What checks/source_cli.c sends for plan. */
static void
check_poller_line(const struct poll_plan *plan, const char *want)
{
	struct sbuf		line = { 0 };
	struct cli_shape	shape;

	source_cli_build_line(plan, &line, &shape);
	assert_string_equal(line.data, want);
	assert_true(line.len <= HACLI_MAX_LINE);
	sbuf_free(&line);
}

static void
test_poll_version(const char *ver)
{
	static const char *const polls[] = {
		"poll_targeted.txt", "poll_error_mid.txt", "poll_all2.txt",
		"poll_all6.txt",
	};
	struct stats_snapshot	 snap;
	struct cap_expect	 e;
	struct poll_plan	 plan;
	struct cli_shape	 shape;
	enum poll_error		 rc;
	char			*cmd, *copy, *reply, detail[160];
	size_t			 f, i, j, nstat, len;
	bool			 targeted;

	cap_expect(ver, &e);
	for (f = 0; f < ARRAY_SIZE(polls); f++) {
		cmd = cap_command(ver, polls[f]);
		copy = xstrdup(cmd);
		plan_of(copy, &plan, &targeted, &nstat);
		check_poller_line(&plan, cmd);
		reply = cap_slurp(ver, polls[f], &len);
		stats_snapshot_init(&snap);
		shape.nstat = nstat;
		shape.targeted = targeted;
		shape.nfe = 0;
		rc = source_cli_parse_reply(&shape, reply, len, &snap, detail,
		    sizeof(detail));
		if (rc != POLL_OK)
			fail_msg("%s_%s: %s: %s", ver, polls[f],
			    poll_error_str(rc), detail);
		assert_true(snap.has_info);
		assert_int_equal(snap.info.pid, e.pid);
		if (!targeted)
			check_snap(ver, polls[f], &snap, &e, ROWS_BE |
			    (plan.all_servers ? ROWS_SV : 0));
		/* Each backend named: as HAProxy said, absent if no row. */
		for (i = 0; i < plan.ntargets; i++) {
			const char *name = plan.targets[i].backend;

			if (strcmp(name, "nosuch") == 0) {
				assert_null(stats_find_backend(&snap, name));
				continue;
			}
			for (j = 0; j < e.nbe; j++)
				if (strcmp(e.be[j].name, name) == 0)
					break;
			assert_true(j < e.nbe);
			check_one(ver, polls[f], &snap, &e.be[j], ROWS_BE |
			    (plan.targets[i].servers ? ROWS_SV : 0));
		}
		if (targeted)
			assert_int_equal(snap.nbackends, plan.ntargets - 1 -
			    (strstr(cmd, ";show stat off ") != NULL));
		stats_snapshot_clear(&snap);
		/* "No such proxy." is an absent backend only when targeted. */
		if (targeted && strstr(cmd, "nosuch") != NULL) {
			stats_snapshot_init(&snap);
			shape.targeted = false;
			assert_int_equal(source_cli_parse_reply(&shape, reply,
			    len, &snap, detail, sizeof(detail)), POLL_EGARBLED);
			stats_snapshot_clear(&snap);
		}
		free(reply);
		free(plan.targets);
		free(copy);
		free(cmd);
	}
}

static void
test_poll(void **state)
{
	size_t	 v;

	(void)state;
	for (v = 0; v < CAP_NVERSIONS; v++)
		test_poll_version(cap_versions[v]);
}

/* An error in the middle of a ';'-joined line: each output, its blank
 * line, the error skipping only its own command. */
static void
test_poll_framing(void **state)
{
	const char	*starts[8];
	size_t		 lens[8], v, len;
	char		*reply;

	(void)state;
	for (v = 0; v < CAP_NVERSIONS; v++) {
		reply = cap_slurp(cap_versions[v], "poll_error_mid.txt", &len);
		assert_int_equal(hacli_split(reply, len, starts, lens, 8), 4);
		assert_memory_equal(starts[0], "Name: HAProxy\n", 14);
		assert_memory_equal(starts[1], "# pxname,", 9);
		assert_non_null(memmem(starts[1], lens[1], "\nweb,BACKEND,",
		    13));
		assert_int_equal(lens[2], strlen("No such proxy.\n"));
		assert_memory_equal(starts[2], "No such proxy.\n", lens[2]);
		assert_memory_equal(starts[3], "# pxname,", 9);
		assert_non_null(memmem(starts[3], lens[3], "\nbe,BACKEND,",
		    12));
		free(reply);
	}
}

/* ---- 3.4: unpublished backends ---- */

static void
test_unpub(void **state)
{
	static const struct {
		const char	*name;
		const char	*status;	/* the row's, and with "up" */
		const char	*status_up;
		int		 nbsrv;
		bool		 up, has_servers;
		int		 capacity;
	} want[] = {
		{ "unpub", "UP (UNPUB)", "UP (UNPUB) (2/3)", 2, true, true, 66 },
		{ "unpub_down", "DOWN (UNPUB)", "DOWN (UNPUB) (0/1)", 0, false,
		    true, 0 },
		{ "unpub_empty", "UP (UNPUB)", "UP (UNPUB) (0/0)", 0, true,
		    false, 0 },
		{ "unpub_bk", "UP (UNPUB)", "UP (UNPUB) (1/2)", 1, true, true,
		    0 },
	};
	struct stats_snapshot		 snap;
	struct cap_expect		 e;
	const struct stats_backend	*be;
	char				*buf, row[128];
	size_t				 i, j, len;

	(void)state;
	cap_expect("hap34", &e);
	parse_cap("hap34", "show_stat.csv", &snap);
	buf = cap_slurp("hap34", "show_stat_-1_2_-1_up.csv", &len);
	for (i = 0; i < ARRAY_SIZE(want); i++) {
		for (j = 0; j < e.nbe; j++)
			if (strcmp(e.be[j].name, want[i].name) == 0)
				break;
		assert_true(j < e.nbe);
		/* HAProxy's word: the status, and nbsrv() as if published. */
		assert_string_equal(e.be[j].status, want[i].status);
		assert_int_equal(e.be[j].nbsrv, want[i].nbsrv);
		snprintf(row, sizeof(row), "\n%s,BACKEND,", want[i].name);
		assert_non_null(strstr(buf, row));
		assert_non_null(strstr(strstr(buf, row), want[i].status_up));
		/* hapwatch's. */
		be = stats_find_backend(&snap, want[i].name);
		assert_non_null(be);
		assert_int_equal(be->status_up, want[i].up);
		assert_int_equal(be->has_servers, want[i].has_servers);
		assert_int_equal(stats_nbsrv(be->act, be->bck, false),
		    want[i].nbsrv);
		assert_int_equal(stats_capacity(be, want[i].nbsrv),
		    want[i].capacity);
	}
	stats_snapshot_clear(&snap);
	free(buf);
	/* What unpublish and its errors answer (admin level only). */
	buf = cap_cli_text("hap34", "unpublish backend unpub  (again)", &len);
	assert_string_equal(buf, "Backend unpublished.\n\n");
	free(buf);
	buf = cap_cli_text("hap34", "unpublish backend nosuch", &len);
	assert_string_equal(buf, "No such backend.\n\n");
	free(buf);
	buf = cap_cli_text("hap34",
	    "unpublish backend unpub  [operator socket]", &len);
	assert_string_equal(buf, "Permission denied\n\n");
	free(buf);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_info),
		cmocka_unit_test(test_full),
		cmocka_unit_test(test_rows),
		cmocka_unit_test(test_poll),
		cmocka_unit_test(test_poll_framing),
		cmocka_unit_test(test_unpub),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
