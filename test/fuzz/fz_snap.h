/*
 * fz_snap.h: checks and deep copies of a struct stats_snapshot, shared by
 * fuzz_stats_csv.c and fuzz_poll_reply.c.
 */
#ifndef HW_FZ_SNAP_H
#define HW_FZ_SNAP_H

#include <stdbool.h>
#include <string.h>

#include "fuzz.h"
#include "stats.h"

/* What any snapshot must hold, sorted (after stats_snapshot_finish) or
 * not. */
static inline void
fz_snap_check(const struct stats_snapshot *s, bool sorted)
{
	const struct stats_backend	*be;
	size_t				 i;
	int				 nb, cap, allb;

	FZ_CHECK(s->nbackends <= s->cap);
	FZ_CHECK(s->nbackends == 0 || s->backends != NULL);
	for (i = 0; i < s->nbackends; i++) {
		be = &s->backends[i];
		FZ_CHECK(be->name != NULL && be->name[0] != '\0');
		FZ_CHECK(be->act >= 0 && be->bck >= 0);
		FZ_CHECK(be->srv_active >= 0 && be->srv_backup >= 0);
		FZ_CHECK(be->srv_active_usable >= 0 &&
		    be->srv_active_usable <= be->srv_active);
		FZ_CHECK(be->srv_backup_usable >= 0 &&
		    be->srv_backup_usable <= be->srv_backup);
		FZ_CHECK(be->has_row || be->have_servers_rows);
		if (be->have_servers_rows)
			FZ_CHECK(be->has_servers &&
			    be->srv_active + be->srv_backup >= 1);
		else
			FZ_CHECK(be->srv_active == 0 && be->srv_backup == 0);
		for (allb = 0; allb < 2; allb++) {
			nb = stats_nbsrv(be->act, be->bck, allb);
			FZ_CHECK(nb >= 0);
			cap = stats_capacity(be, nb);
			FZ_CHECK(cap >= -1 && cap <= 100);
		}
		if (!sorted)
			continue;
		if (i > 0)
			FZ_CHECK(strcmp(s->backends[i - 1].name, be->name) < 0);
		FZ_CHECK(stats_find_backend(s, be->name) == be);
	}
}

/* A deep copy, to compare with later. Free with stats_snapshot_free(). */
static inline void
fz_snap_copy(struct stats_snapshot *dst, const struct stats_snapshot *src)
{
	size_t	i;

	*dst = *src;
	dst->backends = NULL;
	dst->frontends = NULL;
	if (src->nfrontends > 0) {
		dst->frontends = malloc(src->nfrontends *
		    sizeof(*dst->frontends));
		FZ_CHECK(dst->frontends != NULL);
		for (i = 0; i < src->nfrontends; i++) {
			dst->frontends[i] = src->frontends[i];
			dst->frontends[i].name = strdup(src->frontends[i].name);
			FZ_CHECK(dst->frontends[i].name != NULL);
		}
	}
	if (src->cap == 0)
		return;
	dst->backends = malloc(src->cap * sizeof(*dst->backends));
	FZ_CHECK(dst->backends != NULL);
	for (i = 0; i < src->nbackends; i++) {
		dst->backends[i] = src->backends[i];
		dst->backends[i].name = strdup(src->backends[i].name);
		FZ_CHECK(dst->backends[i].name != NULL);
	}
}

/* Same content (the backend array's address and capacity aside; frontend
 * rows are compared by fz_snap_fe_eq). */
static inline bool
fz_snap_eq(const struct stats_snapshot *a, const struct stats_snapshot *b)
{
	const struct stats_backend	*x, *y;
	size_t				 i;

	if (a->nbackends != b->nbackends || a->has_info != b->has_info ||
	    a->max_lastchg != b->max_lastchg ||
	    a->info.pid != b->info.pid ||
	    a->info.uptime_sec != b->info.uptime_sec ||
	    a->info.stopping != b->info.stopping ||
	    strncmp(a->info.version, b->info.version,
	    sizeof(a->info.version)) != 0)
		return false;
	for (i = 0; i < a->nbackends; i++) {
		x = &a->backends[i];
		y = &b->backends[i];
		if (strcmp(x->name, y->name) != 0 || x->act != y->act ||
		    x->bck != y->bck || x->status_up != y->status_up ||
		    x->has_row != y->has_row ||
		    x->has_servers != y->has_servers ||
		    x->have_servers_rows != y->have_servers_rows ||
		    x->srv_active != y->srv_active ||
		    x->srv_active_usable != y->srv_active_usable ||
		    x->srv_backup != y->srv_backup ||
		    x->srv_backup_usable != y->srv_backup_usable)
			return false;
	}
	return true;
}

/* Same frontend rows. */
static inline bool
fz_snap_fe_eq(const struct stats_snapshot *a, const struct stats_snapshot *b)
{
	size_t	i;

	if (a->nfrontends != b->nfrontends)
		return false;
	for (i = 0; i < a->nfrontends; i++)
		if (strcmp(a->frontends[i].name, b->frontends[i].name) != 0 ||
		    a->frontends[i].stot != b->frontends[i].stot ||
		    a->frontends[i].req_tot != b->frontends[i].req_tot ||
		    a->frontends[i].open != b->frontends[i].open)
			return false;
	return true;
}

#endif
