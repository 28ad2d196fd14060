/*
 * ledger.h: the ledger, CoopMine's durable record (SQLite, WAL; see
 * docs/ledger.md).  The coordinator core records workers, heartbeats,
 * upstream sessions, jobs, leases, shares, blocks and payouts through the
 * writer half; the dashboard and coopmine-cli read through the reader half.
 * No sqlite3 type crosses this header: a PostgreSQL backend can sit behind it.
 *
 * Threads.  ledger_open() starts one writer thread that owns the write
 * connection.  Every ledger_* write call below is safe from any thread: it
 * copies its arguments into a message, queues it and returns at once; it
 * never blocks.  While the queue is full (queue_bound: a stalled disk), a
 * share append completes at once with LEDGER_ERR_UNWRITABLE (the worker
 * retries) and a heartbeat is dropped; other rows are kept.  Rows are written in
 * queue order, in group-committed transactions (batch_rows or batch_ms,
 * whichever first).  Ids are assigned at the call (from the ledger's
 * counters, restored at open), so a share can name the job and lease it
 * belongs to before they are on disk.  Ids can have gaps (a share that could
 * not be written keeps its id unused).
 *
 * Callbacks (share completions, on_writable) run on the writer thread,
 * after the COMMIT that holds the row (or once it is known the row will not
 * be written).  They must be short and must not call any ledger_* function:
 * hand the result to your own queue.
 */
#ifndef COOPMINE_LEDGER_H
#define COOPMINE_LEDGER_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "coordinator/pplns.h"

#define LEDGER_ID_MAX	PPLNS_WORKER_MAX	/* worker ids, with NUL */
#define LEDGER_TEXT_MAX	256			/* names, urls, reasons */

/* Why a share was rejected (LEDGER_REASON_OK: accepted). */
enum ledger_reason {
	LEDGER_REASON_OK = 0,
	LEDGER_REASON_UNKNOWN_JOB,
	LEDGER_REASON_STALE,
	LEDGER_REASON_OUTSIDE_LEASE,
	LEDGER_REASON_DUPLICATE,
	LEDGER_REASON_BAD_HASH,
	LEDGER_REASON_LOW_DIFFICULTY,
	LEDGER_REASON_UNAUTHORIZED,
	LEDGER_REASON_MALFORMED,
	LEDGER_REASON_COUNT
};

/* What became of an accepted share upstream. */
enum ledger_fate {
	LEDGER_FATE_NOT_NEEDED = 0,	/* below the pool's target */
	LEDGER_FATE_PENDING,		/* in the outbox, not yet sent */
	LEDGER_FATE_SUBMITTED,		/* sent, no answer yet */
	LEDGER_FATE_ACCEPTED,
	LEDGER_FATE_REJECTED,		/* with the pool's reason */
	LEDGER_FATE_EXPIRED,		/* its job went away before it was sent */
	LEDGER_FATE_COUNT
};

enum ledger_block_status {
	LEDGER_BLOCK_CANDIDATE = 0,
	LEDGER_BLOCK_SUBMITTED,
	LEDGER_BLOCK_ACCEPTED,
	LEDGER_BLOCK_REJECTED,
	LEDGER_BLOCK_ORPHANED,
	LEDGER_BLOCK_COUNT
};

/* Completion status of a share append (and of ledger_flush()). */
enum ledger_status {
	LEDGER_COMMITTED = 0,		/* durable: acknowledge it */
	LEDGER_ERR_UNWRITABLE = -1,	/* disk full / I/O error: not written;
					 * tell the worker to retry later */
	LEDGER_ERR_REFUSED = -2,	/* a constraint refused the row (a bug,
					 * or a duplicate credit): not written */
	LEDGER_ERR_CLOSED = -3,		/* the ledger is shutting down */
	LEDGER_ERR_TIMEOUT = -4		/* ledger_flush() only */
};

