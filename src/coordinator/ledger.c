/*
 * ledger.c: the ledger writer.  ledger_open() checks and migrates the
 * database, then one thread owns the write connection and turns queued
 * messages into group-committed transactions; share completions run after
 * COMMIT.  Called by the coordinator core (see ledger.h for the contract).
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/hex.h"
#include "common/log.h"
#include "common/mpscq.h"
#include "common/target.h"
#include "coordinator/ledger_int.h"
#include "coordinator/ledger_steps.h"

enum msg_type {
	M_WORKER = 1,
	M_HEARTBEAT,
	M_SESSION_BEGIN,
	M_SESSION_END,
	M_JOB,
	M_JOB_SUPERSEDE,
	M_LEASE,
	M_LEASE_RELEASE,
	M_SHARE,
	M_SHARE_FATE,
	M_BLOCK,
	M_BLOCK_UPDATE,
	M_SETTING,
	M_INCOME,
	M_FLUSH,
	M_MAX_PAGES,
	M_ACCESS,
	M_BLOCK_CHAIN
};

struct flush {
	pthread_mutex_t lock;	/* guards done, status, refs */
	pthread_cond_t cond;
	int done, status, refs;
};

struct msg {
	struct mpscq_node node;
	struct msg *next;	/* in the writer's batch or retry list */
	int64_t id;		/* the row's id (or the row it changes) */
	int64_t at;
	int refused;
	union {
		struct {
			char id[LEDGER_ID_MAX];
			char name[LEDGER_TEXT_MAX];
			char version[LEDGER_TEXT_MAX];
			int threads;
		} worker;
		struct {
			struct ledger_heartbeat h;
			char worker_id[LEDGER_ID_MAX];
		} hb;
		char url[LEDGER_TEXT_MAX];
		struct {
			struct ledger_job j;	/* pointers below */
			char upstream_job_id[LEDGER_TEXT_MAX];
			uint8_t *blob, *seed;
			uint8_t block_target[32];
		} job;
		struct {
			int64_t job_id;
			char worker_id[LEDGER_ID_MAX];
			uint64_t start, end, difficulty;
			int has_ext;
			uint64_t ext;
		} lease;
		struct {
			struct ledger_share s;	/* pointers below */
			char worker_id[LEDGER_ID_MAX];
			uint8_t result[32];
			ledger_share_cb *cb;
			void *arg;
			int has_block;	/* its block row, same transaction */
			struct ledger_block b;
			uint8_t hash[32];
			int64_t block_id;
		} share;
		struct {
			enum ledger_fate fate;
			int has_reason;
			char reason[LEDGER_TEXT_MAX];
		} fate;
		struct {
			struct ledger_block b;	/* pointers below */
			uint8_t hash[32];
		} block;
		struct {
			enum ledger_block_status status;
			int has_reward;
			uint64_t reward;
		} bupd;
		struct {
			uint8_t hash[32];
			enum ledger_block_status status;
			int64_t confirmations;
			int mature, has_answer;
			char answer[LEDGER_TEXT_MAX];
		} chain;
		struct {
			char key[LEDGER_TEXT_MAX];
			char value[LEDGER_TEXT_MAX];
		} setting;
		struct {
			struct money_income in;	/* pointers below */
			struct money_rules rules;
			char ref[MONEY_REF_MAX];
			char fee_owner[MONEY_NAME_MAX];
		} income;
		struct flush *flush;
		uint64_t max_pages;
		struct {
			char worker_id[LEDGER_ID_MAX];
			enum ledger_access a;
			char reason[LEDGER_TEXT_MAX];
		} access;
	} u;
};

enum stmt {
	S_BEGIN, S_COMMIT, S_ROLLBACK,
	S_WORKER_UPSERT, S_WORKER_ENSURE, S_WORKER_COUNT, S_WORKER_SEEN,
	S_HEARTBEAT, S_SESSION_BEGIN, S_SESSION_END, S_JOB, S_JOB_SUPERSEDE,
	S_LEASE, S_LEASE_RELEASE, S_SHARE, S_SHARE_FATE, S_BLOCK,
	S_BLOCK_UPDATE, S_BLOCK_GET, S_PAYOUT_COUNT, S_PAYOUT, S_SETTING,
	S_SAVEPOINT, S_RELEASE, S_ROLLBACK_TO, S_ACCESS,
	S_COUNT
};

static const char *stmt_sql[S_COUNT] = {
	[S_BEGIN] = "BEGIN IMMEDIATE",
	[S_COMMIT] = "COMMIT",
	[S_ROLLBACK] = "ROLLBACK",
	[S_WORKER_UPSERT] = "INSERT INTO workers (id, name, first_seen, "
	    "last_seen, threads, version) VALUES (?1, ?2, ?3, ?3, ?4, ?5) "
	    "ON CONFLICT (id) DO UPDATE SET name = excluded.name, "
	    "threads = excluded.threads, version = excluded.version, "
	    "last_seen = CASE WHEN excluded.last_seen > workers.last_seen "
	    "THEN excluded.last_seen ELSE workers.last_seen END",
	[S_WORKER_ENSURE] = "INSERT INTO workers (id, first_seen, last_seen) "
	    "VALUES (?1, ?2, ?2) ON CONFLICT (id) DO NOTHING",
	[S_WORKER_COUNT] = "UPDATE workers SET shares_valid = shares_valid + ?2, "
	    "shares_invalid = shares_invalid + ?3, "
	    "difficulty_valid = difficulty_valid + ?4, "
	    "last_seen = CASE WHEN ?5 > last_seen THEN ?5 ELSE last_seen END "
	    "WHERE id = ?1",
	[S_WORKER_SEEN] = "UPDATE workers SET last_seen = CASE WHEN ?2 > "
	    "last_seen THEN ?2 ELSE last_seen END WHERE id = ?1",
	[S_HEARTBEAT] = "INSERT INTO heartbeats (worker_id, at, hashrate, "
	    "shares_valid, shares_invalid, hashes_total, uptime_ms, cpu_usage, "
	    "memory_usage, temperature) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, "
	    "?8, ?9, ?10)",
	[S_SESSION_BEGIN] = "INSERT INTO upstream_sessions (id, pool_url, "
	    "connected_at) VALUES (?1, ?2, ?3)",
	[S_SESSION_END] = "UPDATE upstream_sessions SET disconnected_at = "
	    "CASE WHEN ?2 >= connected_at THEN ?2 ELSE connected_at END "
	    "WHERE id = ?1 AND disconnected_at IS NULL",
	[S_JOB] = "INSERT INTO jobs (id, session_id, upstream_job_id, blob, "
	    "seed, height, target, difficulty, nbits, block_target, "
	    "received_at, clean) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, "
	    "?10, ?11, ?12)",
	[S_JOB_SUPERSEDE] = "UPDATE jobs SET superseded_at = CASE WHEN ?2 >= "
	    "received_at THEN ?2 ELSE received_at END "
	    "WHERE id = ?1 AND superseded_at IS NULL",
	[S_LEASE] = "INSERT INTO leases (id, job_id, worker_id, nonce_start, "
	    "nonce_end, issued_at, difficulty, extranonce) VALUES (?1, ?2, ?3, "
	    "?4, ?5, ?6, ?7, ?8)",
	[S_LEASE_RELEASE] = "UPDATE leases SET released_at = CASE WHEN ?2 >= "
	    "issued_at THEN ?2 ELSE issued_at END "
	    "WHERE id = ?1 AND released_at IS NULL",
	[S_SHARE] = "INSERT INTO shares (id, job_id, lease_id, worker_id, "
	    "nonce, result, difficulty, hash_difficulty, verdict, reason, "
	    "block_candidate, upstream, created_at) VALUES (?1, ?2, ?3, ?4, "
	    "?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
	[S_SHARE_FATE] = "UPDATE shares SET upstream = ?2, upstream_reason = "
	    "?3, upstream_at = ?4 WHERE id = ?1",
	[S_BLOCK] = "INSERT INTO blocks (id, share_id, height, hash, "
	    "network_difficulty, window_n, fee_bps, status, reward, found_at, "
	    "updated_at, maturity) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, "
	    "?10, ?10, ?11)",
	/* An orphaned block stays orphaned: a late "accepted" from the
	 * outbox's submit answer does not bring it back. */
	[S_BLOCK_UPDATE] = "UPDATE blocks SET status = CASE WHEN status = "
	    "'orphaned' THEN status ELSE ?2 END, updated_at = ?3, "
	    "reward = CASE WHEN reward IS NULL THEN ?4 ELSE reward END "
	    "WHERE id = ?1",
	[S_BLOCK_GET] = "SELECT share_id, window_n, fee_bps, reward FROM blocks "
	    "WHERE id = ?1",
	[S_PAYOUT_COUNT] = "SELECT count(*) FROM payouts WHERE block_id = ?1",
	[S_PAYOUT] = "INSERT INTO payouts (block_id, kind, worker_id, amount, "
	    "window_difficulty, share_count) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
	[S_SETTING] = "INSERT INTO settings (key, value) VALUES (?1, ?2) "
	    "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
	[S_SAVEPOINT] = "SAVEPOINT ledger_msg",
	[S_RELEASE] = "RELEASE ledger_msg",
	[S_ROLLBACK_TO] = "ROLLBACK TO ledger_msg",
	[S_ACCESS] = "INSERT INTO worker_access (worker_id, action, reason, at, "
	    "source) VALUES (?1, ?2, ?3, ?4, 'coordinator')",
};

enum idkind { ID_SESSION, ID_JOB, ID_LEASE, ID_SHARE, ID_BLOCK, ID_COUNT };

static const char *id_table[ID_COUNT] = {
	"upstream_sessions", "jobs", "leases", "shares", "blocks"
};

