/*
 * jobs.h: the job manager.  Upstream jobs become work for each worker: the
 * same blob, seed and height, a nonce lease of its own and a share target
 * from its vardiff.  It also runs the first checks on every share (known
 * job, not stale, nonce inside the sender's lease, not a duplicate) and
 * keeps the per-worker mining state: leases and vardiff (everything else
 * about a worker is the registry's).
 *
 * Callers: the upstream callbacks (new jobs), the RPC hooks (join, leave,
 * heartbeat, shares) and the coordinator's tick.  Thread-safe: one lock,
 * jobs_lock, guards everything and is never held across I/O or hashing;
 * the events below are called with it held, so they must only queue.
 */
#ifndef COOPMINE_JOBS_H
#define COOPMINE_JOBS_H

#include <stddef.h>
#include <stdint.h>

#include "coordinator/ledger.h"
#include "coordinator/leases.h"
#include "coordinator/vardiff.h"

#define JOBS_BLOB_MAX 256
#define JOBS_SEED_MAX 60
#define JOBS_ID_MAX 128
#define JOBS_SOURCES_MAX 8	/* upstream sessions feeding one cluster */
#define JOBS_CURSORS_MAX 4096	/* work remembered after its job is gone */
#define JOBS_LEASE_FRACTION 4	/* a lease takes at most 1/4 of what is left */
#define JOBS_HASHRATE_MAX 1e7	/* H/s: no claim sizes more than this */
#define JOBS_PROOF_MS 600000	/* credited shares prove a rate after this */
#define JOBS_PROOF_FACTOR 4.0	/* a claim may exceed the proven rate by this */
#define JOBS_RENEW_MIN_MS 2000	/* at most one heartbeat-driven lease per */

/* A job as the upstream handed it over. */
struct job_template {
	char upstream_id[JOBS_ID_MAX];
	uint64_t session;		/* upstream session (login) */
	unsigned source;		/* which upstream connection (0: first) */
	uint8_t blob[JOBS_BLOB_MAX];
	size_t blob_len;
	uint32_t nonce_offset;
	uint8_t seed[JOBS_SEED_MAX];
	size_t seed_len;
	int64_t height;
	char algo[16];
	uint64_t target64;		/* the upstream's share target */
	int reserved_byte;		/* nicehash: the pool's nonce byte, or -1 */
	int clean;			/* older jobs are stale */
	int opensy;			/* 80-byte header: block target from nBits */
	size_t extranonce_size;		/* > 0: node work, each lease gets its
					 * own extranonce and blob (make_blob) */
	int64_t reward;			/* node work: the block's coinbasevalue */
	uint8_t next_seed[32];		/* node work near a key boundary: the
					 * key after it, for workers to prepare */
	int has_next_seed;
};

/* One worker's work: maps one-to-one onto a JobMessage. */
struct work {
	char job_id[24];		/* the coordinator's id for the job */
	uint64_t job_seq;
	uint8_t blob[JOBS_BLOB_MAX];
	size_t blob_len;
	uint32_t nonce_offset;
	uint8_t seed[JOBS_SEED_MAX];
	size_t seed_len;
	int64_t height;
	char algo[16];
	uint64_t share_target, difficulty;
	uint8_t block_target[32];
	int has_block_target;
	uint64_t lease_id, nonce_start, nonce_end;
	int clean;
	int64_t timestamp_ms;
	uint64_t extranonce;		/* node work: the lease's */
	size_t extranonce_size;		/* 0: pool work */
	uint8_t next_seed[32];		/* valid if has_next_seed */
	int has_next_seed;
	/* Every work handed out gets the next number: a stream that has sent
	 * a later one drops an earlier one that arrives late (work queued by
	 * a fan-out is sent after jobs_lock is released, and another thread
	 * may meanwhile have sent the same worker newer work). */
	uint64_t order;
};

/* Work issued while jobs_lock was held, sent once it is released. */
struct jobs_outgoing {
	char worker_id[LEASE_OWNER_MAX];
	struct work wk;
};

/* Everything the rest of the share path needs, copied out under the lock. */
struct share_ctx {
	uint64_t job_seq, lease_id;
	unsigned source;		/* the upstream connection of the job */
	char upstream_id[JOBS_ID_MAX];
	uint64_t session;
	uint8_t seed[JOBS_SEED_MAX];
	size_t seed_len;
	uint8_t input[JOBS_BLOB_MAX];	/* the blob with the nonce written in */
	size_t input_len;
	uint32_t nonce;
	uint64_t share_target, upstream_target;
	uint8_t block_target[32];
	int has_block_target;
	int64_t height;
	uint64_t extranonce;		/* the lease's (node work) */
	size_t extranonce_size;		/* 0: pool work */
	int64_t reward;			/* node work: the block's reward */
};

