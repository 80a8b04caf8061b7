/*
 * stats.c: parse HAProxy's "show info" and "show stat" CSV output, and
 * HAProxy's own arithmetic on it (nbsrv, usable servers, capacity).
 *
 * The CSV is parsed in place: a field is a (pointer, length) span into the
 * caller's buffer, quotes stripped, with a flag when it still holds doubled
 * quotes. Only a new backend's name is copied. A parse runs twice over the
 * rows: the first pass validates everything, the second merges, so that a
 * malformed buffer leaves the snapshot as it was.
 */
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stats.h"

/* CSV "type" column values. */
#define CSV_TYPE_FE	0
#define CSV_TYPE_BE	1
#define CSV_TYPE_SV	2
#define CSV_TYPE_LI	3

/* The columns we read, found by header name. */
enum csv_role {
	ROLE_NONE = 0,
	ROLE_PXNAME,
	ROLE_SVNAME,
	ROLE_STATUS,
	ROLE_WEIGHT,
	ROLE_ACT,
	ROLE_BCK,
	ROLE_TYPE,
	ROLE_NREQUIRED,		/* the roles above must be in the header */
	ROLE_LASTCHG = ROLE_NREQUIRED,	/* optional: backend row's age */
	ROLE_NBACKEND,		/* the roles above: backend and server rows */
	ROLE_STOT = ROLE_NBACKEND,	/* frontend rows: sessions so far */
	ROLE_REQ_TOT,		/* frontend rows: HTTP requests so far */
	ROLE_COUNT		/* must be last */
};

static const char *const csv_role_name[ROLE_COUNT] = {
	[ROLE_PXNAME]	= "pxname",
	[ROLE_SVNAME]	= "svname",
	[ROLE_STATUS]	= "status",
	[ROLE_WEIGHT]	= "weight",
	[ROLE_ACT]	= "act",
	[ROLE_BCK]	= "bck",
	[ROLE_TYPE]	= "type",
	[ROLE_LASTCHG]	= "lastchg",
	[ROLE_STOT]	= "stot",
	[ROLE_REQ_TOT]	= "req_tot",
};

/* One CSV field: the bytes between the quotes when it was quoted. */
struct csv_field {
	const char	*p;
	size_t		 len;
	bool		 esc;		/* holds "" pairs standing for one " */
};

struct csv_ctx {
	const char		*p;		/* next byte to read */
	const char		*end;
	size_t			 line;		/* current line, 1-based */
	unsigned char		*role;		/* enum csv_role per column */
	size_t			 nfields;	/* columns in the header */
	size_t			 last_col;	/* the last column we read... */
	size_t			 last_col_fe;	/* ... of a frontend row */
	struct csv_field	 f[ROLE_COUNT];	/* this row's fields by role */
	char			*err;
	size_t			 errlen;
};

/* A row's values, checked. */
struct csv_row {
	int	 type;
	long	 lastchg;	/* backend rows: seconds since a change; -1 */
	long	 weight;
	int	 act;
	int	 bck;
	long	 stot;		/* frontend rows */
	long	 req_tot;	/* frontend rows; -1 when empty (TCP) */
};

/* Per-parse hash index of snap->backends by name. */
struct be_slot {
	uint32_t	 hash;
	uint32_t	 pos;		/* index in snap->backends + 1; 0 = empty */
	bool		 srv_seen;	/* server rows seen in this parse */
};

struct be_index {
	struct be_slot	*slots;
	size_t		 mask;		/* number of slots - 1 (a power of 2) */
	size_t		 count;
};

static bool csv_fail(struct csv_ctx *, const char *, ...) PRINTF(2, 3);

static bool
csv_fail(struct csv_ctx *c, const char *fmt, ...)
{
	va_list	 ap;
	int	 n;

	if (c->errlen == 0)
		return false;
	n = snprintf(c->err, c->errlen, "line %zu: ", c->line);
	if (n < 0 || (size_t)n >= c->errlen)
		return false;
	va_start(ap, fmt);
	vsnprintf(c->err + n, c->errlen - (size_t)n, fmt, ap);
	va_end(ap);
	return false;
}