struct ledger {
	int64_t restart_at;		/* what the last run left open closed then */
	struct ledger_opts o;
	char *path;
	sqlite3 *db;			/* the writer thread's, after open */
	sqlite3_stmt *st[S_COUNT];
	struct mpscq q;
	pthread_t thread;
	_Atomic int64_t next_id[ID_COUNT];
	atomic_int writable;

	/* writer thread only */
	struct msg *retry, *retry_tail;	/* kept from a failed transaction */
	int64_t retry_at;		/* mono ms of the next attempt */
	int64_t housekeep_at;
	int64_t retain_at;		/* mono ms of the next retention pass */
	uint64_t max_pages;

	pthread_mutex_t stats_lock;	/* guards stats */
	struct ledger_stats stats;
};

const double ledger_latency_bounds[LEDGER_LATENCY_BUCKETS] = {
	0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0,
	1e300	/* +Inf */
};

static const char *access_names[LEDGER_ACCESS_COUNT] = {
	"allow", "quarantine", "revoke"
};
static const char *reason_names[LEDGER_REASON_COUNT] = {
	"ok", "unknown_job", "stale", "outside_lease", "duplicate", "bad_hash",
	"low_difficulty", "unauthorized", "malformed"
};
static const char *fate_names[LEDGER_FATE_COUNT] = {
	"not_needed", "pending", "submitted", "accepted", "rejected", "expired"
};
static const char *block_names[LEDGER_BLOCK_COUNT] = {
	"candidate", "submitted", "accepted", "rejected", "orphaned"
};

const char *
ledger_reason_name(enum ledger_reason r)
{
	return (unsigned)r < LEDGER_REASON_COUNT ? reason_names[r] : "?";
}

const char *
ledger_fate_name(enum ledger_fate f)
{
	return (unsigned)f < LEDGER_FATE_COUNT ? fate_names[f] : "?";
}

const char *
ledger_block_status_name(enum ledger_block_status s)
{
	return (unsigned)s < LEDGER_BLOCK_COUNT ? block_names[s] : "?";
}

const char *
ledger_status_name(int status)
{
	switch (status) {
	case LEDGER_COMMITTED:
		return "committed";
	case LEDGER_ERR_UNWRITABLE:
		return "ledger not writable (disk full or I/O error)";
	case LEDGER_ERR_REFUSED:
		return "refused by a ledger constraint";
	case LEDGER_ERR_CLOSED:
		return "ledger closed";
	case LEDGER_ERR_TIMEOUT:
		return "timed out";
	}
	return "?";
}

int
ledger_name_parse(const char *s, const char *const *names, int n)
{
	int i;

	for (i = 0; s != NULL && i < n; i++)
		if (strcmp(s, names[i]) == 0)
			return i;
	return -1;
}

const char *
ledger_access_name(enum ledger_access a)
{
	return (unsigned)a < LEDGER_ACCESS_COUNT ? access_names[a] : "?";
}

int
ledger_access_parse(const char *s)
{
	return ledger_name_parse(s, access_names, LEDGER_ACCESS_COUNT);
}

int
ledger_reason_parse(const char *s)
{
	return ledger_name_parse(s, reason_names, LEDGER_REASON_COUNT);
}

int
ledger_fate_parse(const char *s)
{
	return ledger_name_parse(s, fate_names, LEDGER_FATE_COUNT);
}

int
ledger_block_status_parse(const char *s)
{
	return ledger_name_parse(s, block_names, LEDGER_BLOCK_COUNT);
}

int
ledger_synchronous_parse(const char *s)
{
	static const char *names[] = { "off", "normal", "full", "extra" };

	return ledger_name_parse(s, names, 4);
}

int
ledger_schema_version(void)
{
	return ledger_nsteps;
}

void
ledger_opts_default(struct ledger_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->synchronous = 2;
	o->busy_timeout_ms = 5000;
	o->batch_rows = 256;
	o->batch_ms = 5;
	o->retry_ms = 1000;
	o->close_timeout_ms = 5000;
	o->heartbeat_retention_ms = 7LL * 24 * 3600 * 1000;
	o->share_retention_ms = 0;
	o->retention_batch = 5000;
	o->retention_window_factor_milli = 2000;
	o->queue_bound = 65536;
}

int
ledger_bind_u64(sqlite3_stmt *st, int i, uint64_t v)
{
	return sqlite3_bind_int64(st, i, v > INT64_MAX ? INT64_MAX : (int64_t)v);
}

static void
copy_str(char *dst, size_t len, const char *src)
{
	snprintf(dst, len, "%s", src != NULL ? src : "");
}

/* --- opening and migrations --- */

static int
exec_fmt(sqlite3 *db, char *err, size_t errlen, const char *what,
    const char *sql)
{
	char *msg = NULL;

	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		snprintf(err, errlen, "%s: %s", what,
		    msg ? msg : sqlite3_errmsg(db));
		sqlite3_free(msg);
		return -1;
	}
	return 0;
}

static int
migrate(sqlite3 *db, const char *path, int from, char *err, size_t errlen)
{
	char sql[128], what[LEDGER_TEXT_MAX + 64];
	int v;

	for (v = from + 1; v <= ledger_nsteps; v++) {
		const struct ledger_step *s = &ledger_steps[v - 1];

		snprintf(what, sizeof(what), "%s: schema step %s", path, s->name);
		if (exec_fmt(db, err, errlen, what, "BEGIN IMMEDIATE") != 0)
			return -1;
		if (exec_fmt(db, err, errlen, what, s->sql) != 0)
			goto fail;
		snprintf(sql, sizeof(sql), "PRAGMA application_id = %d; "
		    "PRAGMA user_version = %d", LEDGER_APPLICATION_ID, s->version);
		if (exec_fmt(db, err, errlen, what, sql) != 0 ||
		    exec_fmt(db, err, errlen, what, "COMMIT") != 0)
			goto fail;
		log_info("ledger %s: applied schema step %s (version %d)", path,
		    s->name, s->version);
	}
	return 0;
fail:
	sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	return -1;
}

/* A crash leaves leases, sessions and jobs open: close them at restart. */
static int
close_stale(sqlite3 *db, int64_t now, char *err, size_t errlen)
{
	char sql[768];

	snprintf(sql, sizeof(sql),
	    "BEGIN IMMEDIATE;"
	    "UPDATE leases SET released_at = CASE WHEN %1$" PRId64 " >= issued_at"
	    " THEN %1$" PRId64 " ELSE issued_at END WHERE released_at IS NULL;"
	    "UPDATE jobs SET superseded_at = CASE WHEN %1$" PRId64 " >= received_at"
	    " THEN %1$" PRId64 " ELSE received_at END WHERE superseded_at IS NULL;"
	    "UPDATE upstream_sessions SET disconnected_at = CASE WHEN %1$" PRId64
	    " >= connected_at THEN %1$" PRId64 " ELSE connected_at END"
	    " WHERE disconnected_at IS NULL;"
	    "COMMIT", now);
	if (exec_fmt(db, err, errlen, "closing what the last run left open",
	    sql) != 0) {
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
		return -1;
	}
	return 0;
}

static int
load_ids(struct ledger *l, char *err, size_t errlen)
{
	char sql[128];
	sqlite3_stmt *st;
	int i;

	for (i = 0; i < ID_COUNT; i++) {
		snprintf(sql, sizeof(sql), "SELECT coalesce(max(id), 0) + 1 FROM %s",
		    id_table[i]);
		if (sqlite3_prepare_v2(l->db, sql, -1, &st, NULL) != SQLITE_OK ||
		    sqlite3_step(st) != SQLITE_ROW) {
			snprintf(err, errlen, "%s: reading ids: %s", l->path,
			    sqlite3_errmsg(l->db));
			sqlite3_finalize(st);
			return -1;
		}
		atomic_store(&l->next_id[i], sqlite3_column_int64(st, 0));
		sqlite3_finalize(st);
	}
	return 0;
}

/*
 * A block-candidate share without its block row: this coordinator writes
 * both in one transaction, but an older one (or a hand-edited ledger) may
 * have left one.  The row is rebuilt from the share and its job (hash from
 * the header, difficulty from the block target, N = the network
 * difficulty, reward unknown), so the block is never lost.
 */
