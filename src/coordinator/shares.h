/*
 * shares.h: the path of a share, from the worker's SubmitShare to its
 * verdict, the ledger and the pool.  rpc_server hands every share here;
 * jobs.c runs the first checks, verify.c recomputes the RandomX hash, the
 * ledger commits the row, and only then is the worker answered and the
 * share (if the pool wants it) submitted upstream or kept in the outbox.
 *
 * Threads: shares_submit runs on a gRPC thread; verification on the pool's
 * threads; commits complete on the ledger's writer thread; everything after
 * the commit (replies, vardiff, pool submits, blocks, the outbox) runs on
 * this module's own thread, fed through a queue.
 */
#ifndef COOPMINE_SHARES_H
#define COOPMINE_SHARES_H

#include <stddef.h>
#include <stdint.h>

#include "coordinator/jobs.h"
#include "coordinator/ledger.h"
#include "coordinator/registry.h"
#include "coordinator/rpc_server.h"
#include "coordinator/upstream.h"
#include "coordinator/verify.h"

struct shares_config {
	enum verify_mode verify;
	int verify_threads;
	size_t verify_queue;		/* shares waiting for a hash, at most */
	int64_t retry_ms;		/* told to workers we cannot serve now */
	uint64_t window_factor_milli;	/* PPLNS N = network diff x this/1000 */
	uint64_t window_abs;		/* or absolute (wins when > 0) */
	unsigned fee_bps;
	uint64_t block_reward;		/* atomic units; 0: unknown */
	int64_t node_maturity;		/* node blocks: confirmations to mature */
	size_t outbox_max;		/* shares waiting for the pool */
};

struct shares_stats {
	uint64_t valid, invalid;
	uint64_t by_reason[LEDGER_REASON_COUNT];
	uint64_t blocks;
	uint64_t upstream_submitted, upstream_accepted, upstream_rejected;
	uint64_t retries;		/* shares we asked workers to resend */
	size_t outbox;			/* waiting for the pool */
	size_t outbox_inflight;		/* sent, no answer yet */
	int64_t outbox_oldest_at;	/* epoch ms the oldest waits since; 0 */
	int64_t last_block_at;
	struct verify_stats verify;
};

/* One verdict, as the live feed shows it. */
struct shares_verdict {
	const char *worker_id, *job_id;
	enum ledger_reason reason;
	uint64_t difficulty;
	int is_block;
	int64_t block_id, height;	/* a block: its ledger id and height */
	const char *block_hash;		/* hex, display order; "" when none */
	int has_reward;
	uint64_t reward;
	int64_t at;
};

/* Called with every verdict, after the commit (for the live feed). */
typedef void (*shares_event_fn)(void *arg, const struct shares_verdict *v);

struct shares;

/* reg (may be NULL) admits each worker's shares to verification. */
struct shares *shares_new(const struct shares_config *cfg, struct jobs *jobs,
    struct ledger *ledger, struct registry *reg);
/* The upstream connection of jobs with this source (before it starts). */
void shares_set_upstream(struct shares *s, unsigned source, struct upstream *up);
void shares_set_event_cb(struct shares *s, shares_event_fn fn, void *arg);
/* Continues from the ledger: totals, and the outbox of shares the pool has
 * not answered (sent on the next connection if their job is still valid). */
void shares_restore(struct shares *s, const struct ledger_recovery *rec);

/* The rpc_hooks share sink (gRPC thread). */
void shares_submit(struct shares *s, struct rpc_share *sh,
    const char *worker_id, const struct rpc_share_req *req);
/* Upstream events (upstream thread): queued to the share thread. */
void shares_upstream_result(struct shares *s,
    const struct upstream_submit_result *res);
/* A source (re)connected and sent its first job: the waiting shares of
 * that source are sent now (those whose job the pool no longer has are
 * answered ESTALE by the client and expire). */
void shares_upstream_connected(struct shares *s, unsigned source);

/* A job with this RandomX seed arrived: build its context before the first
 * share needs it (in full mode, the dataset). */
void shares_prepare(struct shares *s, const uint8_t *seed, size_t len);
void shares_get_stats(struct shares *s, struct shares_stats *st);
/* A clean stop, before the upstream stops: takes no more shares (callers
 * are told to retry), hashes and commits what is in flight, and waits (at
 * most timeout_ms) for the pool's answers to every submit on the wire. */
void shares_drain(struct shares *s, int timeout_ms);
/* Answers everything in flight, stops the threads (the ledger must still
 * be open: it is flushed through). */
void shares_free(struct shares *s);

#endif