/*
 * Read one field at c->p. A field ends with ','. When the line ends
 * instead (a '\n' where a field would start), consume it and set *eol.
 */
/* Bytes that end an unquoted field, or make it invalid. */
static const bool csv_stop[256] = {
	[','] = true, ['\n'] = true, ['"'] = true, ['\0'] = true,
};

static bool
csv_read_field(struct csv_ctx *c, struct csv_field *f, bool *eol)
{
	const char	*p = c->p, *end = c->end;

	*eol = false;
	if (p == end)
		return csv_fail(c, "truncated line (no newline)");
	if (*p == '\n') {
		c->p = p + 1;
		*eol = true;
		return true;
	}
	f->esc = false;
	if (*p == '"') {
		f->p = ++p;
		for (;;) {
			if (p == end)
				return csv_fail(c, "unterminated quoted field");
			if (*p == '"') {
				if (p + 1 < end && p[1] == '"') {
					f->esc = true;
					p += 2;
					continue;
				}
				break;
			}
			if (*p == '\0')
				return csv_fail(c, "NUL byte");
			p++;
		}
		f->len = (size_t)(p - f->p);
		p++;
	} else {
		f->p = p;
		/* The hot loop: one table lookup per byte. */
		while (p < end && !csv_stop[(unsigned char)*p])
			p++;
		if (p < end && *p == '"')
			return csv_fail(c, "quote inside an unquoted field");
		if (p < end && *p == '\0')
			return csv_fail(c, "NUL byte");
		f->len = (size_t)(p - f->p);
	}
	if (p == end)
		return csv_fail(c, "truncated line (no newline)");
	if (*p != ',')
		return csv_fail(c, *p == '\n' ? "line does not end with ','" :
		    "bad quoting");
	c->p = p + 1;
	return true;
}

/*
 * Field helpers. With esc set, every '"' in the span is the first of a ""
 * pair (csv_read_field guarantees it), which stands for one '"'.
 */
static uint32_t
fld_hash(const char *p, size_t len, bool esc)
{
	uint32_t	 h = 2166136261u;	/* FNV-1a */
	size_t		 i;

	for (i = 0; i < len; i++) {
		h ^= (unsigned char)p[i];
		h *= 16777619u;
		if (esc && p[i] == '"')
			i++;
	}
	return h;
}

static bool
fld_eq(const struct csv_field *f, const char *s)
{
	size_t	 i;

	for (i = 0; i < f->len; i++, s++) {
		if (*s != f->p[i])
			return false;
		if (f->esc && f->p[i] == '"')
			i++;
	}
	return *s == '\0';
}

static char *
fld_dup(const struct csv_field *f)
{
	char	*s = xmalloc(f->len + 1), *d = s;
	size_t	 i;

	for (i = 0; i < f->len; i++) {
		*d++ = f->p[i];
		if (f->esc && f->p[i] == '"')
			i++;
	}
	*d = '\0';
	return s;
}

/* A plain decimal number, 0 to max. */
static bool
fld_num(const struct csv_field *f, long max, long *out)
{
	long	 v = 0, d;
	size_t	 i;

	if (f->len == 0 || f->esc)
		return false;
	for (i = 0; i < f->len; i++) {
		if (f->p[i] < '0' || f->p[i] > '9')
			return false;
		d = f->p[i] - '0';
		if (v > max / 10 || (v == max / 10 && d > max % 10))
			return false;
		v = v * 10 + d;
	}
	*out = v;
	return true;
}

