/*
 * fuzz_show_proc.c: master_parse_proc() and master_parse_startup_logs()
 * (checks/master.h) on what HAProxy's master CLI answers, or whatever
 * else sits on that socket.
 *
 * Invariants checked on every input:
 *  - failure says why in err (NUL-terminated, non-empty);
 *  - success gives a master pid > 0, a failed count of -1 or more, a
 *    NUL-terminated version, and a worker pid of 0 or more;
 *  - the same input parses the same way twice;
 *  - a why found in startup logs is NUL-terminated, without control
 *    bytes.
 */
#include <stdbool.h>
#include <string.h>

#include "fuzz.h"
#include "master.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t			*copy = fz_memdup(data, size);
	struct master_proc	 a, b;
	char			 err[128], why[64];
	bool			 ok;
	size_t			 i;

	ok = master_parse_proc((const char *)copy, size, &a, err, sizeof(err));
	if (!ok) {
		FZ_CHECK(memchr(err, '\0', sizeof(err)) != NULL);
		FZ_CHECK(err[0] != '\0');
	} else {
		FZ_CHECK(a.master_pid > 0);
		FZ_CHECK(a.failed >= -1);
		FZ_CHECK(a.worker_pid >= 0);
		FZ_CHECK(memchr(a.version, '\0', sizeof(a.version)) != NULL);
	}
	FZ_CHECK(master_parse_proc((const char *)copy, size, &b, err,
	    sizeof(err)) == ok);
	if (ok)
		FZ_CHECK(memcmp(&a, &b, sizeof(a)) == 0);
	if (master_parse_startup_logs((const char *)copy, size, why,
	    sizeof(why))) {
		FZ_CHECK(memchr(why, '\0', sizeof(why)) != NULL);
		for (i = 0; why[i] != '\0'; i++)
			FZ_CHECK((unsigned char)why[i] >= ' ' && why[i] != 0x7f);
	}
	free(copy);
	return 0;
}
