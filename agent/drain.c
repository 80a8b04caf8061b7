/*
 * drain.c: judging whether a drain has let go.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "drain.h"
#include "probers.h"
#include "stats.h"

/* A prober watched, by its key: the table's entry may move or go. */
struct dprober {
	enum prober_kind	kind;
	struct prober_addr	addr;
};

/* A frontend watched: its totals when they last grew. */
struct dfront {
	char	*name;
	bool	 have;		/* a row was seen */
	long	 stot;
	long	 req_tot;
	int64_t	 last_growth;	/* mono ms */
};

struct drain {
	size_t			 svc;
	struct conf_let_go	 lg;
	bool			 tcp;
	int64_t			 began;		/* mono ms */
	int64_t			 discover_until; /* mono ms; 0: none (see
						  * drain_resume) */
	struct dprober		*probers;
	size_t			 nprobers;
	struct dfront		*fronts;
	size_t			 nfronts;
	const char		**names;	/* the fronts' names */
	struct drain_item	*items;
	size_t			 nitems;
	bool			 let_go;
	int64_t			 at_wall;
	char			 summary[256];
};

static const char *const kind_names[] = {
	[DRAIN_HTTP] = "http", [DRAIN_AGENT] = "agent",
	[DRAIN_FRONTEND] = "frontend", [DRAIN_TCP] = "tcp",
	[DRAIN_RESTART] = "restart",
};

const char *
drain_kind_name(enum drain_kind k)
{
	return kind_names[k];
}

static void
drain_set_fronts(struct drain *d, const struct drain_watch *w)
{
	struct dfront	*old = d->fronts;
	size_t		 nold = d->nfronts, i, j;

	d->nfronts = w->nfrontends;
	d->fronts = xcalloc(d->nfronts, sizeof(*d->fronts));
	d->names = xrealloc(d->names, (d->nfronts + 1) * sizeof(*d->names));
	for (i = 0; i < d->nfronts; i++) {
		d->fronts[i].name = xstrdup(w->frontends[i]);
		d->names[i] = d->fronts[i].name;
		/* A frontend still watched keeps its quiet so far. */
		for (j = 0; j < nold; j++) {
			if (old[j].name == NULL ||	/* taken already */
			    strcmp(old[j].name, w->frontends[i]) != 0)
				continue;
			free(d->fronts[i].name);
			d->fronts[i] = old[j];
			old[j].name = NULL;
			d->names[i] = d->fronts[i].name;
			break;
		}
	}
	for (j = 0; j < nold; j++)
		free(old[j].name);
	free(old);
}

/* Take the probers of svc that p watches now as the drain's. */
static void
drain_take_probers(struct drain *d, const struct probers *p)
{
	const struct prober	*watched[DRAIN_MAX_ITEMS];
	size_t			 i;

	d->nprobers = probers_watched(p, d->svc, watched, DRAIN_MAX_ITEMS);
	d->probers = xrealloc(d->probers, (d->nprobers + 1) *
	    sizeof(*d->probers));
	for (i = 0; i < d->nprobers; i++) {
		d->probers[i].kind = watched[i]->kind;
		d->probers[i].addr = watched[i]->addr;
	}
}

static struct drain *
drain_new(size_t svc, const struct drain_watch *w, int64_t now)
{
	struct drain	*d = xcalloc(1, sizeof(*d));

	d->svc = svc;
	d->lg = w->let_go;
	d->tcp = w->tcp;
	d->began = now;
	drain_set_fronts(d, w);
	d->items = xcalloc(DRAIN_MAX_ITEMS, sizeof(*d->items));
	return d;
}

struct drain *
drain_begin(size_t svc, const struct drain_watch *w, struct probers *p,
    int64_t now)
{
	struct drain	*d = drain_new(svc, w, now);

	(void)probers_watch(p, svc, now - DRAIN_PROBER_WINDOW_MS);
	drain_take_probers(d, p);
	return d;
}

struct drain *
drain_resume(size_t svc, const struct drain_watch *w, struct probers *p,
    int64_t now, int64_t let_go_wall)
{
	struct drain	*d = drain_new(svc, w, now);

	if (let_go_wall > 0) {
		d->let_go = true;
		d->at_wall = let_go_wall;
		snprintf(d->summary, sizeof(d->summary), "let go before the "
		    "restart");
		return d;
	}
	d->discover_until = now + DRAIN_PROBER_WINDOW_MS;
	drain_take_probers(d, p);
	return d;
}

