/*
 * responder.c: the registry of responders, one per listener kind.
 */
#include "responder.h"

const struct responder_ops *
responder_for(enum listen_kind kind)
{
	switch (kind) {
	case LISTEN_HTTP:
		return &http_responder_ops;
	case LISTEN_AGENT:
		return &agentcheck_responder_ops;
	case LISTEN_TCP:
		return &tcp_responder_ops;
	}
	return &http_responder_ops;
}
