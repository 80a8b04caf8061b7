/*
 * curlev.h: libcurl's multi-socket API driven by our libevent loop, for
 * http checks, webhooks and the stats page. curl asks which sockets to
 * watch and when to wake it; we watch them with events and tell it what
 * happened. No transfer ever blocks the loop.
 */
#ifndef HW_CURLEV_H
#define HW_CURLEV_H

#include <curl/curl.h>

struct event_base;
struct curlev;

/* Called from the loop when a transfer ends (rc is curl's result). The
 * easy handle has left the multi handle; the callee owns it again. */
typedef void curlev_done_cb(void *arg, CURL *easy, CURLcode rc);

/* One per event base. curl_global_init() is the caller's business. */
struct curlev	*curlev_new(struct event_base *base);
/* Start a transfer. curlev uses CURLOPT_PRIVATE of easy. */
void		 curlev_add(struct curlev *cv, CURL *easy, curlev_done_cb *cb,
		    void *arg);
/* Abandon a transfer without calling its callback; easy is not freed. */
void		 curlev_remove(struct curlev *cv, CURL *easy);
/* Abandon every transfer and free; easy handles are not freed. */
void		 curlev_free(struct curlev *cv);

#endif