static int
repair_candidates(sqlite3 *db, char *err, size_t errlen)
{
	sqlite3_stmt *st = NULL, *ins = NULL;
	int64_t now = clock_wall_ms(), next;
	int rc, n = 0;

	if (sqlite3_prepare_v2(db, "SELECT s.id, s.nonce, s.result, s.created_at, "
	    "j.blob, j.height, j.block_target, (SELECT coalesce(max(id), 0) + 1 "
	    "FROM blocks) FROM shares s JOIN jobs j ON j.id = s.job_id "
	    "WHERE s.block_candidate = 1 AND NOT EXISTS (SELECT 1 FROM blocks b "
	    "WHERE b.share_id = s.id) ORDER BY s.id", -1, &st, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db, "INSERT INTO blocks (id, share_id, height, "
	    "hash, network_difficulty, window_n, fee_bps, status, reward, "
	    "found_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?5, 0, "
	    "'candidate', NULL, ?6, ?7)", -1, &ins, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "ledger: looking for lost blocks: %s",
		    sqlite3_errmsg(db));
		goto fail;
	}
	if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
		goto fail_db;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		uint8_t header[256], pow[32] = { 0 }, hash[32];
		int blen = sqlite3_column_bytes(st, 4);
		double netdiff = 1;

		if (blen <= 0 || blen > (int)sizeof(header))
			continue;
		memcpy(header, sqlite3_column_blob(st, 4), (size_t)blen);
		if (blen == 80)
			le32_write(header + 76,
			    (uint32_t)sqlite3_column_int64(st, 1));
		if (sqlite3_column_bytes(st, 2) == 32)
			memcpy(pow, sqlite3_column_blob(st, 2), 32);
		block_id_hash(header, (size_t)blen, pow, hash);
		if (sqlite3_column_bytes(st, 6) == 32)
			netdiff = target256_difficulty(sqlite3_column_blob(st, 6));
		if (!(netdiff >= 1))
			netdiff = 1;
		next = sqlite3_column_int64(st, 7) + n;
		sqlite3_bind_int64(ins, 1, next);
		sqlite3_bind_int64(ins, 2, sqlite3_column_int64(st, 0));
		sqlite3_bind_int64(ins, 3, sqlite3_column_int64(st, 5));
		sqlite3_bind_blob(ins, 4, hash, 32, SQLITE_TRANSIENT);
		sqlite3_bind_int64(ins, 5, netdiff >= 9.2e18 ? INT64_MAX :
		    (int64_t)netdiff);
		sqlite3_bind_int64(ins, 6, sqlite3_column_int64(st, 3));
		sqlite3_bind_int64(ins, 7, now);
		if (sqlite3_step(ins) != SQLITE_DONE) {
			sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
			goto fail_db;
		}
		sqlite3_reset(ins);
		log_warnx("ledger: block candidate share %" PRId64 " had no block "
		    "row: block %" PRId64 " restored (status candidate, reward "
		    "unknown)", (int64_t)sqlite3_column_int64(st, 0), next);
		n++;
	}
	if (rc != SQLITE_DONE ||
	    sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
		goto fail_db;
	}
	sqlite3_finalize(st);
	sqlite3_finalize(ins);
	return 0;
fail_db:
	snprintf(err, errlen, "ledger: restoring lost blocks: %s",
	    sqlite3_errmsg(db));
fail:
	sqlite3_finalize(st);
	sqlite3_finalize(ins);
	return -1;
}

static void *writer_main(void *arg);
static void drop_heartbeat(struct ledger *l, struct msg *m);

/* Readers run beside the writer, and a crash must leave every committed
 * share, only in WAL mode: SQLite answers the mode it actually took (e.g.
 * "memory" for :memory:, or the old mode when the file system cannot do
 * WAL), so read it back rather than trust the request. */
static int
wal_on(sqlite3 *db, const char *path, char *err, size_t errlen)
{
	sqlite3_stmt *st = NULL;
	const unsigned char *mode = NULL;
	int rc;

	rc = sqlite3_prepare_v2(db, "PRAGMA journal_mode = WAL", -1, &st, NULL);
	if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW)
		mode = sqlite3_column_text(st, 0);
	if (mode == NULL) {
		snprintf(err, errlen, "ledger %s: cannot set journal_mode = WAL: %s",
		    path, sqlite3_errmsg(db));
		sqlite3_finalize(st);
		return -1;
	}
	if (sqlite3_stricmp((const char *)mode, "wal") != 0) {
		snprintf(err, errlen, "ledger %s: journal_mode is \"%s\" after "
		    "asking for WAL; the ledger needs WAL (a database file on a "
		    "local file system with shared memory, not :memory: or a "
		    "network share): refusing to start", path, mode);
		sqlite3_finalize(st);
		return -1;
	}
	sqlite3_finalize(st);
	return 0;
}

struct ledger *
ledger_open(const struct ledger_opts *o, char *err, size_t errlen)
{
	struct ledger *l;
	char sql[160];
	int i, version;

	if (o->path == NULL || *o->path == '\0') {
		snprintf(err, errlen, "ledger: no database path configured");
		return NULL;
	}
	if ((l = calloc(1, sizeof(*l))) == NULL ||
	    (l->path = strdup(o->path)) == NULL) {
		snprintf(err, errlen, "ledger: out of memory");
		free(l);
		return NULL;
	}
	l->o = *o;
	l->o.path = l->path;
	if (l->o.batch_rows < 1)
		l->o.batch_rows = 1;
	if (l->o.batch_ms < 0)
		l->o.batch_ms = 0;
	if (l->o.retry_ms < 1)
		l->o.retry_ms = 1;
	if (sqlite3_open_v2(l->path, &l->db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_CREATE, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "cannot open ledger %s: %s", l->path,
		    l->db ? sqlite3_errmsg(l->db) : "out of memory");
		goto fail;
	}
	sqlite3_extended_result_codes(l->db, 1);
	sqlite3_busy_timeout(l->db, l->o.busy_timeout_ms);
	if (ledger_db_check(l->db, l->path, 1, &version, err, errlen) != 0)
		goto fail;
	if (l->o.synchronous < 0 || l->o.synchronous > 3)
		l->o.synchronous = 2;
	snprintf(sql, sizeof(sql), "PRAGMA synchronous = %d; "
	    "PRAGMA foreign_keys = ON", l->o.synchronous);
	if (wal_on(l->db, l->path, err, errlen) != 0 ||
	    exec_fmt(l->db, err, errlen, l->path, sql) != 0 ||
	    migrate(l->db, l->path, version, err, errlen) != 0 ||
	    close_stale(l->db, l->restart_at = clock_wall_ms(), err, errlen) != 0 ||
	    repair_candidates(l->db, err, errlen) != 0 ||
	    load_ids(l, err, errlen) != 0)
		goto fail;
	for (i = 0; i < S_COUNT; i++) {
		if (sqlite3_prepare_v3(l->db, stmt_sql[i], -1,
		    SQLITE_PREPARE_PERSISTENT, &l->st[i], NULL) != SQLITE_OK) {
			snprintf(err, errlen, "ledger %s: preparing \"%s\": %s",
			    l->path, stmt_sql[i], sqlite3_errmsg(l->db));
			goto fail;
		}
	}
	atomic_store(&l->writable, 1);
	l->stats.writable = 1;
	pthread_mutex_init(&l->stats_lock, NULL);
	mpscq_init(&l->q, l->o.queue_bound);
	l->housekeep_at = clock_mono_ms() + 1000;
	if ((errno = pthread_create(&l->thread, NULL, writer_main, l)) != 0) {
		snprintf(err, errlen, "ledger: cannot start writer thread: %s",
		    strerror(errno));
		mpscq_destroy(&l->q);
		pthread_mutex_destroy(&l->stats_lock);
		goto fail;
	}
	log_info("ledger %s: schema version %d, synchronous=%d, batch %d rows "
	    "/ %d ms", l->path, ledger_nsteps, l->o.synchronous,
	    l->o.batch_rows, l->o.batch_ms);
	if (l->o.synchronous < 2)
		log_warnx("ledger %s: synchronous = %s: shares acknowledged to "
		    "workers are NOT durable, a power failure or OS crash can lose "
		    "the last ones; set [ledger] synchronous = full", l->path,
		    l->o.synchronous == 0 ? "off" : "normal");
	return l;
fail:
	for (i = 0; i < S_COUNT; i++)
		sqlite3_finalize(l->st[i]);
	sqlite3_close(l->db);
	free(l->path);
	free(l);
	return NULL;
}

/* --- the API: messages --- */

static struct msg *
msg_new(int type)
{
	struct msg *m = calloc(1, sizeof(*m));

	if (m == NULL)
		fatal("ledger: out of memory");
	m->node.type = type;
	return m;
}

static void
msg_free(struct msg *m)
{
	if (m->node.type == M_JOB) {
		free(m->u.job.blob);
		free(m->u.job.seed);
	}
	free(m);
}

static void
flush_unref(struct flush *f)
{
	int last;

	pthread_mutex_lock(&f->lock);
	last = --f->refs == 0;
	pthread_mutex_unlock(&f->lock);
	if (last) {
		pthread_mutex_destroy(&f->lock);
		pthread_cond_destroy(&f->cond);
		free(f);
	}
}

static void
flush_done(struct flush *f, int status)
{
	pthread_mutex_lock(&f->lock);
	f->done = 1;
	f->status = status;
	pthread_cond_broadcast(&f->cond);
	pthread_mutex_unlock(&f->lock);
	flush_unref(f);
}

/* Completes a message that will not be written. */
static void
msg_fail(struct ledger *l, struct msg *m, int status)
{
	if (m->node.type == M_SHARE) {
		pthread_mutex_lock(&l->stats_lock);
		l->stats.shares_failed++;
		pthread_mutex_unlock(&l->stats_lock);
		if (m->u.share.cb != NULL)
			m->u.share.cb(m->u.share.arg, m->id, status);
	} else if (m->node.type == M_FLUSH)
		flush_done(m->u.flush, status);
	msg_free(m);
}

/*
 * Never blocks the caller: callers hold locks (the job manager's) or run
 * on gRPC threads, and a stalled disk must not freeze them.  A share that
 * finds the queue full fails at once (the worker is told to retry), a
 * heartbeat is dropped (counted); the small, rare rows (jobs, leases,
 * sessions, blocks) go in over the bound.
 */
static void
push(struct ledger *l, struct msg *m)
{
	int rc;

	if (m->node.type == M_SHARE || m->node.type == M_HEARTBEAT)
		rc = mpscq_try_push(&l->q, &m->node);
	else
		rc = mpscq_push_over(&l->q, &m->node);
	if (rc == -2 && m->node.type == M_HEARTBEAT) {
		drop_heartbeat(l, m);
	} else if (rc == -2) {
		log_warnx("ledger: queue full (%zu messages): share %" PRId64
		    " refused for now", l->o.queue_bound, m->id);
		msg_fail(l, m, LEDGER_ERR_UNWRITABLE);
	} else if (rc != 0) {
		log_warnx("ledger: message %d after close, dropped", m->node.type);
		msg_fail(l, m, LEDGER_ERR_CLOSED);
	}
}

static int64_t
next_id(struct ledger *l, enum idkind k)
{
	return atomic_fetch_add(&l->next_id[k], 1);
}

