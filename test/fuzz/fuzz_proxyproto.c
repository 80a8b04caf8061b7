/*
 * fuzz_proxyproto.c: pp_parse() (agent/proxyproto.h) on the first bytes of a
 * connection, as an "accept_proxy" listener receives them.
 *
 * Invariants checked on every input:
 *  - the result is PP_INVALID, PP_INCOMPLETE or a length <= len and
 *    <= PP_MAX_HEADER (v1: <= 107 and ending in CRLF; v2: 16 + the length
 *    field);
 *  - a header: version 1 for 'P', 2 otherwise; local headers carry
 *    AF_UNSPEC addresses, others one family (AF_INET or AF_INET6) for both;
 *  - the buffer cut to the header's length parses to the same header, and
 *    strict prefixes of it are PP_INCOMPLETE;
 *  - PP_INVALID on a prefix stays PP_INVALID whatever follows, a header
 *    found in a prefix is the header of the whole;
 *  - round trip: the addresses of a header, written back as a v1 line
 *    (inet_ntop) and as a v2 header, parse to the same addresses;
 *  - nothing is read past len (exact-size heap copies, ASan).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <string.h>

#include "fuzz.h"
#include "proxyproto.h"

#define PP_V1_MAX	107

static const uint8_t v2sig[12] = {
	0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a
};

static bool
info_eq(const struct pp_info *a, const struct pp_info *b)
{
	return a->version == b->version && a->local == b->local &&
	    memcmp(&a->src, &b->src, sizeof(a->src)) == 0 &&
	    memcmp(&a->dst, &b->dst, sizeof(a->dst)) == 0;
}

/* Parse an exact-size copy of data[0..len); check what any result must. */
static int
parse(const uint8_t *data, size_t len, struct pp_info *out)
{
	uint8_t	*buf = fz_memdup(data, len);
	int	 r;

	memset(out, 0, sizeof(*out));
	r = pp_parse(buf, len, out);
	FZ_CHECK(r >= PP_INVALID);
	FZ_CHECK(r <= 0 || (size_t)r <= len);
	FZ_CHECK(r <= PP_MAX_HEADER);
	if (r > 0) {
		FZ_CHECK(out->version == (buf[0] == 'P' ? 1 : 2));
		if (out->version == 1)
			FZ_CHECK(r <= PP_V1_MAX && r >= 2 &&
			    buf[r - 2] == '\r' && buf[r - 1] == '\n');
		else
			FZ_CHECK(r >= 16 && (size_t)r == 16 +
			    ((size_t)buf[14] << 8 | buf[15]));
		FZ_CHECK(out->local == 0 || out->local == 1);
		if (out->local)
			FZ_CHECK(out->src.ss_family == AF_UNSPEC &&
			    out->dst.ss_family == AF_UNSPEC);
		else
			FZ_CHECK(out->src.ss_family == out->dst.ss_family &&
			    (out->src.ss_family == AF_INET ||
			    out->src.ss_family == AF_INET6));
	}
	free(buf);
	return r;
}

