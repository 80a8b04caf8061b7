/*
 * captures.h: the HAProxy captures of test/unit/data/ for the unit tests
 * (test_stats.c, test_stats_versions.c). Each version's files are named
 * hapMN_<what> (see data/README.md); test/fuzz/capture_versions.py wrote
 * them. Include after <cmocka.h>. Every helper fails the test on a missing
 * or malformed file: a capture that cannot be read is a failure, never a
 * skip.
 */
#ifndef HW_TEST_CAPTURES_H
#define HW_TEST_CAPTURES_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

#define DATA(f)	TEST_DATA_DIR "/unit/data/" f

/* Every version captured, oldest first, by file prefix. */
static const char *const cap_versions[] = {
	"hap26", "hap30", "hap32", "hap34",
};
#define CAP_NVERSIONS	(sizeof(cap_versions) / sizeof(cap_versions[0]))

/* 3.4 and later: the unpublished backends exist. */
static inline bool
cap_has_unpub(const char *ver)
{
	return strcmp(ver, "hap34") >= 0;
}

/* Read a whole file, NUL-terminated (not counted in *len); caller frees. */
static inline char *
slurp(const char *path, size_t *len)
{
	FILE	*fp;
	char	*buf;
	long	 n;

	fp = fopen(path, "rb");
	if (fp == NULL)
		fail_msg("cannot open %s", path);
	assert_int_equal(fseek(fp, 0, SEEK_END), 0);
	n = ftell(fp);
	assert_true(n >= 0);
	rewind(fp);
	buf = xmalloc((size_t)n + 1);
	assert_int_equal(fread(buf, 1, (size_t)n, fp), (size_t)n);
	buf[n] = '\0';
	fclose(fp);
	*len = (size_t)n;
	return buf;
}

/* hapMN_<what> of version ver. */
static inline char *
cap_slurp(const char *ver, const char *what, size_t *len)
{
	char	path[512];

	snprintf(path, sizeof(path), DATA("%s_%s"), ver, what);
	return slurp(path, len);
}

/*
 * HAProxy's answer to one command of hapMN_cli_texts.txt, whose header
 * line is ">>> <head>" (the command, then its socket and note as the file
 * has them), blank line included; caller frees.
 */
static inline char *
cap_cli_text(const char *ver, const char *head, size_t *len)
{
	char	*buf, *p, *end, *out;
	size_t	 n, hl = strlen(head);

	buf = cap_slurp(ver, "cli_texts.txt", &n);
	for (p = buf; strncmp(p, ">>> ", 4) != 0 ||
	    strncmp(p + 4, head, hl) != 0 || p[4 + hl] != '\n'; p++) {
		if ((p = strstr(p, "\n>>> ")) == NULL)
			fail_msg("%s_cli_texts.txt has no \">>> %s\"", ver,
			    head);
	}
	p += 4 + hl + 1;
	end = strstr(p, "\n>>> ");
	end = end != NULL ? end + 1 : buf + n;
	*len = (size_t)(end - p);
	out = xmalloc(*len + 1);
	memcpy(out, p, *len);
	out[*len] = '\0';
	free(buf);
	return out;
}

/* One backend of hapMN_expect.txt: HAProxy's word on it. */
struct cap_backend {
	char	 name[64];
	int	 nbsrv;		/* HAProxy's %[nbsrv(name)] */
	int	 allbackups;	/* the config has option allbackups */
	int	 present;	/* a backend row in show stat */
	int	 act, bck;	/* that row's act and bck (-1: absent) */
	int	 actives;	/* configured active servers (rows) */
	int	 backups;
	char	 status[32];	/* that row's status ("-": absent) */
};

struct cap_expect {
	int			 pid;
	char			 version[32];
	struct cap_backend	 be[32];
	size_t			 nbe;
};

/* Parse hapMN_expect.txt (see capture_versions.py World.expect). */
static inline void
cap_expect(const char *ver, struct cap_expect *e)
{
	char	*buf, *line, *save = NULL;
	size_t	 len;

	memset(e, 0, sizeof(*e));
	buf = cap_slurp(ver, "expect.txt", &len);
	for (line = strtok_r(buf, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		struct cap_backend	*b = &e->be[e->nbe];
		char			 act[16], bck[16];
		int			 n = 0;

		if (strncmp(line, "pid ", 4) == 0)
			e->pid = atoi(line + 4);
		else if (strncmp(line, "version ", 8) == 0)
			snprintf(e->version, sizeof(e->version), "%s", line + 8);
		else if (strncmp(line, "backend ", 8) == 0) {
			assert_true(e->nbe < ARRAY_SIZE(e->be));
			if (sscanf(line, "backend %63s nbsrv %d allbackups %d "
			    "present %d act %15s bck %15s actives %d backups %d "
			    "status %n", b->name, &b->nbsrv, &b->allbackups,
			    &b->present, act, bck, &b->actives, &b->backups,
			    &n) != 8 || n == 0)
				fail_msg("%s_expect.txt: bad line: %s", ver, line);
			snprintf(b->status, sizeof(b->status), "%s", line + n);
			b->act = b->present ? atoi(act) : -1;
			b->bck = b->present ? atoi(bck) : -1;
			e->nbe++;
		}
	}
	free(buf);
	if (e->pid <= 0 || e->version[0] == '\0' || e->nbe == 0)
		fail_msg("%s_expect.txt: no pid, version or backend", ver);
}

#endif
