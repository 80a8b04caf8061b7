/*
 * probers.c: the bounded table of probers.
 *
 * Entries live in one array; an open-addressing index (linear probing,
 * backward-shift deletion) finds them by (service, kind, address), and a
 * list threaded through them keeps them from the least recently seen to
 * the most, so that an eviction takes the stalest in constant time.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "probers.h"
#include "util.h"

#define NIL	UINT32_MAX

struct slot {
	struct prober	p;
	uint32_t	prev, next;	/* the recency list */
	uint32_t	hash;
};

struct probers {
	struct slot	*e;
	uint32_t	 n, max;
	uint32_t	*index;		/* entry + 1; 0 empty */
	uint32_t	 mask;
	uint32_t	 head, tail;	/* stalest, freshest */
	uint64_t	 evictions;
	bool		 news;
};

static uint32_t
key_hash(size_t svc, enum prober_kind kind, const struct prober_addr *a)
{
	uint32_t	h = 2166136261u;	/* FNV-1a */
	uint8_t		k[4 + 1 + 1 + 16];
	size_t		i;

	memcpy(k, &(uint32_t){ (uint32_t)svc }, 4);
	k[4] = (uint8_t)kind;
	k[5] = a->family;
	memcpy(k + 6, a->bytes, 16);
	for (i = 0; i < sizeof(k); i++) {
		h ^= k[i];
		h *= 16777619u;
	}
	return h;
}

static bool
key_eq(const struct prober *p, size_t svc, enum prober_kind kind,
    const struct prober_addr *a)
{
	return p->svc == svc && p->kind == kind &&
	    memcmp(&p->addr, a, sizeof(*a)) == 0;
}

struct probers *
probers_new(size_t max)
{
	struct probers	*p = xcalloc(1, sizeof(*p));
	size_t		 size = 16;

	while (size < 2 * max)
		size *= 2;
	p->max = (uint32_t)max;
	p->e = xcalloc(max, sizeof(*p->e));
	p->index = xcalloc(size, sizeof(*p->index));
	p->mask = (uint32_t)size - 1;
	p->head = p->tail = NIL;
	return p;
}

void
probers_free(struct probers *p)
{
	if (p == NULL)
		return;
	free(p->e);
	free(p->index);
	free(p);
}

bool
prober_addr_of(const struct sockaddr *sa, struct prober_addr *out)
{
	memset(out, 0, sizeof(*out));
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const void *)sa;

		out->family = AF_INET;
		memcpy(out->bytes, &in->sin_addr, 4);
		return true;
	}
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const void *)sa;

		out->family = AF_INET6;
		memcpy(out->bytes, &in6->sin6_addr, 16);
		return true;
	}
	return false;
}

void
prober_addr_str(const struct prober_addr *a, char *buf, size_t len)
{
	if (a->family == 0 || inet_ntop(a->family, a->bytes, buf,
	    (socklen_t)len) == NULL)
		snprintf(buf, len, "?");
}

/* ---- the recency list ---- */

static void
list_unlink(struct probers *p, uint32_t i)
{
	struct slot	*s = &p->e[i];

	if (s->prev != NIL)
		p->e[s->prev].next = s->next;
	else
		p->head = s->next;
	if (s->next != NIL)
		p->e[s->next].prev = s->prev;
	else
		p->tail = s->prev;
}

static void
list_append(struct probers *p, uint32_t i)
{
	p->e[i].prev = p->tail;
	p->e[i].next = NIL;
	if (p->tail != NIL)
		p->e[p->tail].next = i;
	else
		p->head = i;
	p->tail = i;
}

/* ---- the index ---- */

/* The index slot that holds entry i. */
static uint32_t
index_find_entry(const struct probers *p, uint32_t i)
{
	uint32_t	k = p->e[i].hash & p->mask;

	while (p->index[k] != i + 1)
		k = (k + 1) & p->mask;
	return k;
}

/* Remove slot k, shifting back the entries probed past it. */
static void
index_remove(struct probers *p, uint32_t k)
{
	uint32_t	j = k, want;

	p->index[k] = 0;
	for (;;) {
		j = (j + 1) & p->mask;
		if (p->index[j] == 0)
			return;
		want = p->e[p->index[j] - 1].hash & p->mask;
		/* Moves back if its home is not in (k, j]. */
		if ((j > k && (want <= k || want > j)) ||
		    (j < k && (want <= k && want > j))) {
			p->index[k] = p->index[j];
			p->index[j] = 0;
			k = j;
		}
	}
}

/* Drop entry i: the last entry takes its place. */
static void
entry_remove(struct probers *p, uint32_t i)
{
	uint32_t	last = p->n - 1;

	index_remove(p, index_find_entry(p, i));
	list_unlink(p, i);
	if (i != last) {
		uint32_t k = index_find_entry(p, last);

		p->e[i] = p->e[last];
		p->index[k] = i + 1;
		if (p->e[i].prev != NIL)
			p->e[p->e[i].prev].next = i;
		else
			p->head = i;
		if (p->e[i].next != NIL)
			p->e[p->e[i].next].prev = i;
		else
			p->tail = i;
	}
	p->n--;
}

