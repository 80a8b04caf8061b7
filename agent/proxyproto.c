/*
 * proxyproto.c: PROXY protocol v1 (text) and v2 (binary) header parser, as
 * specified in HAProxy's doc/proxy-protocol.txt. Pure: no I/O, no
 * allocation, no global state.
 *
 * The parser is stateless and is called again on the whole buffer when more
 * bytes arrive. Every byte present is checked, so a buffer that cannot be
 * the start of a valid header is PP_INVALID at once, and PP_INCOMPLETE
 * always means "a valid prefix so far".
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <string.h>

#include "proxyproto.h"

#define PP_V1_MAX	107	/* longest v1 line, CRLF included */
#define PP_V1_ADDRLEN	45	/* longest v6 text ("::ffff:" + dotted quad) */
#define PP_V2_SIGLEN	12
#define PP_V2_HDRLEN	16	/* signature, ver_cmd, fam, len */
#define PP_V2_TLVHDR	3	/* type, length (16 bits) */

#define PP_V2_VERSION	0x20	/* high nibble of ver_cmd */
#define PP_V2_LOCAL	0x0
#define PP_V2_PROXY	0x1

#define PP_V2_UNSPEC	0x00	/* fam byte values we accept */
#define PP_V2_TCP4	0x11
#define PP_V2_TCP6	0x21
#define PP_V2_UNIX	0x31

#define PP_OK		1	/* internal: this part parsed */

static const uint8_t pp_v2_sig[PP_V2_SIGLEN] = {
	0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a
};

/* A read position in the bytes received so far. */
struct pp_cur {
	const uint8_t	*p;
	const uint8_t	*end;
};

/* The addresses of a v1 TCP4/TCP6 line, in network byte order. */
struct pp_v1_addrs {
	int		family;
	uint8_t		src[16];
	uint8_t		dst[16];
	uint16_t	sport;
	uint16_t	dport;
};

enum pp_field {
	PP_F_ADDR4,
	PP_F_ADDR6,
	PP_F_PORT,
};

/*
 * Store an address (4 or 16 bytes, network order) and a port (network
 * order) as a sockaddr of the given family.
 */
static void
pp_set_addr(struct sockaddr_storage *ss, int family, const uint8_t *addr,
    uint16_t nport)
{
	struct sockaddr_in	*sin;
	struct sockaddr_in6	*sin6;

	memset(ss, 0, sizeof(*ss));
	if (family == AF_INET) {
		sin = (struct sockaddr_in *)ss;
		sin->sin_family = AF_INET;
		sin->sin_port = nport;
		memcpy(&sin->sin_addr, addr, 4);
	} else {
		sin6 = (struct sockaddr_in6 *)ss;
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = nport;
		memcpy(&sin6->sin6_addr, addr, 16);
	}
}

/* A header that carries no usable address: src and dst are AF_UNSPEC. */
static void
pp_set_local(struct pp_info *out, int version)
{
	out->version = version;
	out->local = 1;
	memset(&out->src, 0, sizeof(out->src));
	memset(&out->dst, 0, sizeof(out->dst));
	out->src.ss_family = AF_UNSPEC;
	out->dst.ss_family = AF_UNSPEC;
}

/*
 * Match the literal s at the cursor. PP_OK: matched and consumed;
 * PP_INCOMPLETE: the bytes present match but run out; PP_INVALID: mismatch.
 */
static int
pp_lit(struct pp_cur *c, const char *s)
{
	for (; *s != '\0'; s++, c->p++) {
		if (c->p == c->end)
			return PP_INCOMPLETE;
		if (*c->p != (uint8_t)*s)
			return PP_INVALID;
	}
	return PP_OK;
}

static bool
pp_isdigit(int ch)
{
	return ch >= '0' && ch <= '9';
}

static bool
pp_ishex(int ch)
{
	return pp_isdigit(ch) || (ch >= 'a' && ch <= 'f') ||
	    (ch >= 'A' && ch <= 'F');
}

/*
 * Can s[0..n) start a dotted quad as v1 wants it (four decimal numbers
 * 0-255 without leading zeroes)? inet_pton has the last word on complete
 * tokens; this only rejects a partial one early.
 */
static bool
pp_v4_prefix(const char *s, size_t n)
{
	size_t	i, dots = 0, digits = 0;
	int	val = 0;

	for (i = 0; i < n; i++) {
		if (s[i] == '.') {
			if (digits == 0 || ++dots > 3)
				return false;
			digits = 0;
			val = 0;
			continue;
		}
		if (!pp_isdigit(s[i]) || (digits == 1 && val == 0))
			return false;
		val = val * 10 + (s[i] - '0');
		if (++digits > 3 || val > 255)
			return false;
	}
	return true;
}

/*
 * Can s[0..n) start an IPv6 address? Hex groups of at most 4 digits, at
 * most 8 groups (7 with a "::", which stands for at least one), one "::",
 * no ":::", and only a dotted quad (two groups) after the first dot.
 * Approximate on purpose: inet_pton decides on the complete token.
 */
