/*
 * jsonw.h: the json-c values that /status, /events and overrides.json
 * write alike.
 */
#ifndef HW_JSONW_H
#define HW_JSONW_H

#include <stdint.h>

#include <json-c/json.h>

/* "2026-12-02T03:12:04Z" for wall ms; NULL (JSON null) for 0 or less. */
json_object	*jsonw_time(int64_t wall);
/* The same with milliseconds: "2026-12-02T03:12:04.250Z". */
json_object	*jsonw_time_ms(int64_t wall);
json_object	*jsonw_u64(uint64_t n);
/* A string, or NULL (JSON null) for "". */
json_object	*jsonw_str_or_null(const char *s);

#endif