/* Parse the header line and map the columns we need. */
static bool
csv_header(struct csv_ctx *c)
{
	struct csv_field	 f;
	size_t			 n = 0, cap = 256;
	bool			 eol;
	int			 r;

	if ((size_t)(c->end - c->p) < 2 || c->p[0] != '#' || c->p[1] != ' ')
		return csv_fail(c, "no \"# pxname,...\" header");
	c->p += 2;
	c->role = xcalloc(cap, 1);
	for (;;) {
		if (!csv_read_field(c, &f, &eol))
			return false;
		if (eol)
			break;
		if (n == cap) {
			c->role = xrealloc(c->role, cap * 2);
			memset(c->role + cap, 0, cap);
			cap *= 2;
		}
		for (r = ROLE_PXNAME; r < ROLE_COUNT; r++) {
			if (c->f[r].p == NULL && fld_eq(&f, csv_role_name[r])) {
				c->role[n] = (unsigned char)r;
				c->f[r] = f;
				break;
			}
		}
		n++;
	}
	for (r = ROLE_PXNAME; r < ROLE_NREQUIRED; r++)
		if (c->f[r].p == NULL)
			return csv_fail(c, "header has no \"%s\" column",
			    csv_role_name[r]);
	c->nfields = n;
	/* Backend and server rows are split up to their last column; a
	 * frontend row (rare: asked for while a drain runs) further. */
	c->last_col = c->last_col_fe = 0;
	for (size_t i = 0; i < n; i++) {
		if (c->role[i] == ROLE_NONE)
			continue;
		c->last_col_fe = i;
		if (c->role[i] < ROLE_NBACKEND)
			c->last_col = i;
	}
	c->line++;
	return true;
}

/* Read one row, keeping the fields we need by role, and count them. */
/* How many bytes of [p, end) are ch: eight at a time, exactly. */
static size_t
count_byte(const char *p, const char *end, unsigned char ch)
{
	const uint64_t	ones = 0x0101010101010101ULL;
	const uint64_t	lo7 = 0x7f7f7f7f7f7f7f7fULL;
	uint64_t	w, x;
	size_t		n = 0;

	for (; end - p >= 8; p += 8) {
		memcpy(&w, p, 8);
		x = w ^ (ones * ch);		/* 0x00 where a byte is ch */
		/* High bit set exactly in the zero bytes (no carry between
		 * bytes: (b & 0x7f) + 0x7f <= 0xfe). */
		x = ~(((x & lo7) + lo7) | x | lo7);
		/* One 0/1 per byte, summed by the multiply into the top byte. */
		n += (size_t)(((x >> 7) * ones) >> 56);
	}
	for (; p < end; p++)
		n += (unsigned char)*p == ch;
	return n;
}

/*
 * The common row: no quote, no NUL, so every field is the bytes between
 * two commas. Split the line up to the last column we read, then only
 * count the rest (the field count must still match the header). Returns
 * false (nothing consumed) when the line needs the careful reader.
 */
/* Split [*start, nl) into the fields of the roles, from column *n up to
 * column last; *q and *start move on. */
static void
csv_split(struct csv_ctx *c, const char *nl, const char **qp,
    const char **startp, size_t *np, size_t last)
{
	const char	*q = *qp, *start = *startp;
	size_t		 n = *np;

	for (; q < nl && n <= last; q++) {
		if (*q != ',')
			continue;
		if (c->role[n] != ROLE_NONE) {
			struct csv_field *f = &c->f[c->role[n]];

			f->p = start;
			f->len = (size_t)(q - start);
			f->esc = false;
		}
		n++;
		start = q + 1;
	}
	*qp = q;
	*startp = start;
	*np = n;
}

static bool
csv_read_row_fast(struct csv_ctx *c, bool *ok)
{
	const char	*p = c->p, *nl, *q, *start;
	size_t		 n = 0;

	nl = memchr(p, '\n', (size_t)(c->end - p));
	if (nl == NULL || nl == p || memchr(p, '"', (size_t)(nl - p)) != NULL ||
	    memchr(p, '\0', (size_t)(nl - p)) != NULL)
		return false;
	q = start = p;
	csv_split(c, nl, &q, &start, &n, c->last_col);
	if (c->last_col_fe > c->last_col && n > c->last_col &&
	    c->f[ROLE_TYPE].len == 1 && c->f[ROLE_TYPE].p[0] == '0')
		csv_split(c, nl, &q, &start, &n, c->last_col_fe);
	n += count_byte(start, nl, ',');
	if (nl[-1] != ',')
		*ok = csv_fail(c, "line does not end with ','");
	else if (n != c->nfields)
		*ok = csv_fail(c, "%zu fields, the header has %zu", n, c->nfields);
	else {
		*ok = true;
		c->p = nl + 1;
		c->line++;
	}
	return true;
}