void
ledger_worker_seen(struct ledger *l, const struct ledger_worker *w)
{
	struct msg *m = msg_new(M_WORKER);

	copy_str(m->u.worker.id, sizeof(m->u.worker.id), w->id);
	copy_str(m->u.worker.name, sizeof(m->u.worker.name), w->name);
	copy_str(m->u.worker.version, sizeof(m->u.worker.version), w->version);
	m->u.worker.threads = w->threads < 0 ? 0 : w->threads;
	m->at = w->seen_at;
	push(l, m);
}

void
ledger_heartbeat(struct ledger *l, const struct ledger_heartbeat *h)
{
	struct msg *m = msg_new(M_HEARTBEAT);

	m->u.hb.h = *h;
	copy_str(m->u.hb.worker_id, sizeof(m->u.hb.worker_id), h->worker_id);
	m->u.hb.h.worker_id = NULL;
	m->at = h->at;
	push(l, m);
}

int64_t
ledger_session_begin(struct ledger *l, const char *pool_url, int64_t at)
{
	struct msg *m = msg_new(M_SESSION_BEGIN);
	int64_t id;

	copy_str(m->u.url, sizeof(m->u.url), pool_url);
	m->at = at;
	m->id = id = next_id(l, ID_SESSION);
	push(l, m);
	return id;
}

static void
push_end(struct ledger *l, int type, int64_t id, int64_t at)
{
	struct msg *m = msg_new(type);

	m->id = id;
	m->at = at;
	push(l, m);
}

void
ledger_session_end(struct ledger *l, int64_t session_id, int64_t at)
{
	push_end(l, M_SESSION_END, session_id, at);
}

static uint8_t *
dup_bytes(const uint8_t *p, size_t n)
{
	uint8_t *d = malloc(n ? n : 1);

	if (d == NULL)
		fatal("ledger: out of memory");
	if (n)
		memcpy(d, p, n);
	return d;
}

int64_t
ledger_job_add(struct ledger *l, const struct ledger_job *j)
{
	struct msg *m = msg_new(M_JOB);
	int64_t id;

	m->u.job.j = *j;
	copy_str(m->u.job.upstream_job_id, sizeof(m->u.job.upstream_job_id),
	    j->upstream_job_id);
	m->u.job.blob = dup_bytes(j->blob, j->blob ? j->blob_len : 0);
	m->u.job.seed = dup_bytes(j->seed, j->seed ? j->seed_len : 0);
	if (j->blob == NULL)
		m->u.job.j.blob_len = 0;
	if (j->seed == NULL)
		m->u.job.j.seed_len = 0;
	if (j->block_target != NULL)
		memcpy(m->u.job.block_target, j->block_target, 32);
	m->at = j->received_at;
	m->id = id = next_id(l, ID_JOB);
	push(l, m);
	return id;
}

void
ledger_job_supersede(struct ledger *l, int64_t job_id, int64_t at)
{
	push_end(l, M_JOB_SUPERSEDE, job_id, at);
}

int64_t
ledger_lease_add(struct ledger *l, int64_t job_id, const char *worker_id,
    uint64_t nonce_start, uint64_t nonce_end, uint64_t difficulty,
    int has_extranonce, uint64_t extranonce, int64_t at)
{
	struct msg *m = msg_new(M_LEASE);
	int64_t id;

	m->u.lease.job_id = job_id;
	copy_str(m->u.lease.worker_id, sizeof(m->u.lease.worker_id), worker_id);
	m->u.lease.start = nonce_start;
	m->u.lease.end = nonce_end;
	m->u.lease.difficulty = difficulty;
	m->u.lease.has_ext = has_extranonce;
	m->u.lease.ext = extranonce;
	m->at = at;
	m->id = id = next_id(l, ID_LEASE);
	push(l, m);
	return id;
}

void
ledger_lease_release(struct ledger *l, int64_t lease_id, int64_t at)
{
	push_end(l, M_LEASE_RELEASE, lease_id, at);
}

/* A block into a message: the hash (at most 32 bytes) into hash, which
 * the copy's hash pointer does not keep. */
static void
block_copy(struct ledger_block *dst, uint8_t hash[32],
    const struct ledger_block *b)
{
	*dst = *b;
	dst->hash_len = b->hash == NULL ? 0 : b->hash_len < 32 ? b->hash_len : 32;
	if (b->hash != NULL)
		memcpy(hash, b->hash, dst->hash_len);
	dst->hash = NULL;
}

/* A share message, its id assigned (not queued yet). */
static struct msg *
share_msg(struct ledger *l, const struct ledger_share *s, ledger_share_cb *cb,
    void *arg)
{
	struct msg *m = msg_new(M_SHARE);

	m->u.share.s = *s;
	copy_str(m->u.share.worker_id, sizeof(m->u.share.worker_id),
	    s->worker_id);
	if (s->result != NULL)
		memcpy(m->u.share.result, s->result, 32);
	m->u.share.cb = cb;
	m->u.share.arg = arg;
	m->at = s->created_at;
	m->id = next_id(l, ID_SHARE);
	return m;
}

int64_t
ledger_append_share(struct ledger *l, const struct ledger_share *s,
    ledger_share_cb *cb, void *arg)
{
	struct msg *m = share_msg(l, s, cb, arg);
	int64_t id = m->id;

	push(l, m);
	return id;
}

int64_t
ledger_append_block_share(struct ledger *l, const struct ledger_share *s,
    const struct ledger_block *b, ledger_share_cb *cb, void *arg,
    int64_t *block_id)
{
	struct msg *m = share_msg(l, s, cb, arg);
	int64_t id = m->id;

	m->u.share.has_block = 1;
	block_copy(&m->u.share.b, m->u.share.hash, b);
	m->u.share.block_id = *block_id = next_id(l, ID_BLOCK);
	m->u.share.b.share_id = id;
	push(l, m);
	return id;
}

void
ledger_worker_access(struct ledger *l, const char *worker_id,
    enum ledger_access a, const char *reason, int64_t at)
{
	struct msg *m = msg_new(M_ACCESS);

	copy_str(m->u.access.worker_id, sizeof(m->u.access.worker_id),
	    worker_id);
	m->u.access.a = a;
	copy_str(m->u.access.reason, sizeof(m->u.access.reason), reason);
	m->at = at;
	push(l, m);
}

void
ledger_share_fate(struct ledger *l, int64_t share_id, enum ledger_fate fate,
    const char *reason, int64_t at)
{
	struct msg *m = msg_new(M_SHARE_FATE);

	m->id = share_id;
	m->at = at;
	m->u.fate.fate = fate;
	m->u.fate.has_reason = reason != NULL;
	copy_str(m->u.fate.reason, sizeof(m->u.fate.reason), reason);
	push(l, m);
}

int64_t
ledger_block_add(struct ledger *l, const struct ledger_block *b)
{
	struct msg *m = msg_new(M_BLOCK);
	int64_t id;

	block_copy(&m->u.block.b, m->u.block.hash, b);
	m->at = b->found_at;
	m->id = id = next_id(l, ID_BLOCK);
	push(l, m);
	return id;
}

void
ledger_block_update(struct ledger *l, int64_t block_id,
    enum ledger_block_status status, int has_reward, uint64_t reward,
    int64_t at)
{
	struct msg *m = msg_new(M_BLOCK_UPDATE);

	m->id = block_id;
	m->at = at;
	m->u.bupd.status = status;
	m->u.bupd.has_reward = has_reward;
	m->u.bupd.reward = reward;
	push(l, m);
}

void
ledger_block_chain(struct ledger *l, const uint8_t hash[32],
    enum ledger_block_status status, int64_t confirmations, int mature,
    const char *answer, int64_t at)
{
	struct msg *m = msg_new(M_BLOCK_CHAIN);

	memcpy(m->u.chain.hash, hash, 32);
	m->u.chain.status = status;
	m->u.chain.confirmations = confirmations;
	m->u.chain.mature = mature;
	m->u.chain.has_answer = answer != NULL;
	if (answer != NULL)
		copy_str(m->u.chain.answer, sizeof(m->u.chain.answer), answer);
	m->at = at;
	push(l, m);
}

void
ledger_setting_put(struct ledger *l, const char *key, const char *value)
{
	struct msg *m = msg_new(M_SETTING);

	copy_str(m->u.setting.key, sizeof(m->u.setting.key), key);
	copy_str(m->u.setting.value, sizeof(m->u.setting.value), value);
	push(l, m);
}

void
ledger_income_add(struct ledger *l, const struct money_income *in,
    const struct money_rules *rules)
{
	struct msg *m = msg_new(M_INCOME);

	m->u.income.in = *in;
	m->u.income.in.note = NULL;
	m->u.income.rules = *rules;
	copy_str(m->u.income.ref, sizeof(m->u.income.ref), in->ref);
	copy_str(m->u.income.fee_owner, sizeof(m->u.income.fee_owner),
	    rules->fee_owner ? rules->fee_owner : "operator");
	m->u.income.in.ref = m->u.income.ref;
	m->u.income.rules.fee_owner = m->u.income.fee_owner;
	push(l, m);
}

void
ledger_set_max_pages(struct ledger *l, uint64_t max_pages)
{
	struct msg *m = msg_new(M_MAX_PAGES);

	m->u.max_pages = max_pages;
	push(l, m);
}