void
drain_rewatch(struct drain *d, size_t svc, const struct drain_watch *w)
{
	d->svc = svc;
	d->lg = w->let_go;
	d->tcp = w->tcp;
	drain_set_fronts(d, w);
}

static struct drain_item *
item_add(struct drain *d, enum drain_kind kind, const char *what)
{
	struct drain_item	*it;

	if (d->nitems == DRAIN_MAX_ITEMS)
		return NULL;
	it = &d->items[d->nitems++];
	memset(it, 0, sizeof(*it));
	it->kind = kind;
	snprintf(it->what, sizeof(it->what), "%s", what);
	return it;
}

static void
lower(int64_t *next, int64_t at)
{
	if (at < *next)
		*next = at;
}

/* One prober: refused enough, or gone quiet for 3 of its intervals. */
static void
judge_prober(struct drain *d, const struct dprober *dp,
    const struct probers *p, int64_t now, int64_t *next)
{
	const struct prober	*e = probers_find(p, d->svc, dp->kind, &dp->addr);
	int			 need = dp->kind == PROBER_AGENT ? 1 :
				    d->lg.failures;
	char			 addr[64];
	struct drain_item	*it;

	prober_addr_str(&dp->addr, addr, sizeof(addr));
	it = item_add(d, dp->kind == PROBER_AGENT ? DRAIN_AGENT : DRAIN_HTTP,
	    addr);
	if (it == NULL)
		return;
	if (e == NULL) {
		it->let_go = true;
		snprintf(it->progress, sizeof(it->progress), "no longer tracked "
		    "(the prober table is full)");
	} else if ((int)e->refused >= need) {
		it->let_go = true;
		snprintf(it->progress, sizeof(it->progress), dp->kind ==
		    PROBER_AGENT ? "told to drain" : "refused %u in a row",
		    e->refused);
	} else if (e->interval > 0 && now - e->last_seen > 3 * e->interval) {
		it->let_go = true;
		snprintf(it->progress, sizeof(it->progress), "gone: no probe "
		    "for %llds (3 x its %llds)", (long long)(now -
		    e->last_seen) / 1000, (long long)e->interval / 1000);
	} else {
		snprintf(it->progress, sizeof(it->progress), "%u of %d "
		    "refusals, last probe %llds ago", e->refused, need,
		    (long long)(now - e->last_seen) / 1000);
		if (e->interval > 0)
			lower(next, e->last_seen + 3 * e->interval + 1);
	}
}

/* One frontend: no new session or request for let_go.quiet. */
static void
judge_front(struct drain *d, struct dfront *f,
    const struct stats_snapshot *snap, int64_t now, int64_t *next)
{
	const struct stats_frontend	*fe;
	struct drain_item		*it = item_add(d, DRAIN_FRONTEND, f->name);
	int64_t				 quiet;

	if (it == NULL)
		return;
	if (snap == NULL) {
		snprintf(it->progress, sizeof(it->progress), "stats unavailable");
		return;
	}
	if ((fe = stats_find_frontend(snap, f->name)) == NULL) {
		snprintf(it->progress, sizeof(it->progress), "no such frontend");
		return;
	}
	if (!f->have || fe->stot != f->stot || fe->req_tot != f->req_tot) {
		f->last_growth = now;
		f->stot = fe->stot;
		f->req_tot = fe->req_tot;
		f->have = true;
	}
	quiet = now - f->last_growth;
	if (quiet >= d->lg.quiet) {
		it->let_go = true;
		snprintf(it->progress, sizeof(it->progress), "quiet for %llds",
		    (long long)quiet / 1000);
		return;
	}
	snprintf(it->progress, sizeof(it->progress), "quiet %llds of %llds "
	    "(%ld sessions so far)", (long long)quiet / 1000,
	    (long long)d->lg.quiet / 1000, fe->stot);
	lower(next, f->last_growth + d->lg.quiet);
}

/* Tcp listeners with no frontend to judge them: a fixed time. */
static void
judge_tcp(struct drain *d, int64_t now, int64_t *next)
{
	struct drain_item	*it = item_add(d, DRAIN_TCP, "tcp");
	int64_t			 closed = now - d->began;

	if (it == NULL)
		return;
	if (closed >= d->lg.tcp) {
		it->let_go = true;
		snprintf(it->progress, sizeof(it->progress), "closed for %llds",
		    (long long)closed / 1000);
		return;
	}
	snprintf(it->progress, sizeof(it->progress), "closed %llds of %llds",
	    (long long)closed / 1000, (long long)d->lg.tcp / 1000);
	lower(next, d->began + d->lg.tcp);
}

