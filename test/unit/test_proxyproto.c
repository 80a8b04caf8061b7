/*
 * test_proxyproto.c: PROXY protocol v1 and v2 header parsing.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "proxyproto.h"

#define S(s)	((const uint8_t *)(s)), (sizeof(s) - 1)

static const uint8_t v2sig[12] = {
	0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a
};

/* Build a v2 header in buf: signature, ver_cmd, fam, then body (len bytes,
 * announced as alen). Returns the bytes written. */
static size_t
v2_build(uint8_t *buf, uint8_t ver_cmd, uint8_t fam, const uint8_t *body,
    size_t len, size_t alen)
{
	memcpy(buf, v2sig, 12);
	buf[12] = ver_cmd;
	buf[13] = fam;
	buf[14] = (uint8_t)(alen >> 8);
	buf[15] = (uint8_t)alen;
	if (len > 0)
		memcpy(buf + 16, body, len);
	return 16 + len;
}

/* Every strict prefix of buf[0..len) is INCOMPLETE; the whole parses. */
static int
feed_bytewise(const uint8_t *buf, size_t len, struct pp_info *out)
{
	size_t	i;

	for (i = 0; i < len; i++)
		assert_int_equal(pp_parse(buf, i, out), PP_INCOMPLETE);
	return pp_parse(buf, len, out);
}

static void
check_in4(const struct sockaddr_storage *ss, const char *addr, int port)
{
	const struct sockaddr_in	*sin = (const struct sockaddr_in *)ss;
	char				 txt[INET_ADDRSTRLEN];

	assert_int_equal(sin->sin_family, AF_INET);
	assert_non_null(inet_ntop(AF_INET, &sin->sin_addr, txt, sizeof(txt)));
	assert_string_equal(txt, addr);
	assert_int_equal(ntohs(sin->sin_port), port);
}

static void
check_in6(const struct sockaddr_storage *ss, const char *addr, int port)
{
	const struct sockaddr_in6	*sin6 = (const struct sockaddr_in6 *)ss;
	char				 txt[INET6_ADDRSTRLEN];

	assert_int_equal(sin6->sin6_family, AF_INET6);
	assert_non_null(inet_ntop(AF_INET6, &sin6->sin6_addr, txt,
	    sizeof(txt)));
	assert_string_equal(txt, addr);
	assert_int_equal(ntohs(sin6->sin6_port), port);
}

static void
test_v1_tcp4(void **state)
{
	static const char	line[] = "PROXY TCP4 1.2.3.4 5.6.7.8 1111 2222\r\n";
	struct pp_info		pi;

	(void)state;
	assert_int_equal(feed_bytewise(S(line), &pi), strlen(line));
	assert_int_equal(pi.version, 1);
	assert_int_equal(pi.local, 0);
	check_in4(&pi.src, "1.2.3.4", 1111);
	check_in4(&pi.dst, "5.6.7.8", 2222);
}

static void
test_v1_tcp4_limits(void **state)
{
	static const char	line[] =
	    "PROXY TCP4 255.255.255.255 0.0.0.0 65535 0\r\n";
	struct pp_info		pi;

	(void)state;
	assert_int_equal(pp_parse(S(line), &pi), strlen(line));
	check_in4(&pi.src, "255.255.255.255", 65535);
	check_in4(&pi.dst, "0.0.0.0", 0);
}

static void
test_v1_tcp6(void **state)
{
	static const char	line[] =
	    "PROXY TCP6 2001:db8::1 ::ffff:10.0.0.1 65535 80\r\n";
	static const char	longest[] = "PROXY TCP6 "
	    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff "
	    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 65535\r\n";
	struct pp_info		pi;

	(void)state;
	assert_int_equal(feed_bytewise(S(line), &pi), strlen(line));
	assert_int_equal(pi.version, 1);
	assert_int_equal(pi.local, 0);
	check_in6(&pi.src, "2001:db8::1", 65535);
	check_in6(&pi.dst, "::ffff:10.0.0.1", 80);

	assert_int_equal(pp_parse(S("PROXY TCP6 1:2:3:4:5:6:7:: :: 1 2\r\n"),
	    &pi), 35);
	check_in6(&pi.src, "1:2:3:4:5:6:7:0", 1);
	check_in6(&pi.dst, "::", 2);

	assert_int_equal(strlen(longest), 104);
	assert_int_equal(feed_bytewise(S(longest), &pi), 104);
	check_in6(&pi.src, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 65535);
}

