/*
 * verify.h: the coordinator's pool of RandomX VMs that recompute the hash
 * of every share before it is credited.  shares.c submits; worker threads
 * of the pool hash and call back.  Light mode (256 MiB cache, ~30 ms a hash
 * here) or full mode (2 GiB dataset, ~100x faster per hash; a light cache
 * serves while the dataset of a new seed is still being built).
 */
#ifndef COOPMINE_VERIFY_H
#define COOPMINE_VERIFY_H

#include <stddef.h>
#include <stdint.h>

#include "common/mpscq.h"
#include "common/rx.h"

enum verify_mode { VERIFY_LIGHT = 0, VERIFY_FULL, VERIFY_NONE };

struct verify_job {
	struct mpscq_node node;
	uint8_t seed[RX_KEY_MAX];
	size_t seed_len;
	uint8_t input[256];
	size_t input_len;
	uint8_t hash[RX_HASH_SIZE];	/* out: the recomputed hash */
	int status;			/* out: 0 hashed, -1 could not hash */
	int64_t queued_us;
	void (*done)(struct verify_job *vj, void *arg);	/* pool thread */
	void *arg;
};

struct verify_stats {
	size_t queue_depth;
	uint64_t verified, failed;
	double latency_p50_ms, latency_p99_ms;	/* queue + hash, last 1024 */
	double hash_ms;				/* average hash time */
	double capacity;			/* hashes/s the pool can do */
};

struct verifier;

/* Parses "light|full|none"; -1 on anything else. */
int verify_mode_parse(const char *s, enum verify_mode *out);
const char *verify_mode_name(enum verify_mode m);

struct verifier *verifier_new(enum verify_mode mode, int threads,
    size_t queue_max);
/* Queues a hash.  0, -2 when the queue is full (tell the worker to retry:
 * back-pressure, never a silent skip), -1 when stopping. */
int verifier_submit(struct verifier *v, struct verify_job *vj);
/* Builds the context for a seed ahead of the first share that needs it. */
void verifier_prepare(struct verifier *v, const uint8_t *seed, size_t len);
void verifier_get_stats(struct verifier *v, struct verify_stats *st);
/* Hashes what is queued, then stops the threads. */
void verifier_free(struct verifier *v);

#endif