/* Names as stored in the database ("ok", "stale", "pending", ...). */
const char *ledger_reason_name(enum ledger_reason r);
const char *ledger_fate_name(enum ledger_fate f);
const char *ledger_block_status_name(enum ledger_block_status s);
const char *ledger_status_name(int status);
/* Parse a stored name; -1 when unknown. */
int ledger_reason_parse(const char *s);
int ledger_fate_parse(const char *s);
int ledger_block_status_parse(const char *s);
/* "off|normal|full|extra" -> 0..3; -1 when unknown. */
int ledger_synchronous_parse(const char *s);

/* The schema version this binary writes (the number of sql/ steps). */
int ledger_schema_version(void);

struct ledger_opts {
	const char *path;		/* the database file */
	int synchronous;		/* 0 off .. 3 extra; default 2 (FULL) */
	int busy_timeout_ms;		/* default 5000 */
	int batch_rows;			/* rows per transaction; default 256 */
	int batch_ms;			/* max transaction age; default 5 */
	int retry_ms;			/* retry pace when unwritable; default 1000 */
	int close_timeout_ms;		/* keep retrying at close; default 5000 */
	int64_t heartbeat_retention_ms;	/* older rows -> hourly; 0 keeps all;
					 * default 7 days */
	/* [ledger] retention: shares older than this, outside every PPLNS
	 * window still needed, are rolled into share_rollups (docs/ledger.md,
	 * "Retention"); 0 (default) keeps every share */
	int64_t share_retention_ms;
	int retention_batch;		/* shares per rolled range; default 5000 */
	/* how the next income split takes its window ([pplns]) */
	int retention_prop;
	uint64_t retention_window_factor_milli;	/* default 2000 */
	uint64_t retention_window_abs;
	size_t queue_bound;		/* queued messages; default 65536 */
	/* Called on the writer thread when writability changes. */
	void (*on_writable)(void *arg, int writable);
	void *arg;
};

void ledger_opts_default(struct ledger_opts *o);

struct ledger;

/*
 * Opens (creating if absent) the ledger, applies pending schema steps (one
 * transaction each, guarded by PRAGMA user_version), closes what a crash
 * left open (leases, sessions, jobs: released/ended at the restart time),
 * restores the id counters and starts the writer thread.  NULL on error,
 * with a message for the user in err: a file that is not a database or is
 * corrupt, a SQLite database that is not a CoopMine ledger, or a ledger
 * newer than this binary are refused, never re-created.
 */
struct ledger *ledger_open(const struct ledger_opts *o, char *err,
    size_t errlen);
/* Commits everything queued, stops the writer, closes.  Shares still
 * unwritten after close_timeout_ms are completed with LEDGER_ERR_CLOSED. */
void ledger_close(struct ledger *l);

/* --- writing (any thread; see above) --- */

struct ledger_worker {
	const char *id;		/* certificate CN */
	const char *name;
	int threads;
	const char *version;
	int64_t seen_at;	/* epoch ms */
};
/* Registration: inserts the worker or updates name/threads/version/last_seen. */
void ledger_worker_seen(struct ledger *l, const struct ledger_worker *w);

struct ledger_heartbeat {
	const char *worker_id;
	int64_t at;
	double hashrate;
	uint64_t shares_valid, shares_invalid, hashes_total;
	int64_t uptime_ms;
	double cpu_usage, memory_usage, temperature;
};
/* One row per heartbeat (also moves the worker's last_seen).  Heartbeats
 * arriving while the ledger is unwritable are dropped (and counted). */
void ledger_heartbeat(struct ledger *l, const struct ledger_heartbeat *h);

/* An upstream connection; returns its id. */
int64_t ledger_session_begin(struct ledger *l, const char *pool_url,
    int64_t at);
void ledger_session_end(struct ledger *l, int64_t session_id, int64_t at);

struct ledger_job {
	int64_t session_id;
	const char *upstream_job_id;
	const uint8_t *blob;
	size_t blob_len;
	const uint8_t *seed;		/* RandomX key */
	size_t seed_len;
	uint64_t height;
	uint64_t target64;		/* the pool's share target */
	uint64_t difficulty;		/* 2^64 / target64 */
	uint32_t nbits;			/* 0: none */
	const uint8_t *block_target;	/* 32 bytes LE, or NULL */
	int64_t received_at;
	int clean;
};
int64_t ledger_job_add(struct ledger *l, const struct ledger_job *j);
void ledger_job_supersede(struct ledger *l, int64_t job_id, int64_t at);

