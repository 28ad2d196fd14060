/*
 * dash_allow.c: the Host and Origin allow-lists of the dashboard (see
 * dash_allow.h).  Names compare case-insensitively, IPv6 literals in their
 * canonical form, so "[0::1]" and "[::1]" are one address.
 */
#include "config.h"

#include <arpa/inet.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "coordinator/dash_allow.h"

#define ALLOW_HOST_MAX	256	/* a DNS name is at most 253 */

struct allow_entry {
	char	scheme[8];		/* "http" or "https"; "" in a Host list */
	char	host[ALLOW_HOST_MAX];	/* lower case, IPv6 without brackets */
	int	port;			/* -1: any */
};

struct dash_allow {
	int			 any;	/* "*" was listed */
	size_t			 n;
	struct allow_entry	*e;
};

/* "name", "name:port", "[v6]" or "[v6]:port", len bytes of s; port -1
 * when absent.  Only the characters of host names and IP literals. */
static int
parse_hostport(const char *s, size_t len, char *host, size_t hostlen,
    int *port)
{
	const char *h = s, *end = s + len, *colon, *rb;
	unsigned char v6[16];
	size_t hl, i;
	long p;

	*port = -1;
	if (len == 0)
		return -1;
	if (*s == '[') {
		if ((rb = memchr(s, ']', len)) == NULL)
			return -1;
		h = s + 1;
		hl = (size_t)(rb - h);
		colon = rb + 1 < end ? rb + 1 : NULL;
		if (colon != NULL && *colon != ':')
			return -1;
	} else {
		colon = memchr(s, ':', len);
		hl = colon ? (size_t)(colon - s) : len;
		if (colon && memchr(colon + 1, ':', (size_t)(end - colon - 1)))
			return -1;	/* a bare IPv6 address needs brackets */
	}
	if (hl == 0 || hl >= hostlen)
		return -1;
	for (i = 0; i < hl; i++) {
		unsigned char c = (unsigned char)h[i];

		if (!isalnum(c) && c != '-' && c != '.' && c != '_' &&
		    !(c == ':' && h != s))
			return -1;
		host[i] = (char)tolower(c);
	}
	host[hl] = '\0';
	if (h != s && (inet_pton(AF_INET6, host, v6) != 1 ||
	    inet_ntop(AF_INET6, v6, host, (socklen_t)hostlen) == NULL))
		return -1;
	if (colon == NULL)
		return 0;
	if (end - colon < 2 || end - colon > 6)
		return -1;
	for (p = 0, colon++; colon < end; colon++) {
		if (!isdigit((unsigned char)*colon))
			return -1;
		p = p * 10 + (*colon - '0');
	}
	if (p < 1 || p > 65535)
		return -1;
	*port = (int)p;
	return 0;
}

/* "http://hostport" or "https://hostport"; the port defaults to the
 * scheme's. */
static int
parse_origin(const char *s, struct allow_entry *e)
{
	const char *sep = strstr(s, "://");
	size_t sl = sep ? (size_t)(sep - s) : 0;

	if (sep == NULL || sl >= sizeof(e->scheme))
		return -1;
	memcpy(e->scheme, s, sl);
	e->scheme[sl] = '\0';
	if (strcasecmp(e->scheme, "http") != 0 &&
	    strcasecmp(e->scheme, "https") != 0)
		return -1;
	for (sl = 0; e->scheme[sl]; sl++)
		e->scheme[sl] = (char)tolower((unsigned char)e->scheme[sl]);
	sep += 3;
	if (parse_hostport(sep, strlen(sep), e->host, sizeof(e->host),
	    &e->port) != 0)
		return -1;
	if (e->port < 0)
		e->port = e->scheme[4] == 's' ? 443 : 80;
	return 0;
}

static struct dash_allow *
allow_alloc(size_t n)
{
	struct dash_allow *a;

	if ((a = calloc(1, sizeof(*a))) == NULL)
		return NULL;
	if (n > 0 && (a->e = calloc(n, sizeof(*a->e))) == NULL) {
		free(a);
		return NULL;
	}
	return a;
}

