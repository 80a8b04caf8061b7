/*
 * nodns.c: no DNS inside a fuzz target. Linked with
 * -Wl,--wrap=getaddrinfo into the targets that parse addresses (config),
 * it makes every lookup numeric, so a fuzzed host name never waits on a
 * resolver and every run gives the same answer: "localhost" stands for
 * 127.0.0.1, any other host must be a numeric address.
 */
#include <netdb.h>
#include <string.h>

int	__real_getaddrinfo(const char *node, const char *service,
	    const struct addrinfo *hints, struct addrinfo **res);
int	__wrap_getaddrinfo(const char *node, const char *service,
	    const struct addrinfo *hints, struct addrinfo **res);

int
__wrap_getaddrinfo(const char *node, const char *service,
    const struct addrinfo *hints, struct addrinfo **res)
{
	struct addrinfo	h;

	if (hints != NULL)
		h = *hints;
	else
		memset(&h, 0, sizeof(h));
	h.ai_flags |= AI_NUMERICHOST;
	if (node != NULL && strcmp(node, "localhost") == 0)
		node = "127.0.0.1";
	return __real_getaddrinfo(node, service, &h, res);
}
