/*
 * jsonw.c: shared json-c values (jsonw.h).
 */
#include <stdio.h>
#include <time.h>

#include "jsonw.h"
#include "util.h"

json_object *
jsonw_time(int64_t wall)
{
	char	buf[32];

	if (wall <= 0)
		return NULL;
	fmt_rfc3339(wall, buf, sizeof(buf));
	return json_object_new_string(buf);
}

json_object *
jsonw_time_ms(int64_t wall)
{
	char		buf[40];
	time_t		t = (time_t)(wall / 1000);
	struct tm	tm;
	size_t		n;

	if (wall <= 0)
		return NULL;
	gmtime_r(&t, &tm);
	n = strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + n, sizeof(buf) - n, ".%03dZ", (int)(wall % 1000));
	return json_object_new_string(buf);
}

json_object *
jsonw_u64(uint64_t n)
{
	return json_object_new_int64((int64_t)n);
}

json_object *
jsonw_str_or_null(const char *s)
{
	return s[0] != '\0' ? json_object_new_string(s) : NULL;
}