static void
test_v1_unknown(void **state)
{
	static const char	shortf[] = "PROXY UNKNOWN\r\n";
	static const char	longf[] = "PROXY UNKNOWN "
	    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff "
	    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 65535\r\n";
	static const char	junk[] = "PROXY UNKNOWN whatever\tit says\r\n";
	struct pp_info		pi;

	(void)state;
	assert_int_equal(feed_bytewise(S(shortf), &pi), 15);
	assert_int_equal(pi.version, 1);
	assert_int_equal(pi.local, 1);
	assert_int_equal(pi.src.ss_family, AF_UNSPEC);

	assert_int_equal(strlen(longf), 107);
	assert_int_equal(feed_bytewise(S(longf), &pi), 107);
	assert_int_equal(pi.local, 1);

	assert_int_equal(pp_parse(S(junk), &pi), strlen(junk));
	assert_int_equal(pi.local, 1);
}

static void
test_v1_trailing_data(void **state)
{
	static const char	buf[] =
	    "PROXY TCP4 10.0.0.1 10.0.0.2 40000 8080\r\nGET / HTTP/1.1\r\n\r\n";
	struct pp_info		pi;

	(void)state;
	assert_int_equal(pp_parse(S(buf), &pi),
	    strlen("PROXY TCP4 10.0.0.1 10.0.0.2 40000 8080\r\n"));
	check_in4(&pi.src, "10.0.0.1", 40000);
}

static void
test_v1_invalid(void **state)
{
	static const char *const bad[] = {
		"PROXY TCP4 1.2.3.4 5.6.7.8 1111 2222\n",	/* bare LF */
		"PROXY TCP4 1.2.3.4 5.6.7.8 1111 2222\rX",	/* lone CR */
		"PROXY TCP4 1.2.3.4 5.6.7.8 1111 2222 \r\n",	/* extra SP */
		"PROXY TCP4  1.2.3.4 5.6.7.8 1111 2222\r\n",
		"PROXY TCP4 1.2.3.4  5.6.7.8 1111 2222\r\n",
		"PROXY  TCP4 1.2.3.4 5.6.7.8 1111 2222\r\n",
		"PROXY TCP4 1.2.3.4 5.6.7.8 +1111 2222\r\n",	/* sign */
		"PROXY TCP4 1.2.3.4 5.6.7.8 1111 65536\r\n",	/* range */
		"PROXY TCP4 1.2.3.4 5.6.7.8 01111 2222\r\n",	/* leading 0 */
		"PROXY TCP4 1.2.3.4 5.6.7.8 -1 2222\r\n",
		"PROXY TCP4 1.2.3.4 5.6.7.8 1111\r\n",		/* no dport */
		"PROXY TCP4 1.2.3.4 5.6.7.8 1111 \r\n",	/* empty dport */
		"PROXY TCP4 1.2.3.4 5.6.7.8  2222\r\n",	/* empty sport */
		"PROXY TCP4 1.2.3.256 5.6.7.8 1111 2222\r\n",
		"PROXY TCP4 1.2.3 5.6.7.8 1111 2222\r\n",
		"PROXY TCP4 01.2.3.4 5.6.7.8 1111 2222\r\n",
		"PROXY TCP4 1.2.3.4.5 5.6.7.8 1111 2222\r\n",
		"PROXY TCP4 ::1 5.6.7.8 1111 2222\r\n",	/* v6 in TCP4 */
		"PROXY TCP6 1.2.3.4 ::1 1111 2222\r\n",	/* v4 in TCP6 */
		"PROXY TCP6 1::2::3 ::1 1111 2222\r\n",
		"PROXY TCP6 12345:: ::1 1111 2222\r\n",
		"PROXY TCP6 ::g ::1 1111 2222\r\n",
		"PROXY TCP5 1.2.3.4 5.6.7.8 1111 2222\r\n",
		"PROXY UDP4 1.2.3.4 5.6.7.8 1111 2222\r\n",
		"PROXY tcp4 1.2.3.4 5.6.7.8 1111 2222\r\n",
		"PROXY UNKNOWNX\r\n",
		"PROXY UNKNOWN\n",
		"PROXY UNKNOWN foo\nbar\r\n",
		"PROXY\r\n",
		"PROXY TCP4\r\n",
		"proxy TCP4 1.2.3.4 5.6.7.8 1111 2222\r\n",
		"PROXX",
		"PRX",
	};
	struct pp_info	pi;
	size_t		i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (pp_parse((const uint8_t *)bad[i], strlen(bad[i]), &pi) !=
		    PP_INVALID)
			fail_msg("not invalid: \"%s\"", bad[i]);
	}
}