/* Make room: the stalest entry no drain watches, else the stalest. */
static void
probers_evict(struct probers *p)
{
	uint32_t	i;

	for (i = p->head; i != NIL && p->e[i].p.watched; i = p->e[i].next)
		;
	entry_remove(p, i != NIL ? i : p->head);
	p->evictions++;
}

void
probers_seen(struct probers *p, size_t svc, enum prober_kind kind,
    const struct prober_addr *addr, bool accepted)
{
	uint32_t	 h = key_hash(svc, kind, addr), k, i;
	int64_t		 now = mono_ms();
	struct prober	*e;

	for (k = h & p->mask; p->index[k] != 0; k = (k + 1) & p->mask) {
		i = p->index[k] - 1;
		if (p->e[i].hash == h && key_eq(&p->e[i].p, svc, kind, addr))
			goto found;
	}
	if (p->n == p->max) {
		probers_evict(p);
		for (k = h & p->mask; p->index[k] != 0; k = (k + 1) & p->mask)
			;
	}
	i = p->n++;
	memset(&p->e[i], 0, sizeof(p->e[i]));
	p->e[i].hash = h;
	p->e[i].p.addr = *addr;
	p->e[i].p.svc = (uint32_t)svc;
	p->e[i].p.kind = (uint8_t)kind;
	p->e[i].p.first_seen = now;
	p->index[k] = i + 1;
	list_append(p, i);
	goto seen;
found:
	list_unlink(p, i);
	list_append(p, i);
seen:
	e = &p->e[i].p;
	if (e->probes > 0)
		e->interval = now - e->last_seen;
	e->last_seen = now;
	e->probes++;
	e->refused = accepted ? 0 : e->refused + 1;
	if (e->watched)
		p->news = true;
}

size_t
probers_watch(struct probers *p, size_t svc, int64_t since)
{
	size_t	i, n = 0;

	for (i = 0; i < p->n; i++) {
		struct prober *e = &p->e[i].p;

		/* A load balancer probes over and over: a one-off connection
		 * (an operator's curl, a port scan) is not one. */
		if (e->svc != svc || e->last_seen < since || e->probes < 2)
			continue;
		e->watched = true;
		e->refused = 0;
		n++;
	}
	return n;
}

size_t
probers_watch_more(struct probers *p, size_t svc, int64_t since)
{
	size_t	i, n = 0;

	for (i = 0; i < p->n; i++) {
		struct prober *e = &p->e[i].p;

		if (e->svc != svc || e->watched || e->last_seen < since ||
		    e->probes < 2)
			continue;
		e->watched = true;
		n++;
	}
	return n;
}

void
probers_unwatch(struct probers *p, size_t svc)
{
	size_t	i;

	for (i = 0; i < p->n; i++)
		if (p->e[i].p.svc == svc)
			p->e[i].p.watched = false;
}

size_t
probers_watched(const struct probers *p, size_t svc,
    const struct prober **out, size_t max)
{
	size_t	i, n = 0;

	for (i = 0; i < p->n && n < max; i++)
		if (p->e[i].p.svc == svc && p->e[i].p.watched)
			out[n++] = &p->e[i].p;
	return n;
}

const struct prober *
probers_find(const struct probers *p, size_t svc, enum prober_kind kind,
    const struct prober_addr *addr)
{
	uint32_t	h = key_hash(svc, kind, addr), k, i;

	for (k = h & p->mask; p->index[k] != 0; k = (k + 1) & p->mask) {
		i = p->index[k] - 1;
		if (p->e[i].hash == h && key_eq(&p->e[i].p, svc, kind, addr))
			return &p->e[i].p;
	}
	return NULL;
}

bool
probers_take_news(struct probers *p)
{
	bool	news = p->news;

	p->news = false;
	return news;
}

void
probers_remap(struct probers *p, const size_t *map, size_t nmap)
{
	uint32_t	i = 0, k;

	while (i < p->n) {
		struct slot *s = &p->e[i];

		if (s->p.svc >= nmap || map[s->p.svc] == SIZE_MAX) {
			entry_remove(p, i);	/* the last one moved here */
			continue;
		}
		/* A new index changes the key: index it anew. */
		index_remove(p, index_find_entry(p, i));
		s->p.svc = (uint32_t)map[s->p.svc];
		s->hash = key_hash(s->p.svc, s->p.kind, &s->p.addr);
		for (k = s->hash & p->mask; p->index[k] != 0;
		    k = (k + 1) & p->mask)
			;
		p->index[k] = i + 1;
		i++;
	}
}

size_t
probers_recent(const struct probers *p, const struct prober **out,
    size_t max)
{
	size_t		n = 0;
	uint32_t	i;

	for (i = p->tail; i != NIL && n < max; i = p->e[i].prev)
		out[n++] = &p->e[i].p;
	return n;
}

size_t
probers_count(const struct probers *p)
{
	return p->n;
}

uint64_t
probers_evictions(const struct probers *p)
{
	return p->evictions;
}