/* A nonce lease [nonce_start, nonce_end) of a job for a worker, at the
 * share difficulty its holder was given (0: not recorded), with its
 * coinbase extranonce on node work (has_extranonce; never reused). */
int64_t ledger_lease_add(struct ledger *l, int64_t job_id,
    const char *worker_id, uint64_t nonce_start, uint64_t nonce_end,
    uint64_t difficulty, int has_extranonce, uint64_t extranonce, int64_t at);
void ledger_lease_release(struct ledger *l, int64_t lease_id, int64_t at);

struct ledger_share {
	int64_t job_id;			/* 0: unknown job */
	int64_t lease_id;		/* 0: no lease of the sender matched */
	const char *worker_id;		/* the authenticated sender */
	uint32_t nonce;
	const uint8_t *result;		/* claimed hash, 32 bytes, or NULL */
	uint64_t difficulty;		/* credited; must be 0 when rejected */
	uint64_t hash_difficulty;	/* of the recomputed hash; 0: unknown */
	enum ledger_reason reason;	/* OK = accepted */
	int block_candidate;
	enum ledger_fate upstream;	/* NOT_NEEDED, or PENDING when it is to
					 * be submitted (submit after commit) */
	int64_t created_at;
};

struct ledger_block;

/* status: LEDGER_COMMITTED or LEDGER_ERR_*.  Runs on the writer thread. */
typedef void ledger_share_cb(void *arg, int64_t share_id, int status);

/*
 * Appends a share (accepted or rejected) and returns its id.  cb (may be
 * NULL) runs once: after the COMMIT holding the share (acknowledge the
 * worker then, not before), or with an error when it was not written, in
 * which case the share is not in the ledger and the caller must forget it
 * (duplicate set, counters) and tell the worker to retry.  Updates the
 * worker's counters in the same transaction.
 */
int64_t ledger_append_share(struct ledger *l, const struct ledger_share *s,
    ledger_share_cb *cb, void *arg);
/*
 * The same for a block-candidate share: its block row (b; b->share_id is
 * ignored) is written in the same transaction, so the worker can be told
 * "block" only when both are durable and a crash can never keep one
 * without the other.  *block_id receives the block's id.
 */
int64_t ledger_append_block_share(struct ledger *l,
    const struct ledger_share *s, const struct ledger_block *b,
    ledger_share_cb *cb, void *arg, int64_t *block_id);
/* The upstream fate of a committed share (reason: the pool's, or NULL). */
void ledger_share_fate(struct ledger *l, int64_t share_id,
    enum ledger_fate fate, const char *reason, int64_t at);

struct ledger_block {
	int64_t share_id;		/* committed block-candidate share */
	uint64_t height;
	const uint8_t *hash;		/* block hash, 32 bytes */
	size_t hash_len;
	uint64_t network_difficulty;
	uint64_t window_n;		/* PPLNS N: pplns_window_n() */
	unsigned fee_bps;		/* coordinator fee, basis points */
	enum ledger_block_status status;
	int has_reward;
	uint64_t reward;		/* atomic units, when has_reward */
	int64_t found_at;
	int64_t maturity;		/* node blocks: confirmations before its
					 * income is mature (0: when accepted) */
};
/* Records a block; when the reward is known the payouts are computed
 * (pplns_split over the window ending at its share) and stored in the
 * same transaction.  Returns the block id. */
int64_t ledger_block_add(struct ledger *l, const struct ledger_block *b);
/* New status; has_reward sets the reward if it was unknown (payouts are
 * written then, once; a known reward never changes). */
void ledger_block_update(struct ledger *l, int64_t block_id,
    enum ledger_block_status status, int has_reward, uint64_t reward,
    int64_t at);