static void
test_v1_early_invalid(void **state)
{
	struct pp_info	pi;

	(void)state;
	/* Decided as soon as the first wrong byte is in. */
	assert_int_equal(pp_parse(S("PROXY TCP4 1.2.3.4 5.6.7.8 1111 2222"),
	    &pi), PP_INCOMPLETE);
	assert_int_equal(pp_parse(S("PROXY TCP4 1.2.3.4 5.6.7.8 1111 222222"),
	    &pi), PP_INVALID);
	assert_int_equal(pp_parse(S("PROXY TCP4 1.2.3.4 5.6.7.8 0"), &pi),
	    PP_INCOMPLETE);
	assert_int_equal(pp_parse(S("PROXY TCP4 1.2.3.4 5.6.7.8 00"), &pi),
	    PP_INVALID);
	assert_int_equal(pp_parse(S("PROXY TCP4 1.2.3.4 5.6.7.8 70000"), &pi),
	    PP_INVALID);
	assert_int_equal(pp_parse(S("PROXY TCP4 1.2.300"), &pi), PP_INVALID);
	assert_int_equal(pp_parse(S("PROXY TCP4 1.2.3.4."), &pi), PP_INVALID);
	assert_int_equal(pp_parse(S("PROXY TCP4 a"), &pi), PP_INVALID);
	assert_int_equal(pp_parse(S("PROXY TCP6 :::"), &pi), PP_INVALID);
	assert_int_equal(pp_parse(S("PROXY TCP6 1:2:3:4:5:6:7::"), &pi),
	    PP_INCOMPLETE);
	assert_int_equal(pp_parse(S("PROXY TCP6 1:2:3:4:5:6:7:8:"), &pi),
	    PP_INVALID);
	assert_int_equal(pp_parse(S("PROXY TCP6 1::3:4:5:6:7:8:"), &pi),
	    PP_INVALID);
	assert_int_equal(pp_parse(S("PROXY TCP6 1:2:3:4:5:6:7:1."), &pi),
	    PP_INVALID);
	assert_int_equal(pp_parse(S("PROXY TCP6 1:2:3:4:5:6:1.2.3.4"), &pi),
	    PP_INCOMPLETE);
	assert_int_equal(pp_parse(S("PROXY X"), &pi), PP_INVALID);
	assert_int_equal(pp_parse(S("PROXY UNKNOWN\r"), &pi), PP_INCOMPLETE);
	assert_int_equal(pp_parse(S("PROXY UNKNOWN \n"), &pi), PP_INVALID);
	assert_int_equal(pp_parse(S("PROXY UNKNOWN x"), &pi), PP_INCOMPLETE);
}

/* "PROXY UNKNOWN xxx...\r\n", total bytes long, in buf. */
static void
unknown_line(uint8_t *buf, size_t total)
{
	memcpy(buf, "PROXY UNKNOWN ", 14);
	memset(buf + 14, 'x', total - 14 - 2);
	buf[total - 2] = '\r';
	buf[total - 1] = '\n';
}

static void
test_v1_too_long(void **state)
{
	uint8_t		buf[200];
	struct pp_info	pi;

	(void)state;
	unknown_line(buf, 106);
	assert_int_equal(pp_parse(buf, 106, &pi), 106);
	unknown_line(buf, 107);				/* the limit */
	assert_int_equal(pp_parse(buf, 107, &pi), 107);
	unknown_line(buf, 108);
	assert_int_equal(pp_parse(buf, 106, &pi), PP_INCOMPLETE);
	assert_int_equal(pp_parse(buf, 107, &pi), PP_INVALID);
	assert_int_equal(pp_parse(buf, 108, &pi), PP_INVALID);
	memset(buf, 'x', sizeof(buf));
	memcpy(buf, "PROXY UNKNOWN ", 14);
	assert_int_equal(pp_parse(buf, sizeof(buf), &pi), PP_INVALID);

	/* TCP6 with v4-mapped addresses runs past 107 bytes. */
	assert_int_equal(pp_parse(S("PROXY TCP6 "
	    "0000:0000:0000:0000:0000:ffff:255.255.255.255 "
	    "0000:0000:0000:0000:0000:ffff:255.255.255.255 65535 65535\r\n"),
	    &pi), PP_INVALID);
}

