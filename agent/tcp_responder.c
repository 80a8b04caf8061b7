/*
 * tcp_responder.c: a port that listens only while its service is up, for
 * NLB TCP health checks: while the service is down, drained or in maint
 * the socket is closed and a connect is refused. A connection gets
 * "<state>\n" and a close; with accept_proxy the PROXY header must come
 * first (within 5s).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>

#include "listener.h"
#include "metrics.h"
#include "proxyproto.h"
#include "responder.h"
#include "service.h"

#define TCP_PROXY_TIMEOUT_MS	5000

struct tcp_responder {
	const struct conf_listen	*conf;
	struct responder_env		 env;
};

struct tconn {
	struct lconn		 lc;	/* first */
	struct tcp_responder	*r;
	struct event		*ev;
	size_t			 len;
	uint8_t			 buf[PP_MAX_HEADER];
};

static void
tconn_reap(void *arg)
{
	struct tconn	*c = arg;

	if (c->ev != NULL)
		event_free(c->ev);
	free(c);
}

static void
tconn_close(struct lconn *lc)
{
	struct tconn	*c = (struct tconn *)lc;

	if (c->ev != NULL)
		event_del(c->ev);
	close(lc->fd);
	listener_conn_del(lc);
	reap_later(tconn_reap, c);
}

static void
tconn_answer(struct tconn *c)
{
	char	line[16];
	int	n;

	n = snprintf(line, sizeof(line), "%s\n",
	    svc_state_name(c->r->env.svcs[c->r->conf->svc].state));
	(void)!send(c->lc.fd, line, (size_t)n, MSG_NOSIGNAL);
	tconn_close(&c->lc);
}

/* The connection ends without its answer: count why. */
static void
tconn_fail(struct tconn *c, enum conn_error e)
{
	metrics_conn_error(c->r->env.metrics, e);
	tconn_close(&c->lc);
}

static void
tconn_proxy_cb(evutil_socket_t fd, short what, void *arg)
{
	struct tconn	*c = arg;
	struct pp_info	 pp;
	ssize_t		 n;
	int		 r;

	if (what & EV_TIMEOUT) {
		tconn_fail(c, c->len == 0 ? CONN_ERR_SILENT : CONN_ERR_TIMEOUT);
		return;
	}
	/* Whatever follows the header is read too: we close after answering. */
	n = recv(fd, c->buf + c->len, sizeof(c->buf) - c->len, 0);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		tconn_fail(c, c->len == 0 ? CONN_ERR_SILENT :
		    CONN_ERR_INCOMPLETE);
		return;
	}
	c->len += (size_t)n;
	r = pp_parse(c->buf, c->len, &pp);
	if (r == PP_INCOMPLETE && c->len < sizeof(c->buf))
		return;
	if (r <= 0) {
		tconn_fail(c, CONN_ERR_PROXY);
		return;
	}
	tconn_answer(c);
}

static void
tcp_accept(void *arg, struct listener *l, int fd, const struct sockaddr *peer)
{
	struct tcp_responder	*r = arg;
	struct tconn		*c = xcalloc(1, sizeof(*c));
	struct timeval		 tv = tv_ms(TCP_PROXY_TIMEOUT_MS);

	c->r = r;
	c->lc.fd = fd;
	c->lc.close = tconn_close;
	listener_conn_add(l, &c->lc);
	if (!r->conf->accept_proxy) {
		tconn_answer(c);
		return;
	}
	c->ev = event_new(r->env.base, fd, EV_READ | EV_PERSIST, tconn_proxy_cb,
	    c);
	event_add(c->ev, &tv);
}

static void *
tcp_make(const struct conf_listen *c, const struct responder_env *env)
{
	struct tcp_responder	*r = xcalloc(1, sizeof(*r));

	r->conf = c;
	r->env = *env;
	return r;
}

static void
tcp_adopt(void *arg, const struct conf_listen *c,
    const struct responder_env *env)
{
	struct tcp_responder	*r = arg;

	r->conf = c;
	r->env = *env;
}

static bool
tcp_wanted(const void *arg)
{
	const struct tcp_responder	*r = arg;

	return svc_state_serves(r->env.svcs[r->conf->svc].state);
}

static void
tcp_free(void *arg)
{
	free(arg);
}

const struct responder_ops tcp_responder_ops = {
	.make = tcp_make,
	.adopt = tcp_adopt,
	.wanted = tcp_wanted,
	.accept = tcp_accept,
	.free = tcp_free,
};