static bool
csv_read_row(struct csv_ctx *c)
{
	struct csv_field	 f;
	size_t			 n = 0;
	bool			 eol, ok;

	if (csv_read_row_fast(c, &ok))
		return ok;
	for (;;) {
		if (!csv_read_field(c, &f, &eol))
			return false;
		if (eol)
			break;
		if (n < c->nfields && c->role[n] != ROLE_NONE)
			c->f[c->role[n]] = f;
		n++;
	}
	if (n != c->nfields)
		return csv_fail(c, "%zu fields, the header has %zu", n,
		    c->nfields);
	c->line++;
	return true;
}

/* A frontend row: its session and request totals (stot, req_tot), when
 * the header has them; else the row is ignored (type -1). */
static bool
csv_fe_values(struct csv_ctx *c, struct csv_row *row)
{
	const struct csv_field	*rq = &c->f[ROLE_REQ_TOT];

	row->type = -1;
	if (c->f[ROLE_STOT].p == NULL)
		return true;
	if (c->f[ROLE_PXNAME].len == 0)
		return csv_fail(c, "empty pxname");
	if (!fld_num(&c->f[ROLE_STOT], LONG_MAX, &row->stot))
		return csv_fail(c, "bad stot");
	row->req_tot = -1;
	if (rq->p != NULL && rq->len > 0 &&
	    !fld_num(rq, LONG_MAX, &row->req_tot))
		return csv_fail(c, "bad req_tot");
	row->type = CSV_TYPE_FE;
	return true;
}

/* Check the fields of the row just read; rows we ignore get type -1. */
static bool
csv_row_values(struct csv_ctx *c, struct csv_row *row)
{
	long	 v;

	memset(row, 0, sizeof(*row));
	if (!fld_num(&c->f[ROLE_TYPE], INT_MAX, &v))
		return csv_fail(c, "bad type");
	if (v == CSV_TYPE_FE)
		return csv_fe_values(c, row);
	if (v != CSV_TYPE_BE && v != CSV_TYPE_SV) {
		row->type = -1;
		return true;
	}
	row->type = (int)v;
	if (c->f[ROLE_PXNAME].len == 0)
		return csv_fail(c, "empty pxname");
	if (!fld_num(&c->f[ROLE_ACT], INT_MAX, &v))
		return csv_fail(c, "bad act");
	row->act = (int)v;
	if (!fld_num(&c->f[ROLE_BCK], INT_MAX, &v))
		return csv_fail(c, "bad bck");
	row->bck = (int)v;
	if (!fld_num(&c->f[ROLE_WEIGHT], LONG_MAX, &row->weight))
		return csv_fail(c, "bad weight");
	row->lastchg = -1;
	if (row->type == CSV_TYPE_BE && c->f[ROLE_LASTCHG].p != NULL &&
	    c->f[ROLE_LASTCHG].len > 0 &&
	    !fld_num(&c->f[ROLE_LASTCHG], LONG_MAX, &row->lastchg))
		return csv_fail(c, "bad lastchg");
	return true;
}

static struct be_slot *
be_index_put(struct be_index *ix, uint32_t hash, size_t pos)
{
	size_t	 i = hash & ix->mask;

	while (ix->slots[i].pos != 0)
		i = (i + 1) & ix->mask;
	ix->slots[i].hash = hash;
	ix->slots[i].pos = (uint32_t)pos + 1;
	ix->slots[i].srv_seen = false;
	ix->count++;
	return &ix->slots[i];
}

/* Index the backends already in the snapshot (first of a name wins). */
static void
be_index_init(struct be_index *ix, const struct stats_snapshot *snap)
{
	size_t	 size = 64, i;

	while (size < 2 * (snap->nbackends + 1))
		size *= 2;
	ix->slots = xcalloc(size, sizeof(*ix->slots));
	ix->mask = size - 1;
	ix->count = 0;
	for (i = 0; i < snap->nbackends; i++) {
		const char	*name = snap->backends[i].name;
		uint32_t	 h = fld_hash(name, strlen(name), false);
		size_t		 j = h & ix->mask;
		bool		 dup = false;

		for (; ix->slots[j].pos != 0; j = (j + 1) & ix->mask) {
			if (ix->slots[j].hash == h && strcmp(name,
			    snap->backends[ix->slots[j].pos - 1].name) == 0) {
				dup = true;
				break;
			}
		}
		if (!dup)
			(void)be_index_put(ix, h, i);
	}
}

