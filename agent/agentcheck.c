/*
 * agentcheck.c: agent-check replies and agent-send lines.
 */
#include <stdio.h>
#include <string.h>

#include "agentcheck.h"

size_t
agentcheck_format_reply(char *buf, size_t len, enum svc_state st,
    const char *reason, int svc_weight, int fixed_weight, bool admin_words)
{
	int	w = fixed_weight > 0 ? fixed_weight : svc_weight;
	char	why[128];
	int	n;

	if (w < 1)
		w = 1;
	switch (st) {
	case SVC_UP:
	case SVC_DEGRADED:
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

enum agentcheck_req
agentcheck_parse_request(const char *buf, size_t len, char *name,
    size_t namelen)
{
	const char	*nl = memchr(buf, '\n', len < AGENTCHECK_LINE_MAX + 1 ?
			    len : AGENTCHECK_LINE_MAX + 1);
	size_t		 l;

	if (nl == NULL)
		return len > AGENTCHECK_LINE_MAX ? AGENTCHECK_REQ_BAD :
		    AGENTCHECK_REQ_MORE;
	l = (size_t)(nl - buf);
	if (l > 0 && buf[l - 1] == '\r')
		l--;
	if (l >= namelen || memchr(buf, '\0', l) != NULL)
		return AGENTCHECK_REQ_BAD;
	memcpy(name, buf, l);
	name[l] = '\0';
	return AGENTCHECK_REQ_OK;
}
