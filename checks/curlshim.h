/*
 * curlshim.h: libcurl is loaded (dlopen) on first use, not at start; see
 * curlshim.c. Every curl_* function hapwatch calls is defined there.
 */
#ifndef HW_CURLSHIM_H
#define HW_CURLSHIM_H

#include <stdbool.h>
#include <stddef.h>

/* Load libcurl now. False, with the reason in err, if it cannot be. */
bool	curlshim_load(char *err, size_t errlen);

#endif
