/*
 * miner.h: the hashing engine of coopmine-worker.  Threads with one RandomX
 * VM each split the current job's nonce lease; worker.c (online mode) and
 * bench.c (--bench) feed it jobs and take shares through callbacks.
 */
#ifndef COOPMINE_WORKER_MINER_H
#define COOPMINE_WORKER_MINER_H

#include <stddef.h>
#include <stdint.h>

#include "common/rx.h"
#include "worker/client.h"

struct miner_config {
	int threads;		/* hashing threads; 0: online CPUs */
	enum rx_mode mode;	/* full falls back to light when memory is short */
	enum rx_pages pages;
	int affinity;		/* pin hashing thread i to CPU i mod online CPUs */
};

/* A hash that met the share target of its lease. */
struct miner_share {
	const char *job_id;
	uint64_t lease_id;
	uint32_t nonce;		/* as written little-endian into the blob */
	uint8_t result[RX_HASH_SIZE];
	uint64_t share_target;
	int is_block;		/* it also meets the job's block target */
	int thread;
};

/* Called from the engine's threads; they must not block for long. */
struct miner_callbacks {
	void (*on_share)(void *arg, const struct miner_share *s);
	/* The lease runs low (a quarter left) or is used up, and no next
	 * lease is queued: ask the coordinator for one. */
	void (*on_need_lease)(void *arg, const char *job_id, uint64_t lease_id);
	/* Every hash (bench mode, tests); NULL when mining. */
	void (*on_hash)(void *arg, int thread, uint32_t nonce,
	    const uint8_t hash[RX_HASH_SIZE]);
};

struct miner_stats {
	uint64_t hashes_total;
	uint64_t shares_found, blocks_found;
	uint64_t jobs_rejected;
	uint64_t lease_id;		/* the lease being worked on */
	uint64_t lease_hashes_done;	/* nonces of it handed to threads */
	int64_t ready_ms;		/* monotonic ms the dataset got ready */
	uint64_t rx_inits;		/* seed changes that re-initialised
					 * RandomX while hashing waited */
	uint64_t rx_prepared;		/* next keys prepared in the background */
	uint64_t rx_switched_ahead;	/* seed changes served by one of them,
					 * without a pause */
	int threads;
	int have_ctx;			/* a dataset/cache is ready */
	struct rx_ctx_info rx;		/* valid when have_ctx */
};

struct miner;

/* Creates the engine and starts its threads (idle until a job comes). */
struct miner *miner_new(const struct miner_config *cfg,
    const struct miner_callbacks *cb, void *arg);
/* Stops every thread (in-flight hashes finish) and frees the engine. */
void miner_free(struct miner *m);

/* Checks a job from the coordinator; 0, or -1 with the reason in why. */
int miner_job_check(const struct client_job *job, char *why, size_t len);
/*
 * Installs a job, or the next lease of the current job (same job id, seed
 * and blob): that one is queued and taken when the current lease is used
 * up.  A new seed rebuilds the dataset once the old VMs have stopped,
 * unless an earlier job named it as its next seed and it was prepared in
 * the background meanwhile: then the switch is immediate.  Only the
 * latest job's next seed is prepared, one at a time, with one thread, and
 * in full mode only when memory leaves room for a second dataset.
 * Returns 0, or -EINVAL for a job that fails miner_job_check (logged with
 * the reason; nothing of it is hashed).
 */
int miner_set_job(struct miner *m, const struct client_job *job);
/* Stops hashing until miner_resume (in-flight hashes finish). */
void miner_pause(struct miner *m);
void miner_resume(struct miner *m);
int miner_paused(struct miner *m);
void miner_get_stats(struct miner *m, struct miner_stats *st);
/* Hashes done by one thread (for per-thread hashrate). */
uint64_t miner_thread_hashes(struct miner *m, int thread);
int miner_threads(const struct miner *m);
/* CPU time the hashing threads have used, in seconds (bench mode: a rate
 * per CPU second is immune to other processes taking the CPUs). */
double miner_cpu_seconds(struct miner *m);
/* Waits until every lease is used up and every thread waits for work.
 * 0, or -ETIMEDOUT after timeout_ms (-1: forever). */
int miner_wait_idle(struct miner *m, int timeout_ms);

#endif
