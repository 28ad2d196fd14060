/*
 * dash_xmrig.h: the read-only part of xmrig-proxy's HTTP API (GET
 * /1/summary and /1/workers) with its field names and shapes, so that
 * monitoring written for xmrig-proxy reads a CoopMine cluster unchanged.
 * Built from the same dash_source snapshots as our own API; http.c serves
 * it.  docs/dashboard.md says how each field maps.
 */
#ifndef COOPMINE_DASH_XMRIG_H
#define COOPMINE_DASH_XMRIG_H

#include <stddef.h>

#include <jansson.h>

#include "coordinator/dash_source.h"

/* The proxy's five hashrate windows: ours are the same (1 m .. 24 h). */
#define DASH_XMRIG_WINDOWS DASH_EFF_WINDOWS
/* results.best has this many entries in the proxy. */
#define DASH_XMRIG_BEST 10

json_t	*dash_xmrig_summary(const struct dash_stats *st,
	    const struct dash_worker *w, size_t n);
json_t	*dash_xmrig_workers(const struct dash_stats *st,
	    const struct dash_worker *w, size_t n);

#endif