/* The header's addresses as a v1 line and as a v2 header: same result. */
static void
round_trip(const struct pp_info *pi)
{
	const struct sockaddr_in	*s4, *d4;
	const struct sockaddr_in6	*s6, *d6;
	struct pp_info			 back;
	char				 line[160], sa[INET6_ADDRSTRLEN],
					 da[INET6_ADDRSTRLEN];
	uint8_t				 v2[16 + 36];
	size_t				 alen;
	int				 n, r;

	if (pi->local)
		return;
	if (pi->src.ss_family == AF_INET) {
		s4 = (const struct sockaddr_in *)&pi->src;
		d4 = (const struct sockaddr_in *)&pi->dst;
		FZ_CHECK(inet_ntop(AF_INET, &s4->sin_addr, sa, sizeof(sa)));
		FZ_CHECK(inet_ntop(AF_INET, &d4->sin_addr, da, sizeof(da)));
		n = snprintf(line, sizeof(line), "PROXY TCP4 %s %s %u %u\r\n",
		    sa, da, ntohs(s4->sin_port), ntohs(d4->sin_port));
		alen = 4;
		memcpy(v2 + 16, &s4->sin_addr, 4);
		memcpy(v2 + 20, &d4->sin_addr, 4);
		memcpy(v2 + 24, &s4->sin_port, 2);
		memcpy(v2 + 26, &d4->sin_port, 2);
	} else {
		s6 = (const struct sockaddr_in6 *)&pi->src;
		d6 = (const struct sockaddr_in6 *)&pi->dst;
		FZ_CHECK(inet_ntop(AF_INET6, &s6->sin6_addr, sa, sizeof(sa)));
		FZ_CHECK(inet_ntop(AF_INET6, &d6->sin6_addr, da, sizeof(da)));
		n = snprintf(line, sizeof(line), "PROXY TCP6 %s %s %u %u\r\n",
		    sa, da, ntohs(s6->sin6_port), ntohs(d6->sin6_port));
		alen = 16;
		memcpy(v2 + 16, &s6->sin6_addr, 16);
		memcpy(v2 + 32, &d6->sin6_addr, 16);
		memcpy(v2 + 48, &s6->sin6_port, 2);
		memcpy(v2 + 50, &d6->sin6_port, 2);
	}
	FZ_CHECK(n > 0 && (size_t)n < sizeof(line));
	r = parse((const uint8_t *)line, (size_t)n, &back);
	if (r != n)
		fprintf(stderr, "v1 line refused: %s", line);
	FZ_CHECK(r == n);
	FZ_CHECK(back.version == 1 && !back.local);
	FZ_CHECK(memcmp(&back.src, &pi->src, sizeof(back.src)) == 0);
	FZ_CHECK(memcmp(&back.dst, &pi->dst, sizeof(back.dst)) == 0);

	memcpy(v2, v2sig, sizeof(v2sig));
	v2[12] = 0x21;				/* v2 PROXY */
	v2[13] = alen == 4 ? 0x11 : 0x21;	/* TCP4 or TCP6 */
	v2[14] = 0;
	v2[15] = (uint8_t)(alen * 2 + 4);
	r = parse(v2, 16 + alen * 2 + 4, &back);
	FZ_CHECK(r == (int)(16 + alen * 2 + 4));
	FZ_CHECK(back.version == 2 && !back.local);
	FZ_CHECK(memcmp(&back.src, &pi->src, sizeof(back.src)) == 0);
	FZ_CHECK(memcmp(&back.dst, &pi->dst, sizeof(back.dst)) == 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pp_info	 full, cut, pre;
	size_t		 ks[4], i, k;
	int		 r, rc, rp;

	r = parse(data, size, &full);

	if (r > 0) {
		rc = parse(data, (size_t)r, &cut);
		FZ_CHECK(rc == r && info_eq(&cut, &full));
		/* Every strict prefix of a short header, some of a long one. */
		if (r <= 128) {
			for (k = 0; k < (size_t)r; k++)
				FZ_CHECK(parse(data, k, &pre) == PP_INCOMPLETE);
		} else {
			ks[0] = (size_t)r - 1;
			ks[1] = (size_t)r / 2;
			ks[2] = 16;
			ks[3] = (size_t)data[size - 1] % (size_t)r;
			for (i = 0; i < 4; i++)
				FZ_CHECK(parse(data, ks[i], &pre) ==
				    PP_INCOMPLETE);
		}
		round_trip(&full);
	} else if (size > 0) {
		ks[0] = size - 1;
		ks[1] = size / 2;
		ks[2] = size > 16 ? 16 : size - 1;
		ks[3] = (size_t)data[0] % size;
		for (i = 0; i < 4; i++) {
			rp = parse(data, ks[i], &pre);
			if (rp == PP_INVALID)
				FZ_CHECK(r == PP_INVALID);
			FZ_CHECK(rp <= 0);	/* else the whole has it */
			if (r == PP_INCOMPLETE)
				FZ_CHECK(rp == PP_INCOMPLETE);
		}
	}
	return 0;
}