static void
be_index_grow(struct be_index *ix)
{
	struct be_slot	*old = ix->slots;
	size_t		 oldsize = ix->mask + 1, i, j;

	ix->slots = xcalloc(oldsize * 2, sizeof(*ix->slots));
	ix->mask = oldsize * 2 - 1;
	for (i = 0; i < oldsize; i++) {
		if (old[i].pos == 0)
			continue;
		j = old[i].hash & ix->mask;
		while (ix->slots[j].pos != 0)
			j = (j + 1) & ix->mask;
		ix->slots[j] = old[i];
	}
	free(old);
}

/*
 * Find the backend named by f, adding it to snap if it is new. The slot
 * returned stays valid until the next call.
 */
static struct be_slot *
be_index_get(struct be_index *ix, struct stats_snapshot *snap,
    const struct csv_field *f)
{
	struct stats_backend	*be;
	uint32_t		 h = fld_hash(f->p, f->len, f->esc);
	size_t			 i;

	for (i = h & ix->mask; ix->slots[i].pos != 0; i = (i + 1) & ix->mask) {
		if (ix->slots[i].hash == h &&
		    fld_eq(f, snap->backends[ix->slots[i].pos - 1].name))
			return &ix->slots[i];
	}
	if (snap->nbackends == snap->cap) {
		snap->cap = snap->cap ? snap->cap * 2 : 16;
		snap->backends = xrealloc(snap->backends,
		    snap->cap * sizeof(*snap->backends));
	}
	be = &snap->backends[snap->nbackends];
	memset(be, 0, sizeof(*be));
	be->name = fld_dup(f);
	if (2 * (ix->count + 1) > ix->mask + 1)
		be_index_grow(ix);
	return be_index_put(ix, h, snap->nbackends++);
}

/* Merge a frontend row into snap (few: a linear search). */
static void
csv_apply_fe(struct csv_ctx *c, struct stats_snapshot *snap,
    const struct csv_row *row)
{
	const struct csv_field	*st = &c->f[ROLE_STATUS];
	struct stats_frontend	*fe = NULL;
	size_t			 i;

	for (i = 0; i < snap->nfrontends && fe == NULL; i++)
		if (fld_eq(&c->f[ROLE_PXNAME], snap->frontends[i].name))
			fe = &snap->frontends[i];
	if (fe == NULL) {
		snap->frontends = xrealloc(snap->frontends,
		    (snap->nfrontends + 1) * sizeof(*snap->frontends));
		fe = &snap->frontends[snap->nfrontends++];
		fe->name = fld_dup(&c->f[ROLE_PXNAME]);
	}
	fe->stot = row->stot;
	fe->req_tot = row->req_tot;
	fe->open = st->len == 4 && memcmp(st->p, "OPEN", 4) == 0;
}

/* Merge the row just read into snap. */
static void
csv_apply(struct csv_ctx *c, struct be_index *ix, struct stats_snapshot *snap,
    const struct csv_row *row)
{
	const struct csv_field	*st = &c->f[ROLE_STATUS];
	struct be_slot		*slot;
	struct stats_backend	*be;
	bool			 usable;

	if (row->type == CSV_TYPE_FE) {
		csv_apply_fe(c, snap, row);
		return;
	}
	slot = be_index_get(ix, snap, &c->f[ROLE_PXNAME]);
	be = &snap->backends[slot->pos - 1];
	if (row->type == CSV_TYPE_BE) {
		if (row->lastchg > snap->max_lastchg)
			snap->max_lastchg = row->lastchg;
		be->act = row->act;
		be->bck = row->bck;
		be->status_up = st->len >= 2 && memcmp(st->p, "UP", 2) == 0 &&
		    (st->len == 2 || st->p[2] == ' ');
		be->has_row = true;
		if (!be->have_servers_rows)
			be->has_servers = !(be->status_up && be->act == 0 &&
			    be->bck == 0);
		return;
	}
	/* A later output's server rows replace an earlier one's. */
	if (!slot->srv_seen) {
		slot->srv_seen = true;
		be->srv_active = be->srv_active_usable = 0;
		be->srv_backup = be->srv_backup_usable = 0;
	}
	usable = stats_server_usable(st->p, st->len, row->weight);
	if (row->bck != 0) {
		be->srv_backup++;
		be->srv_backup_usable += usable;
	} else {
		be->srv_active++;
		be->srv_active_usable += usable;
	}
	be->have_servers_rows = true;
	be->has_servers = true;
}