int
ledger_flush(struct ledger *l, int timeout_ms)
{
	struct msg *m = msg_new(M_FLUSH);
	struct flush *f;
	struct timespec ts;
	int status;

	if ((f = calloc(1, sizeof(*f))) == NULL)
		fatal("ledger: out of memory");
	pthread_mutex_init(&f->lock, NULL);
	pthread_cond_init(&f->cond, NULL);
	f->refs = 2;
	m->u.flush = f;
	push(l, m);
	if (timeout_ms >= 0)
		ts = clock_deadline(CLOCK_REALTIME, timeout_ms);
	pthread_mutex_lock(&f->lock);
	while (!f->done) {
		if (timeout_ms < 0)
			pthread_cond_wait(&f->cond, &f->lock);
		else if (pthread_cond_timedwait(&f->cond, &f->lock, &ts) ==
		    ETIMEDOUT)
			break;
	}
	status = f->done ? f->status : LEDGER_ERR_TIMEOUT;
	pthread_mutex_unlock(&f->lock);
	flush_unref(f);
	return status;
}

int64_t
ledger_restart_at(const struct ledger *l)
{
	return l->restart_at;
}

const char *
ledger_path(struct ledger *l)
{
	return l->path;
}

int
ledger_writable(struct ledger *l)
{
	return atomic_load(&l->writable);
}

void
ledger_stats_get(struct ledger *l, struct ledger_stats *st)
{
	pthread_mutex_lock(&l->stats_lock);
	*st = l->stats;
	pthread_mutex_unlock(&l->stats_lock);
	st->queued = mpscq_len(&l->q);
	st->writable = atomic_load(&l->writable);
}

/* --- the writer thread --- */

/* Errors that mean "the database cannot be written now": abort the
 * transaction and retry; anything else refuses the one message. */
static int
is_unwritable(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_FULL:
	case SQLITE_IOERR:
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
	case SQLITE_NOMEM:
	case SQLITE_CANTOPEN:
	case SQLITE_READONLY:
	case SQLITE_CORRUPT:
	case SQLITE_PROTOCOL:
	case SQLITE_NOTADB:
	case SQLITE_INTERRUPT:
		return 1;
	}
	return 0;
}

/* Runs a bound statement to completion.  SQLITE_DONE/ROW or the error. */
static int
run(struct ledger *l, enum stmt s)
{
	sqlite3_stmt *st = l->st[s];
	int rc = sqlite3_step(st);

	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return rc == SQLITE_ROW ? SQLITE_DONE : rc;
}

/* Applies one statement's result to the message: 0 ok, 1 refused, -1 abort. */
static int
verdict(struct ledger *l, struct msg *m, int rc)
{
	if (rc == SQLITE_DONE)
		return 0;
	if (is_unwritable(rc)) {
		log_debug("ledger: write failed: %s", sqlite3_errmsg(l->db));
		return -1;
	}
	log_warnx("ledger: message %d (id %" PRId64 ") refused: %s",
	    m->node.type, m->id, sqlite3_errmsg(l->db));
	m->refused = 1;
	return 1;
}

static void
bind_text(sqlite3_stmt *st, int i, const char *s)
{
	sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC);
}

static void
bind_id_or_null(sqlite3_stmt *st, int i, int64_t id)
{
	if (id > 0)
		sqlite3_bind_int64(st, i, id);
	else
		sqlite3_bind_null(st, i);
}

static int
apply_share(struct ledger *l, struct msg *m)
{
	const struct ledger_share *s = &m->u.share.s;
	sqlite3_stmt *st;
	int accepted = s->reason == LEDGER_REASON_OK, rc;

	if ((unsigned)s->reason >= LEDGER_REASON_COUNT ||
	    (unsigned)s->upstream >= LEDGER_FATE_COUNT) {
		log_warnx("ledger: share %" PRId64 " with a bad reason/fate",
		    m->id);
		m->refused = 1;
		return 1;
	}
	st = l->st[S_WORKER_ENSURE];
	bind_text(st, 1, m->u.share.worker_id);
	sqlite3_bind_int64(st, 2, m->at);
	if ((rc = verdict(l, m, run(l, S_WORKER_ENSURE))) != 0)
		return rc;
	st = l->st[S_SHARE];
	sqlite3_bind_int64(st, 1, m->id);
	bind_id_or_null(st, 2, s->job_id);
	bind_id_or_null(st, 3, s->lease_id);
	bind_text(st, 4, m->u.share.worker_id);
	sqlite3_bind_int64(st, 5, s->nonce);
	if (s->result != NULL)
		sqlite3_bind_blob(st, 6, m->u.share.result, 32, SQLITE_STATIC);
	ledger_bind_u64(st, 7, s->difficulty);
	ledger_bind_u64(st, 8, s->hash_difficulty);
	bind_text(st, 9, accepted ? "accepted" : "rejected");
	bind_text(st, 10, reason_names[s->reason]);
	sqlite3_bind_int(st, 11, s->block_candidate ? 1 : 0);
	bind_text(st, 12, fate_names[s->upstream]);
	sqlite3_bind_int64(st, 13, m->at);
	if ((rc = verdict(l, m, run(l, S_SHARE))) != 0)
		return rc;
	st = l->st[S_WORKER_COUNT];
	bind_text(st, 1, m->u.share.worker_id);
	sqlite3_bind_int(st, 2, accepted);
	sqlite3_bind_int(st, 3, !accepted);
	ledger_bind_u64(st, 4, accepted ? s->difficulty : 0);
	sqlite3_bind_int64(st, 5, m->at);
	/* the share row is in: a failing counter would leave them apart */
	return run(l, S_WORKER_COUNT) == SQLITE_DONE ? 0 : -1;
}

/* Stores the payouts of a block once its reward is known. */
static int
write_payouts(struct ledger *l, struct msg *m, int64_t block_id)
{
	struct pplns_result r;
	sqlite3_stmt *st = l->st[S_BLOCK_GET];
	int64_t share_id;
	uint64_t window_n, reward;
	unsigned fee_bps;
	size_t i;
	int rc;

	sqlite3_bind_int64(st, 1, block_id);
	if ((rc = sqlite3_step(st)) != SQLITE_ROW) {
		sqlite3_reset(st);
		return verdict(l, m, rc == SQLITE_DONE ? SQLITE_CONSTRAINT : rc);
	}
	share_id = sqlite3_column_int64(st, 0);
	window_n = (uint64_t)sqlite3_column_int64(st, 1);
	fee_bps = (unsigned)sqlite3_column_int(st, 2);
	if (sqlite3_column_type(st, 3) == SQLITE_NULL) {
		sqlite3_reset(st);
		return 0;
	}
	reward = (uint64_t)sqlite3_column_int64(st, 3);
	sqlite3_reset(st);
	st = l->st[S_PAYOUT_COUNT];
	sqlite3_bind_int64(st, 1, block_id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW && sqlite3_column_int64(st, 0) > 0) {
		sqlite3_reset(st);
		return 0;
	}
	sqlite3_reset(st);
	if (rc != SQLITE_ROW)
		return verdict(l, m, rc);
	if ((rc = ledger_db_window_split(l->db, share_id, window_n, reward,
	    fee_bps, &r)) != 0) {
		if (rc == -ENOMEM || rc == -EIO)
			return -1;
		log_warnx("ledger: block %" PRId64 ": payouts not computed (%s)",
		    block_id, strerror(-rc));
		m->refused = 1;
		return 1;
	}
	st = l->st[S_PAYOUT];
	sqlite3_bind_int64(st, 1, block_id);
	bind_text(st, 2, "fee");
	sqlite3_bind_null(st, 3);
	ledger_bind_u64(st, 4, r.fee);
	ledger_bind_u64(st, 5, r.window_difficulty);
	sqlite3_bind_int64(st, 6, 0);
	rc = verdict(l, m, run(l, S_PAYOUT));
	for (i = 0; rc == 0 && i < r.nparts; i++) {
		sqlite3_bind_int64(st, 1, block_id);
		bind_text(st, 2, "worker");
		bind_text(st, 3, r.parts[i].worker_id);
		ledger_bind_u64(st, 4, r.parts[i].amount);
		ledger_bind_u64(st, 5, r.parts[i].difficulty);
		ledger_bind_u64(st, 6, r.parts[i].shares);
		rc = verdict(l, m, run(l, S_PAYOUT));
	}
	if (rc == 0)
		log_info("ledger: block %" PRId64 ": reward %" PRIu64 " split over "
		    "%zu workers (window %" PRIu64 "/%" PRIu64 ", fee %" PRIu64 ")",
		    block_id, reward, r.nparts, r.window_difficulty, window_n,
		    r.fee);
	pplns_result_free(&r);
	return rc;
}

static int
apply_block(struct ledger *l, struct msg *m, const struct ledger_block *b,
    const uint8_t *hash, int64_t block_id)
{
	sqlite3_stmt *st = l->st[S_BLOCK];

	if ((unsigned)b->status >= LEDGER_BLOCK_COUNT ||
	    (b->has_reward && b->reward > INT64_MAX)) {
		m->refused = 1;
		return 1;
	}
	sqlite3_bind_int64(st, 1, block_id);
	sqlite3_bind_int64(st, 2, b->share_id);
	ledger_bind_u64(st, 3, b->height);
	sqlite3_bind_blob(st, 4, hash, (int)b->hash_len, SQLITE_STATIC);
	ledger_bind_u64(st, 5, b->network_difficulty);
	ledger_bind_u64(st, 6, b->window_n);
	sqlite3_bind_int(st, 7, (int)b->fee_bps);
	bind_text(st, 8, block_names[b->status]);
	if (b->has_reward)
		ledger_bind_u64(st, 9, b->reward);
	sqlite3_bind_int64(st, 10, m->at);
	sqlite3_bind_int64(st, 11, b->maturity > 0 ? b->maturity : 0);
	return verdict(l, m, run(l, S_BLOCK));
}

