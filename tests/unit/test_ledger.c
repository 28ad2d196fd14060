/*
 * test_ledger.c: the ledger through its public API (src/coordinator/
 * ledger.h): commits before acknowledgements, append-only shares, payouts,
 * recovery after reopen, migration from schema step 1, bad files refused,
 * a full disk (SQLite's max_page_count) stopping and resuming shares, and
 * heartbeat retention.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "common/clock.h"
#include "common/log.h"
#include "coordinator/ledger.h"
#include "tap.h"

static char dir[256];

struct acks {
	pthread_mutex_t lock;
	int ok, unwritable, refused, other;
	int64_t last_ok;
	int64_t *ok_ids;
	size_t n_ok_ids;
};

static void
ack_cb(void *arg, int64_t id, int status)
{
	struct acks *a = arg;

	pthread_mutex_lock(&a->lock);
	if (status == LEDGER_COMMITTED) {
		a->ok++;
		a->last_ok = id;
		if (a->ok_ids != NULL)
			a->ok_ids[a->n_ok_ids++] = id;
	} else if (status == LEDGER_ERR_UNWRITABLE)
		a->unwritable++;
	else if (status == LEDGER_ERR_REFUSED)
		a->refused++;
	else
		a->other++;
	pthread_mutex_unlock(&a->lock);
}

static void
path_of(char *buf, size_t len, const char *name)
{
	snprintf(buf, len, "%s/%s", dir, name);
}

static struct ledger *
open_at(const char *path, char *err, size_t errlen)
{
	struct ledger_opts o;

	ledger_opts_default(&o);
	o.path = path;
	o.batch_ms = 2;
	o.retry_ms = 50;
	return ledger_open(&o, err, errlen);
}

static int64_t
query_int(const char *path, const char *sql)
{
	sqlite3 *db;
	sqlite3_stmt *st;
	int64_t v = -1;

	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
	    sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK) {
		if (sqlite3_step(st) == SQLITE_ROW)
			v = sqlite3_column_int64(st, 0);
		sqlite3_finalize(st);
	}
	sqlite3_close(db);
	return v;
}

static int
exec_rw(const char *path, const char *sql)
{
	sqlite3 *db;
	int rc;

	if (sqlite3_open(path, &db) != SQLITE_OK)
		return -1;
	rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
	sqlite3_close(db);
	return rc;
}

static void
count_violation(void *arg, const char *v)
{
	int *n = arg;

	(*n)++;
	printf("# violation: %s\n", v);
}

static int
audit(const char *path)
{
	char err[512];
	struct ledger_reader *r = ledger_reader_open(path, err, sizeof(err));
	int n = 0, rc;

	if (r == NULL) {
		printf("# %s\n", err);
		return -1;
	}
	rc = ledger_audit(r, count_violation, &n);
	ledger_reader_close(r);
	return rc;
}

static int64_t
share(struct ledger *l, int64_t job, int64_t lease, const char *w,
    uint32_t nonce, enum ledger_reason reason, enum ledger_fate fate,
    int block, struct acks *a)
{
	struct ledger_share s = { 0 };
	uint8_t result[32];

	memset(result, 0xab, sizeof(result));
	s.job_id = job;
	s.lease_id = lease;
	s.worker_id = w;
	s.nonce = nonce;
	s.result = result;
	s.reason = reason;
	s.difficulty = reason == LEDGER_REASON_OK ? 100 : 0;
	s.hash_difficulty = 150;
	s.block_candidate = block;
	s.upstream = reason == LEDGER_REASON_OK ? fate : LEDGER_FATE_NOT_NEEDED;
	s.created_at = clock_wall_ms();
	return ledger_append_share(l, &s, ack_cb, a);
}

struct fixture {
	int64_t session, job, lease_a, lease_b;
};

static void
setup_job(struct ledger *l, struct fixture *f)
{
	struct ledger_worker w = { "alice", "Alice", 4, "1.0", clock_wall_ms() };
	struct ledger_job j = { 0 };
	uint8_t blob[80] = { 1 }, seed[32] = { 2 };

	ledger_worker_seen(l, &w);
	w.id = "bob";
	w.name = "Bob";
	ledger_worker_seen(l, &w);
	f->session = ledger_session_begin(l, "stratum+tcp://127.0.0.1:1",
	    clock_wall_ms());
	j.session_id = f->session;
	j.upstream_job_id = "job-a";
	j.blob = blob;
	j.blob_len = sizeof(blob);
	j.seed = seed;
	j.seed_len = sizeof(seed);
	j.height = 1000;
	j.target64 = 0x00000000ffffffffULL;
	j.difficulty = 0x100000001ULL;
	j.nbits = 0x1d00ffff;
	j.received_at = clock_wall_ms();
	j.clean = 1;
	f->job = ledger_job_add(l, &j);
	f->lease_a = ledger_lease_add(l, f->job, "alice", 0, 1000, 100,
	    0, 0, clock_wall_ms());
	f->lease_b = ledger_lease_add(l, f->job, "bob", 1000, 2000, 100,
	    0, 0, clock_wall_ms());
}

static void
test_basic(void)
{
	char path[512], err[512];
	struct acks a = { PTHREAD_MUTEX_INITIALIZER, 0, 0, 0, 0, 0, NULL, 0 };
	struct fixture f;
	struct ledger *l;
	struct ledger_recovery rec;
	struct ledger_reader *r;
	struct ledger_block b = { 0 };
	struct ledger_stats st;
	struct ledger_share_row *sh;
	struct ledger_worker_row *wr;
	struct ledger_payout_row *po;
	struct ledger_block_row *bl;
	struct ledger_job_row *jr;
	size_t n;
	int64_t pending, blockshare, block, last;
	uint8_t hash[32] = { 9 };
	uint32_t i;
	int rc;

	path_of(path, sizeof(path), "basic.db");
	l = open_at(path, err, sizeof(err));
	ok(l != NULL, "a new ledger opens (%s)", l ? "ok" : err);
	if (l == NULL)
		return;
	setup_job(l, &f);
	for (i = 0; i < 5; i++)
		share(l, f.job, f.lease_a, "alice", i, LEDGER_REASON_OK,
		    LEDGER_FATE_NOT_NEEDED, 0, &a);
	for (i = 0; i < 4; i++)
		share(l, f.job, f.lease_b, "bob", 1000 + i, LEDGER_REASON_OK,
		    LEDGER_FATE_NOT_NEEDED, 0, &a);
	share(l, f.job, f.lease_a, "alice", 7, LEDGER_REASON_LOW_DIFFICULTY,
	    LEDGER_FATE_NOT_NEEDED, 0, &a);
	share(l, 0, 0, "mallory", 7, LEDGER_REASON_UNKNOWN_JOB,
	    LEDGER_FATE_NOT_NEEDED, 0, &a);
	pending = share(l, f.job, f.lease_a, "alice", 10, LEDGER_REASON_OK,
	    LEDGER_FATE_PENDING, 0, &a);
	blockshare = share(l, f.job, f.lease_b, "bob", 1010, LEDGER_REASON_OK,
	    LEDGER_FATE_PENDING, 1, &a);
	ok(ledger_flush(l, 10000) == LEDGER_COMMITTED, "flush commits");
	ok(a.ok == 13 && a.refused == 0, "every share acknowledged after "
	    "commit (%d ok)", a.ok);
	ok(query_int(path, "SELECT count(*) FROM shares") == 13,
	    "acknowledged shares are on disk");

	share(l, f.job, f.lease_a, "alice", 3, LEDGER_REASON_OK,
	    LEDGER_FATE_NOT_NEEDED, 0, &a);
	ledger_flush(l, 10000);
	ok(a.refused == 1, "a second credit for the same (job, nonce) is "
	    "refused by the ledger");

	ledger_share_fate(l, pending, LEDGER_FATE_SUBMITTED, NULL,
	    clock_wall_ms());
	ledger_share_fate(l, pending, LEDGER_FATE_REJECTED, "Low difficulty",
	    clock_wall_ms());
	b.share_id = blockshare;
	b.height = 1000;
	b.hash = hash;
	b.hash_len = sizeof(hash);
	b.network_difficulty = 300;
	b.window_n = pplns_window_n(300, 2000, 0);	/* 600: 6 shares */
	b.fee_bps = 100;
	b.status = LEDGER_BLOCK_CANDIDATE;
	b.has_reward = 1;
	b.reward = 600000000001ULL;
	b.found_at = clock_wall_ms();
	block = ledger_block_add(l, &b);
	ledger_block_update(l, block, LEDGER_BLOCK_ACCEPTED, 0, 0,
	    clock_wall_ms());
	ledger_setting_put(l, "pplns_window_n", "600");
	ok(ledger_flush(l, 10000) == LEDGER_COMMITTED, "block committed");
	ok(query_int(path, "SELECT sum(amount) FROM payouts WHERE block_id = 1")
	    == 600000000001LL, "payouts sum exactly to the reward");
	ok(query_int(path, "SELECT amount FROM payouts WHERE kind = 'fee'") ==
	    6000000000LL, "fee row: 1%% of the reward");
	ok(query_int(path, "SELECT sum(difficulty) FROM pplns_window_workers "
	    "WHERE block_id = 1") == 600, "the pplns_window view covers N");
	ok(query_int(path, "SELECT count(*) FROM shares WHERE upstream = "
	    "'rejected' AND upstream_reason = 'Low difficulty'") == 1,
	    "the pool's verdict and reason are recorded");
	ok(query_int(path, "SELECT status = 'accepted' FROM blocks WHERE id = 1")
	    == 1, "block status updated");
	ok(query_int(path, "SELECT count(*) FROM workers WHERE id = 'mallory'")
	    == 1, "a share from an unregistered sender still has its worker row");

	ok(exec_rw(path, "UPDATE shares SET difficulty = 1 WHERE id = 1") ==
	    SQLITE_CONSTRAINT, "UPDATE of a credited field is refused");
	ok(exec_rw(path, "DELETE FROM shares WHERE id = 1") == SQLITE_CONSTRAINT,
	    "DELETE of a share is refused");
	ok(exec_rw(path, "UPDATE payouts SET amount = 0") == SQLITE_CONSTRAINT,
	    "payouts cannot be changed");

	r = ledger_reader_open(path, err, sizeof(err));
	ok(r != NULL, "a reader opens while the writer runs");
	ok(r != NULL && ledger_read_shares(r, 0, NULL, 3, 0, &sh, &n) == 0 &&
	    n == 3 && sh[0].id == 13, "recent shares, newest first");
	free(sh);
	ok(r != NULL && ledger_read_shares(r, 0, "bob", 0, 0, &sh, &n) == 0 &&
	    n == 5 && strcmp(sh[4].worker_id, "bob") == 0,
	    "shares of one worker");
	free(sh);
	ok(r != NULL && ledger_read_workers(r, &wr, &n) == 0 && n == 3,
	    "per-worker totals");
	free(wr);
	ok(r != NULL && ledger_read_payouts(r, block, &po, &n) == 0 && n == 3 &&
	    po[2].fee && !po[0].fee, "payouts of a block: 2 + the fee");
	free(po);
	ok(r != NULL && ledger_read_blocks(r, 10, 0, &bl, &n) == 0 && n == 1 &&
	    bl[0].hash_len == 32, "blocks");
	free(bl);
	ok(r != NULL && ledger_read_jobs(r, 10, 0, &jr, &n) == 0 && n == 1,
	    "jobs");
	free(jr);
	ledger_reader_close(r);
	ok(audit(path) == 0, "audit passes");

	ledger_stats_get(l, &st);
	ok(st.commits > 0 && st.rows >= 14 && st.writable == 1 &&
	    st.commit_bucket[LEDGER_LATENCY_BUCKETS - 1] == st.commits,
	    "commit figures (%" PRIu64 " commits)", st.commits);
	ledger_close(l);

	l = open_at(path, err, sizeof(err));
	ok(l != NULL, "reopens");
	if (l == NULL)
		return;
	rc = ledger_recover(l, 600, 0, &rec, err, sizeof(err));
	ok(rc == 0, "recovery reads the ledger");
	ok(rec.next_share_id == 14 && rec.next_job_id == 2 &&
	    rec.next_lease_id == 3 && rec.next_block_id == 2 &&
	    rec.next_session_id == 2, "next ids continue after the last rows");
	ok(rec.nworkers == 3 && strcmp(rec.workers[0].id, "alice") == 0 &&
	    rec.workers[0].shares_valid == 6 &&
	    rec.workers[0].shares_invalid == 1 &&
	    rec.workers[0].difficulty_valid == 600, "worker counters restored");
	ok(rec.noutbox == 1 && rec.outbox[0].share_id == blockshare &&
	    rec.outbox[0].job_superseded == 1 && rec.outbox[0].nonce == 1010,
	    "outbox: the valid share still pending upstream");
	ok(rec.nblocks == 1 && rec.blocks[0].status == LEDGER_BLOCK_ACCEPTED &&
	    rec.blocks[0].reward == 600000000001ULL, "blocks and their states");
	ok(rec.totals.shares_valid == 11 && rec.totals.shares_invalid == 2 &&
	    rec.totals.by_reason[LEDGER_REASON_UNKNOWN_JOB] == 1 &&
	    rec.totals.blocks[LEDGER_BLOCK_ACCEPTED] == 1,
	    "metrics totals restored");
	ok(rec.window.window_difficulty == 600 && rec.window.nparts == 2,
	    "PPLNS window restored");
	ok(query_int(path, "SELECT count(*) FROM leases WHERE released_at IS "
	    "NULL") == 0, "leases left open by the last run are released");
	ledger_recovery_free(&rec);
	last = share(l, 1, 1, "alice", 500, LEDGER_REASON_OK,
	    LEDGER_FATE_NOT_NEEDED, 0, &a);
	ledger_flush(l, 10000);
	ok(last == 14 && a.last_ok == 14, "share ids continue after restart");
	ledger_close(l);
	ok(audit(path) == 0, "audit passes after restart");
}

