/*
 * hashrate.h: hashrate averages over sliding windows, as xmrig reports them
 * (10 s, 60 s, 15 min).  The worker's ticker samples the engine's per-thread
 * hash counters once a second; the log line and heartbeats read averages.
 */
#ifndef COOPMINE_WORKER_HASHRATE_H
#define COOPMINE_WORKER_HASHRATE_H

#include <stddef.h>
#include <stdint.h>

#define HASHRATE_SHORT_MS 10000
#define HASHRATE_MEDIUM_MS 60000
#define HASHRATE_LARGE_MS 900000

struct hashrate;

/* nseries counters (one per thread), each keeping capacity samples. */
struct hashrate *hashrate_new(size_t nseries, size_t capacity);
void hashrate_free(struct hashrate *h);
/* Records that series had done count hashes in all at now_ms (monotonic). */
void hashrate_add(struct hashrate *h, size_t series, int64_t now_ms,
    uint64_t count);
/*
 * H/s of one series over the last window_ms, from its newest sample back
 * to the oldest sample inside the window; -1 when the series has no two
 * such samples or the window is not yet covered (xmrig prints "n/a").
 */
double hashrate_series(const struct hashrate *h, size_t series,
    int64_t window_ms);
/* The sum over the series (-1 if any of them has no figure). */
double hashrate_total(const struct hashrate *h, int64_t window_ms);
/* The highest 10 s total seen so far (0 if none). */
double hashrate_max(const struct hashrate *h);
/* "812.4" or "n/a" into buf. */
const char *hashrate_format(double hs, char *buf, size_t len);

#endif