static int
apply_block_update(struct ledger *l, struct msg *m)
{
	sqlite3_stmt *st = l->st[S_BLOCK_UPDATE];

	if ((unsigned)m->u.bupd.status >= LEDGER_BLOCK_COUNT ||
	    (m->u.bupd.has_reward && m->u.bupd.reward > INT64_MAX)) {
		m->refused = 1;
		return 1;
	}
	sqlite3_bind_int64(st, 1, m->id);
	bind_text(st, 2, block_names[m->u.bupd.status]);
	sqlite3_bind_int64(st, 3, m->at);
	if (m->u.bupd.has_reward)
		ledger_bind_u64(st, 4, m->u.bupd.reward);
	return verdict(l, m, run(l, S_BLOCK_UPDATE));
}

/* Block messages (and a block share with its block) write several rows:
 * all of them or none (savepoint). */
static int
apply_savepointed(struct ledger *l, struct msg *m)
{
	int rc;

	if ((rc = verdict(l, m, run(l, S_SAVEPOINT))) != 0)
		return rc;
	if (m->node.type == M_SHARE) {
		rc = apply_share(l, m);
		if (rc == 0)
			rc = apply_block(l, m, &m->u.share.b, m->u.share.hash,
			    m->u.share.block_id);
		if (rc == 0)
			rc = write_payouts(l, m, m->u.share.block_id);
	} else {
		rc = m->node.type == M_BLOCK ? apply_block(l, m, &m->u.block.b,
		    m->u.block.hash, m->id) : apply_block_update(l, m);
		if (rc == 0)
			rc = write_payouts(l, m, m->id);
	}
	if (rc == 1 && run(l, S_ROLLBACK_TO) != SQLITE_DONE)
		return -1;
	if (run(l, S_RELEASE) != SQLITE_DONE)
		return -1;
	return rc;
}

static int
apply_job(struct ledger *l, struct msg *m)
{
	const struct ledger_job *j = &m->u.job.j;
	sqlite3_stmt *st = l->st[S_JOB];
	char target[17];

	snprintf(target, sizeof(target), "%016" PRIx64, j->target64);
	sqlite3_bind_int64(st, 1, m->id);
	sqlite3_bind_int64(st, 2, j->session_id);
	bind_text(st, 3, m->u.job.upstream_job_id);
	sqlite3_bind_blob(st, 4, m->u.job.blob, (int)j->blob_len, SQLITE_STATIC);
	sqlite3_bind_blob(st, 5, m->u.job.seed, (int)j->seed_len, SQLITE_STATIC);
	ledger_bind_u64(st, 6, j->height);
	sqlite3_bind_text(st, 7, target, -1, SQLITE_TRANSIENT);
	ledger_bind_u64(st, 8, j->difficulty);
	sqlite3_bind_int64(st, 9, j->nbits);
	if (j->block_target != NULL)
		sqlite3_bind_blob(st, 10, m->u.job.block_target, 32,
		    SQLITE_STATIC);
	sqlite3_bind_int64(st, 11, m->at);
	sqlite3_bind_int(st, 12, j->clean ? 1 : 0);
	return verdict(l, m, run(l, S_JOB));
}

static int
apply_heartbeat(struct ledger *l, struct msg *m)
{
	const struct ledger_heartbeat *h = &m->u.hb.h;
	sqlite3_stmt *st = l->st[S_WORKER_ENSURE];
	int rc;

	bind_text(st, 1, m->u.hb.worker_id);
	sqlite3_bind_int64(st, 2, m->at);
	if ((rc = verdict(l, m, run(l, S_WORKER_ENSURE))) != 0)
		return rc;
	st = l->st[S_HEARTBEAT];
	bind_text(st, 1, m->u.hb.worker_id);
	sqlite3_bind_int64(st, 2, m->at);
	sqlite3_bind_double(st, 3, h->hashrate);
	ledger_bind_u64(st, 4, h->shares_valid);
	ledger_bind_u64(st, 5, h->shares_invalid);
	ledger_bind_u64(st, 6, h->hashes_total);
	sqlite3_bind_int64(st, 7, h->uptime_ms);
	sqlite3_bind_double(st, 8, h->cpu_usage);
	sqlite3_bind_double(st, 9, h->memory_usage);
	sqlite3_bind_double(st, 10, h->temperature);
	if ((rc = verdict(l, m, run(l, S_HEARTBEAT))) != 0)
		return rc;
	st = l->st[S_WORKER_SEEN];
	bind_text(st, 1, m->u.hb.worker_id);
	sqlite3_bind_int64(st, 2, m->at);
	return verdict(l, m, run(l, S_WORKER_SEEN));
}

/* Income and its split (ledger_money.c), all rows or none (savepoint). */
static int
apply_income(struct ledger *l, struct msg *m)
{
	char err[512];
	int64_t id = 0;
	int rc;

	if ((rc = verdict(l, m, run(l, S_SAVEPOINT))) != 0)
		return rc;
	rc = ledger_db_income_record(l->db, &m->u.income.rules,
	    &m->u.income.in, &id, err, sizeof(err));
	if (rc == MONEY_EIO)
		return -1;
	if (rc != 0) {
		log_warnx("ledger: income %s not recorded: %s",
		    m->u.income.ref, err);
		m->refused = 1;
		if (run(l, S_ROLLBACK_TO) != SQLITE_DONE)
			return -1;
	} else if (id != 0)
		log_info("ledger: income %" PRId64 " (%s) recorded and split",
		    id, m->u.income.ref);
	if (run(l, S_RELEASE) != SQLITE_DONE)
		return -1;
	return rc != 0 ? 1 : 0;
}

/*
 * A node block's place in the chain (ledger_block_chain), in a savepoint:
 * the block row, then for an orphaned or rejected block the reversal of
 * its income (a row with the same amount that counts negatively, its
 * splits negated), once.
 */
static int
apply_block_chain(struct ledger *l, struct msg *m)
{
	sqlite3_stmt *st = NULL;
	char hex[65], ref[MONEY_REF_MAX], rref[MONEY_REF_MAX];
	int64_t income_id = 0, rev;
	int rc, reverse;

	if ((unsigned)m->u.chain.status >= LEDGER_BLOCK_COUNT) {
		m->refused = 1;
		return 1;
	}
	hex_encode(m->u.chain.hash, 32, hex, sizeof(hex));
	if ((rc = verdict(l, m, run(l, S_SAVEPOINT))) != 0)
		return rc;
	sqlite3_prepare_v2(l->db, "UPDATE blocks SET status = ?2, confirmations "
	    "= CASE WHEN ?3 >= 0 THEN ?3 ELSE confirmations END, updated_at = ?4, "
	    "matured_at = CASE WHEN ?5 AND matured_at IS NULL THEN ?4 ELSE "
	    "matured_at END, node_answer = CASE WHEN ?6 THEN ?7 ELSE node_answer "
	    "END WHERE hash = ?1", -1, &st, NULL);
	if (st != NULL) {
		sqlite3_bind_blob(st, 1, m->u.chain.hash, 32, SQLITE_STATIC);
		bind_text(st, 2, block_names[m->u.chain.status]);
		sqlite3_bind_int64(st, 3, m->u.chain.confirmations);
		sqlite3_bind_int64(st, 4, m->at);
		sqlite3_bind_int(st, 5, m->u.chain.mature);
		sqlite3_bind_int(st, 6, m->u.chain.has_answer);
		bind_text(st, 7, m->u.chain.answer);
	}
	if ((rc = ledger_db_step_once(st)) != SQLITE_DONE)
		goto fail;
	reverse = m->u.chain.status == LEDGER_BLOCK_ORPHANED ||
	    m->u.chain.status == LEDGER_BLOCK_REJECTED;
	snprintf(ref, sizeof(ref), "block:%s", hex);
	snprintf(rref, sizeof(rref), "reversal:block:%s", hex);
	if (reverse) {
		st = NULL;
		sqlite3_prepare_v2(l->db, "SELECT i.id FROM income i WHERE i.ref = "
		    "?1 AND i.reverses IS NULL AND NOT EXISTS (SELECT 1 FROM "
		    "income x WHERE x.reverses = i.id)", -1, &st, NULL);
		if (st == NULL)
			goto fail;
		bind_text(st, 1, ref);
		if (sqlite3_step(st) == SQLITE_ROW)
			income_id = sqlite3_column_int64(st, 0);
		sqlite3_finalize(st);
	}
	if (income_id != 0) {
		st = NULL;
		sqlite3_prepare_v2(l->db, "INSERT INTO income (amount, at, source, "
		    "ref, note, block_id, reverses, recorded_at) SELECT amount, ?2, "
		    "source, ?3, ?4, block_id, id, ?2 FROM income WHERE id = ?1",
		    -1, &st, NULL);
		if (st != NULL) {
			sqlite3_bind_int64(st, 1, income_id);
			sqlite3_bind_int64(st, 2, m->at);
			bind_text(st, 3, rref);
			bind_text(st, 4, m->u.chain.status == LEDGER_BLOCK_ORPHANED ?
			    "block orphaned by a reorganisation" :
			    "block rejected by the node");
		}
		if ((rc = ledger_db_step_once(st)) != SQLITE_DONE)
			goto fail;
		rev = sqlite3_last_insert_rowid(l->db);
		st = NULL;
		sqlite3_prepare_v2(l->db, "INSERT INTO splits (income_id, kind, "
		    "worker_id, owner_id, bps, difficulty, shares, worker_amount, "
		    "amount, worker_extra, owner_extra) SELECT ?2, kind, worker_id, "
		    "owner_id, bps, difficulty, shares, -worker_amount, -amount, "
		    "worker_extra, owner_extra FROM splits WHERE income_id = ?1 "
		    "ORDER BY id", -1, &st, NULL);
		if (st != NULL) {
			sqlite3_bind_int64(st, 1, income_id);
			sqlite3_bind_int64(st, 2, rev);
		}
		if ((rc = ledger_db_step_once(st)) != SQLITE_DONE)
			goto fail;
		log_info("ledger: income %" PRId64 " (%s) reversed by income %"
		    PRId64 ": block %s", income_id, ref, rev,
		    ledger_block_status_name(m->u.chain.status));
	}
	if (run(l, S_RELEASE) != SQLITE_DONE)
		return -1;
	return 0;
fail:
	log_warnx("ledger: block %s not updated: %s", hex, sqlite3_errmsg(l->db));
	m->refused = 1;
	if (run(l, S_ROLLBACK_TO) != SQLITE_DONE || run(l, S_RELEASE) !=
	    SQLITE_DONE)
		return -1;
	return 1;
}

