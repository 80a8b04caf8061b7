/*
 * tcp_listener.c: a port that listens only while its service is up, for
 * NLB TCP health checks. A connection gets "<state>\n" and a close; with
 * accept_proxy the PROXY header must come first (within 5s).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>

#include "hapwatch.h"
#include "listener.h"
#include "proxyproto.h"

#define TCP_PROXY_TIMEOUT_MS	5000

struct tconn {
	struct lconn	 lc;
	struct event	*ev;
	size_t		 len;
	uint8_t		 buf[PP_MAX_HEADER];
};

static void
tconn_free(struct tconn *c)
{
	listener_conn_del(&c->lc);
	if (c->ev != NULL)
		event_free(c->ev);
	close(c->lc.fd);
	free(c);
}

static void
tconn_close_cb(struct lconn *lc)
{
	tconn_free((struct tconn *)lc);
}

static void
tconn_answer(struct tconn *c)
{
	const struct conf_listen *lc = c->lc.ls->conf;
	char			 line[16];
	int			 n;

	/* A reload may have given this address to another kind. */
	if (lc->kind == LISTEN_TCP && lc->svc != CONF_NONE) {
		n = snprintf(line, sizeof(line), "%s\n",
		    svc_state_name(c->lc.ls->hw->svcs[lc->svc].state));
		(void)!send(c->lc.fd, line, (size_t)n, MSG_NOSIGNAL);
	}
	tconn_free(c);
}

static void
tconn_proxy_cb(evutil_socket_t fd, short what, void *arg)
{
	struct tconn	*c = arg;
	struct pp_info	 pp;
	ssize_t		 n;
	int		 r;

	if (what & EV_TIMEOUT) {
		c->lc.ls->hw->counters.proxy_errors++;
		tconn_free(c);
		return;
	}
	/* Whatever follows the header is read too: we close after answering. */
	n = recv(fd, c->buf + c->len, sizeof(c->buf) - c->len, 0);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		tconn_free(c);
		return;
	}
	c->len += (size_t)n;
	r = pp_parse(c->buf, c->len, &pp);
	if (r == PP_INCOMPLETE && c->len < sizeof(c->buf))
		return;
	if (r <= 0) {
		c->lc.ls->hw->counters.proxy_errors++;
		tconn_free(c);
		return;
	}
	tconn_answer(c);
}

void
tcp_accept(struct listener *l, int fd)
{
	struct tconn	*c = xcalloc(1, sizeof(*c));
	struct timeval	 tv = tv_ms(TCP_PROXY_TIMEOUT_MS);

	c->lc.fd = fd;
	c->lc.close = tconn_close_cb;
	listener_conn_add(l, &c->lc);
	if (!l->conf->accept_proxy) {
		tconn_answer(c);
		return;
	}
	c->ev = event_new(l->hw->base, fd, EV_READ | EV_PERSIST, tconn_proxy_cb,
	    c);
	event_add(c->ev, &tv);
}