static void
test_v1_no_crlf(void **state)
{
	static const char	line[] = "PROXY TCP4 1.2.3.4 5.6.7.8 1111 2222";
	struct pp_info		pi;

	(void)state;
	assert_int_equal(pp_parse(S(line), &pi), PP_INCOMPLETE);
	assert_int_equal(pp_parse(S("PROXY TCP4 1.2.3.4 5.6.7.8 1111 2222 "),
	    &pi), PP_INVALID);
	assert_int_equal(pp_parse(S("PROXY TCP4 1.2.3.4 5.6.7.8 1111 2222GET"),
	    &pi), PP_INVALID);
}

static void
test_v2_local(void **state)
{
	uint8_t		buf[64];
	struct pp_info	pi;
	size_t		n;

	(void)state;
	n = v2_build(buf, 0x20, 0x00, NULL, 0, 0);
	assert_int_equal(feed_bytewise(buf, n, &pi), 16);
	assert_int_equal(pi.version, 2);
	assert_int_equal(pi.local, 1);
	assert_int_equal(pi.src.ss_family, AF_UNSPEC);

	/* LOCAL ignores whatever address block it carries. */
	n = v2_build(buf, 0x20, 0x11, (const uint8_t *)"abcdefghijkl", 12, 12);
	assert_int_equal(feed_bytewise(buf, n, &pi), 28);
	assert_int_equal(pi.local, 1);
	n = v2_build(buf, 0x20, 0x11, NULL, 0, 0);
	assert_int_equal(pp_parse(buf, n, &pi), 16);
	assert_int_equal(pi.local, 1);
}

static void
test_v2_proxy4(void **state)
{
	static const uint8_t	addr[12] = {
		10, 0, 0, 1, 192, 168, 1, 2, 0x9c, 0x40, 0x1f, 0x90
	};
	uint8_t			buf[64];
	struct pp_info		pi;
	size_t			n;

	(void)state;
	n = v2_build(buf, 0x21, 0x11, addr, sizeof(addr), sizeof(addr));
	assert_int_equal(feed_bytewise(buf, n, &pi), 28);
	assert_int_equal(pi.version, 2);
	assert_int_equal(pi.local, 0);
	check_in4(&pi.src, "10.0.0.1", 40000);
	check_in4(&pi.dst, "192.168.1.2", 8080);
}

static void
test_v2_proxy6(void **state)
{
	uint8_t		body[36], buf[64];
	struct pp_info	pi;
	size_t		n;

	(void)state;
	assert_int_equal(inet_pton(AF_INET6, "2001:db8::7", body), 1);
	assert_int_equal(inet_pton(AF_INET6, "fd00::1", body + 16), 1);
	body[32] = 0xff;
	body[33] = 0xff;
	body[34] = 0x00;
	body[35] = 0x50;
	n = v2_build(buf, 0x21, 0x21, body, sizeof(body), sizeof(body));
	assert_int_equal(feed_bytewise(buf, n, &pi), 52);
	assert_int_equal(pi.local, 0);
	check_in6(&pi.src, "2001:db8::7", 65535);
	check_in6(&pi.dst, "fd00::1", 80);
}

static void
test_v2_tlvs(void **state)
{
	/* 12 bytes of addresses, then AWS's 0xEA (VPC endpoint id, subtype
	 * 0x01) and a NOOP with an empty value. */
	static const uint8_t	body[] = {
		172, 31, 7, 113, 172, 31, 10, 31, 0xc3, 0x50, 0x00, 0x50,
		0xea, 0x00, 0x17, 0x01,
		'v', 'p', 'c', 'e', '-', '0', '8', 'd', '2', 'b', 'f', '1',
		'5', 'f', 'a', '0', 'f', '8', '3', 'd', '9', 'e',
		0x04, 0x00, 0x00,
	};
	uint8_t			buf[128], bad[sizeof(body)];
	struct pp_info		pi;
	size_t			n;

	(void)state;
	n = v2_build(buf, 0x21, 0x11, body, sizeof(body), sizeof(body));
	assert_int_equal(feed_bytewise(buf, n, &pi), 16 + sizeof(body));
	check_in4(&pi.src, "172.31.7.113", 50000);
	check_in4(&pi.dst, "172.31.10.31", 80);

	/* A TLV running past the announced length. */
	memcpy(bad, body, sizeof(body));
	bad[14] = 0x30;
	n = v2_build(buf, 0x21, 0x11, bad, sizeof(bad), sizeof(bad));
	assert_int_equal(pp_parse(buf, n, &pi), PP_INVALID);
	/* ... detected as soon as its header is in. */
	assert_int_equal(pp_parse(buf, 16 + 15, &pi), PP_INVALID);
	/* Stray bytes too short for a TLV header. */
	n = v2_build(buf, 0x21, 0x11, body, 14, 14);
	assert_int_equal(pp_parse(buf, n, &pi), PP_INVALID);
}