struct job_info {
	uint64_t seq;
	char job_id[24];
	const struct job_template *tpl;
	uint8_t block_target[32];
	int has_block_target;
	int64_t received_ms;
};

struct jobs_events {
	/* Send work to a worker's job stream. */
	void (*send_work)(void *arg, const char *worker_id, const struct work *w);
	/* A new job (for the ledger). */
	void (*job_added)(void *arg, const struct job_info *j);
	/* A lease handed out, or given back (for the ledger). */
	void (*lease_issued)(void *arg, uint64_t job_seq, const struct lease *l);
	void (*lease_released)(void *arg, uint64_t lease_id, int64_t now_ms);
	/* Every current job's nonce space ran out while a worker still needs
	 * work: another upstream session (sources sessions are open now)
	 * would bring a job with a space of its own. */
	void (*space_exhausted)(void *arg, unsigned sources);
	/* Every upstream has been gone for job_timeout (1): the workers
	 * must pause; work is back (0). */
	void (*paused)(void *arg, int paused);
	/* Node work: the blob of upstream job upstream_id of source with this
	 * extranonce (upstream_make_blob).  0 or -1. */
	int (*make_blob)(void *arg, unsigned source, const char *upstream_id,
	    uint64_t extranonce, uint8_t *blob, size_t *len);
	/* Optional: send the work of a fan-out (a new job, or known work
	 * again) to n workers at once, jobs_lock not held, in any order or in
	 * parallel (each worker is in it once).  Without it, send_work is
	 * called for each. */
	void (*send_batch)(void *arg, const struct jobs_outgoing *o, size_t n);
};

struct jobs_config {
	struct vardiff_config vardiff;
	double lease_seconds;		/* a lease is this much work */
	double renew_seconds;		/* renew when less than this is left */
	uint64_t lease_min, lease_max;
	int64_t job_timeout_ms;		/* no new job for this long: pause */
	size_t keep_jobs;		/* old jobs kept to judge late shares */
};

struct jobs;

struct jobs *jobs_new(const struct jobs_config *cfg,
    const struct jobs_events *ev, void *arg);
void jobs_free(struct jobs *j);
/* Continue job and lease numbering after a restart. */
void jobs_set_next_ids(struct jobs *j, uint64_t next_job_seq,
    uint64_t next_lease_id);
/* Node work: the next extranonce (the ledger's largest + 1); the counter
 * only goes up, so no extranonce is ever given twice. */
void jobs_set_next_extranonce(struct jobs *j, uint64_t next);

/* Work leased before a restart (from ledger_recover): a job with the same
 * blob and seed starts its nonce space where those leases ended, so no
 * range is leased twice.  Copied.  0 or -1 (out of memory). */
int jobs_restore_cursors(struct jobs *j, const struct ledger_work_cursor *c,
    size_t n);

/* A job that was live when the last run stopped (from the ledger), under
 * its own seq, with its leases (in start order, released or not) and the
 * nonces already credited: shares for it sent across the restart are
 * judged as before.  It is nobody's current job until the upstream sends
 * the same work again; then its leases continue.  Call before jobs_add,
 * oldest first; at most keep_jobs.  0 or -1. */
int jobs_restore_job(struct jobs *j, const struct job_template *t,
    uint64_t seq, int64_t received_ms, const struct lease *leases,
    size_t nleases, const uint32_t *credited, size_t ncredited);

/* A worker's share difficulty when the last run stopped (from the
 * ledger): its first join starts vardiff there.  0 or -1. */
int jobs_restore_difficulty(struct jobs *j, const char *worker_id,
    uint64_t diff);

/* A new upstream job (from upstream connection t->source): workers with an
 * open stream whose work it replaces get work at once.  Each source has its
 * current job; workers are given leases on source 0's first and on the next
 * source's when that space is used up.  Returns the job's seq, or 0 when
 * the template is refused (logged). */
uint64_t jobs_add(struct jobs *j, const struct job_template *t, int64_t now_ms);
/* An upstream connection lost its pool; when every source has been down
 * for job_timeout the workers pause. */