/* What the node says of a found block (hash: 32 bytes as stored, i.e.
 * display order).  answer (NULL: unchanged) is submitblock's answer;
 * status ORPHANED or REJECTED reverses the block's income, if any, with a
 * reversal row "reversal:block:<hex>" (nothing deleted); mature marks it
 * mature (its income leaves the immature part of balances). */
void ledger_block_chain(struct ledger *l, const uint8_t hash[32],
    enum ledger_block_status status, int64_t confirmations, int mature,
    const char *answer, int64_t at);

struct money_income;
struct money_rules;
/*
 * Records income (a block's reward, once known) and splits it by rules
 * (money.h) in the writer's order, after the rows queued before it (its
 * block).  A ref already recorded with the same amount and time is a
 * no-op; any other refusal is logged.
 */
void ledger_income_add(struct ledger *l, const struct money_income *in,
    const struct money_rules *rules);

/* Who may mine (sql/0003_integrity.sql): the newest row of an identity
 * is its state; ALLOW lifts a quarantine or a revocation. */
enum ledger_access {
	LEDGER_ACCESS_ALLOW = 0,
	LEDGER_ACCESS_QUARANTINE,
	LEDGER_ACCESS_REVOKE,
	LEDGER_ACCESS_COUNT
};
const char *ledger_access_name(enum ledger_access a);
int ledger_access_parse(const char *s);
/* The coordinator's own access rows (quarantines, dashboard commands). */
void ledger_worker_access(struct ledger *l, const char *worker_id,
    enum ledger_access a, const char *reason, int64_t at);

/* settings table (e.g. "pplns_window_n" for the pplns_current view). */
void ledger_setting_put(struct ledger *l, const char *key, const char *value);

/* Waits until everything queued before the call has committed.  Returns
 * LEDGER_COMMITTED, LEDGER_ERR_TIMEOUT (timeout_ms >= 0 elapsed, e.g.
 * while unwritable) or LEDGER_ERR_CLOSED.  Not from a callback. */
int ledger_flush(struct ledger *l, int timeout_ms);

/* 1 while writes succeed, 0 after a failed commit until one succeeds. */
int ledger_writable(struct ledger *l);

#define LEDGER_LATENCY_BUCKETS 12
/* Upper bounds (seconds) of the commit latency histogram buckets; the
 * last is +Inf. */
extern const double ledger_latency_bounds[LEDGER_LATENCY_BUCKETS];

struct ledger_stats {
	uint64_t commits;		/* transactions committed */
	uint64_t commit_failures;	/* transactions rolled back (I/O, full) */
	uint64_t rows;			/* messages written */
	uint64_t shares_failed;		/* share appends completed with an error */
	uint64_t heartbeats_dropped;	/* while unwritable */
	double commit_seconds_sum;	/* the COMMIT statement (the fsyncs) */
	double commit_seconds_max;
	/* cumulative counts, Prometheus style: bucket i counts commits that
	 * took <= ledger_latency_bounds[i] */
	uint64_t commit_bucket[LEDGER_LATENCY_BUCKETS];
	uint64_t shares_rolled;		/* by retention, since open */
	uint64_t ranges_rolled;
	int retention_idle;		/* the last retention pass found nothing
					 * (more) to roll */
	size_t queued;			/* messages waiting now */
	int writable;
};
void ledger_stats_get(struct ledger *l, struct ledger_stats *st);

/* Caps the database at max_pages pages (0: no cap).  A cap makes writes
 * fail as on a full disk: the tests use it. */
void ledger_set_max_pages(struct ledger *l, uint64_t max_pages);

/* --- recovery (the core, once, after ledger_open) --- */

struct ledger_worker_state {
	char id[LEDGER_ID_MAX];
	char name[LEDGER_TEXT_MAX];
	char version[LEDGER_TEXT_MAX];
	int threads;
	int64_t first_seen, last_seen;
	uint64_t shares_valid, shares_invalid, difficulty_valid;
	uint64_t last_difficulty;	/* of its newest credited share; 0 none */
};

