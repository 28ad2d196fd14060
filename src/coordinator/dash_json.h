/*
 * dash_json.h: the JSON shapes the dashboard shows (docs/dashboard.md),
 * built from a struct dash_source.  Shared by http.c (REST) and live.c
 * (the snapshot each second) so both speak exactly the same fields.
 */
#ifndef COOPMINE_DASH_JSON_H
#define COOPMINE_DASH_JSON_H

#include <stddef.h>

#include <jansson.h>

#include "coordinator/dash_source.h"

/* Splits "host:port", ":port" (every interface) or "[v6]:port"; host gets
 * "" for every interface.  0, or -EINVAL. */
int	 dash_listen_parse(const char *s, char *host, size_t hostlen,
	    int *port);
/* Copies a URL without its user:password@ part (never shown). */
void	 dash_url_redact(const char *in, char *out, size_t outlen);
json_t	*dash_json_stats(const struct dash_stats *st);
/* The node backend's view (height, tip and template age, peers, IBD,
 * why it does not mine), for /api/stats' pool and /health. */
json_t	*dash_json_node(const struct dash_stats *st);
json_t	*dash_json_worker(const struct dash_worker *w);
/* One pool session (url without user:password). */
json_t	*dash_json_session(const struct dash_session *se);

/* [[t, hashrate], ...] */
json_t	*dash_json_history(const struct dash_point *p, size_t n);
/* All workers into a malloc'd array (caller frees *out); 0 or -errno. */
int	 dash_workers_fetch(const struct dash_source *src,
	    struct dash_worker **out, size_t *n);
/* The live feed's snapshot: stats plus "workers"; NULL on failure. */
json_t	*dash_json_snapshot(const struct dash_source *src);

#endif
