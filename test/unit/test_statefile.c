/*
 * test_statefile.c: a "show servers state" dump is written only whole.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "filewrite.h"
#include "statefile.h"

#define HEAD	"1\n# be_id be_name srv_id srv_name srv_addr\n"
#define ROW	"3 webapp 1 s1 127.0.0.1 2 0 1 1 127 6 3 1 6 0 0 0 - 18001 -\n"

static bool
valid(const char *s, size_t *len)
{
	*len = strlen(s);
	return statefile_valid(s, len);
}

static void
test_valid(void **state)
{
	size_t	len;

	assert_true(valid(HEAD ROW ROW "\n", &len));
	assert_int_equal(len, strlen(HEAD ROW ROW));
	/* No server at all is still a whole dump. */
	assert_true(valid(HEAD "\n", &len));
	/* Cut short: no final empty line, or cut inside a row. */
	assert_false(valid(HEAD ROW, &len));
	assert_false(valid(HEAD "3 webapp 1", &len));
	assert_false(valid("", &len));
	assert_false(valid("\n", &len));
	/* Not a dump. */
	assert_false(valid("Permission denied\n\n", &len));
	assert_false(valid("Can't find backend.\n\n", &len));
	assert_false(valid("2\n# be_id\n\n", &len));
	/* Two outputs (or a blank line inside): not what was asked. */
	assert_false(valid(HEAD ROW "\n" ROW "\n", &len));
}

static void
test_write(void **state)
{
	char	dir[] = "/tmp/hw-statefile-XXXXXX", path[64], buf[64];
	FILE	*f;
	struct stat st;

	umask(022);
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/state", dir);
	assert_true(filewrite_sync(path, "1\nold\n", 6, 0640));
	assert_true(filewrite_sync(path, "1\nnew\n", 6, 0640));
	f = fopen(path, "r");
	assert_non_null(f);
	assert_int_equal(fread(buf, 1, sizeof(buf), f), 6);
	fclose(f);
	assert_memory_equal(buf, "1\nnew\n", 6);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0640);
	/* A directory that does not exist: false, nothing left behind. */
	assert_false(filewrite_sync("/nonexistent-dir/x/state", "1\n", 2, 0640));
	unlink(path);
	rmdir(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid),
		cmocka_unit_test(test_write),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