static bool
pp_v6_prefix(const char *s, size_t n)
{
	size_t	i, run = 0, colons = 0, groups = 0, max = 8;
	bool	dotted = false;

	for (i = 0; i < n; i++) {
		if (s[i] == ':') {
			if (dotted || ++colons > 2)
				return false;
			if (colons == 2) {
				if (max == 7)
					return false;	/* a second "::" */
				max = 7;
			}
			/* A single colon promises one more group. */
			if (colons == 1 && groups >= max)
				return false;
			run = 0;
		} else if (s[i] == '.') {
			if (run == 0 || (!dotted && ++groups > max))
				return false;
			dotted = true;
			run = 0;
			colons = 0;
		} else if (pp_ishex(s[i])) {
			if ((dotted && !pp_isdigit(s[i])) || ++run > 4)
				return false;
			if (run == 1 && !dotted && ++groups > max)
				return false;
			colons = 0;
		} else
			return false;
	}
	return true;
}

/*
 * Can s[0..n) start a v1 port (decimal 0-65535, no sign, no leading
 * zero)? Stores the value so far in *port.
 */
static bool
pp_port_prefix(const char *s, size_t n, uint16_t *port)
{
	size_t	i;
	long	val = 0;

	for (i = 0; i < n; i++) {
		if (!pp_isdigit(s[i]) || (i == 1 && val == 0))
			return false;
		val = val * 10 + (s[i] - '0');
		if (val > 65535)
			return false;
	}
	*port = (uint16_t)val;
	return true;
}

/*
 * Parse one field of a v1 line, up to and including the byte stop. dst
 * receives the address (4 or 16 bytes) or the port, in network order.
 */
static int
pp_v1_field(struct pp_cur *c, enum pp_field kind, uint8_t stop, void *dst)
{
	char		tok[PP_V1_ADDRLEN + 1];
	size_t		n = 0;
	uint16_t	port = 0;
	bool		ok;

	while (c->p < c->end && *c->p != stop) {
		if (n == PP_V1_ADDRLEN)
			return PP_INVALID;
		tok[n++] = (char)*c->p++;
	}
	tok[n] = '\0';
	switch (kind) {
	case PP_F_ADDR4:
		ok = pp_v4_prefix(tok, n);
		break;
	case PP_F_ADDR6:
		ok = pp_v6_prefix(tok, n);
		break;
	default:
		ok = pp_port_prefix(tok, n, &port);
		break;
	}
	if (!ok)
		return PP_INVALID;
	if (c->p == c->end)
		return PP_INCOMPLETE;
	c->p++;			/* the stop byte */
	if (n == 0)
		return PP_INVALID;
	if (kind == PP_F_PORT) {
		port = htons(port);
		memcpy(dst, &port, sizeof(port));
		return PP_OK;
	}
	if (inet_pton(kind == PP_F_ADDR4 ? AF_INET : AF_INET6, tok, dst) != 1)
		return PP_INVALID;
	return PP_OK;
}

/*
 * After "PROXY UNKNOWN": either CRLF at once, or a space and anything
 * (ignored, as the spec says) up to CRLF. A lone CR or LF is invalid.
 */
static int
pp_v1_unknown(struct pp_cur *c)
{
	if (c->p == c->end)
		return PP_INCOMPLETE;
	if (*c->p == ' ') {
		c->p++;
		while (c->p < c->end && *c->p != '\r' && *c->p != '\n')
			c->p++;
	}
	return pp_lit(c, "\r\n");
}

/*
 * Parse a v1 line at the cursor. Fills *a (family AF_UNSPEC for UNKNOWN).
 */
static int
pp_v1_line(struct pp_cur *c, struct pp_v1_addrs *a)
{
	enum pp_field	kind;
	int		r;

	if ((r = pp_lit(c, "PROXY ")) != PP_OK)
		return r;
	if (c->p == c->end)
		return PP_INCOMPLETE;
	if (*c->p == 'U') {
		a->family = AF_UNSPEC;
		if ((r = pp_lit(c, "UNKNOWN")) != PP_OK)
			return r;
		return pp_v1_unknown(c);
	}
	if ((r = pp_lit(c, "TCP")) != PP_OK)
		return r;
	if (c->p == c->end)
		return PP_INCOMPLETE;
	if (*c->p == '4') {
		a->family = AF_INET;
		kind = PP_F_ADDR4;
	} else if (*c->p == '6') {
		a->family = AF_INET6;
		kind = PP_F_ADDR6;
	} else
		return PP_INVALID;
	c->p++;
	if ((r = pp_lit(c, " ")) != PP_OK ||
	    (r = pp_v1_field(c, kind, ' ', a->src)) != PP_OK ||
	    (r = pp_v1_field(c, kind, ' ', a->dst)) != PP_OK ||
	    (r = pp_v1_field(c, PP_F_PORT, ' ', &a->sport)) != PP_OK ||
	    (r = pp_v1_field(c, PP_F_PORT, '\r', &a->dport)) != PP_OK)
		return r;
	return pp_lit(c, "\n");
}