/* A valid share whose upstream fate is still open (pending or submitted). */
struct ledger_outbox_share {
	int64_t share_id, job_id, lease_id, session_id;
	char upstream_job_id[LEDGER_TEXT_MAX];
	char worker_id[LEDGER_ID_MAX];
	uint32_t nonce;
	uint64_t extranonce;		/* its lease's (node work), else 0 */
	uint8_t result[32];
	uint64_t hash_difficulty;
	int block_candidate;
	enum ledger_fate fate;
	int job_superseded;		/* its job is no longer current */
	int64_t created_at;
};

struct ledger_block_state {
	int64_t id, share_id;
	uint64_t height;
	uint8_t hash[32];
	uint64_t network_difficulty, window_n;
	enum ledger_block_status status;
	int has_reward;
	uint64_t reward;
	int64_t found_at;
};

struct ledger_totals {
	uint64_t shares_valid, shares_invalid;
	uint64_t by_reason[LEDGER_REASON_COUNT];
	uint64_t by_fate[LEDGER_FATE_COUNT];	/* of valid shares */
	uint64_t blocks[LEDGER_BLOCK_COUNT];
	uint64_t blocks_total;
	uint64_t difficulty_valid;
	int64_t last_block_at;		/* 0: none */
};

/* An identity's access, as its newest worker_access row says. */
struct ledger_access_row {
	int64_t id;
	char worker_id[LEDGER_ID_MAX];
	enum ledger_access state;
	char reason[LEDGER_TEXT_MAX];
	int64_t at;
};

/* Work (what is hashed: blob and seed) leased before, and the first nonce
 * no lease of it has reached: a job the pool sends again after a restart
 * continues from there, so no range is ever leased twice. */
#define LEDGER_BLOB_MAX 256
#define LEDGER_SEED_MAX 60
struct ledger_work_cursor {
	uint8_t blob[LEDGER_BLOB_MAX];
	size_t blob_len;
	uint8_t seed[LEDGER_SEED_MAX];
	size_t seed_len;
	uint64_t next_nonce;		/* max(nonce_end) of its leases */
	int64_t last_leased_at;
};

/* A job that was live when the last run stopped, with every lease of it
 * (start order) and the nonces credited on it, so the core can judge the
 * shares workers send across the restart as before. */
struct ledger_live_lease {
	int64_t id;
	char worker_id[LEDGER_ID_MAX];
	uint64_t nonce_start, nonce_end, difficulty;
	int64_t issued_at;
	int released;			/* released before the stop */
	int has_extranonce;
	uint64_t extranonce;
};
struct ledger_live_job {
	int64_t id, received_at;
	char upstream_job_id[LEDGER_TEXT_MAX];
	uint8_t blob[LEDGER_BLOB_MAX];
	size_t blob_len;
	uint8_t seed[LEDGER_SEED_MAX];
	size_t seed_len;
	uint64_t height, target64;
	int clean;
	struct ledger_live_lease *leases;
	size_t nleases;
	uint32_t *credited;
	size_t ncredited;
};
#define LEDGER_LIVE_JOBS_MAX 8		/* the newest live jobs restored */

/* A node block accepted and neither mature nor orphaned yet. */
struct ledger_follow_block {
	char hash[65];			/* display hex */
	int64_t height, reward;
};

struct ledger_recovery {
	/* the next id each call will return */
	int64_t next_session_id, next_job_id, next_lease_id, next_share_id,
	    next_block_id;
	struct ledger_worker_state *workers;
	size_t nworkers;
	struct ledger_outbox_share *outbox;	/* oldest first */
	size_t noutbox;
	struct ledger_block_state *blocks;	/* oldest first */
	size_t nblocks;
	struct ledger_access_row *access;	/* denied identities now */
	size_t naccess;
	int64_t access_seen;			/* newest worker_access id */
	struct ledger_work_cursor *cursors;	/* work leased recently */
	size_t ncursors;
	struct ledger_live_job *live;		/* oldest first */
	size_t nlive;
	struct ledger_totals totals;
	/* the PPLNS window ending at the latest valid share, with the
	 * window_n given (0: not read); window.reward = 0, the parts carry
	 * each worker's difficulty and shares in the window */
	struct pplns_result window;
	uint64_t next_extranonce;		/* max recorded + 1 (>= 1) */
	struct ledger_follow_block *follow;	/* node blocks not final */
	size_t nfollow;
};

