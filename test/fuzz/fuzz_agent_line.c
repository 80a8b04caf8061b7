/*
 * fuzz_agent_line.c: agentcheck_parse_request() (agent/listener.h) on the line
 * an agent listener without "service" reads: HAProxy's agent-send string,
 * or whatever else connects.
 *
 * The last input byte also picks the size of the name buffer (the daemon
 * passes AGENTCHECK_LINE_MAX + 1; smaller ones must be honoured too), which is
 * an exact-size heap buffer, so ASan sees a write past it.
 *
 * Invariants checked on every input:
 *  - the result matches a straightforward model of the contract: the line
 *    ends at the first '\n' within AGENTCHECK_LINE_MAX + 1 bytes, one '\r'
 *    before it is dropped, a NUL or a line that does not fit is BAD, no
 *    '\n' yet is MORE while len <= AGENTCHECK_LINE_MAX and BAD after;
 *  - OK: name is the line, NUL-terminated, and nothing is written past
 *    namelen;
 *  - MORE on the whole means MORE on every prefix; a verdict on a prefix
 *    other than MORE is the verdict on the whole.
 */
#include <stdbool.h>
#include <string.h>

#include "fuzz.h"
#include "agentcheck.h"

/* What agentcheck_parse_request() must answer, from the contract alone. */
static enum agentcheck_req
model(const char *buf, size_t len, size_t namelen, size_t *linelen)
{
	size_t	scan = len < AGENTCHECK_LINE_MAX + 1 ? len : AGENTCHECK_LINE_MAX + 1;
	size_t	i, l;

	for (i = 0; i < scan && buf[i] != '\n'; i++)
		continue;
	if (i == scan)
		return len > AGENTCHECK_LINE_MAX ? AGENTCHECK_REQ_BAD : AGENTCHECK_REQ_MORE;
	l = i;
	if (l > 0 && buf[l - 1] == '\r')
		l--;
	if (l >= namelen || fz_has_nul(buf, l))
		return AGENTCHECK_REQ_BAD;
	*linelen = l;
	return AGENTCHECK_REQ_OK;
}

static enum agentcheck_req
parse(const uint8_t *data, size_t len, size_t namelen, char *name_out)
{
	uint8_t		*copy = fz_memdup(data, len);
	const char	*buf = (const char *)copy;
	char		*name = malloc(namelen > 0 ? namelen : 1);
	enum agentcheck_req	 r, m;
	size_t		 l = 0;

	FZ_CHECK(name != NULL);
	memset(name, 0x5a, namelen > 0 ? namelen : 1);
	r = agentcheck_parse_request(buf, len, name, namelen);
	m = model(buf, len, namelen, &l);
	FZ_CHECK(r == AGENTCHECK_REQ_MORE || r == AGENTCHECK_REQ_BAD ||
	    r == AGENTCHECK_REQ_OK);
	FZ_CHECK(r == m);
	if (r == AGENTCHECK_REQ_OK) {
		FZ_CHECK(l < namelen);
		FZ_CHECK(name[l] == '\0' && strlen(name) == l);
		FZ_CHECK(memcmp(name, buf, l) == 0);
		FZ_CHECK(strchr(name, '\n') == NULL);
		if (name_out != NULL)
			memcpy(name_out, name, l + 1);
	}
	free(name);
	free(copy);
	return r;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char		 full_name[AGENTCHECK_LINE_MAX + 1], pre_name[AGENTCHECK_LINE_MAX + 1];
	size_t		 namelen = AGENTCHECK_LINE_MAX + 1, ks[3], i;
	enum agentcheck_req	 full, pre, small;

	full = parse(data, size, namelen, full_name);
	if (size > 0) {
		ks[0] = size - 1;
		ks[1] = size / 2;
		ks[2] = (size_t)data[0] % size;
		for (i = 0; i < 3; i++) {
			pre = parse(data, ks[i], namelen, pre_name);
			if (full == AGENTCHECK_REQ_MORE)
				FZ_CHECK(pre == AGENTCHECK_REQ_MORE);
			if (pre != AGENTCHECK_REQ_MORE)
				FZ_CHECK(pre == full);
			if (pre == AGENTCHECK_REQ_OK)
				FZ_CHECK(strcmp(pre_name, full_name) == 0);
		}
		/* A smaller name buffer, from 0 bytes up. */
		small = parse(data, size, (size_t)data[size - 1] %
		    (AGENTCHECK_LINE_MAX + 2), NULL);
		if (full != AGENTCHECK_REQ_OK)
			FZ_CHECK(small == full);
	}
	return 0;
}