/*
 * Walk the rows from c->p. Without ix, only validate; with it, merge into
 * snap. A blank line ends the output (the CLI adds one) and must be last.
 */
static bool
csv_rows(struct csv_ctx *c, struct be_index *ix, struct stats_snapshot *snap)
{
	struct csv_row	 row;

	memset(&row, 0, sizeof(row));
	while (c->p < c->end) {
		if (*c->p == '\n') {
			if (c->p + 1 != c->end)
				return csv_fail(c, "data after the blank line "
				    "that ends the output");
			return true;
		}
		if (!csv_read_row(c) || !csv_row_values(c, &row))
			return false;
		if (ix != NULL && row.type != -1)
			csv_apply(c, ix, snap, &row);
	}
	return true;
}

void
stats_snapshot_init(struct stats_snapshot *snap)
{
	memset(snap, 0, sizeof(*snap));
	snap->max_lastchg = -1;
}

void
stats_forget_servers(struct stats_backend *be)
{
	if (!be->have_servers_rows)
		return;
	be->have_servers_rows = false;
	be->srv_active = be->srv_active_usable = 0;
	be->srv_backup = be->srv_backup_usable = 0;
	be->has_servers = be->has_row &&
	    !(be->status_up && be->act == 0 && be->bck == 0);
}

static void
snapshot_clear_rows(struct stats_snapshot *snap)
{
	size_t	i;

	for (i = 0; i < snap->nbackends; i++)
		free(snap->backends[i].name);
	FREE(snap->backends);
	snap->nbackends = snap->cap = 0;
	for (i = 0; i < snap->nfrontends; i++)
		free(snap->frontends[i].name);
	FREE(snap->frontends);
	snap->nfrontends = 0;
}

/*
 * Merge one "show stat" output into snap (see stats.h). On failure snap
 * is unchanged and err says which line is wrong. Allocates only the names
 * of new backends (owned by snap) and per-call scratch (column map, index).
 */
bool
stats_parse_csv(const char *buf, size_t len, struct stats_snapshot *snap,
    char *err, size_t errlen)
{
	struct csv_ctx	 c;
	struct be_index	 ix;
	const char	*rows;
	size_t		 rowline;
	bool		 ok = false;

	memset(&c, 0, sizeof(c));
	c.line = 1;
	c.err = err;
	c.errlen = errlen;
	if (buf == NULL)
		return csv_fail(&c, "no \"# pxname,...\" header");
	c.p = buf;
	c.end = buf + len;
	if (!csv_header(&c))
		goto out;
	rows = c.p;
	rowline = c.line;
	if (snap->nbackends == 0 && snap->nfrontends == 0) {
		/* Nothing to keep unchanged: merge in one pass, and empty the
		 * snapshot again if the output turns out malformed. */
		int64_t age = snap->max_lastchg;

		be_index_init(&ix, snap);
		ok = csv_rows(&c, &ix, snap);
		free(ix.slots);
		if (!ok) {
			snapshot_clear_rows(snap);
			snap->max_lastchg = age;
		}
		goto out;
	}
	/* Validate first, so that a malformed output changes nothing. */
	if (!csv_rows(&c, NULL, snap))
		goto out;
	c.p = rows;
	c.line = rowline;
	be_index_init(&ix, snap);
	ok = csv_rows(&c, &ix, snap);
	free(ix.slots);
out:
	free(c.role);
	return ok;
}

static int
backend_cmp(const void *a, const void *b)
{
	const struct stats_backend	*x = a, *y = b;

	return strcmp(x->name, y->name);
}

/* Sort by name so that stats_find_backend() can binary-search. */
void
stats_snapshot_finish(struct stats_snapshot *snap)
{
	if (snap->nbackends > 1)
		qsort(snap->backends, snap->nbackends,
		    sizeof(*snap->backends), backend_cmp);
}

