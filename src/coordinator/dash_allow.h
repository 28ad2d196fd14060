/*
 * dash_allow.h: the dashboard's allow-lists.  http.c answers a request only
 * when its Host header is listed (a DNS-rebinding page sends its own name),
 * live.c accepts a WebSocket upgrade only from a listed Origin (or none: not
 * a browser).  A list is built once, from [dashboard] allowed_hosts /
 * allowed_origins or from the defaults, and only read afterwards, so any
 * thread may match against it.
 */
#ifndef COOPMINE_DASH_ALLOW_H
#define COOPMINE_DASH_ALLOW_H

#include <stddef.h>

struct dash_allow;

/*
 * A configured list.  Host entries: "name", "name:port", "[v6]:port", an
 * IP literal, or "*" (anything); without a port a name matches on every
 * port.  Origin entries (origins != 0): "http://name[:port]" or https, or
 * "*"; an origin's port defaults to its scheme's.  NULL with a message in
 * err (naming key) when an entry is malformed.
 */
struct dash_allow *dash_allow_new(const char *key, char *const *items,
		    size_t n, int origins, char *err, size_t errlen);
/* The default Host list of a dashboard listening on host:port: that host
 * (unless it is a wildcard), localhost, 127.0.0.1 and [::1], each with the
 * port.  NULL when out of memory. */
struct dash_allow *dash_allow_default_hosts(const char *listen_host, int port);
/* The default Origin list: http:// and https:// of every entry of hosts. */
struct dash_allow *dash_allow_origins_of(const struct dash_allow *hosts);
void		 dash_allow_free(struct dash_allow *a);

/* 1 when a Host header value ("name", "name:port", "[v6]:port") is
 * listed; malformed values never are. */
int		 dash_allow_host(const struct dash_allow *a, const char *host);
/* 1 when an Origin header value is listed ("null" never is). */
int		 dash_allow_origin(const struct dash_allow *a, const char *origin);
/* The list as text, for the start-up log ("a, b, c"). */
void		 dash_allow_describe(const struct dash_allow *a, char *buf,
		    size_t len);

#endif