static void
test_v2_proxy_unspec_unix(void **state)
{
	uint8_t		body[216], buf[300];
	struct pp_info	pi;
	size_t		n;

	(void)state;
	/* PROXY over AF_UNSPEC: taken as local, as HAProxy does. */
	n = v2_build(buf, 0x21, 0x00, NULL, 0, 0);
	assert_int_equal(pp_parse(buf, n, &pi), 16);
	assert_int_equal(pi.local, 1);
	/* AF_UNIX: accepted, local; the addresses must be there. */
	memset(body, 0, sizeof(body));
	n = v2_build(buf, 0x21, 0x31, body, sizeof(body), sizeof(body));
	assert_int_equal(feed_bytewise(buf, n, &pi), 16 + 216);
	assert_int_equal(pi.local, 1);
	n = v2_build(buf, 0x21, 0x31, body, 100, 100);
	assert_int_equal(pp_parse(buf, n, &pi), PP_INVALID);
}

static void
test_v2_truncated(void **state)
{
	static const uint8_t	addr[12] = { 1, 2, 3, 4, 5, 6, 7, 8, 0, 1, 0, 2 };
	uint8_t			buf[64];
	struct pp_info		pi;
	size_t			n;

	(void)state;
	n = v2_build(buf, 0x21, 0x11, addr, sizeof(addr), sizeof(addr));
	assert_int_equal(pp_parse(buf, 7, &pi), PP_INCOMPLETE);
	assert_int_equal(pp_parse(buf, 16, &pi), PP_INCOMPLETE);
	assert_int_equal(pp_parse(buf, n - 1, &pi), PP_INCOMPLETE);
	assert_int_equal(pp_parse(buf, n, &pi), 28);
}

static void
test_v2_invalid(void **state)
{
	static const uint8_t	addr[36];
	uint8_t			buf[64];
	struct pp_info		pi;
	size_t			n;

	(void)state;
	/* Signature: the 7th byte wrong. */
	n = v2_build(buf, 0x21, 0x11, addr, 12, 12);
	buf[6] = 'X';
	assert_int_equal(pp_parse(buf, 7, &pi), PP_INVALID);
	assert_int_equal(pp_parse(buf, n, &pi), PP_INVALID);
	n = v2_build(buf, 0x21, 0x11, addr, 12, 12);
	buf[11] = 0x0d;
	assert_int_equal(pp_parse(buf, n, &pi), PP_INVALID);
	/* Bad version (1 and 3), bad command (2, 0xf). */
	n = v2_build(buf, 0x11, 0x11, addr, 12, 12);
	assert_int_equal(pp_parse(buf, 13, &pi), PP_INVALID);
	n = v2_build(buf, 0x31, 0x11, addr, 12, 12);
	assert_int_equal(pp_parse(buf, n, &pi), PP_INVALID);
	n = v2_build(buf, 0x22, 0x11, addr, 12, 12);
	assert_int_equal(pp_parse(buf, 13, &pi), PP_INVALID);
	n = v2_build(buf, 0x2f, 0x00, NULL, 0, 0);
	assert_int_equal(pp_parse(buf, n, &pi), PP_INVALID);
	/* Bad family: UDP, unknown family, unknown protocol. */
	n = v2_build(buf, 0x21, 0x12, addr, 12, 12);
	assert_int_equal(pp_parse(buf, 14, &pi), PP_INVALID);
	n = v2_build(buf, 0x21, 0x41, addr, 12, 12);
	assert_int_equal(pp_parse(buf, n, &pi), PP_INVALID);
	n = v2_build(buf, 0x21, 0x13, addr, 12, 12);
	assert_int_equal(pp_parse(buf, n, &pi), PP_INVALID);
	n = v2_build(buf, 0x20, 0x41, NULL, 0, 0);
	assert_int_equal(pp_parse(buf, n, &pi), PP_INVALID);
	/* Length not covering the addresses. */
	n = v2_build(buf, 0x21, 0x11, addr, 11, 11);
	assert_int_equal(pp_parse(buf, 16, &pi), PP_INVALID);
	n = v2_build(buf, 0x21, 0x21, addr, 35, 35);
	assert_int_equal(pp_parse(buf, n, &pi), PP_INVALID);
}