static char *
slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf;
	long n;

	if (f == NULL)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = calloc(1, (size_t)n + 1);
	if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
		free(buf);
		buf = NULL;
	}
	fclose(f);
	return buf;
}

static void
test_migration(void)
{
	char path[512], fix[512], err[512];
	const char *src = getenv("COOPMINE_SRCDIR");
	struct ledger_recovery rec;
	struct ledger *l;
	char *sql;

	path_of(path, sizeof(path), "v1.db");
	snprintf(fix, sizeof(fix), "%s/tests/data/ledger-v1.sql",
	    src ? src : "..");
	sql = slurp(fix);
	ok(sql != NULL && exec_rw(path, sql) == SQLITE_OK,
	    "a schema-1 ledger from the fixture");
	free(sql);
	ok(query_int(path, "PRAGMA user_version") == 1, "fixture is version 1");
	l = open_at(path, err, sizeof(err));
	ok(l != NULL, "it opens and migrates (%s)", l ? "ok" : err);
	if (l == NULL)
		return;
	ok(ledger_recover(l, 25, 0, &rec, err, sizeof(err)) == 0 &&
	    rec.totals.shares_valid == 3 && rec.totals.shares_invalid == 1 &&
	    rec.noutbox == 2 && rec.nblocks == 1 && rec.next_share_id == 5,
	    "its rows survive the migration");
	ledger_recovery_free(&rec);
	ledger_close(l);
	ok(query_int(path, "PRAGMA user_version") == ledger_schema_version(),
	    "now at schema version %d", ledger_schema_version());
	ok(query_int(path, "SELECT difficulty FROM pplns_window_workers WHERE "
	    "block_id = 1 AND worker_id = 'alice'") == 15,
	    "views of step 2 work on the old rows");
	ok(audit(path) == 0, "audit of the migrated ledger passes");

	path_of(path, sizeof(path), "empty.db");
	close(creat(path, 0600));
	l = open_at(path, err, sizeof(err));
	ok(l != NULL, "an empty file becomes a ledger");
	ledger_close(l);
	ok(query_int(path, "PRAGMA user_version") == ledger_schema_version(),
	    "with every step applied");
}