/* Reads the state the core rebuilds from (through its own read
 * connection; call after ledger_open, before recording anything).
 * Work cursors cover the jobs received within cursor_horizon_ms before
 * the newest one (0: all). */
int ledger_recover(struct ledger *l, uint64_t window_n,
    int64_t cursor_horizon_ms, struct ledger_recovery *out, char *err,
    size_t errlen);
void ledger_recovery_free(struct ledger_recovery *r);

/* --- reading (dashboard, REST, coopmine-cli) --- */

/*
 * A read-only connection.  One reader per thread (a reader is not shared
 * between threads); readers never block the writer (WAL).  The reads
 * return typed rows in a malloc'd array (*out, *n; the caller frees it
 * with free()); 0, or a negative errno (logged).  Times are epoch ms,
 * amounts integers; JSON is made at the edges (dashsrc.c, cli.c).
 */
struct ledger_reader;

struct ledger_reader *ledger_reader_open(const char *path, char *err,
    size_t errlen);
void ledger_reader_close(struct ledger_reader *r);

struct ledger_share_row {
	int64_t id, job_id, lease_id;		/* 0: none (NULL) */
	char upstream_job_id[LEDGER_TEXT_MAX];
	char worker_id[LEDGER_ID_MAX];
	uint32_t nonce;
	int has_result;
	uint8_t result[32];
	uint64_t difficulty, hash_difficulty;
	enum ledger_reason reason;		/* OK: accepted */
	int block_candidate;
	enum ledger_fate upstream;
	char upstream_reason[LEDGER_TEXT_MAX];	/* "": none */
	int64_t upstream_at;			/* 0: none */
	int64_t created_at;
};

struct ledger_job_row {
	int64_t id, session_id;
	char upstream_job_id[LEDGER_TEXT_MAX];
	uint64_t height;
	char target[17];			/* 16 hex digits */
	uint64_t difficulty;
	uint32_t nbits;
	uint8_t seed[32];
	size_t seed_len;
	int64_t received_at;
	int clean;
	int64_t superseded_at;			/* 0: current */
	uint64_t shares_valid;
};

struct ledger_block_row {
	int64_t id, share_id;
	char worker_id[LEDGER_ID_MAX];		/* who found it */
	uint64_t height;
	uint8_t hash[32];
	size_t hash_len;
	uint64_t network_difficulty, window_n;
	unsigned fee_bps;
	enum ledger_block_status status;
	int has_reward;
	uint64_t reward;
	int64_t found_at, updated_at;
};

/* The worker_totals view. */
struct ledger_worker_row {
	char worker_id[LEDGER_ID_MAX];
	char name[LEDGER_TEXT_MAX];
	uint64_t shares_valid, shares_invalid, difficulty_valid, blocks_found,
	    paid_accepted;
	int64_t last_share_at;			/* 0: none */
	int64_t first_seen, last_seen;
};

struct ledger_payout_row {
	int64_t block_id;
	int fee;				/* the fee row (no worker) */
	char worker_id[LEDGER_ID_MAX];
	uint64_t amount, window_difficulty, share_count;
};

/* Newest first.  since_ms 0: all; worker_id NULL: all workers. */
int ledger_read_shares(struct ledger_reader *r, int64_t since_ms,
    const char *worker_id, int limit, int offset,
    struct ledger_share_row **out, size_t *n);
int ledger_read_jobs(struct ledger_reader *r, int limit, int offset,
    struct ledger_job_row **out, size_t *n);
int ledger_read_blocks(struct ledger_reader *r, int limit, int offset,
    struct ledger_block_row **out, size_t *n);
/* Per-worker totals (the worker_totals view), by worker id. */
int ledger_read_workers(struct ledger_reader *r,
    struct ledger_worker_row **out, size_t *n);