const struct stats_frontend *
stats_find_frontend(const struct stats_snapshot *snap, const char *name)
{
	size_t	i;

	for (i = 0; i < snap->nfrontends; i++)
		if (strcmp(snap->frontends[i].name, name) == 0)
			return &snap->frontends[i];
	return NULL;
}

/* The backend called name, or NULL; the pointer is owned by snap. */
const struct stats_backend *
stats_find_backend(const struct stats_snapshot *snap, const char *name)
{
	size_t	 lo = 0, hi = snap->nbackends, mid;
	int	 cmp;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		cmp = strcmp(name, snap->backends[mid].name);
		if (cmp == 0)
			return &snap->backends[mid];
		if (cmp < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

void
stats_snapshot_clear(struct stats_snapshot *snap)
{
	if (snap == NULL)
		return;
	snapshot_clear_rows(snap);
	stats_snapshot_init(snap);
}

struct stats_snapshot *
stats_snapshot_new(void)
{
	struct stats_snapshot	*snap = xmalloc(sizeof(*snap));

	stats_snapshot_init(snap);
	return snap;
}

void
stats_snapshot_free(struct stats_snapshot *snap)
{
	if (snap == NULL)
		return;
	stats_snapshot_clear(snap);
	free(snap);
}

/* show info */

#define INFO_PID	0x01
#define INFO_UPTIME	0x02
#define INFO_STOPPING	0x04
#define INFO_VERSION	0x08
#define INFO_ALL	0x0f

/* show info field names: letters, digits, '_', '-', '.', inner spaces. */
static bool
info_name_ok(const char *p, size_t len)
{
	size_t	 i;

	if (len == 0 || len > 64 || p[0] == ' ')
		return false;
	for (i = 0; i < len; i++) {
		if (!((p[i] >= 'a' && p[i] <= 'z') ||
		    (p[i] >= 'A' && p[i] <= 'Z') ||
		    (p[i] >= '0' && p[i] <= '9') ||
		    p[i] == '_' || p[i] == '-' || p[i] == '.' || p[i] == ' '))
			return false;
	}
	return true;
}

static bool
info_num(const char *p, size_t len, int64_t max, int64_t *out)
{
	int64_t	 v = 0, d;
	size_t	 i;

	if (len == 0)
		return false;
	for (i = 0; i < len; i++) {
		if (p[i] < '0' || p[i] > '9')
			return false;
		d = p[i] - '0';
		if (v > max / 10 || (v == max / 10 && d > max % 10))
			return false;
		v = v * 10 + d;
	}
	*out = v;
	return true;
}

#define NAME_IS(lit)	(nlen == sizeof(lit) - 1 && memcmp(p, lit, nlen) == 0)

/* One "Name: value" line; sets the bit of a field it recognized. */
static bool
info_field(const char *p, size_t nlen, const char *v, size_t vlen,
    struct stats_info *info, unsigned *seen, char *err, size_t errlen)
{
	int64_t	 n;
	size_t	 i;

	if (NAME_IS("Pid")) {
		if (!info_num(v, vlen, INT_MAX, &n) || n == 0) {
			snprintf(err, errlen, "bad Pid");
			return false;
		}
		info->pid = (int)n;
		*seen |= INFO_PID;
	} else if (NAME_IS("Uptime_sec")) {
		if (!info_num(v, vlen, INT64_MAX, &n)) {
			snprintf(err, errlen, "bad Uptime_sec");
			return false;
		}
		info->uptime_sec = n;
		*seen |= INFO_UPTIME;
	} else if (NAME_IS("Stopping")) {
		if (!info_num(v, vlen, 1, &n)) {
			snprintf(err, errlen, "bad Stopping");
			return false;
		}
		info->stopping = n == 1;
		*seen |= INFO_STOPPING;
	} else if (NAME_IS("Version")) {
		if (vlen == 0) {
			snprintf(err, errlen, "empty Version");
			return false;
		}
		for (i = 0; i < vlen && i < sizeof(info->version) - 1; i++)
			info->version[i] = (v[i] < ' ' || v[i] == 0x7f) ? ' ' :
			    v[i];
		info->version[i] = '\0';
		*seen |= INFO_VERSION;
	}
	return true;
}

#undef NAME_IS

/*
 * Parse "show info" (see stats.h): every line "Name: value", an optional
 * blank line last; Pid, Uptime_sec, Stopping and Version are required.
 * out is written only on success.
 */
bool
stats_parse_info(const char *buf, size_t len, struct stats_info *out,
    char *err, size_t errlen)
{
	struct stats_info	 info;
	const char	*p = buf, *end, *nl, *sep;
	unsigned	 seen = 0;

	memset(&info, 0, sizeof(info));
	end = buf != NULL ? buf + len : NULL;
	while (p != NULL && p < end) {
		if (*p == '\n') {
			if (p + 1 != end) {
				snprintf(err, errlen, "data after the blank "
				    "line that ends the output");
				return false;
			}
			break;
		}
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL) {
			snprintf(err, errlen, "truncated line (no newline)");
			return false;
		}
		sep = memmem(p, (size_t)(nl - p), ": ", 2);
		if (sep == NULL || !info_name_ok(p, (size_t)(sep - p)) ||
		    memchr(p, '\0', (size_t)(nl - p)) != NULL) {
			snprintf(err, errlen, "not show info output");
			return false;
		}
		if (!info_field(p, (size_t)(sep - p), sep + 2,
		    (size_t)(nl - sep - 2), &info, &seen, err, errlen))
			return false;
		p = nl + 1;
	}
	if ((seen & INFO_ALL) != INFO_ALL) {
		snprintf(err, errlen, "no %s",
		    !(seen & INFO_PID) ? "Pid" : !(seen & INFO_UPTIME) ?
		    "Uptime_sec" : !(seen & INFO_STOPPING) ? "Stopping" :
		    "Version");
		return false;
	}
	*out = info;
	return true;
}

/* HAProxy arithmetic */

/* be_usable_srv() from the backend row's act and bck (see stats.h). */
int
stats_nbsrv(int act, int bck, bool allbackups)
{
	if (act > 0)
		return act;
	if (bck <= 0)
		return 0;
	return allbackups ? bck : 1;
}

/*
 * "UP n/m": the going-down form of "UP", n = health - rise + 1 and m =
 * fall. 3.4 (seen on 3.4.7; 3.2.26 and older start at health = rise)
 * shows a checked server RUNNING with health 0 until its first check, so
 * n is negative for rise >= 2: "UP -1/3" with the default rise 2 fall 3,
 * which HAProxy counts as usable (in the backend's act) like any "UP n/m".
 */
static bool
status_up_going_down(const char *s, size_t len)
{
	size_t	 i = 3, digits;
	int	 part;

	if (len < 6 || memcmp(s, "UP ", 3) != 0)
		return false;
	for (part = 0; part < 2; part++) {
		if (part == 0 && i < len && s[i] == '-')
			i++;
		for (digits = 0; i < len && s[i] >= '0' && s[i] <= '9'; i++)
			digits++;
		if (digits == 0)
			return false;
		if (part == 0) {
			if (i == len || s[i] != '/')
				return false;
			i++;
		}
	}
	return i == len;
}

/*
 * srv_currently_usable() from a server row: the status strings come from
 * srv_hlt_st[] in HAProxy's src/stats.c (2.6) / src/stats-proxy.c (3.4).
 */
bool
stats_server_usable(const char *status, size_t len, long weight)
{
	if (weight <= 0 || status == NULL)
		return false;
	if (len == 2 && memcmp(status, "UP", 2) == 0)
		return true;
	if (len == 8 && memcmp(status, "no check", 8) == 0)
		return true;
	return status_up_going_down(status, len);
}

/* Capacity percent of be (see stats.h); -1 when it cannot be known. */
int
stats_capacity(const struct stats_backend *be, int nbsrv)
{
	/* Without server rows, only a backend known to be empty qualifies. */
	if (!be->have_servers_rows && !(be->has_row && !be->has_servers))
		return -1;
	if (be->srv_active <= 0)
		return nbsrv >= 1 ? 100 : 0;
	return (int)(100L * be->srv_active_usable / be->srv_active);
}
