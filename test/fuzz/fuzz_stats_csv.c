/*
 * fuzz_stats_csv.c: stats_parse_csv() (checks/stats.h) on "show stat"
 * output from the stats socket, or the stats page's ";csv" export.
 *
 * The input is parsed into an empty snapshot, then again into the result
 * (a poll merges several outputs into one snapshot), and into a snapshot
 * already holding real 2.6.12 rows. The last input byte also picks the
 * size of the error buffer (exact-size heap buffer, 0 to 255 bytes).
 *
 * Invariants checked on every input:
 *  - on failure the snapshot is unchanged (deep compare) and err says why;
 *  - on success every backend is sane (fz_snap_check: names non-empty and
 *    unique, usable <= configured, capacity -1 to 100, sorted and found by
 *    stats_find_backend() after stats_snapshot_finish());
 *  - an accepted output gives exactly what a model of the contract, with
 *    its own CSV decoder, reads from it: the backends by name (quotes
 *    undone), act, bck and status of backend rows, configured and usable
 *    servers of server rows, and the frontend session sum;
 *  - merging the same output twice changes nothing but the frontend
 *    session sum, which doubles; the pre-filled snapshot keeps its
 *    backends;
 *  - the error buffer's size does not change the verdict.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "fz_snap.h"
#include "fuzz.h"
#include "stats.h"

/* A few rows of test/unit/data/hap26_show_stat.csv, the columns we read. */
static const char baseline_csv[] =
    "# pxname,svname,status,weight,act,bck,type,lastchg,\n"
    "fe_only,FRONTEND,OPEN,,,,0,,\n"
    "web,s1,UP,1,1,0,2,7,\n"
    "web,s3,DOWN,1,1,0,2,3,\n"
    "web,BACKEND,UP,2,2,0,1,12,\n"
    "bk_first,b1,UP,1,0,1,2,5,\n"
    "bk_first,BACKEND,UP,1,0,2,1,9,\n"
    "empty,BACKEND,UP,0,0,0,1,0,\n"
    "be,goingdown,UP 1/2,1,1,0,2,0,\n"
    "be,trk,MAINT (via be/maint1),1,1,0,2,0,\n"
    "be,BACKEND,UP,3,3,1,1,0,\n"
    "\n";

/* ---- the model: what an accepted output says, read independently ---- */

struct mfield {
	char	*s;		/* decoded, NUL-terminated */
	size_t	 len;
};

/* Decode the fields of the line at *pp (each ends with ','; quoted ones
 * have "" for "), up to its '\n'. Only called on accepted input. */
static size_t
m_line(const char **pp, struct mfield **fp)
{
	const char	*p = *pp, *e;
	struct mfield	*f = NULL;
	size_t		 n = 0, cap = 0, k;
	char		*d;

	while (*p != '\n') {
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			f = realloc(f, cap * sizeof(*f));
			FZ_CHECK(f != NULL);
		}
		e = p + 1;		/* past the field, its quotes included */
		if (*p == '"')
			while (!(e[0] == '"' && e[1] != '"'))
				e += e[0] == '"' ? 2 : 1;
		else
			e = strchr(p, ',');
		d = f[n].s = malloc((size_t)(e - p) + 1);
		FZ_CHECK(d != NULL);
		k = 0;
		if (*p == '"') {
			for (p++; p < e; p++) {
				d[k++] = *p;
				if (*p == '"')
					p++;
			}
			p++;
		} else
			while (p < e)
				d[k++] = *p++;
		d[k] = '\0';
		f[n++].len = k;
		FZ_CHECK(*p == ',');
		p++;
	}
	*pp = p + 1;
	*fp = f;
	return n;
}

static void
m_free(struct mfield *f, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++)
		free(f[i].s);
	free(f);
}

static long
m_col(const struct mfield *hdr, size_t n, const char *name)
{
	size_t	i;

	for (i = 0; i < n; i++)
		if (strcmp(hdr[i].s, name) == 0)
			return (long)i;
	return -1;
}

/* srv_currently_usable() as HAPROXY.md section 3 gives it; 3.4 shows a
 * server not checked yet as "UP -1/3" (a negative first number). */
static bool
m_usable(const char *st, long weight)
{
	const char	*p = st + 3;
	size_t		 a, b;

	if (weight <= 0)
		return false;
	if (strcmp(st, "UP") == 0 || strcmp(st, "no check") == 0)
		return true;
	if (strncmp(st, "UP ", 3) != 0)
		return false;
	if (*p == '-')
		p++;
	a = strspn(p, "0123456789");
	if (a == 0 || p[a] != '/')
		return false;
	b = strspn(p + a + 1, "0123456789");
	return b > 0 && p[a + 1 + b] == '\0';
}

static struct stats_backend *
m_backend(struct stats_snapshot *m, const char *name)
{
	size_t	i;

	for (i = 0; i < m->nbackends; i++)
		if (strcmp(m->backends[i].name, name) == 0)
			return &m->backends[i];
	if (m->nbackends == m->cap) {
		m->cap = m->cap ? m->cap * 2 : 16;
		m->backends = realloc(m->backends,
		    m->cap * sizeof(*m->backends));
		FZ_CHECK(m->backends != NULL);
	}
	memset(&m->backends[m->nbackends], 0, sizeof(*m->backends));
	m->backends[m->nbackends].name = strdup(name);
	FZ_CHECK(m->backends[m->nbackends].name != NULL);
	return &m->backends[m->nbackends++];
}