static int
file_same(const char *path, const char *bytes, size_t n)
{
	char *s = slurp(path);
	int same = s != NULL && memcmp(s, bytes, n) == 0;

	free(s);
	return same;
}

static void
test_bad_files(void)
{
	char path[512], err[512], garbage[4096];
	struct ledger *l;
	FILE *f;
	size_t i;

	for (i = 0; i < sizeof(garbage); i++)
		garbage[i] = (char)('a' + i % 26);
	path_of(path, sizeof(path), "garbage.db");
	f = fopen(path, "w");
	fwrite(garbage, 1, sizeof(garbage), f);
	fclose(f);
	l = open_at(path, err, sizeof(err));
	ok(l == NULL && strstr(err, "not a SQLite database") != NULL,
	    "a foreign file is refused: %s", err);
	ok(file_same(path, garbage, sizeof(garbage)), "and left untouched");
	ledger_close(l);

	path_of(path, sizeof(path), "foreign.db");
	exec_rw(path, "CREATE TABLE accounts (id INTEGER PRIMARY KEY, balance "
	    "INTEGER); INSERT INTO accounts VALUES (1, 100)");
	l = open_at(path, err, sizeof(err));
	ok(l == NULL && strstr(err, "not a CoopMine ledger") != NULL,
	    "another application's SQLite database is refused: %s", err);
	ok(query_int(path, "SELECT balance FROM accounts") == 100 &&
	    query_int(path, "SELECT count(*) FROM sqlite_master WHERE name = "
	    "'shares'") == 0, "and not modified");
	ledger_close(l);

	path_of(path, sizeof(path), "newer.db");
	l = open_at(path, err, sizeof(err));
	ledger_close(l);
	exec_rw(path, "PRAGMA user_version = 99");
	l = open_at(path, err, sizeof(err));
	ok(l == NULL && strstr(err, "newer than this coopmine") != NULL,
	    "a ledger newer than the binary is refused: %s", err);
	ledger_close(l);

	/* a real ledger with a page of its tables overwritten */
	path_of(path, sizeof(path), "corrupt.db");
	l = open_at(path, err, sizeof(err));
	ledger_close(l);
	exec_rw(path, "PRAGMA journal_mode = DELETE");
	f = fopen(path, "r+");
	fseek(f, 4096 * 3, SEEK_SET);
	fwrite(garbage, 1, sizeof(garbage), f);
	fclose(f);
	l = open_at(path, err, sizeof(err));
	ok(l == NULL && (strstr(err, "corrupt") != NULL),
	    "a corrupt ledger is refused: %s", err);
	ledger_close(l);

	path_of(path, sizeof(path), "truncated.db");
	l = open_at(path, err, sizeof(err));
	ledger_close(l);
	exec_rw(path, "PRAGMA journal_mode = DELETE");
	ok(truncate(path, 4096 * 2 + 100) == 0, "truncating a ledger");
	l = open_at(path, err, sizeof(err));
	ok(l == NULL && strstr(err, "corrupt") != NULL,
	    "a truncated ledger is refused: %s", err);
	ledger_close(l);
}