/* Writes one message inside the open transaction: 0, 1 refused, -1 abort. */
static int
apply(struct ledger *l, struct msg *m)
{
	sqlite3_stmt *st;

	m->refused = 0;
	switch (m->node.type) {
	case M_WORKER:
		st = l->st[S_WORKER_UPSERT];
		bind_text(st, 1, m->u.worker.id);
		bind_text(st, 2, m->u.worker.name);
		sqlite3_bind_int64(st, 3, m->at);
		sqlite3_bind_int(st, 4, m->u.worker.threads);
		bind_text(st, 5, m->u.worker.version);
		return verdict(l, m, run(l, S_WORKER_UPSERT));
	case M_HEARTBEAT:
		return apply_heartbeat(l, m);
	case M_SESSION_BEGIN:
		st = l->st[S_SESSION_BEGIN];
		sqlite3_bind_int64(st, 1, m->id);
		bind_text(st, 2, m->u.url);
		sqlite3_bind_int64(st, 3, m->at);
		return verdict(l, m, run(l, S_SESSION_BEGIN));
	case M_SESSION_END:
	case M_JOB_SUPERSEDE:
	case M_LEASE_RELEASE: {
		enum stmt s = m->node.type == M_SESSION_END ? S_SESSION_END :
		    m->node.type == M_JOB_SUPERSEDE ? S_JOB_SUPERSEDE :
		    S_LEASE_RELEASE;

		sqlite3_bind_int64(l->st[s], 1, m->id);
		sqlite3_bind_int64(l->st[s], 2, m->at);
		return verdict(l, m, run(l, s));
	}
	case M_JOB:
		return apply_job(l, m);
	case M_LEASE:
		st = l->st[S_LEASE];
		sqlite3_bind_int64(st, 1, m->id);
		sqlite3_bind_int64(st, 2, m->u.lease.job_id);
		bind_text(st, 3, m->u.lease.worker_id);
		ledger_bind_u64(st, 4, m->u.lease.start);
		ledger_bind_u64(st, 5, m->u.lease.end);
		sqlite3_bind_int64(st, 6, m->at);
		ledger_bind_u64(st, 7, m->u.lease.difficulty);
		if (m->u.lease.has_ext)
			ledger_bind_u64(st, 8, m->u.lease.ext);
		return verdict(l, m, run(l, S_LEASE));
	case M_SHARE:
		return m->u.share.has_block ? apply_savepointed(l, m) :
		    apply_share(l, m);
	case M_ACCESS:
		if ((unsigned)m->u.access.a >= LEDGER_ACCESS_COUNT) {
			m->refused = 1;
			return 1;
		}
		st = l->st[S_ACCESS];
		bind_text(st, 1, m->u.access.worker_id);
		bind_text(st, 2, access_names[m->u.access.a]);
		bind_text(st, 3, m->u.access.reason);
		sqlite3_bind_int64(st, 4, m->at);
		return verdict(l, m, run(l, S_ACCESS));
	case M_SHARE_FATE:
		if ((unsigned)m->u.fate.fate >= LEDGER_FATE_COUNT) {
			m->refused = 1;
			return 1;
		}
		st = l->st[S_SHARE_FATE];
		sqlite3_bind_int64(st, 1, m->id);
		bind_text(st, 2, fate_names[m->u.fate.fate]);
		if (m->u.fate.has_reason)
			bind_text(st, 3, m->u.fate.reason);
		sqlite3_bind_int64(st, 4, m->at);
		return verdict(l, m, run(l, S_SHARE_FATE));
	case M_BLOCK:
	case M_BLOCK_UPDATE:
		return apply_savepointed(l, m);
	case M_SETTING:
		st = l->st[S_SETTING];
		bind_text(st, 1, m->u.setting.key);
		bind_text(st, 2, m->u.setting.value);
		return verdict(l, m, run(l, S_SETTING));
	case M_INCOME:
		return apply_income(l, m);
	case M_BLOCK_CHAIN:
		return apply_block_chain(l, m);
	case M_FLUSH:
		return 0;
	case M_MAX_PAGES: {
		char sql[64];

		/* 0 lifts the cap: SQLite's own maximum */
		snprintf(sql, sizeof(sql), "PRAGMA max_page_count = %" PRIu64,
		    m->u.max_pages ? m->u.max_pages : (uint64_t)4294967294U);
		sqlite3_exec(l->db, sql, NULL, NULL, NULL);
		return 0;
	}
	default:
		fatalx("ledger: unexpected message %d", m->node.type);
	}
}

struct batch {
	struct msg *head, *tail;
	int rows;
	int flush;	/* a flush asks to commit now */
	int aborted;
	int wrote;	/* messages that write rows (not flush, pragma) */
};

static void
batch_add(struct ledger *l, struct batch *b, struct msg *m)
{
	m->next = NULL;
	if (b->tail)
		b->tail->next = m;
	else
		b->head = m;
	b->tail = m;
	b->rows++;
	if (m->node.type == M_FLUSH)
		b->flush = 1;
	else if (m->node.type != M_MAX_PAGES)
		b->wrote++;
	if (!b->aborted && apply(l, m) < 0)
		b->aborted = 1;
}

static void
set_writable(struct ledger *l, int w)
{
	if (atomic_exchange(&l->writable, w) == w)
		return;
	if (w)
		log_info("ledger %s: writable again, accepting shares", l->path);
	else
		log_error("ledger %s: NOT WRITABLE (%s): share appends fail "
		    "until writes succeed again; retrying every %d ms", l->path,
		    sqlite3_errmsg(l->db), l->o.retry_ms);
	if (l->o.on_writable != NULL)
		l->o.on_writable(l->o.arg, w);
}

static void
record_commit(struct ledger *l, double secs, int ok, int rows)
{
	int i;

	pthread_mutex_lock(&l->stats_lock);
	if (ok) {
		l->stats.commits++;
		l->stats.rows += (uint64_t)rows;
		l->stats.commit_seconds_sum += secs;
		if (secs > l->stats.commit_seconds_max)
			l->stats.commit_seconds_max = secs;
		for (i = 0; i < LEDGER_LATENCY_BUCKETS; i++)
			if (secs <= ledger_latency_bounds[i])
				l->stats.commit_bucket[i]++;
	} else
		l->stats.commit_failures++;
	pthread_mutex_unlock(&l->stats_lock);
}

/* After COMMIT: completions in order. */
static void
batch_committed(struct ledger *l, struct batch *b)
{
	struct msg *m, *next;

	for (m = b->head; m != NULL; m = next) {
		next = m->next;
		if (m->node.type == M_SHARE) {
			if (m->refused)
				msg_fail(l, m, LEDGER_ERR_REFUSED);
			else {
				if (m->u.share.cb != NULL)
					m->u.share.cb(m->u.share.arg, m->id,
					    LEDGER_COMMITTED);
				msg_free(m);
			}
		} else if (m->node.type == M_FLUSH) {
			flush_done(m->u.flush, LEDGER_COMMITTED);
			msg_free(m);
		} else
			msg_free(m);
	}
}

static void
drop_heartbeat(struct ledger *l, struct msg *m)
{
	pthread_mutex_lock(&l->stats_lock);
	l->stats.heartbeats_dropped++;
	pthread_mutex_unlock(&l->stats_lock);
	msg_free(m);
}

static void
retain(struct ledger *l, struct msg *m)
{
	m->next = NULL;
	if (l->retry_tail)
		l->retry_tail->next = m;
	else
		l->retry = m;
	l->retry_tail = m;
}

/* After ROLLBACK: shares fail (the worker retries), heartbeats are
 * dropped, everything else is kept, in order, for the next attempt. */
static void
batch_failed(struct ledger *l, struct batch *b)
{
	struct msg *m, *next;

	for (m = b->head; m != NULL; m = next) {
		next = m->next;
		if (m->node.type == M_SHARE)
			msg_fail(l, m, LEDGER_ERR_UNWRITABLE);
		else if (m->node.type == M_HEARTBEAT)
			drop_heartbeat(l, m);
		else
			retain(l, m);
	}
}

static int
queue_done(struct ledger *l)
{
	int done;

	pthread_mutex_lock(&l->q.lock);
	done = l->q.closed && l->q.len == 0;
	pthread_mutex_unlock(&l->q.lock);
	return done;
}

/* One transaction: retained messages, first (may be NULL), then whatever
 * arrives within batch_ms, up to batch_rows. */
