/*
 * proxyproto.h: the PROXY protocol header (v1 text and v2 binary), as AWS
 * NLB and Classic ELB send it at the start of every connection once proxy
 * protocol is enabled on the target group. Pure parsing, no I/O.
 */
#ifndef HW_PROXYPROTO_H
#define HW_PROXYPROTO_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* Largest header accepted: v1 is at most 107 bytes; v2 is 16 bytes plus
 * addresses and TLVs, which we bound here (AWS sends well under this). */
#define PP_MAX_HEADER	1024

struct pp_info {
	int			version;	/* 1 or 2 */
	int			local;		/* v2 LOCAL or v1 UNKNOWN */
	struct sockaddr_storage	src;		/* when !local */
	struct sockaddr_storage	dst;
};

enum pp_result {
	PP_INVALID = -1,	/* not a valid header: close the connection */
	PP_INCOMPLETE = 0,	/* valid so far, need more bytes */
	/* > 0: the header's length in bytes */
};

/*
 * Parse the PROXY header at the start of buf[0..len). Returns its length
 * (> 0) and fills out; PP_INCOMPLETE if buf is a valid prefix; PP_INVALID
 * otherwise (bad signature, bad version or command, bad address, a v1
 * line over 107 bytes, a v2 header over PP_MAX_HEADER).
 */
int	pp_parse(const uint8_t *buf, size_t len, struct pp_info *out);

#endif
