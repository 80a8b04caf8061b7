/*
 * replay.c: a fuzz target's LLVMFuzzerTestOneInput() over files, without
 * libFuzzer, for the fuzz-replay/<name> ctest tests (test/CMakeLists.txt)
 * in every build, gcc included.
 *
 *   replay_<name> PATH...
 *
 * A PATH that is a directory gives its regular files in name order, a
 * file gives itself. Each input is handed over in an exact-size heap
 * buffer, as libFuzzer does. A directory that does not exist is skipped
 * (regress/<name>/ exists only once something crashed), but no input at
 * all is a failure. A failed invariant or a sanitizer aborts the run; the
 * name of the input is printed first.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"

/* Read path whole into an exact-size buffer; -1 on error. */
static int
read_whole(const char *path, uint8_t **data, size_t *size)
{
	FILE		*f;
	struct stat	 st;
	uint8_t		*p;

	if ((f = fopen(path, "rb")) == NULL)
		return -1;
	if (fstat(fileno(f), &st) < 0 || st.st_size < 0) {
		fclose(f);
		return -1;
	}
	p = malloc(st.st_size > 0 ? (size_t)st.st_size : 1);
	if (p == NULL || fread(p, 1, (size_t)st.st_size, f) !=
	    (size_t)st.st_size) {
		free(p);
		fclose(f);
		return -1;
	}
	fclose(f);
	*data = p;
	*size = (size_t)st.st_size;
	return 0;
}

static int
replay_file(const char *path)
{
	uint8_t	*data;
	size_t	 size;

	if (read_whole(path, &data, &size) < 0) {
		fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
		return -1;
	}
	printf("replay: %s (%zu bytes)\n", path, size);
	fflush(stdout);
	LLVMFuzzerTestOneInput(data, size);
	free(data);
	return 0;
}

static int
only_files(const struct dirent *d)
{
	return d->d_name[0] != '.';
}

/* Replay every regular file in dir; returns how many, or -1. */
static long
replay_dir(const char *dir)
{
	struct dirent	**names;
	struct stat	  st;
	char		  path[4096];
	long		  n = 0;
	int		  count, i;

	if ((count = scandir(dir, &names, only_files, alphasort)) < 0) {
		if (errno == ENOENT) {
			printf("replay: %s: none yet\n", dir);
			return 0;
		}
		fprintf(stderr, "replay: %s: %s\n", dir, strerror(errno));
		return -1;
	}
	for (i = 0; i < count; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]->d_name);
		if (stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
			if (replay_file(path) < 0)
				n = -1;
			else if (n >= 0)
				n++;
		}
		free(names[i]);
	}
	free(names);
	return n;
}

int
main(int argc, char **argv)
{
	struct stat	 st;
	long		 total = 0, n;
	int		 i;

	if (argc < 2) {
		fprintf(stderr, "usage: %s DIR|FILE...\n", argv[0]);
		return 2;
	}
	for (i = 1; i < argc; i++) {
		if (stat(argv[i], &st) == 0 && !S_ISDIR(st.st_mode))
			n = replay_file(argv[i]) < 0 ? -1 : 1;
		else
			n = replay_dir(argv[i]);
		if (n < 0)
			return 1;
		total += n;
	}
	if (total == 0) {
		fprintf(stderr, "replay: no input found\n");
		return 1;
	}
	printf("replay: %ld inputs, all passed\n", total);
	return 0;
}
