/*
 * fuzz_show_info.c: stats_parse_info() (checks/stats.h) on what HAProxy's
 * CLI answers to "show info", or whatever else sits on the stats socket.
 *
 * The last input byte also picks the size of the error buffer (exact-size
 * heap buffer, 0 to 255 bytes), so ASan sees a write past it.
 *
 * Invariants checked on every input:
 *  - failure leaves out untouched and says why in err (NUL-terminated,
 *    non-empty when there is room);
 *  - success gives Pid > 0, Uptime_sec >= 0 and a non-empty, NUL-terminated
 *    Version without control bytes;
 *  - the same input parses the same way twice;
 *  - an output accepted without its final blank line is still accepted,
 *    with the same values, when the blank line is added, and one cut
 *    inside its last line is refused.
 */
#include <stdbool.h>
#include <string.h>

#include "fuzz.h"
#include "stats.h"

static bool
parse(const uint8_t *data, size_t len, size_t errlen, struct stats_info *out)
{
	uint8_t		*copy = fz_memdup(data, len);
	char		*err = malloc(errlen > 0 ? errlen : 1);
	struct stats_info	 canary;
	bool		 ok;
	size_t		 i;

	FZ_CHECK(err != NULL);
	memset(err, 'X', errlen > 0 ? errlen : 1);
	memset(out, 0xa5, sizeof(*out));
	memcpy(&canary, out, sizeof(canary));
	ok = stats_parse_info((const char *)copy, len, out, err, errlen);
	if (!ok) {
		FZ_CHECK(memcmp(out, &canary, sizeof(canary)) == 0);
		if (errlen > 0) {
			FZ_CHECK(memchr(err, '\0', errlen) != NULL);
			FZ_CHECK(errlen == 1 || err[0] != '\0');
		}
	} else {
		FZ_CHECK(out->pid > 0);
		FZ_CHECK(out->uptime_sec >= 0);
		FZ_CHECK(out->stopping == 0 || out->stopping == 1);
		FZ_CHECK(memchr(out->version, '\0', sizeof(out->version)));
		FZ_CHECK(out->version[0] != '\0');
		for (i = 0; out->version[i] != '\0'; i++)
			FZ_CHECK((unsigned char)out->version[i] >= ' ' &&
			    out->version[i] != 0x7f);
	}
	free(err);
	free(copy);
	return ok;
}

static bool
info_eq(const struct stats_info *a, const struct stats_info *b)
{
	return a->pid == b->pid && a->uptime_sec == b->uptime_sec &&
	    a->stopping == b->stopping &&
	    strcmp(a->version, b->version) == 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct stats_info	 a, b;
	size_t		 errlen = size > 0 ? data[size - 1] : 0;
	uint8_t		*more;
	bool		 ok;

	ok = parse(data, size, 128, &a);
	FZ_CHECK(parse(data, size, 128, &b) == ok);
	if (ok)
		FZ_CHECK(info_eq(&a, &b));
	FZ_CHECK(parse(data, size, errlen, &b) == ok);

	if (!ok || size == 0)
		return 0;
	if (size >= 2 && data[size - 1] == '\n' && data[size - 2] != '\n') {
		/* Accepted without the blank line: add it. */
		more = malloc(size + 1);
		FZ_CHECK(more != NULL);
		memcpy(more, data, size);
		more[size] = '\n';
		FZ_CHECK(parse(more, size + 1, 128, &b));
		FZ_CHECK(info_eq(&a, &b));
		free(more);
		/* Cut inside the last line: no newline, refused. */
		FZ_CHECK(!parse(data, size - 1, 128, &b));
	}
	return 0;
}