/* A drain resumed after a restart: who probes in the window after it. */
static void
judge_restart(struct drain *d, struct probers *p, int64_t now, int64_t *next)
{
	struct drain_item	*it;

	if (d->discover_until == 0)
		return;
	if (now < d->discover_until && probers_watch_more(p, d->svc,
	    d->began) > 0)
		drain_take_probers(d, p);
	if ((it = item_add(d, DRAIN_RESTART, "probers after the restart")) ==
	    NULL)
		return;
	if (now >= d->discover_until) {
		it->let_go = true;
		snprintf(it->progress, sizeof(it->progress), "watched who "
		    "probed for %llds", (long long)DRAIN_PROBER_WINDOW_MS / 1000);
		return;
	}
	snprintf(it->progress, sizeof(it->progress), "watching who probes: "
	    "%llds of %llds", (long long)(now - d->began) / 1000,
	    (long long)DRAIN_PROBER_WINDOW_MS / 1000);
	/* A new prober has no news to tell: look again each second. */
	lower(next, now + 1000 < d->discover_until ? now + 1000 :
	    d->discover_until);
}

/* "waiting for: http 10.0.0.5 (1 of 2 refusals); ..." or the let-go. */
static void
drain_summarize(struct drain *d, size_t pending)
{
	size_t	i, len;
	int	n;

	if (d->let_go) {
		if (d->nitems == 0)
			snprintf(d->summary, sizeof(d->summary), "let go at once: "
			    "nothing to watch (no prober in the 5 minutes "
			    "before, no frontend, no tcp listener)");
		else
			snprintf(d->summary, sizeof(d->summary), "let go: all "
			    "%zu watched have let go", d->nitems);
		return;
	}
	n = snprintf(d->summary, sizeof(d->summary), "waiting for %zu of %zu:",
	    pending, d->nitems);
	len = n > 0 ? (size_t)n : 0;
	for (i = 0; i < d->nitems && len < sizeof(d->summary); i++) {
		const struct drain_item *it = &d->items[i];

		if (it->let_go)
			continue;
		n = snprintf(d->summary + len, sizeof(d->summary) - len,
		    " %s %s (%s);", kind_names[it->kind], it->what, it->progress);
		len += n > 0 ? (size_t)n : 0;
	}
	if (len > 0 && len < sizeof(d->summary) && d->summary[len - 1] == ';')
		d->summary[len - 1] = '\0';
}

bool
drain_judge(struct drain *d, struct probers *p,
    const struct stats_snapshot *snap, int64_t now, int64_t *next)
{
	size_t	i, pending = 0;

	if (d->let_go)
		return false;
	d->nitems = 0;
	judge_restart(d, p, now, next);
	/* Probers first, but never in the slots of the frontends and the
	 * tcp item: those must be judged whatever the number of probers. */
	for (i = 0; i < d->nprobers &&
	    d->nitems + d->nfronts + 1 < DRAIN_MAX_ITEMS; i++)
		judge_prober(d, &d->probers[i], p, now, next);
	for (i = 0; i < d->nfronts; i++)
		judge_front(d, &d->fronts[i], snap, now, next);
	if (d->tcp && d->nfronts == 0)
		judge_tcp(d, now, next);
	for (i = 0; i < d->nitems; i++)
		pending += !d->items[i].let_go;
	if (pending == 0) {
		d->let_go = true;
		d->at_wall = wall_ms();
	}
	drain_summarize(d, pending);
	return d->let_go;
}

void
drain_end(struct drain *d, struct probers *p)
{
	size_t	i;

	if (d == NULL)
		return;
	probers_unwatch(p, d->svc);
	for (i = 0; i < d->nfronts; i++)
		free(d->fronts[i].name);
	free(d->fronts);
	free(d->names);
	free(d->probers);
	free(d->items);
	free(d);
}

bool
drain_let_go(const struct drain *d)
{
	return d->let_go;
}

int64_t
drain_let_go_at(const struct drain *d)
{
	return d->at_wall;
}

size_t
drain_items(const struct drain *d, const struct drain_item **items)
{
	*items = d->items;
	return d->nitems;
}

const char *
drain_summary(const struct drain *d)
{
	return d->summary;
}

size_t
drain_frontends(const struct drain *d, const char *const **names)
{
	*names = d->names;
	return d->nfronts;
}
