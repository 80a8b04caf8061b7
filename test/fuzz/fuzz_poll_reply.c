/*
 * fuzz_poll_reply.c: source_cli_parse_reply() (checks/source.h) on a whole CLI
 * reply: "show info" output, then N "show stat" outputs, each ended by an
 * empty line, as HAProxy answers "show info;show stat ...;show stat ...".
 *
 * Input layout: the first byte is the poll plan, the rest is the reply.
 *   bit 7     targeted (one "show stat <be> ..." per backend, where
 *             "No such proxy." means the backend is absent)
 *   bits 0-5  N, the number of "show stat" outputs asked for
 * The seeds in corpus/poll_reply/ start with that byte.
 *
 * Invariants checked on every input:
 *  - the result is POLL_OK, POLL_ETRUNCATED, POLL_EGARBLED or
 *    POLL_ESTOPPING (nothing else can come from parsing);
 *  - a reply that is empty or does not end with '\n' is POLL_ETRUNCATED;
 *  - failures say why in detail (NUL-terminated, within detlen, which an
 *    exact-size heap buffer enforces; a small detlen changes nothing else);
 *  - POLL_OK: show info was read (Pid > 0, not stopping) and the snapshot is
 *    sane and sorted (fz_snap_check); POLL_ESTOPPING: Stopping was 1;
 *  - the same reply parses to the same snapshot twice;
 *  - the verdict and the snapshot are what a model gives: the reply cut
 *    into outputs at its empty lines (independently of hacli_split), then
 *    stats_parse_info() on the first and stats_parse_csv() on the others:
 *    POLL_ETRUNCATED when the reply is not N + 1 complete outputs (more
 *    outputs than asked is counted here too, as the poller does today),
 *    POLL_EGARBLED when an output is refused, POLL_ESTOPPING for an old
 *    process, else POLL_OK with the same snapshot.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "fz_snap.h"
#include "fuzz.h"
#include "source.h"

static enum poll_error
parse(size_t nstat, bool targeted, const uint8_t *data, size_t len,
    size_t detlen, struct stats_snapshot *snap)
{
	uint8_t		*copy = fz_memdup(data, len);
	char		*detail = malloc(detlen > 0 ? detlen : 1);
	struct cli_shape shape = { nstat, targeted, 0 };
	enum poll_error	 rc;

	FZ_CHECK(detail != NULL);
	memset(detail, 0, detlen > 0 ? detlen : 1);
	memset(snap, 0, sizeof(*snap));
	rc = source_cli_parse_reply(&shape, (const char *)copy, len, snap,
	    detail, detlen);
	FZ_CHECK(rc == POLL_OK || rc == POLL_ETRUNCATED ||
	    rc == POLL_EGARBLED || rc == POLL_ESTOPPING);
	if (len == 0 || data[len - 1] != '\n')
		FZ_CHECK(rc == POLL_ETRUNCATED);
	if (rc != POLL_OK && detlen > 0) {
		FZ_CHECK(memchr(detail, '\0', detlen) != NULL);
		if (detlen > 1)
			FZ_CHECK(detail[0] != '\0');
	}
	switch (rc) {
	case POLL_OK:
		FZ_CHECK(snap->has_info && snap->info.pid > 0 &&
		    !snap->info.stopping);
		fz_snap_check(snap, true);
		break;
	case POLL_ESTOPPING:
		FZ_CHECK(snap->has_info && snap->info.stopping);
		break;
	default:
		fz_snap_check(snap, false);
		break;
	}
	free(detail);
	free(copy);
	return rc;
}

/* The reply cut into outputs, each ended by an empty line; -1 unless
 * it is exactly want complete outputs. */
static int
model_split(const char *r, size_t len, const char **starts, size_t *lens,
    size_t want)
{
	size_t	 n = 0, out = 0, line = 0, i;

	for (i = 0; i < len; i++) {
		if (r[i] != '\n')
			continue;
		if (i == line) {	/* an empty line ends an output */
			if (n == want)
				return -1;
			starts[n] = r + out;
			lens[n++] = i - out;
			out = i + 1;
		}
		line = i + 1;
	}
	/* Complete lines only, and nothing after the last output. */
	return line == len && out == len && n == want ? (int)n : -1;
}

static enum poll_error
model(size_t nstat, bool targeted, const uint8_t *data, size_t len,
    struct stats_snapshot *m)
{
	const char	*r = (const char *)data, **starts;
	size_t		*lens, i;
	char		 err[128];
	enum poll_error	 rc = POLL_OK;

	memset(m, 0, sizeof(*m));
	starts = calloc(nstat + 1, sizeof(*starts));
	lens = calloc(nstat + 1, sizeof(*lens));
	FZ_CHECK(starts != NULL && lens != NULL);
	if (model_split(r, len, starts, lens, nstat + 1) < 0)
		rc = POLL_ETRUNCATED;
	else if (!stats_parse_info(starts[0], lens[0], &m->info, err,
	    sizeof(err)))
		rc = POLL_EGARBLED;
	else if (m->info.stopping)
		rc = POLL_ESTOPPING;
	for (i = 1; rc == POLL_OK && i <= nstat; i++) {
		if (targeted && lens[i] == 15 &&
		    memcmp(starts[i], "No such proxy.\n", 15) == 0)
			continue;
		if (!stats_parse_csv(starts[i], lens[i], m, err, sizeof(err)))
			rc = POLL_EGARBLED;
	}
	if (rc == POLL_OK) {
		m->has_info = true;
		stats_snapshot_finish(m);
	}
	free(starts);
	free(lens);
	return rc;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct stats_snapshot	 a, b;
	enum poll_error		 rc;
	size_t			 nstat;
	bool			 targeted;

	if (size == 0)
		return 0;
	targeted = (data[0] & 0x80) != 0;
	nstat = data[0] & 0x3f;
	data++;
	size--;

	rc = parse(nstat, targeted, data, size, 160, &a);
	FZ_CHECK(parse(nstat, targeted, data, size, 160, &b) == rc);
	if (rc == POLL_OK)
		FZ_CHECK(fz_snap_eq(&a, &b));
	stats_snapshot_clear(&b);
	FZ_CHECK(model(nstat, targeted, data, size, &b) == rc);
	if (rc == POLL_OK)
		FZ_CHECK(fz_snap_eq(&a, &b));
	stats_snapshot_clear(&b);
	FZ_CHECK(parse(nstat, targeted, data, size,
	    size > 0 ? data[size - 1] % 64 : 0, &b) == rc);
	stats_snapshot_clear(&b);
	stats_snapshot_clear(&a);
	return 0;
}
