/*
 * fuzz_duration.c: parse_duration() (checks/util.h), which reads every
 * duration of the config file, and its inverse fmt_duration().
 *
 * Invariants checked on every input:
 *  - the answer matches a model of the contract: one or more digits, then
 *    exactly "ms", "s", "m" or "h", nothing else, at most one week;
 *  - accepted values are 0 to one week;
 *  - fmt_duration() of an accepted value parses back to it;
 *  - fmt_duration() of any int64 taken from the input parses back to it
 *    when it is 0 to one week, and is refused otherwise.
 */
#include <stdbool.h>
#include <string.h>

#include "fuzz.h"
#include "util.h"

#define WEEK_MS	(7 * 24 * 3600000LL)

/* The contract, written independently of util.c. */
static bool
model(const char *s, int64_t *ms)
{
	static const struct {
		const char	*unit;
		int64_t		 mult;
	} units[] = {
		{ "ms", 1 }, { "s", 1000 }, { "m", 60000 }, { "h", 3600000 },
	};
	const char	*p = s;
	int64_t		 v = 0;
	bool		 big = false;
	size_t		 i;

	if (*p < '0' || *p > '9')
		return false;
	for (; *p >= '0' && *p <= '9'; p++) {
		if (!big)
			v = v * 10 + (*p - '0');
		if (v > WEEK_MS)
			big = true;
	}
	for (i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (strcmp(p, units[i].unit) != 0)
			continue;
		if (big || v > WEEK_MS / units[i].mult)
			return false;
		*ms = v * units[i].mult;
		return true;
	}
	return false;
}

static void
check_round_trip(int64_t v)
{
	char	 buf[64];
	int64_t	 back = -1;
	bool	 ok;

	fmt_duration(v, buf, sizeof(buf));
	ok = parse_duration(buf, &back);
	if (v >= 0 && v <= WEEK_MS)
		FZ_CHECK(ok && back == v);
	else
		FZ_CHECK(!ok);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char	*s = fz_strndup(data, size);
	int64_t	 got = -1, want = -1, raw = 0;
	bool	 ok, mok;
	size_t	 i;

	ok = parse_duration(s, &got);
	mok = model(s, &want);
	FZ_CHECK(ok == mok);
	if (ok) {
		FZ_CHECK(got == want);
		FZ_CHECK(got >= 0 && got <= WEEK_MS);
		check_round_trip(got);
	}
	free(s);

	/* Any int64 the input spells, through fmt_duration() and back. */
	for (i = 0; i < size && i < 8; i++)
		raw = (int64_t)((uint64_t)raw << 8 | data[i]);
	check_round_trip(raw);
	check_round_trip(raw % (WEEK_MS + 1));
	return 0;
}