static int writable_calls[2];

static void
on_writable(void *arg, int w)
{
	(void)arg;
	writable_calls[w ? 1 : 0]++;
}

static void
test_disk_full(void)
{
	char path[512], err[512];
	struct acks a = { PTHREAD_MUTEX_INITIALIZER, 0, 0, 0, 0, 0, NULL, 0 };
	struct ledger_opts o;
	struct ledger_stats st;
	struct fixture f;
	struct ledger *l;
	int64_t pages, n_before, lease_c;
	uint32_t i;
	int waited;

	a.ok_ids = calloc(4000, sizeof(int64_t));
	path_of(path, sizeof(path), "full.db");
	ledger_opts_default(&o);
	o.path = path;
	o.batch_ms = 2;
	o.retry_ms = 50;
	o.on_writable = on_writable;
	l = ledger_open(&o, err, sizeof(err));
	ok(l != NULL, "ledger for the full-disk test");
	if (l == NULL)
		return;
	setup_job(l, &f);
	for (i = 0; i < 50; i++)
		share(l, f.job, f.lease_a, "alice", i, LEDGER_REASON_OK,
		    LEDGER_FATE_NOT_NEEDED, 0, &a);
	ledger_flush(l, 10000);
	lease_c = ledger_lease_add(l, f.job, "alice", 2000, 10000, 0,
	    0, 0, clock_wall_ms());
	ledger_flush(l, 10000);
	pages = query_int(path, "PRAGMA page_count");
	ledger_set_max_pages(l, (uint64_t)pages);
	for (i = 50; i < 1000; i++)
		share(l, f.job, f.lease_a, "alice", i, LEDGER_REASON_OK,
		    LEDGER_FATE_NOT_NEEDED, 0, &a);
	ledger_flush(l, 500);
	ok(a.unwritable > 0, "a full disk fails share appends (%d ok, %d "
	    "failed)", a.ok, a.unwritable);
	ok(ledger_writable(l) == 0 && writable_calls[0] == 1,
	    "the ledger reports itself not writable");
	n_before = a.unwritable;
	share(l, f.job, lease_c, "alice", 2500, LEDGER_REASON_OK,
	    LEDGER_FATE_NOT_NEEDED, 0, &a);
	for (waited = 0; waited < 2000 && a.unwritable == n_before; waited += 10)
		usleep(10000);
	ok(a.unwritable == n_before + 1, "while full, new shares fail fast");
	ok(query_int(path, "SELECT count(*) FROM shares") == a.ok,
	    "exactly the acknowledged shares are on disk (%d)", a.ok);

	ledger_set_max_pages(l, 0);	/* space again */
	for (waited = 0; waited < 5000 && !ledger_writable(l); waited += 10) {
		share(l, f.job, lease_c, "alice", 3000 + (uint32_t)waited,
		    LEDGER_REASON_OK, LEDGER_FATE_NOT_NEEDED, 0, &a);
		usleep(10000);
	}
	ok(ledger_writable(l) == 1 && writable_calls[1] == 1,
	    "writes resume once there is space");
	/* Shares queued by the loop above may still be committing. */
	ledger_flush(l, 10000);
	n_before = a.ok;
	share(l, f.job, lease_c, "alice", 9500, LEDGER_REASON_OK,
	    LEDGER_FATE_NOT_NEEDED, 0, &a);
	ok(ledger_flush(l, 10000) == LEDGER_COMMITTED && a.ok == n_before + 1,
	    "and shares are acknowledged again");
	ledger_stats_get(l, &st);
	ok(st.commit_failures > 0 && st.shares_failed == (uint64_t)a.unwritable,
	    "failures counted (%" PRIu64 ")", st.commit_failures);
	ledger_close(l);
	ok(query_int(path, "SELECT count(*) FROM shares") == a.ok,
	    "no acknowledged share lost, no failed share written");
	ok(audit(path) == 0, "audit passes after the full disk");
	free(a.ok_ids);
}