/* One row into the model. */
static void
m_row(struct stats_snapshot *m, const struct mfield *f, const long *col)
{
	struct stats_backend	*be;
	const char		*st;
	long			 type, act, bck, w;
	bool			 usable;

	type = strtol(f[col[6]].s, NULL, 10);
	if (type != 1 && type != 2)
		return;
	if (type == 1 && col[7] >= 0 && f[col[7]].s[0] != '\0' &&
	    strtol(f[col[7]].s, NULL, 10) > m->max_lastchg)
		m->max_lastchg = strtol(f[col[7]].s, NULL, 10);
	be = m_backend(m, f[col[0]].s);
	st = f[col[2]].s;
	w = strtol(f[col[3]].s, NULL, 10);
	act = strtol(f[col[4]].s, NULL, 10);
	bck = strtol(f[col[5]].s, NULL, 10);
	if (type == 1) {
		be->act = (int)act;
		be->bck = (int)bck;
		be->status_up = strcmp(st, "UP") == 0 ||
		    strncmp(st, "UP ", 3) == 0;
		be->has_row = true;
		if (!be->have_servers_rows)
			be->has_servers = !(be->status_up && act == 0 &&
			    bck == 0);
		return;
	}
	usable = m_usable(st, w);
	if (bck != 0) {
		be->srv_backup++;
		be->srv_backup_usable += usable;
	} else {
		be->srv_active++;
		be->srv_active_usable += usable;
	}
	be->have_servers_rows = true;
	be->has_servers = true;
}

/* The model of one accepted output, parsed into an empty snapshot. */
static void
model(const uint8_t *data, size_t size, struct stats_snapshot *m)
{
	static const char *const cols[] = { "pxname", "svname", "status",
	    "weight", "act", "bck", "type", "lastchg" };
	char		*text = fz_strndup(data, size);
	const char	*p = text + 2, *end = text + size;
	struct mfield	*hdr, *f;
	size_t		 nh, n, i;
	long		 col[8];

	memset(m, 0, sizeof(*m));
	nh = m_line(&p, &hdr);
	for (i = 0; i < 8; i++)
		col[i] = m_col(hdr, nh, cols[i]);
	for (i = 0; i < 7; i++)
		FZ_CHECK(col[i] >= 0);
	while (p < end && *p != '\n') {
		n = m_line(&p, &f);
		FZ_CHECK(n == nh);
		m_row(m, f, col);
		m_free(f, n);
	}
	m_free(hdr, nh);
	free(text);
}

/* Parse into snap from an exact-size copy; check the failure contract. */
static bool
parse(const uint8_t *data, size_t len, struct stats_snapshot *snap,
    size_t errlen)
{
	uint8_t			*copy = fz_memdup(data, len);
	char			*err = malloc(errlen > 0 ? errlen : 1);
	struct stats_snapshot	 before;
	bool			 ok;

	FZ_CHECK(err != NULL);
	memset(err, 'X', errlen > 0 ? errlen : 1);
	fz_snap_copy(&before, snap);
	ok = stats_parse_csv((const char *)copy, len, snap, err, errlen);
	if (!ok) {
		FZ_CHECK(fz_snap_eq(snap, &before));
		FZ_CHECK(fz_snap_fe_eq(snap, &before));
		FZ_CHECK(snap->cap == before.cap);
		if (errlen > 0)
			FZ_CHECK(memchr(err, '\0', errlen) != NULL);
		if (errlen > 16)
			FZ_CHECK(err[0] != '\0');
	} else {
		fz_snap_check(snap, false);
		stats_snapshot_finish(snap);
		fz_snap_check(snap, true);
	}
	stats_snapshot_clear(&before);
	free(err);
	free(copy);
	return ok;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct stats_snapshot	 one, twice, pre, base, m;
	size_t			 errlen = size > 0 ? data[size - 1] : 0, i;
	bool			 ok;

	memset(&one, 0, sizeof(one));
	ok = parse(data, size, &one, 128);
	FZ_CHECK(parse(data, size, &one, errlen) == ok);	/* merges again */
	if (!ok) {
		FZ_CHECK(one.nbackends == 0 && one.backends == NULL &&
		    one.nfrontends == 0 && one.max_lastchg == 0);
	} else {
		/* What the model reads from it. */
		memset(&twice, 0, sizeof(twice));
		FZ_CHECK(parse(data, size, &twice, 128));
		model(data, size, &m);
		stats_snapshot_finish(&m);
		FZ_CHECK(fz_snap_eq(&twice, &m));
		stats_snapshot_clear(&m);
		/* one holds the input merged twice, twice once: the same. */
		FZ_CHECK(fz_snap_eq(&one, &twice));
		FZ_CHECK(fz_snap_fe_eq(&one, &twice));
		stats_snapshot_clear(&twice);
	}
	stats_snapshot_clear(&one);

	/* Into a snapshot that already holds real rows. */
	memset(&pre, 0, sizeof(pre));
	FZ_CHECK(parse((const uint8_t *)baseline_csv, sizeof(baseline_csv) - 1,
	    &pre, 128));
	fz_snap_copy(&base, &pre);
	FZ_CHECK(parse(data, size, &pre, 128) == ok);
	if (ok) {
		FZ_CHECK(pre.nbackends >= base.nbackends);
		for (i = 0; i < base.nbackends; i++)
			FZ_CHECK(stats_find_backend(&pre,
			    base.backends[i].name) != NULL);
	}
	stats_snapshot_clear(&base);
	stats_snapshot_clear(&pre);
	return 0;
}
