/*
 * netaddr.c: is a listen address reachable from other machines?  main.c
 * of the coordinator asks before it serves workers in plaintext.
 */
#include "config.h"

#include <sys/socket.h>
#include <netinet/in.h>

#include <netdb.h>
#include <stdio.h>
#include <string.h>

#include "common/netaddr.h"

static int
sockaddr_is_loopback(const struct sockaddr *sa)
{
	const struct sockaddr_in6 *s6;
	const unsigned char *b;

	if (sa->sa_family == AF_INET)
		return (ntohl(((const struct sockaddr_in *)(const void *)sa)->
		    sin_addr.s_addr) >> 24) == 127;
	if (sa->sa_family != AF_INET6)
		return 0;
	s6 = (const struct sockaddr_in6 *)(const void *)sa;
	if (IN6_IS_ADDR_LOOPBACK(&s6->sin6_addr))
		return 1;
	b = s6->sin6_addr.s6_addr;
	return IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr) && b[12] == 127;
}

int
netaddr_is_loopback(const char *host)
{
	struct addrinfo hints, *ai, *p;
	char h[256];
	size_t len;
	int all = 1;

	if (host == NULL || *host == '\0')
		return 0;
	len = strlen(host);
	if (host[0] == '[' && len > 2 && host[len - 1] == ']') {
		host++;
		len -= 2;
	}
	if (len >= sizeof(h))
		return 0;
	memcpy(h, host, len);
	h[len] = '\0';
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	if (getaddrinfo(h, NULL, &hints, &ai) != 0)
		return 0;
	for (p = ai; p != NULL; p = p->ai_next)
		all &= sockaddr_is_loopback(p->ai_addr);
	freeaddrinfo(ai);
	return all;
}
