/*
 * curlev.c: curl multi-socket on libevent (the shape of curl's own
 * hiperfifo.c example, written for this loop).
 */
#include <stdlib.h>
#include <sys/queue.h>

#include <event2/event.h>

#include "curlev.h"
#include "util.h"

/* One per transfer, hung on CURLOPT_PRIVATE. */
struct curlev_xfer {
	CURL			*easy;
	curlev_done_cb		*cb;
	void			*arg;
	TAILQ_ENTRY(curlev_xfer) link;
};

struct curlev {
	struct event_base		*base;
	CURLM				*multi;
	struct event			*timer;
	int				 running;
	TAILQ_HEAD(, curlev_xfer)	 xfers;
};

/* One per socket curl watches, hung on curl_multi_assign(). */
struct curlev_sock {
	struct event	*ev;
};

/* Take easy out of the multi handle; returns its transfer (the caller
 * frees it), or NULL if it had none. */
static struct curlev_xfer *
curlev_detach(struct curlev *cv, CURL *easy)
{
	char			*priv = NULL;
	struct curlev_xfer	*x;

	curl_easy_getinfo(easy, CURLINFO_PRIVATE, &priv);
	x = (struct curlev_xfer *)priv;
	curl_multi_remove_handle(cv->multi, easy);
	curl_easy_setopt(easy, CURLOPT_PRIVATE, NULL);
	if (x != NULL)
		TAILQ_REMOVE(&cv->xfers, x, link);
	return x;
}

static void
curlev_check_done(struct curlev *cv)
{
	struct curlev_xfer	*x;
	CURLMsg			*msg;
	int			 left;

	while ((msg = curl_multi_info_read(cv->multi, &left)) != NULL) {
		CURL		*easy = msg->easy_handle;
		CURLcode	 rc = msg->data.result;

		if (msg->msg != CURLMSG_DONE)
			continue;
		if ((x = curlev_detach(cv, easy)) != NULL) {
			x->cb(x->arg, easy, rc);
			free(x);
		}
	}
}

static void
curlev_event_cb(evutil_socket_t fd, short what, void *arg)
{
	struct curlev	*cv = arg;
	int		 flags = 0;

	if (what & EV_READ)
		flags |= CURL_CSELECT_IN;
	if (what & EV_WRITE)
		flags |= CURL_CSELECT_OUT;
	curl_multi_socket_action(cv->multi, fd, flags, &cv->running);
	/* A done callback may start the next transfer (a queued webhook):
	 * curl's timer callback keeps the timer; never disarm it here. */
	curlev_check_done(cv);
}

static void
curlev_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct curlev	*cv = arg;

	curl_multi_socket_action(cv->multi, CURL_SOCKET_TIMEOUT, 0, &cv->running);
	curlev_check_done(cv);
}

/* CURLMOPT_TIMERFUNCTION: wake curl in timeout_ms (-1: never). */
static int
curlev_timer_fn(CURLM *multi, long timeout_ms, void *arg)
{
	struct curlev	*cv = arg;
	struct timeval	 tv;

	if (timeout_ms < 0) {
		evtimer_del(cv->timer);
		return 0;
	}
	tv = tv_ms(timeout_ms);
	evtimer_add(cv->timer, &tv);
	return 0;
}

/* CURLMOPT_SOCKETFUNCTION: watch s for what curl wants. */
static int
curlev_socket_fn(CURL *easy, curl_socket_t s, int what, void *arg,
    void *sockp)
{
	struct curlev		*cv = arg;
	struct curlev_sock	*cs = sockp;
	short			 kind = EV_PERSIST;

	if (what == CURL_POLL_REMOVE) {
		if (cs != NULL) {
			event_free(cs->ev);
			free(cs);
			curl_multi_assign(cv->multi, s, NULL);
		}
		return 0;
	}
	if (what & CURL_POLL_IN)
		kind |= EV_READ;
	if (what & CURL_POLL_OUT)
		kind |= EV_WRITE;
	if (cs == NULL) {
		cs = xcalloc(1, sizeof(*cs));
		curl_multi_assign(cv->multi, s, cs);
	} else {
		event_free(cs->ev);
	}
	cs->ev = event_new(cv->base, s, kind, curlev_event_cb, cv);
	event_add(cs->ev, NULL);
	return 0;
}

struct curlev *
curlev_new(struct event_base *base)
{
	struct curlev	*cv = xcalloc(1, sizeof(*cv));

	cv->base = base;
	TAILQ_INIT(&cv->xfers);
	cv->multi = curl_multi_init();
	if (cv->multi == NULL)
		abort();
	cv->timer = evtimer_new(base, curlev_timer_cb, cv);
	curl_multi_setopt(cv->multi, CURLMOPT_SOCKETFUNCTION, curlev_socket_fn);
	curl_multi_setopt(cv->multi, CURLMOPT_SOCKETDATA, cv);
	curl_multi_setopt(cv->multi, CURLMOPT_TIMERFUNCTION, curlev_timer_fn);
	curl_multi_setopt(cv->multi, CURLMOPT_TIMERDATA, cv);
	return cv;
}

void
curlev_add(struct curlev *cv, CURL *easy, curlev_done_cb *cb, void *arg)
{
	struct curlev_xfer	*x = xcalloc(1, sizeof(*x));

	x->easy = easy;
	x->cb = cb;
	x->arg = arg;
	TAILQ_INSERT_TAIL(&cv->xfers, x, link);
	curl_easy_setopt(easy, CURLOPT_PRIVATE, x);
	/* No signals from curl: the loop owns them (and the resolver must not
	 * longjmp out of it). */
	curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
	curl_multi_add_handle(cv->multi, easy);
}

void
curlev_remove(struct curlev *cv, CURL *easy)
{
	free(curlev_detach(cv, easy));
}

void
curlev_free(struct curlev *cv)
{
	struct curlev_xfer	*x;

	if (cv == NULL)
		return;
	while ((x = TAILQ_FIRST(&cv->xfers)) != NULL)
		curlev_remove(cv, x->easy);
	curl_multi_cleanup(cv->multi);
	event_free(cv->timer);
	free(cv);
}