static void
test_v2_too_big(void **state)
{
	static uint8_t	buf[PP_MAX_HEADER + 16];
	struct pp_info	pi;
	size_t		n;

	(void)state;
	memset(buf, 0, sizeof(buf));
	/* The largest header allowed: 16 + 1008 = PP_MAX_HEADER. */
	v2_build(buf, 0x20, 0x00, NULL, 0, PP_MAX_HEADER - 16);
	assert_int_equal(pp_parse(buf, 16, &pi), PP_INCOMPLETE);
	assert_int_equal(pp_parse(buf, PP_MAX_HEADER, &pi), PP_MAX_HEADER);
	/* One more byte: refused as soon as the length is known. */
	n = v2_build(buf, 0x20, 0x00, NULL, 0, PP_MAX_HEADER - 15);
	assert_int_equal(pp_parse(buf, n, &pi), PP_INVALID);
	n = v2_build(buf, 0x21, 0x11, NULL, 0, 0xffff);
	assert_int_equal(pp_parse(buf, n, &pi), PP_INVALID);
}

static void
test_v2_trailing_data(void **state)
{
	static const uint8_t	addr[12] = {
		10, 0, 0, 1, 10, 0, 0, 2, 0x12, 0x34, 0x00, 0x50
	};
	static const char	req[] = "GET / HTTP/1.1\r\n\r\n";
	uint8_t			buf[64];
	struct pp_info		pi;
	size_t			n;

	(void)state;
	n = v2_build(buf, 0x21, 0x11, addr, sizeof(addr), sizeof(addr));
	memcpy(buf + n, req, sizeof(req) - 1);
	assert_int_equal(pp_parse(buf, n + sizeof(req) - 1, &pi), 28);
	check_in4(&pi.src, "10.0.0.1", 0x1234);
}

static void
test_garbage(void **state)
{
	static const uint8_t	zero[4];
	struct pp_info		pi;

	(void)state;
	assert_int_equal(pp_parse(S(""), &pi), PP_INCOMPLETE);
	assert_int_equal(pp_parse(S("G"), &pi), PP_INVALID);
	assert_int_equal(pp_parse(S("GET / HTTP/1.1\r\n"), &pi), PP_INVALID);
	assert_int_equal(pp_parse(S("\n"), &pi), PP_INVALID);
	assert_int_equal(pp_parse(S("\x16\x03\x01"), &pi), PP_INVALID);
	assert_int_equal(pp_parse(zero, sizeof(zero), &pi), PP_INVALID);
	assert_int_equal(pp_parse(S("P"), &pi), PP_INCOMPLETE);
	assert_int_equal(pp_parse(S("PRO"), &pi), PP_INCOMPLETE);
	assert_int_equal(pp_parse(S("POST / HTTP/1.1\r\n"), &pi), PP_INVALID);
	assert_int_equal(pp_parse(S("\r"), &pi), PP_INCOMPLETE);
	assert_int_equal(pp_parse(S("\r\n\r\n"), &pi), PP_INCOMPLETE);
	assert_int_equal(pp_parse(S("\r\n\r\n\r\n"), &pi), PP_INVALID);
	assert_int_equal(pp_parse(v2sig, 7, &pi), PP_INCOMPLETE);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_v1_tcp4),
		cmocka_unit_test(test_v1_tcp4_limits),
		cmocka_unit_test(test_v1_tcp6),
		cmocka_unit_test(test_v1_unknown),
		cmocka_unit_test(test_v1_trailing_data),
		cmocka_unit_test(test_v1_invalid),
		cmocka_unit_test(test_v1_early_invalid),
		cmocka_unit_test(test_v1_too_long),
		cmocka_unit_test(test_v1_no_crlf),
		cmocka_unit_test(test_v2_local),
		cmocka_unit_test(test_v2_proxy4),
		cmocka_unit_test(test_v2_proxy6),
		cmocka_unit_test(test_v2_tlvs),
		cmocka_unit_test(test_v2_proxy_unspec_unix),
		cmocka_unit_test(test_v2_truncated),
		cmocka_unit_test(test_v2_invalid),
		cmocka_unit_test(test_v2_too_big),
		cmocka_unit_test(test_v2_trailing_data),
		cmocka_unit_test(test_garbage),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
