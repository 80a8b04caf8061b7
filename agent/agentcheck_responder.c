/*
 * agentcheck_responder.c: answers HAProxy's agent-check.
 *
 * HAProxy sends nothing unless "agent-send" is set, so a listener bound to
 * a service replies as soon as it accepts. A listener without a service
 * reads one line naming it (at most 256 bytes, within 1s). The reply is one
 * line ending in '\n' (agentcheck.h), then our side is shut and the
 * connection drained until HAProxy resets it, so that a late agent-send
 * string never turns our close into a reset that could destroy the reply.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>

#include "agentcheck.h"
#include "listener.h"
#include "metrics.h"
#include "probers.h"
#include "responder.h"
#include "service.h"

#define AGENT_TIMEOUT_MS	1000

struct agentcheck_responder {
	const struct conf_listen	*conf;
	struct responder_env		 env;
};

struct aconn {
	struct lconn			 lc;	/* first */
	struct agentcheck_responder	*r;
	struct event			*ev;
	int64_t				 deadline;	/* line, then drain */
	struct prober_addr		 src;		/* the upstream HAProxy */
	size_t				 len;
	bool				 replied;
	char				 line[AGENTCHECK_LINE_MAX + 1];
};

/* (Re)arm c's event for what is left until its deadline: a peer sending a
 * byte at a time must not extend it, as a persistent timeout would. */
static void
aconn_arm(struct aconn *c)
{
	int64_t		left = c->deadline - mono_ms();
	struct timeval	tv;

	if (left < 1)
		left = 1;
	tv = tv_ms(left);
	event_add(c->ev, &tv);
}

static void
aconn_reap(void *arg)
{
	struct aconn	*c = arg;

	event_free(c->ev);
	free(c);
}

static void
aconn_close(struct lconn *lc)
{
	struct aconn	*c = (struct aconn *)lc;

	event_del(c->ev);
	close(lc->fd);
	listener_conn_del(lc);
	reap_later(aconn_reap, c);
}

/* Write the reply for service idx (CONF_NONE: text is the reply). */
static void
aconn_reply(struct aconn *c, size_t idx, const char *text)
{
	struct agentcheck_responder	*r = c->r;
	char				 buf[192];
	size_t				 n;

	if (idx != CONF_NONE) {
		const struct svc *s = &r->env.svcs[idx];

		n = agentcheck_format_reply(buf, sizeof(buf), s->state, s->reason,
		    s->weight, r->conf->weight, r->conf->admin_words);
		metrics_agent_reply(r->env.metrics, s->state);
		/* A drained reply is the one that lets an upstream go. */
		if (c->src.family != 0)
			probers_seen(r->env.probers, idx, PROBER_AGENT, &c->src,
			    s->state != SVC_DRAIN);
	} else {
		n = (size_t)snprintf(buf, sizeof(buf), "%s", text);
		metrics_agent_reply(r->env.metrics, SVC_DOWN);
	}
	/* A fresh socket takes 200 bytes: a short write means it is gone. */
	(void)!send(c->lc.fd, buf, n, MSG_NOSIGNAL);
	shutdown(c->lc.fd, SHUT_WR);
	c->replied = true;
	c->deadline = mono_ms() + AGENT_TIMEOUT_MS;
	aconn_arm(c);
}

/* A line naming the service arrived (or not). */
static void
aconn_line(struct aconn *c)
{
	char	name[AGENTCHECK_LINE_MAX + 1];
	size_t	idx;

	switch (agentcheck_parse_request(c->line, c->len, name, sizeof(name))) {
	case AGENTCHECK_REQ_MORE:
		return;
	case AGENTCHECK_REQ_BAD:
		aconn_reply(c, CONF_NONE, "down #bad request\n");
		return;
	case AGENTCHECK_REQ_OK:
		break;
	}
	idx = conf_service_index(c->r->env.conf, name);
	if (idx == CONF_NONE)
		aconn_reply(c, CONF_NONE, "down #unknown service\n");
	else
		aconn_reply(c, idx, NULL);
}

static void
aconn_cb(evutil_socket_t fd, short what, void *arg)
{
	struct aconn	*c = arg;
	char		 drain[512];
	ssize_t		 n;

	if (what & EV_TIMEOUT) {
		if (c->replied)
			aconn_close(&c->lc);
		else
			aconn_reply(c, CONF_NONE, "down #no service named\n");
		return;
	}
	if (c->replied) {
		/* Drain until HAProxy closes or resets. */
		n = recv(fd, drain, sizeof(drain), 0);
		if (n <= 0 && !(n < 0 && (errno == EAGAIN || errno == EINTR)))
			aconn_close(&c->lc);
		else
			aconn_arm(c);
		return;
	}
	n = recv(fd, c->line + c->len, sizeof(c->line) - c->len, 0);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		/* Gone before naming a service: no reply to give. */
		metrics_conn_error(c->r->env.metrics, c->len == 0 ?
		    CONN_ERR_SILENT : CONN_ERR_INCOMPLETE);
		aconn_close(&c->lc);
		return;
	}
	c->len += (size_t)n;
	aconn_line(c);
	if (!c->replied)
		aconn_arm(c);
}

static void
agentcheck_accept(void *arg, struct listener *l, int fd,
    const struct sockaddr *peer)
{
	struct agentcheck_responder	*r = arg;
	struct aconn			*c = xcalloc(1, sizeof(*c));

	c->r = r;
	(void)prober_addr_of(peer, &c->src);
	c->lc.fd = fd;
	c->lc.close = aconn_close;
	c->ev = event_new(r->env.base, fd, EV_READ | EV_PERSIST, aconn_cb, c);
	listener_conn_add(l, &c->lc);
	c->deadline = mono_ms() + AGENT_TIMEOUT_MS;
	if (r->conf->svc != CONF_NONE)
		aconn_reply(c, r->conf->svc, NULL);
	else
		aconn_arm(c);
}

static void *
agentcheck_make(const struct conf_listen *c, const struct responder_env *env)
{
	struct agentcheck_responder	*r = xcalloc(1, sizeof(*r));

	r->conf = c;
	r->env = *env;
	return r;
}

static void
agentcheck_adopt(void *arg, const struct conf_listen *c,
    const struct responder_env *env)
{
	struct agentcheck_responder	*r = arg;

	r->conf = c;
	r->env = *env;
}

/* An agent port always listens: HAProxy takes a refused agent connection
 * for "no news", not for "down" (HAPROXY.md section 1). */
static bool
agentcheck_wanted(const void *arg)
{
	return true;
}

static void
agentcheck_free(void *arg)
{
	free(arg);
}

const struct responder_ops agentcheck_responder_ops = {
	.make = agentcheck_make,
	.adopt = agentcheck_adopt,
	.wanted = agentcheck_wanted,
	.accept = agentcheck_accept,
	.free = agentcheck_free,
};