/* One worker's shares of one hour with one verdict reason: the unit of
 * history (charts, effective hashrate at a restart, verdict counters). */
struct ledger_history_row {
	char worker_id[LEDGER_ID_MAX];
	int64_t hour;				/* epoch ms, a multiple of 3600000 */
	enum ledger_reason reason;		/* OK: accepted */
	uint64_t shares;
	uint64_t difficulty;			/* credited (0 unless OK) */
};
#define LEDGER_HOUR_MS 3600000LL
/* Shares grouped per worker, hour and reason, for hours starting at or
 * after since_ms (rounded down to its hour; 0: all), worker_id NULL: every
 * worker; ordered by worker, hour, reason.  The one reader of share
 * history: the dashboard's charts and the coordinator's restart both come
 * here, so older shares kept elsewhere (rolled up) join in one place.
 * 0 or a negative errno (*out: free() it). */
int ledger_worker_history(struct ledger_reader *r, const char *worker_id,
    int64_t since_ms, struct ledger_history_row **out, size_t *n);
/* The stored payouts of a block: workers by id, then the fee row. */
int ledger_read_payouts(struct ledger_reader *r, int64_t block_id,
    struct ledger_payout_row **out, size_t *n);
/* worker_access rows with an id above after_id, oldest first (*out:
 * free() it).  0 or a negative errno. */
int ledger_read_access(struct ledger_reader *r, int64_t after_id,
    struct ledger_access_row **out, size_t *n);
/* Ids of the last `count` blocks, newest first; returns how many. */
int ledger_read_last_blocks(struct ledger_reader *r, int count,
    int64_t *ids, int max);

/* What a block's split is computed from. */
struct ledger_block_info {
	int64_t id, share_id;
	uint64_t height, network_difficulty, window_n;
	unsigned fee_bps;
	enum ledger_block_status status;
	int has_reward;
	uint64_t reward;
	int64_t found_at;
};

/*
 * Recomputes a block's PPLNS split from the shares (as the writer did):
 * with the stored reward, or with *reward_override when not NULL.
 * Returns 0, -ENOENT (no such block), -ENODATA (reward unknown and no
 * override), or another negative errno.
 */
int ledger_compute_payouts(struct ledger_reader *r, int64_t block_id,
    const uint64_t *reward_override, struct ledger_block_info *info,
    struct pplns_result *out);

/*
 * Checks every invariant (docs/ledger.md lists them); report() is called
 * once per violation.  Returns the number of violations, or a negative
 * errno when the checks could not run.
 */
int ledger_audit(struct ledger_reader *r,
    void (*report)(void *arg, const char *violation), void *arg);

/* A range of shares rolled up by [ledger] retention, with what it held
 * before deletion. */
struct ledger_rollup_range {
	int64_t id, first_share_id, last_share_id;
	int64_t first_created_at, last_created_at, rolled_at;
	uint64_t shares_valid, shares_invalid, difficulty_sum, workers;
	uint64_t rows;			/* its share_rollups rows */
	int done;			/* closed (state 'done') */
	int matches;			/* rollups = figures, no share left */
};
/* Every rolled range, oldest first.  0 or a negative errno. */
int ledger_read_rollup_ranges(struct ledger_reader *r,
    struct ledger_rollup_range **out, size_t *n);

/* CSV of "shares" or "payouts" (header line first) to out; since_ms
 * filters shares.  0 or a negative errno. */
int ledger_export_csv(struct ledger_reader *r, const char *what,
    int64_t since_ms, FILE *out);

/*
 * An operator's access row written from outside the coordinator (the
 * CLI): its own connection, WAL, busy timeout, synchronous=FULL.  The
 * running coordinator applies it within a second.  0, or -1 with a
 * message in err.
 */
int ledger_access_record(const char *db_path, const char *worker_id,
    enum ledger_access a, const char *reason, int64_t at, char *err,
    size_t errlen);

/* Copies the database to dest with SQLite's online backup API (safe while
 * the coordinator writes).  0, or -1 with a message in err. */
int ledger_backup(const char *db_path, const char *dest, char *err,
    size_t errlen);

#endif