static void
transaction(struct ledger *l, struct msg *first)
{
	struct batch b = { 0 };
	struct msg *m, *next;
	int64_t t0, deadline = clock_mono_ms() + l->o.batch_ms;
	int rc;

	rc = run(l, S_BEGIN);
	if (rc != SQLITE_DONE)
		b.aborted = 1;
	m = l->retry;
	l->retry = l->retry_tail = NULL;
	for (; m != NULL; m = next) {
		next = m->next;
		batch_add(l, &b, m);
	}
	if (first != NULL)
		batch_add(l, &b, first);
	while (!b.aborted && !b.flush && b.rows < l->o.batch_rows) {
		int64_t left = deadline - clock_mono_ms();

		if (left <= 0 || (m = (struct msg *)mpscq_pop(&l->q,
		    (int)left)) == NULL)
			break;
		batch_add(l, &b, m);
	}
	t0 = clock_mono_us();
	if (!b.aborted && (rc = run(l, S_COMMIT)) != SQLITE_DONE)
		b.aborted = 1;
	if (b.aborted) {
		if (!sqlite3_get_autocommit(l->db))
			run(l, S_ROLLBACK);
		record_commit(l, 0, 0, 0);
		set_writable(l, 0);
		l->retry_at = clock_mono_ms() + l->o.retry_ms;
		batch_failed(l, &b);
		return;
	}
	record_commit(l, (double)(clock_mono_us() - t0) / 1e6, 1, b.rows);
	/* an empty commit proves nothing on a full disk: wait for a row */
	if (b.wrote > 0)
		set_writable(l, 1);
	else if (!atomic_load(&l->writable))
		l->retry_at = clock_mono_ms() + l->o.retry_ms;
	batch_committed(l, &b);
}

/* Rolls heartbeats older than the retention into hourly rows. */
static void
housekeep(struct ledger *l)
{
	char sql[1400];
	int64_t cutoff;

	l->housekeep_at = clock_mono_ms() + 60000;
	if (l->o.heartbeat_retention_ms <= 0 || !atomic_load(&l->writable))
		return;
	cutoff = clock_wall_ms() - l->o.heartbeat_retention_ms;
	cutoff -= cutoff % 3600000;
	snprintf(sql, sizeof(sql),
	    "BEGIN IMMEDIATE;"
	    "INSERT INTO heartbeats_hourly (worker_id, hour, beats, hashrate_avg,"
	    " hashrate_max, hashes_total_max)"
	    " SELECT worker_id, (at / 3600000) * 3600000, count(*), avg(hashrate),"
	    " max(hashrate), max(hashes_total) FROM heartbeats WHERE at < %1$" PRId64
	    " GROUP BY worker_id, (at / 3600000) * 3600000"
	    " ON CONFLICT (worker_id, hour) DO UPDATE SET"
	    " hashrate_avg = (heartbeats_hourly.hashrate_avg * heartbeats_hourly.beats"
	    " + excluded.hashrate_avg * excluded.beats)"
	    " / (heartbeats_hourly.beats + excluded.beats),"
	    " beats = heartbeats_hourly.beats + excluded.beats,"
	    " hashrate_max = CASE WHEN excluded.hashrate_max > heartbeats_hourly.hashrate_max"
	    " THEN excluded.hashrate_max ELSE heartbeats_hourly.hashrate_max END,"
	    " hashes_total_max = CASE WHEN excluded.hashes_total_max >"
	    " heartbeats_hourly.hashes_total_max THEN excluded.hashes_total_max"
	    " ELSE heartbeats_hourly.hashes_total_max END;"
	    "DELETE FROM heartbeats WHERE at < %1$" PRId64 ";"
	    "COMMIT", cutoff);
	if (sqlite3_exec(l->db, sql, NULL, NULL, NULL) != SQLITE_OK) {
		log_warnx("ledger: rolling up heartbeats: %s",
		    sqlite3_errmsg(l->db));
		if (!sqlite3_get_autocommit(l->db))
			sqlite3_exec(l->db, "ROLLBACK", NULL, NULL, NULL);
	}
}

/* One retention pass: rolls one range of old shares (its own
 * transaction).  While ranges come, the next pass follows the next
 * transaction of queued rows; otherwise in ten minutes (a pass reads the
 * windows of the next split and of every block: not every minute). */
static void
retain_shares(struct ledger *l)
{
	struct ledger_retention rt = {
		.retention_ms = l->o.share_retention_ms,
		.batch = l->o.retention_batch,
		.prop = l->o.retention_prop,
		.window_factor_milli = l->o.retention_window_factor_milli,
		.window_abs = l->o.retention_window_abs,
	};
	struct ledger_retain_result res;
	int rc;

	l->retain_at = clock_mono_ms() + 600000;
	if (rt.retention_ms <= 0 || !atomic_load(&l->writable))
		return;
	rc = ledger_db_retain_once(l->db, &rt, clock_wall_ms(), &res);
	pthread_mutex_lock(&l->stats_lock);
	l->stats.retention_idle = rc == 0 && res.range_id == 0;
	if (res.range_id != 0) {
		l->stats.shares_rolled += (uint64_t)res.shares;
		l->stats.ranges_rolled++;
	}
	pthread_mutex_unlock(&l->stats_lock);
	if (rc != 0)
		log_warnx("ledger %s: retention pass failed; next in ten minutes",
		    l->path);
	else if (res.range_id != 0) {
		log_info("ledger: retention rolled shares %" PRId64 "..%" PRId64
		    " (%" PRId64 " shares) into range %" PRId64 " (%" PRId64
		    " rollup rows; PPLNS keeps shares from %" PRId64 ")",
		    res.first_share_id, res.last_share_id, res.shares,
		    res.range_id, res.rows, res.keep_from);
		l->retain_at = clock_mono_ms();
	}
}

/* Unwritable: fail shares and drop heartbeats as they come, keep the
 * rest, until the next attempt is due. */
static void
wait_retry(struct ledger *l)
{
	struct msg *m;
	int64_t left;

	while ((left = l->retry_at - clock_mono_ms()) > 0) {
		if ((m = (struct msg *)mpscq_pop(&l->q, (int)left)) == NULL) {
			if (queue_done(l))
				return;
			continue;
		}
		if (m->node.type == M_SHARE)
			msg_fail(l, m, LEDGER_ERR_UNWRITABLE);
		else if (m->node.type == M_HEARTBEAT)
			drop_heartbeat(l, m);
		else
			retain(l, m);
	}
}

static void
writer_close(struct ledger *l)
{
	struct msg *m, *next;
	int64_t deadline = clock_mono_ms() + l->o.close_timeout_ms;
	size_t lost = 0;

	while (l->retry != NULL && clock_mono_ms() < deadline) {
		wait_retry(l);
		transaction(l, NULL);
	}
	for (m = l->retry; m != NULL; m = next) {
		next = m->next;
		lost++;
		msg_fail(l, m, LEDGER_ERR_CLOSED);
	}
	l->retry = l->retry_tail = NULL;
	if (lost)
		log_error("ledger %s: closing unwritable: %zu records (jobs, "
		    "leases, fates; no acknowledged share) not written", l->path,
		    lost);
}

static void *
writer_main(void *arg)
{
	struct ledger *l = arg;
	struct msg *m;
	int64_t now, wait;

	for (;;) {
		if (!atomic_load(&l->writable)) {
			wait_retry(l);
			if (queue_done(l))
				break;
			if (l->retry != NULL) {
				transaction(l, NULL);
				continue;
			}
			/* nothing kept: the next real write is the probe (an
			 * empty transaction would succeed on a full disk) */
			if ((m = (struct msg *)mpscq_pop(&l->q, 1000)) != NULL)
				transaction(l, m);
			else if (queue_done(l))
				break;
			continue;
		}
		now = clock_mono_ms();
		if (now >= l->housekeep_at)
			housekeep(l);
		if (now >= l->retain_at)
			retain_shares(l);
		wait = (l->housekeep_at < l->retain_at ? l->housekeep_at :
		    l->retain_at) - now;
		if ((m = (struct msg *)mpscq_pop(&l->q, (int)(wait > 0 ?
		    wait : 1))) == NULL) {
			if (queue_done(l))
				break;
			continue;
		}
		transaction(l, m);
	}
	writer_close(l);
	return NULL;
}

void
ledger_close(struct ledger *l)
{
	int i;

	if (l == NULL)
		return;
	mpscq_close(&l->q);
	pthread_join(l->thread, NULL);
	for (i = 0; i < S_COUNT; i++)
		sqlite3_finalize(l->st[i]);
	/* the last connection out checkpoints and removes the WAL */
	if (sqlite3_close(l->db) != SQLITE_OK)
		log_warnx("ledger %s: close: %s", l->path, sqlite3_errmsg(l->db));
	mpscq_destroy(&l->q);
	pthread_mutex_destroy(&l->stats_lock);
	log_info("ledger %s: closed", l->path);
	free(l->path);
	free(l);
}

/* --- writes from outside the coordinator (coopmine-cli) --- */

int
ledger_access_record(const char *db_path, const char *worker_id,
    enum ledger_access a, const char *reason, int64_t at, char *err,
    size_t errlen)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	int rc = -1;

	if ((unsigned)a >= LEDGER_ACCESS_COUNT || worker_id == NULL ||
	    *worker_id == '\0' || strlen(worker_id) > 64) {
		snprintf(err, errlen, "worker id must be 1 to 64 bytes");
		return -1;
	}
	/* The coordinator may be writing: wait for it, durably. */
	if ((db = ledger_db_open_current(db_path, 0, 10000, err, errlen)) == NULL)
		goto out;
	if (sqlite3_exec(db, "PRAGMA synchronous = FULL", NULL, NULL, NULL) !=
	    SQLITE_OK || sqlite3_prepare_v2(db, "INSERT INTO worker_access "
	    "(worker_id, action, reason, at, source) VALUES (?1, ?2, ?3, ?4, "
	    "'cli')", -1, &st, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "ledger %s: %s", db_path, sqlite3_errmsg(db));
		goto out;
	}
	sqlite3_bind_text(st, 1, worker_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, access_names[a], -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, reason != NULL ? reason : "", -1,
	    SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, at);
	if (sqlite3_step(st) != SQLITE_DONE) {
		snprintf(err, errlen, "ledger %s: %s", db_path, sqlite3_errmsg(db));
		goto out;
	}
	rc = 0;
out:
	sqlite3_finalize(st);
	sqlite3_close(db);
	return rc;
}
