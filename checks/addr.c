/*
 * addr.c: parse "unix:PATH", "tcp:HOST:PORT" and "HOST:PORT".
 */
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

#include "addr.h"

static bool
addr_parse_unix(const char *path, struct addr *out, char *err,
    size_t errlen)
{
	struct sockaddr_un	*sun = (struct sockaddr_un *)&out->ss;
	size_t			 len = strlen(path);

	if (len == 0 || path[0] != '/') {
		snprintf(err, errlen, "unix socket path must be absolute");
		return false;
	}
	if (len >= sizeof(sun->sun_path)) {
		snprintf(err, errlen, "unix socket path longer than %zu bytes",
		    sizeof(sun->sun_path) - 1);
		return false;
	}
	sun->sun_family = AF_UNIX;
	memcpy(sun->sun_path, path, len + 1);
	out->len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len + 1);
	out->family = AF_UNIX;
	snprintf(out->text, sizeof(out->text), "unix:%s", path);
	return true;
}

static bool
addr_split_hostport(const char *s, char *host, size_t hostlen, long *port,
    char *err, size_t errlen)
{
	const char	*colon, *h = s;
	size_t		 hl;
	char		*end;

	if (*s == '[') {
		const char *close = strchr(s, ']');

		if (close == NULL || close[1] != ':') {
			snprintf(err, errlen, "expected [IPv6]:PORT");
			return false;
		}
		h = s + 1;
		hl = (size_t)(close - h);
		colon = close + 1;
	} else {
		colon = strrchr(s, ':');
		if (colon == NULL) {
			snprintf(err, errlen, "expected HOST:PORT");
			return false;
		}
		hl = (size_t)(colon - s);
	}
	if (hl >= hostlen) {
		snprintf(err, errlen, "host name too long");
		return false;
	}
	memcpy(host, h, hl);
	host[hl] = '\0';
	if (colon[1] < '0' || colon[1] > '9') {
		snprintf(err, errlen, "expected a port number after ':'");
		return false;
	}
	*port = strtol(colon + 1, &end, 10);
	if (*end != '\0' || *port < 1 || *port > 65535) {
		snprintf(err, errlen, "port must be 1 to 65535");
		return false;
	}
	return true;
}

static bool
addr_parse_inet(const char *s, int flags, struct addr *out, char *err,
    size_t errlen)
{
	struct addrinfo	 hints, *res = NULL;
	char		 host[256], portstr[8], buf[INET6_ADDRSTRLEN];
	long		 port;
	int		 rc;

	if (!addr_split_hostport(s, host, sizeof(host), &port, err, errlen))
		return false;
	if ((flags & ADDR_PASSIVE) && (host[0] == '\0' || strcmp(host, "*") == 0))
		strcpy(host, "0.0.0.0");
	if (host[0] == '\0') {
		snprintf(err, errlen, "missing host");
		return false;
	}
	/* No DNS: a config is also loaded on SIGHUP, inside the loop. */
	if (strcmp(host, "localhost") == 0)
		strcpy(host, "127.0.0.1");
	snprintf(portstr, sizeof(portstr), "%ld", port);
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV | AI_NUMERICHOST;
	rc = getaddrinfo(host, portstr, &hints, &res);
	if (rc != 0 || res == NULL) {
		str_sanitize(host, sizeof(host), host);
		snprintf(err, errlen, "\"%s\" is not an IP address (names are "
		    "not resolved)", host);
		return false;
	}
	memcpy(&out->ss, res->ai_addr, res->ai_addrlen);
	out->len = res->ai_addrlen;
	out->family = res->ai_family;
	freeaddrinfo(res);
	if (out->family == AF_INET6) {
		inet_ntop(AF_INET6,
		    &((struct sockaddr_in6 *)&out->ss)->sin6_addr, buf,
		    sizeof(buf));
		snprintf(out->text, sizeof(out->text), "[%s]:%ld", buf, port);
	} else {
		inet_ntop(AF_INET, &((struct sockaddr_in *)&out->ss)->sin_addr,
		    buf, sizeof(buf));
		snprintf(out->text, sizeof(out->text), "%s:%ld", buf, port);
	}
	return true;
}

bool
addr_parse(const char *s, int flags, struct addr *out, char *err,
    size_t errlen)
{
	memset(out, 0, sizeof(*out));
	if (strncmp(s, "unix:", 5) == 0) {
		if (flags & ADDR_NO_UNIX) {
			snprintf(err, errlen, "unix sockets are not allowed here");
			return false;
		}
		return addr_parse_unix(s + 5, out, err, errlen);
	}
	if ((flags & ADDR_TCP_PREFIX) && strncmp(s, "tcp:", 4) == 0)
		s += 4;
	return addr_parse_inet(s, flags, out, err, errlen);
}

bool
addr_is_local(const struct addr *a)
{
	if (a->family == AF_UNIX)
		return true;
	if (a->family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)&a->ss;

		return (ntohl(sin->sin_addr.s_addr) >> 24) == 127;
	}
	if (a->family == AF_INET6) {
		const struct sockaddr_in6 *sin6 =
		    (const struct sockaddr_in6 *)&a->ss;

		return IN6_IS_ADDR_LOOPBACK(&sin6->sin6_addr);
	}
	return false;
}

bool
addr_equal(const struct addr *a, const struct addr *b)
{
	return a->family == b->family && a->len == b->len &&
	    memcmp(&a->ss, &b->ss, a->len) == 0;
}

int
addr_port(const struct addr *a)
{
	if (a->family == AF_INET)
		return ntohs(((const struct sockaddr_in *)&a->ss)->sin_port);
	if (a->family == AF_INET6)
		return ntohs(((const struct sockaddr_in6 *)&a->ss)->sin6_port);
	return 0;
}
