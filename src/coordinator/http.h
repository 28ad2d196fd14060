/*
 * http.h: the dashboard's HTTP server (libmicrohttpd): the page from www/,
 * the REST API (/api/...), /metrics and /health.  The coordinator creates
 * it at start-up with its dash_source and the live feed; it runs on
 * libmicrohttpd's own thread until http_free().
 */
#ifndef COOPMINE_HTTP_H
#define COOPMINE_HTTP_H

#include <stddef.h>

#include "coordinator/dash_source.h"
#include "coordinator/live.h"

struct dash_allow;

#define HTTP_DEFAULT_LISTEN	"127.0.0.1:8080"
#define HTTP_LIMIT_DEFAULT	50
#define HTTP_LIMIT_MAX		500
#define HTTP_OFFSET_MAX		1000000

struct http_config {
	const char	*listen;	/* "host:port"; NULL: HTTP_DEFAULT_LISTEN */
	const char	*static_dir;	/* NULL: conf_datadir() "/www" */
	const char	*token;		/* bearer token of POST commands;
					 * NULL or "": commands disabled */
	const char	*ws_url;	/* the feed's public URL, for proxies;
					 * NULL: the page uses its own host and
					 * the live feed's port */
	const char	*version;	/* shown by /api/config; NULL: ours */
	/* Host header values answered; none: dash_allow_default_hosts() of
	 * the listen address and the bound port */
	char *const	*allowed_hosts;
	size_t		 nallowed_hosts;
	/* /ws on this port relays to the live feed: at most this many at
	 * once (0: 64) */
	size_t		 ws_max_clients;
	/* [ledger] synchronous, for /health; NULL: full */
	const char	*ledger_synchronous;
	/* workers offline longer than this leave /metrics; 0: 24 h */
	int64_t		 metrics_retention_ms;
};

struct http;

/* Binds and starts serving; NULL (logged) when it cannot (a malformed
 * allowed_hosts entry too).  src and live (which may be NULL: no feed) must
 * outlive the server; a live feed without allowed_origins of its own gets
 * the http:// and https:// origins of the allowed hosts. */
struct http	*http_new(const struct http_config *cfg,
		    const struct dash_source *src, struct live *live);
void		 http_free(struct http *h);
/* SIGHUP: a new bearer token (NULL or "": commands disabled), from the
 * next request on. */
void		 http_set_token(struct http *h, const char *token);
/* SIGHUP: the Host list of [dashboard] allowed_hosts (n > 0) or the
 * defaults of h's listen address; NULL with the reason in err.  Then
 * http_set_hosts() takes it for the next requests. */
struct dash_allow *http_hosts_build(const struct http *h, char *const *items,
		    size_t n, char *err, size_t errlen);
void		 http_set_hosts(struct http *h, struct dash_allow *hosts);
/* The port actually bound (useful with port 0). */
int		 http_port(const struct http *h);
/* Parses a decimal query parameter within [min, max]: 0, or -EINVAL.
 * The one parser of /api query numbers (also fuzzed). */
int		 http_parse_count(const char *s, long long min, long long max,
		    long long *out);
/* 1 when a URL path may name a file below static_dir: plain characters
 * only, no "..", no hidden files, no "//" (also fuzzed). */
int		 http_static_path_ok(const char *url);

#endif