void jobs_upstream_down(struct jobs *j, unsigned source, int64_t now_ms);

/* A worker registered (or re-registered).  Fills *out with its work when a
 * job exists (0), else -1.  A worker that still holds a live lease gets
 * that lease again, not a new one.  hashrate is a claim: bounded before it
 * sizes anything. */
int jobs_worker_join(struct jobs *j, const char *worker_id, double hashrate,
    int64_t now_ms, struct work *out);
/* Its job stream opened (work is sent to it from now on) or closed. */
void jobs_worker_stream(struct jobs *j, const char *worker_id, int open,
    int64_t now_ms);
/* It left: its leases are released, never reissued to anyone else. */
void jobs_worker_leave(struct jobs *j, const char *worker_id, int64_t now_ms);
/* A heartbeat: new hashrate and lease progress; a new lease is sent when
 * the current one is nearly done or want_lease is set. */
void jobs_worker_heartbeat(struct jobs *j, const char *worker_id,
    double hashrate, uint64_t lease_id, uint64_t hashes_done, int want_lease,
    int64_t now_ms);

/* First checks of a share; on LEDGER_REASON_OK the (job, nonce) is reserved as
 * taken and *ctx is filled.  Reasons are the ledger's (stored as such).  nonce_bytes/nonce_len as in the ShareRequest. */
enum ledger_reason jobs_check_share(struct jobs *j, const char *worker_id,
    const char *job_id, const uint8_t *nonce_bytes, size_t nonce_len,
    struct share_ctx *ctx);
/* The share could not be taken after all (verification queue full, ledger
 * down): free the reservation so the worker's retry is not a duplicate. */
void jobs_unreserve(struct jobs *j, uint64_t job_seq, uint32_t nonce);
/* A credited share of this difficulty: feeds the worker's vardiff (a new
 * difficulty is sent with a fresh lease) and the rate its shares prove,
 * which bounds what its reported hashrate may size. */
void jobs_share_credited(struct jobs *j, const char *worker_id,
    uint64_t difficulty, int64_t now_ms);
/* New vardiff settings (SIGHUP), from now on; a worker whose difficulty
 * falls outside the new bounds gets it clamped with fresh work now. */
void jobs_set_vardiff(struct jobs *j, const struct vardiff_config *vc,
    int64_t now_ms);
/* Periodic: vardiff for quiet workers, upstream timeout. */
void jobs_tick(struct jobs *j, int64_t now_ms);
/* Shares/s the coordinator's verification may take (vardiff_budget; 0:
 * no bound): each worker's difficulty is kept at or above its equal part
 * of it (vardiff_floor), raised at the next tick when workers join. */
void jobs_set_verify_budget(struct jobs *j, double shares_per_second);

#define JOBS_FANOUT_BUCKETS 11
/* Upper bounds (seconds) of the fan-out histogram; the last is +Inf. */
extern const double jobs_fanout_bounds[JOBS_FANOUT_BUCKETS];

struct jobs_stats {
	uint64_t current_seq;
	char current_job_id[24];
	char upstream_id[JOBS_ID_MAX];
	int64_t height;
	int64_t current_since_ms;
	unsigned workers, streaming;
	uint64_t leases_issued;
	uint64_t nonces_left;		/* in the current jobs' spaces */
	unsigned sources;		/* upstream connections that sent jobs */
	int paused;			/* workers paused: no upstream work */
	/* each source's current job and how much of its nonce space is
	 * leased (space: the nonces the job has; left: not yet leased) */
	struct {
		char job_id[24];
		uint64_t space, left;
		int64_t height;
	} current[JOBS_SOURCES_MAX];
	/* Fan-outs (a job's work to every streaming worker), each timed from
	 * the job's arrival until the last worker's work was handed to its
	 * connection: cumulative counts, bucket i those within
	 * jobs_fanout_bounds[i] seconds. */
	uint64_t fanouts;
	double fanout_seconds_sum;
	uint64_t fanout_bucket[JOBS_FANOUT_BUCKETS];
	unsigned fanout_last_workers;	/* streams the last one reached */
};
void jobs_get_stats(struct jobs *j, struct jobs_stats *st);
/* A worker's current difficulty and lease (0 when unknown). */
int jobs_worker_info(struct jobs *j, const char *worker_id, uint64_t *diff,
    uint64_t *lease_id, uint64_t *lease_start, uint64_t *lease_end,
    uint64_t *hashes_done);

#endif
