/*
 * fuzz.h: what every fuzz target shares.
 *
 * Each test/fuzz/fuzz_<name>.c defines LLVMFuzzerTestOneInput(). It is
 * built twice: with libFuzzer in the FUZZ=ON build (test/fuzz/run), and
 * with replay.c in every build, where it replays the seed corpus and every
 * input that ever crashed it (test/fuzz/regress/<name>/) as a ctest test.
 *
 * A target checks invariants, not only "does not crash": FZ_CHECK()
 * prints the condition and aborts, which libFuzzer reports as a crash and
 * saves as a reproducer.
 */
#ifndef HW_FUZZ_H
#define HW_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FZ_CHECK(cond)							\
	do {								\
		if (!(cond))						\
			fz_fail(__FILE__, __LINE__, #cond);		\
	} while (0)

static inline void __attribute__((noreturn))
fz_fail(const char *file, int line, const char *what)
{
	fprintf(stderr, "\n%s:%d: invariant violated: %s\n", file, line,
	    what);
	fflush(stderr);
	abort();
}

/* A private heap copy of data[0..size) with a NUL after it, so that a
 * read past the end is caught by ASan (and strings end). Free it. */
static inline char *
fz_strndup(const uint8_t *data, size_t size)
{
	char	*s = malloc(size + 1);

	if (s == NULL)
		abort();
	memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

/* A private heap copy of exactly size bytes (no terminator; malloc(0)
 * for none, so that ASan sees any read of an empty input). */
static inline uint8_t *
fz_memdup(const uint8_t *data, size_t size)
{
	uint8_t	*p = malloc(size);

	if (p == NULL)
		abort();	/* glibc and ASan give a pointer for 0 */
	memcpy(p, data, size);
	return p;
}

/* Whether s[0..n) holds a NUL (a C string's terminator). */
static inline int
fz_has_nul(const char *s, size_t n)
{
	return memchr(s, '\0', n) != NULL;
}

#endif
