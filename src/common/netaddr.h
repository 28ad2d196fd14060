/*
 * netaddr.h: small questions about listen addresses, asked at start-up
 * (the coordinator refuses plaintext gRPC on a public address).
 */
#ifndef COOPMINE_NETADDR_H
#define COOPMINE_NETADDR_H

/* 1 when every address host names is a loopback one (127.0.0.0/8, ::1,
 * ::ffff:127.x): an IP literal, with or without [brackets], or a name
 * resolved now (all its addresses count).  0 for "", wildcards, other
 * addresses and names that do not resolve. */
int netaddr_is_loopback(const char *host);

#endif