struct dash_allow *
dash_allow_new(const char *key, char *const *items, size_t n, int origins,
    char *err, size_t errlen)
{
	struct dash_allow *a;
	struct allow_entry *e;
	size_t i;
	int rc;

	if ((a = allow_alloc(n)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	for (i = 0; i < n; i++) {
		if (strcmp(items[i], "*") == 0) {
			a->any = 1;
			continue;
		}
		e = &a->e[a->n];
		rc = origins ? parse_origin(items[i], e) :
		    parse_hostport(items[i], strlen(items[i]), e->host,
		    sizeof(e->host), &e->port);
		if (rc != 0) {
			snprintf(err, errlen, "%s: \"%s\" is not %s", key,
			    items[i], origins ? "an origin (http://name[:port] "
			    "or https://..., or *)" : "a host (name, name:port, "
			    "[v6]:port, or *)");
			dash_allow_free(a);
			return NULL;
		}
		a->n++;
	}
	return a;
}

struct dash_allow *
dash_allow_default_hosts(const char *listen_host, int port)
{
	static const char *const loopback[] = { "localhost", "127.0.0.1",
		"::1" };
	struct dash_allow *a;
	struct allow_entry *e;
	char h[ALLOW_HOST_MAX + 2];
	size_t i;
	int p;

	if ((a = allow_alloc(4)) == NULL)
		return NULL;
	for (i = 0; i < 3; i++) {
		e = &a->e[a->n++];
		snprintf(e->host, sizeof(e->host), "%s", loopback[i]);
		e->port = port;
	}
	/* the listen host itself, unless a wildcard or one of the above */
	snprintf(h, sizeof(h), strchr(listen_host, ':') ? "[%s]" : "%s",
	    listen_host);
	e = &a->e[a->n];
	if (listen_host[0] == '\0' || parse_hostport(h, strlen(h), e->host,
	    sizeof(e->host), &p) != 0 || strcmp(e->host, "0.0.0.0") == 0 ||
	    strcmp(e->host, "::") == 0)
		return a;
	for (i = 0; i < a->n; i++)
		if (strcmp(a->e[i].host, e->host) == 0)
			return a;
	e->port = port;
	a->n++;
	return a;
}

struct dash_allow *
dash_allow_origins_of(const struct dash_allow *hosts)
{
	struct dash_allow *a;
	size_t i;

	if ((a = allow_alloc(2 * hosts->n)) == NULL)
		return NULL;
	a->any = hosts->any;
	for (i = 0; i < hosts->n; i++) {
		a->e[a->n] = hosts->e[i];
		snprintf(a->e[a->n++].scheme, sizeof(a->e[0].scheme), "http");
		a->e[a->n] = hosts->e[i];
		snprintf(a->e[a->n++].scheme, sizeof(a->e[0].scheme), "https");
	}
	return a;
}

void
dash_allow_free(struct dash_allow *a)
{
	if (a == NULL)
		return;
	free(a->e);
	free(a);
}

static int
allow_match(const struct dash_allow *a, const struct allow_entry *want)
{
	size_t i;

	for (i = 0; i < a->n; i++)
		if (strcmp(a->e[i].scheme, want->scheme) == 0 &&
		    strcmp(a->e[i].host, want->host) == 0 &&
		    (a->e[i].port < 0 || a->e[i].port == want->port))
			return 1;
	return 0;
}

/* A Host header (origin 0: no port means 80) or an Origin header. */
static int
allow_lookup(const struct dash_allow *a, const char *text, int origin)
{
	struct allow_entry want;
	int rc;

	if (a == NULL || text == NULL)
		return 0;
	if (a->any)
		return 1;
	memset(&want, 0, sizeof(want));
	rc = origin ? parse_origin(text, &want) : parse_hostport(text,
	    strlen(text), want.host, sizeof(want.host), &want.port);
	if (rc != 0)
		return 0;
	if (want.port < 0)
		want.port = 80;
	return allow_match(a, &want);
}

int
dash_allow_host(const struct dash_allow *a, const char *host)
{
	return allow_lookup(a, host, 0);
}

int
dash_allow_origin(const struct dash_allow *a, const char *origin)
{
	return allow_lookup(a, origin, 1);
}

void
dash_allow_describe(const struct dash_allow *a, char *buf, size_t len)
{
	const struct allow_entry *e;
	size_t i, o = 0;
	char port[8];
	int n;

	if (len == 0)
		return;
	buf[0] = '\0';
	if (a->any)
		o = (size_t)snprintf(buf, len, "*");
	for (i = 0; i < a->n && o < len; i++) {
		e = &a->e[i];
		snprintf(port, sizeof(port), "%d", e->port);
		n = snprintf(buf + o, len - o, "%s%s%s%s%s%s%s",
		    o ? ", " : "", e->scheme, e->scheme[0] ? "://" : "",
		    strchr(e->host, ':') ? "[" : "", e->host,
		    strchr(e->host, ':') ? "]" : "", e->port < 0 ? "" : ":");
		if (n < 0)
			break;
		o += (size_t)n;
		if (e->port >= 0 && o < len)
			o += (size_t)snprintf(buf + o, len - o, "%s", port);
	}
}
