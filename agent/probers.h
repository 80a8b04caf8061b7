/*
 * probers.h: who probes the services: the source addresses of the load
 * balancers' health checks (an http listener's health paths; the address
 * a PROXY header carries, when one does) and of upstream HAProxy
 * agent-checks, with when they last probed, how often, and how many of
 * their answers in a row refused them.
 *
 * The responders write here as they answer (one hash lookup per probe);
 * a drain (drain.h) reads it to know when the load balancers have let go.
 * The table has a fixed bound: a scan or a flood from many addresses
 * evicts the stalest entry (one no drain watches, if there is one), and
 * the evictions are counted.
 */
#ifndef HW_PROBERS_H
#define HW_PROBERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define PROBERS_MAX	1024	/* entries; about 100 KiB */

enum prober_kind {
	PROBER_HTTP,		/* a health path of an http listener */
	PROBER_AGENT,		/* an agent-check port */
};

/* A prober's source address, without its port. */
struct prober_addr {
	uint8_t	family;		/* AF_INET, AF_INET6; 0: none */
	uint8_t	bytes[16];
};

/* What one prober of one service has done. */
struct prober {
	struct prober_addr	addr;
	uint32_t		svc;		/* the service's config index */
	uint8_t			kind;		/* enum prober_kind */
	bool			watched;	/* a drain of svc watches it */
	int64_t			first_seen;	/* mono ms */
	int64_t			last_seen;
	int64_t			interval;	/* the last gap, ms; 0 unknown */
	uint64_t		probes;
	uint32_t		refused;	/* answers in a row that refused it
						 * (non-2xx, or the drain word),
						 * since its drain began */
};

struct probers;

struct probers	*probers_new(size_t max);
void		 probers_free(struct probers *p);

/* The address of sa (its port dropped); false for what has none (unix). */
bool		 prober_addr_of(const struct sockaddr *sa,
		    struct prober_addr *out);
/* "10.0.0.5", "2001:db8::1" into buf. */
void		 prober_addr_str(const struct prober_addr *a, char *buf,
		    size_t len);

/* A probe from addr was answered for service svc: accepted (2xx, an "up"
 * agent reply) or refused (anything else). */
void		 probers_seen(struct probers *p, size_t svc,
		    enum prober_kind kind, const struct prober_addr *addr,
		    bool accepted);

/* A drain of svc begins: watch every prober of svc seen since `since`
 * (mono ms), and more than once (a load balancer probes over and over; a
 * one-off connection is not one), their refusals counted from now.
 * Returns how many. */
size_t		 probers_watch(struct probers *p, size_t svc, int64_t since);
/* Watch too every prober of svc not watched yet, seen since `since` more
 * than once, its refusals as they stand (a drain restored at start: each
 * answer since the start refused it). Returns how many were added. */
size_t		 probers_watch_more(struct probers *p, size_t svc,
		    int64_t since);
/* The drain of svc ended: watch its probers no more. */
void		 probers_unwatch(struct probers *p, size_t svc);
/* The watched probers of svc, in table order (the pointers are valid
 * until the next probers_seen). */
size_t		 probers_watched(const struct probers *p, size_t svc,
		    const struct prober **out, size_t max);
/* The entry of (svc, kind, addr), or NULL (never seen, or evicted). */
const struct prober *probers_find(const struct probers *p, size_t svc,
		    enum prober_kind kind, const struct prober_addr *addr);
/* Whether a watched prober probed since the last call (and clear it). */
bool		 probers_take_news(struct probers *p);

/* After a config reload: map[old index] is the new index of each
 * service, or SIZE_MAX for one that is gone (its entries are dropped). */
void		 probers_remap(struct probers *p, const size_t *map, size_t nmap);

/* Up to max probers, the most recently seen first. */
size_t		 probers_recent(const struct probers *p,
		    const struct prober **out, size_t max);
size_t		 probers_count(const struct probers *p);
uint64_t	 probers_evictions(const struct probers *p);

#endif
