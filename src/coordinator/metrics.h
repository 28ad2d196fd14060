/*
 * metrics.h: the Prometheus text exposition behind GET /metrics, rendered
 * from the coordinator's dash_source (and the live feed's own counters).
 * Called by http.c on each scrape.
 */
#ifndef COOPMINE_METRICS_H
#define COOPMINE_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "coordinator/dash_source.h"

/* The live feed's counters (live_counters() fills them). */
struct live_counters {
	uint64_t	clients;	/* connected now */
	uint64_t	dropped;	/* slow clients dropped */
	uint64_t	refused;	/* refused: too many clients */
	uint64_t	messages;	/* messages published */
};

/* Worker-labelled series of a worker offline this long are left out, so
 * their number stays bounded by the workers of the last day. */
#define METRICS_RETENTION_MS (24 * 3600 * 1000LL)

/* Renders every metric; a malloc'd NUL-terminated string (length in
 * *len), or NULL when the source gave no snapshot.  lc may be NULL.
 * retention_ms: see METRICS_RETENTION_MS (<= 0: that default);
 * ledger_durable: 1 or 0, -1 unknown (not rendered). */
char	*metrics_render(const struct dash_source *src,
	    const struct live_counters *lc, int64_t retention_ms,
	    int ledger_durable, size_t *len);
/* Escapes a label value (\\, \", \n) into out; returns 0, or -1 when it
 * did not fit (out is then truncated but terminated). */
int	 metrics_escape_label(const char *in, char *out, size_t outlen);

#endif