static int
pp_v1(const uint8_t *buf, size_t len, struct pp_info *out)
{
	struct pp_cur		c;
	struct pp_v1_addrs	a;
	int			r;

	/* Never look past 107 bytes: running out there means too long. */
	c.p = buf;
	c.end = buf + (len < PP_V1_MAX ? len : PP_V1_MAX);
	r = pp_v1_line(&c, &a);
	if (r == PP_INCOMPLETE && len >= PP_V1_MAX)
		return PP_INVALID;
	if (r != PP_OK)
		return r;

	if (a.family == AF_UNSPEC)
		pp_set_local(out, 1);
	else {
		out->version = 1;
		out->local = 0;
		pp_set_addr(&out->src, a.family, a.src, a.sport);
		pp_set_addr(&out->dst, a.family, a.dst, a.dport);
	}
	return (int)(c.p - buf);
}

/*
 * Walk the TLVs of a v2 header in buf[off..total), over the bytes present.
 * Each must fit whole in the header; their content is ignored (AWS sends
 * 0xEA, the VPC endpoint id).
 */
static int
pp_v2_tlvs(const uint8_t *buf, size_t len, size_t off, size_t total)
{
	size_t	avail = len < total ? len : total;

	while (off < total) {
		if (off + PP_V2_TLVHDR > total)
			return PP_INVALID;
		if (off + PP_V2_TLVHDR > avail)
			return PP_INCOMPLETE;
		off += PP_V2_TLVHDR + ((size_t)buf[off + 1] << 8 | buf[off + 2]);
		if (off > total)
			return PP_INVALID;
	}
	return len < total ? PP_INCOMPLETE : PP_OK;
}

/* Bytes of addresses the fam byte announces; -1 for a family we refuse. */
static int
pp_v2_addrlen(uint8_t fam)
{
	switch (fam) {
	case PP_V2_UNSPEC:
		return 0;
	case PP_V2_TCP4:
		return 12;
	case PP_V2_TCP6:
		return 36;
	case PP_V2_UNIX:
		return 216;
	default:
		return -1;
	}
}

static void
pp_v2_fill(const uint8_t *buf, uint8_t fam, struct pp_info *out)
{
	uint16_t	sport, dport;
	const uint8_t	*a = buf + PP_V2_HDRLEN;
	size_t		alen = fam == PP_V2_TCP4 ? 4 : 16;
	int		family = fam == PP_V2_TCP4 ? AF_INET : AF_INET6;

	out->version = 2;
	out->local = 0;
	memcpy(&sport, a + 2 * alen, 2);
	memcpy(&dport, a + 2 * alen + 2, 2);
	pp_set_addr(&out->src, family, a, sport);
	pp_set_addr(&out->dst, family, a + alen, dport);
}

static int
pp_v2(const uint8_t *buf, size_t len, struct pp_info *out)
{
	size_t	total;
	int	cmd, need, r;
	uint8_t	fam;

	if (memcmp(buf, pp_v2_sig, len < PP_V2_SIGLEN ? len : PP_V2_SIGLEN))
		return PP_INVALID;
	if (len <= PP_V2_SIGLEN)
		return PP_INCOMPLETE;
	cmd = buf[12] & 0x0f;
	if ((buf[12] & 0xf0) != PP_V2_VERSION ||
	    (cmd != PP_V2_LOCAL && cmd != PP_V2_PROXY))
		return PP_INVALID;
	if (len <= 13)
		return PP_INCOMPLETE;
	fam = buf[13];
	if ((need = pp_v2_addrlen(fam)) < 0)
		return PP_INVALID;
	if (len < PP_V2_HDRLEN)
		return PP_INCOMPLETE;
	total = PP_V2_HDRLEN + ((size_t)buf[14] << 8 | buf[15]);
	if (total > PP_MAX_HEADER)
		return PP_INVALID;

	/* LOCAL: the family and whatever follows are ignored. */
	if (cmd == PP_V2_LOCAL) {
		if (len < total)
			return PP_INCOMPLETE;
		pp_set_local(out, 2);
		return (int)total;
	}
	if (total - PP_V2_HDRLEN < (size_t)need)
		return PP_INVALID;
	/* PROXY over UNSPEC or UNIX: no usable address, as LOCAL. */
	if (fam == PP_V2_UNSPEC || fam == PP_V2_UNIX) {
		if (len < total)
			return PP_INCOMPLETE;
		pp_set_local(out, 2);
		return (int)total;
	}
	r = pp_v2_tlvs(buf, len, PP_V2_HDRLEN + (size_t)need, total);
	if (r != PP_OK)
		return r;
	pp_v2_fill(buf, fam, out);
	return (int)total;
}

int
pp_parse(const uint8_t *buf, size_t len, struct pp_info *out)
{
	if (len == 0)
		return PP_INCOMPLETE;
	if (buf[0] == 'P')
		return pp_v1(buf, len, out);
	if (buf[0] == pp_v2_sig[0])
		return pp_v2(buf, len, out);
	return PP_INVALID;
}