static void
test_retention(void)
{
	char path[512], err[512];
	struct ledger_opts o;
	struct ledger_heartbeat h = { 0 };
	struct ledger *l;
	int64_t now = clock_wall_ms();
	int i;

	path_of(path, sizeof(path), "hb.db");
	ledger_opts_default(&o);
	o.path = path;
	o.heartbeat_retention_ms = 3600000;
	l = ledger_open(&o, err, sizeof(err));
	ok(l != NULL, "ledger for heartbeats");
	if (l == NULL)
		return;
	h.worker_id = "alice";
	for (i = 0; i < 10; i++) {
		h.at = now - 4 * 3600000 + i * 1000;
		h.hashrate = 100 + i;
		ledger_heartbeat(l, &h);
	}
	h.at = now;
	ledger_heartbeat(l, &h);
	ledger_flush(l, 10000);
	ok(query_int(path, "SELECT count(*) FROM heartbeats") == 11,
	    "every heartbeat is a row");
	/* The first roll-up runs a second after open: poll for it (a busy
	 * machine may take longer), for at most 30 s. */
	for (i = 0; i < 300 && query_int(path,
	    "SELECT count(*) FROM heartbeats") != 1; i++)
		usleep(100 * 1000);
	ledger_flush(l, 10000);
	ok(query_int(path, "SELECT count(*) FROM heartbeats") == 1,
	    "heartbeats older than the retention are rolled up");
	ok(query_int(path, "SELECT sum(beats) FROM heartbeats_hourly") == 10 &&
	    query_int(path, "SELECT max(hashrate_max) FROM heartbeats_hourly") == 109,
	    "into hourly aggregates");
	ledger_close(l);
}

