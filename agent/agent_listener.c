/*
 * agent_listener.c: answers HAProxy's agent-check.
 *
 * HAProxy sends nothing unless "agent-send" is set, so a listener bound to
 * a service replies as soon as it accepts. A listener without a service
 * reads one line naming it (at most 256 bytes, within 1s). The reply is one
 * line ending in '\n' (HAProxy ignores a line without it), then our side is
 * shut and the connection drained until HAProxy resets it, so that a late
 * agent-send string never turns our close into a reset that could destroy
 * the reply.
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

#define AGENT_TIMEOUT_MS	1000

struct aconn {
	struct lconn	 lc;
	struct event	*ev;
	int64_t		 deadline;	/* for the line, then for the drain */
	size_t		 len;
	bool		 replied;
	char		 line[AGENT_LINE_MAX + 1];
};

size_t
agent_format_reply(char *buf, size_t len, enum svc_state st,
    const char *reason, int svc_weight, int fixed_weight, bool admin_words)
{
	int	w = fixed_weight > 0 ? fixed_weight : svc_weight;
	char	why[128];
	int	n;

	if (w < 1)
		w = 1;
	switch (st) {
	case SVC_UP:
		n = snprintf(buf, len, admin_words ? "up ready %d%%\n" :
		    "up %d%%\n", w);
		break;
	case SVC_DRAIN:
		n = snprintf(buf, len, admin_words ? "drain\n" : "up 0%% #drain\n");
		break;
	case SVC_MAINT:
		n = snprintf(buf, len, admin_words ? "maint\n" : "stopped #maint\n");
		break;
	default:
		/* HAProxy keeps at most 128 bytes of the description. */
		str_sanitize(why, sizeof(why), reason);
		n = snprintf(buf, len, "down #%s\n", why);
		break;
	}
	return n < 0 ? 0 : (size_t)n >= len ? len - 1 : (size_t)n;
}

enum agent_req
agent_parse_request(const char *buf, size_t len, char *name, size_t namelen)
{
	const char	*nl = memchr(buf, '\n', len < AGENT_LINE_MAX + 1 ?
			    len : AGENT_LINE_MAX + 1);
	size_t		 l;

	if (nl == NULL)
		return len > AGENT_LINE_MAX ? AGENT_REQ_BAD : AGENT_REQ_MORE;
	l = (size_t)(nl - buf);
	if (l > 0 && buf[l - 1] == '\r')
		l--;
	if (l >= namelen || memchr(buf, '\0', l) != NULL)
		return AGENT_REQ_BAD;
	memcpy(name, buf, l);
	name[l] = '\0';
	return AGENT_REQ_OK;
}

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
aconn_free(struct aconn *c)
{
	listener_conn_del(&c->lc);
	event_free(c->ev);
	close(c->lc.fd);
	free(c);
}

static void
aconn_close_cb(struct lconn *lc)
{
	aconn_free((struct aconn *)lc);
}

/* Write the reply for service idx (CONF_NONE: text is the reply). */
static void
aconn_reply(struct aconn *c, size_t idx, const char *text)
{
	struct listener	*l = c->lc.ls;
	char		 buf[192];
	size_t		 n;

	if (idx != CONF_NONE) {
		struct svc *s = &l->hw->svcs[idx];

		n = agent_format_reply(buf, sizeof(buf), s->state, s->reason,
		    s->weight, l->conf->weight, l->conf->admin_words);
		l->hw->counters.agent_replies[s->state]++;
	} else {
		n = (size_t)snprintf(buf, sizeof(buf), "%s", text);
		l->hw->counters.agent_replies[SVC_DOWN]++;
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
	char	name[AGENT_LINE_MAX + 1];
	size_t	idx;

	switch (agent_parse_request(c->line, c->len, name, sizeof(name))) {
	case AGENT_REQ_MORE:
		return;
	case AGENT_REQ_BAD:
		aconn_reply(c, CONF_NONE, "down #bad request\n");
		return;
	case AGENT_REQ_OK:
		break;
	}
	idx = conf_service_index(c->lc.ls->hw->conf, name);
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
			aconn_free(c);
		else
			aconn_reply(c, CONF_NONE, "down #no service named\n");
		return;
	}
	if (c->replied) {
		/* Drain until HAProxy closes or resets. */
		n = recv(fd, drain, sizeof(drain), 0);
		if (n <= 0 && !(n < 0 && (errno == EAGAIN || errno == EINTR)))
			aconn_free(c);
		else
			aconn_arm(c);
		return;
	}
	n = recv(fd, c->line + c->len, sizeof(c->line) - c->len, 0);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		aconn_free(c);
		return;
	}
	c->len += (size_t)n;
	aconn_line(c);
	if (!c->replied)
		aconn_arm(c);
}

void
agent_accept(struct listener *l, int fd)
{
	struct aconn	*c = xcalloc(1, sizeof(*c));

	c->lc.fd = fd;
	c->lc.close = aconn_close_cb;
	c->ev = event_new(l->hw->base, fd, EV_READ | EV_PERSIST, aconn_cb, c);
	listener_conn_add(l, &c->lc);
	c->deadline = mono_ms() + AGENT_TIMEOUT_MS;
	if (l->conf->svc != CONF_NONE)
		aconn_reply(c, l->conf->svc, NULL);
	else
		aconn_arm(c);
}