/* Issue 12: a block share and its block row in one transaction; the
 * audit sees the same work leased twice across jobs, a credited nonce of
 * the same work twice, and a candidate without its row; access rows and
 * work cursors come back with recovery. */
static void
test_integrity(void)
{
	char path[512], err[512];
	struct acks a = { PTHREAD_MUTEX_INITIALIZER, 0, 0, 0, 0, 0, NULL, 0 };
	struct fixture f;
	struct ledger *l;
	struct ledger_recovery rec;
	struct ledger_share s = { 0 };
	struct ledger_block b = { 0 };
	struct ledger_job j = { 0 };
	uint8_t result[32], hash[32], blob[80] = { 1 }, seed[32] = { 2 };
	int64_t sid, bid = 0, job2;

	path_of(path, sizeof(path), "integrity.db");
	l = open_at(path, err, sizeof(err));
	ok(l != NULL, "integrity ledger opens (%s)", l ? "ok" : err);
	if (l == NULL)
		return;
	setup_job(l, &f);
	memset(result, 0x11, sizeof(result));
	memset(hash, 0x22, sizeof(hash));
	s.job_id = f.job;
	s.lease_id = f.lease_a;
	s.worker_id = "alice";
	s.nonce = 700;
	s.result = result;
	s.difficulty = 100;
	s.hash_difficulty = 150;
	s.block_candidate = 1;
	s.upstream = LEDGER_FATE_PENDING;
	s.created_at = clock_wall_ms();
	b.height = 1000;
	b.hash = hash;
	b.hash_len = 32;
	b.network_difficulty = 500;
	b.window_n = 1000;
	b.status = LEDGER_BLOCK_CANDIDATE;
	b.has_reward = 1;
	b.reward = 600;
	b.found_at = s.created_at;
	sid = ledger_append_block_share(l, &s, &b, ack_cb, &a, &bid);
	ok(ledger_flush(l, 5000) == LEDGER_COMMITTED && a.ok == 1 && bid > 0,
	    "a block share is acknowledged once both rows committed");
	ok(query_int(path, "SELECT count(*) FROM blocks b JOIN shares s ON "
	    "s.id = b.share_id WHERE s.block_candidate = 1") == 1 &&
	    query_int(path, "SELECT share_id FROM blocks") == sid,
	    "the block row names its share");
	ok(query_int(path, "SELECT sum(amount) FROM payouts") == 600,
	    "and its payouts are in the same transaction");
	ok(audit(path) == 0, "audit clean");

	/* The same work under another job id, leased again from 0. */
	j.session_id = f.session;
	j.upstream_job_id = "job-a-again";
	j.blob = blob;
	j.blob_len = sizeof(blob);
	j.seed = seed;
	j.seed_len = sizeof(seed);
	j.height = 1000;
	j.target64 = 0x00000000ffffffffULL;
	j.difficulty = 0x100000001ULL;
	j.received_at = clock_wall_ms();
	j.clean = 1;
	job2 = ledger_job_add(l, &j);
	ledger_lease_add(l, job2, "bob", 500, 1500, 100, 0, 0,
	    clock_wall_ms());
	ledger_flush(l, 5000);
	ok(audit(path) == 2, "a lease of the same blob and seed over two "
	    "leases of another job: two violations");
	s.job_id = job2;
	s.lease_id = f.lease_a + 2;
	s.worker_id = "bob";
	s.block_candidate = 0;
	s.upstream = LEDGER_FATE_NOT_NEEDED;
	ledger_append_share(l, &s, ack_cb, &a);
	ledger_flush(l, 5000);
	ok(audit(path) == 3, "the same (blob, seed, nonce) credited under two "
	    "job ids is a violation too");

	ledger_worker_access(l, "mallory", LEDGER_ACCESS_QUARANTINE, "20 invalid",
	    1000);
	ledger_worker_access(l, "eve", LEDGER_ACCESS_REVOKE, "stolen", 1001);
	ledger_worker_access(l, "mallory", LEDGER_ACCESS_ALLOW, "lifted", 1002);
	ledger_close(l);
	ok(ledger_access_record(path, "trent", LEDGER_ACCESS_REVOKE, "cli", 1003,
	    err, sizeof(err)) == 0, "an access row from outside the coordinator");
	ok(ledger_access_record(path, "", LEDGER_ACCESS_REVOKE, "cli", 1003,
	    err, sizeof(err)) != 0, "an empty id is refused: %s", err);
	ok(exec_rw(path, "UPDATE worker_access SET action = 'allow'") !=
	    SQLITE_OK && exec_rw(path, "DELETE FROM worker_access") != SQLITE_OK,
	    "access rows are append-only");

	l = open_at(path, err, sizeof(err));
	ok(l != NULL && ledger_recover(l, 0, 0, &rec, err, sizeof(err)) == 0,
	    "recovery");
	if (l == NULL)
		return;
	ok(rec.naccess == 2 && strcmp(rec.access[0].worker_id, "eve") == 0 &&
	    rec.access[0].state == LEDGER_ACCESS_REVOKE &&
	    strcmp(rec.access[1].worker_id, "trent") == 0 && rec.access_seen == 4,
	    "recovery: the identities denied now (mallory's quarantine was "
	    "lifted)");
	ok(rec.ncursors == 1 && rec.cursors[0].next_nonce == 2000,
	    "recovery: the work leased so far ends at nonce 2000 (%zu, %llu)",
	    rec.ncursors, rec.ncursors ?
	    (unsigned long long)rec.cursors[0].next_nonce : 0ULL);
	ok(rec.nlive == 2 && rec.live[0].id == f.job &&
	    rec.live[0].nleases == 2 && rec.live[0].leases[0].nonce_end == 1000 &&
	    rec.live[0].leases[0].difficulty == 100 &&
	    strcmp(rec.live[0].leases[1].worker_id, "bob") == 0 &&
	    rec.live[0].ncredited == 1 && rec.live[0].credited[0] == 700 &&
	    rec.live[0].blob_len == 80 && rec.live[0].target64 ==
	    0x00000000ffffffffULL,
	    "recovery: the jobs live at the stop, with their leases, "
	    "difficulties and credited nonces (%zu jobs)", rec.nlive);
	ok(rec.nworkers >= 2 && strcmp(rec.workers[0].id, "alice") == 0 &&
	    rec.workers[0].last_difficulty == 100,
	    "recovery: each worker's difficulty of its newest credited share");
	ledger_recovery_free(&rec);
	ledger_close(l);

	/* A candidate share without its block row (an old ledger, or a
	 * crash of an older coordinator): the audit names it. */
	ok(exec_rw(path, "DROP TRIGGER payouts_no_delete; DELETE FROM payouts; "
	    "DELETE FROM blocks") == SQLITE_OK, "drop the block row by hand");
	ok(audit(path) == 4, "the audit names the candidate without its block");
	l = open_at(path, err, sizeof(err));
	ok(l != NULL, "reopen");
	ledger_close(l);
	ok(query_int(path, "SELECT count(*) FROM blocks WHERE share_id = 1 AND "
	    "status = 'candidate' AND reward IS NULL") == 1,
	    "the coordinator's start restores the lost block row");
	ok(audit(path) == 3, "and the audit no longer names it");
}

int
main(void)
{
	const char *tmp = getenv("TMPDIR");

	log_init("test_ledger", LOG_LVL_ERROR, 0);
	snprintf(dir, sizeof(dir), "%s/test_ledger.XXXXXX", tmp ? tmp : "/tmp");
	if (mkdtemp(dir) == NULL)
		return 1;
	test_basic();
	test_migration();
	test_bad_files();
	test_disk_full();
	test_retention();
	test_integrity();
	if (tap_failed == 0) {
		char cmd[512];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
		if (system(cmd) != 0)
			printf("# could not remove %s\n", dir);
	} else
		printf("# kept %s\n", dir);
	return tap_done();
}
