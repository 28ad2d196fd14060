/*
 * bench/ledger_growth.c: how fast the ledger grows.  Writes shares, leases
 * and heartbeats through the real writer (ledger.h), rolls old shares with
 * [ledger] retention, then measures each table with its indexes (SQLite's
 * dbstat: whole pages, as on disk) and prints the bytes per row and the
 * bytes per day at WORKERS workers with the coordinator's default
 * intervals.  Run by bench/ledger.sh (make bench).
 *
 * usage: bench-ledger-growth DIR [SHARES] [WORKERS] [SHARE_S] [HEARTBEAT_S]
 *        [LEASE_S]
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "common/clock.h"
#include "common/log.h"
#include "coordinator/ledger.h"

#define BENCH_WORKERS 500	/* identities written (the day is scaled) */

static void
ack(void *arg, int64_t id, int status)
{
	(void)arg;
	if (status != LEDGER_COMMITTED) {
		fprintf(stderr, "share %" PRId64 " not committed: %s\n", id,
		    ledger_status_name(status));
		exit(1);
	}
}

/* Bytes of a table and its indexes, and its rows. */
static double
per_row(sqlite3 *db, const char *table, int64_t *rows, int64_t *bytes)
{
	char sql[512];
	sqlite3_stmt *st;

	*rows = *bytes = 0;
	snprintf(sql, sizeof(sql), "SELECT (SELECT coalesce(sum(pgsize), 0) "
	    "FROM dbstat WHERE name IN (SELECT name FROM sqlite_master WHERE "
	    "tbl_name = '%s' AND type IN ('table', 'index'))), (SELECT "
	    "count(*) FROM %s)", table, table);
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
		fprintf(stderr, "dbstat: %s\n", sqlite3_errmsg(db));
		exit(1);
	}
	if (sqlite3_step(st) == SQLITE_ROW) {
		*bytes = sqlite3_column_int64(st, 0);
		*rows = sqlite3_column_int64(st, 1);
	}
	sqlite3_finalize(st);
	return *rows > 0 ? (double)*bytes / (double)*rows : 0;
}

static struct ledger *
open_ledger(const char *path, int64_t retention_ms)
{
	struct ledger_opts o;
	struct ledger *l;
	char err[512];

	ledger_opts_default(&o);
	o.path = path;
	o.synchronous = 0;	/* sizes, not durability, are measured */
	o.batch_rows = 4096;
	o.heartbeat_retention_ms = 0;
	o.share_retention_ms = retention_ms;
	o.retention_window_abs = 1;	/* no PPLNS window to keep */
	if ((l = ledger_open(&o, err, sizeof(err))) == NULL) {
		fprintf(stderr, "%s\n", err);
		exit(1);
	}
	return l;
}

static void
fill(const char *path, int64_t nshares, int64_t t0)
{
	struct ledger *l = open_ledger(path, 0);
	struct ledger_job j = { 0 };
	uint8_t blob[76], seed[32], result[32];
	char ids[BENCH_WORKERS][LEDGER_ID_MAX];
	int64_t lease[BENCH_WORKERS], job, sess, i;
	uint32_t nonce[BENCH_WORKERS];
	int w;

	memset(blob, 7, sizeof(blob));
	memset(seed, 9, sizeof(seed));
	sess = ledger_session_begin(l, "stratum+tcp://127.0.0.1:3333", t0);
	j.session_id = sess;
	j.upstream_job_id = "a1b2c3d4e5f6";
	j.blob = blob;
	j.blob_len = sizeof(blob);
	j.seed = seed;
	j.seed_len = sizeof(seed);
	j.height = 123456;
	j.target64 = UINT64_MAX / 250000;
	j.difficulty = 250000;
	j.received_at = t0;
	j.clean = 1;
	job = ledger_job_add(l, &j);
	for (w = 0; w < BENCH_WORKERS; w++) {
		struct ledger_worker wk;

		snprintf(ids[w], sizeof(ids[w]), "worker-%04d.cluster.example", w);
		wk.id = ids[w];
		wk.name = ids[w];
		wk.threads = 8;
		wk.version = "coopmine-worker 0.1";
		wk.seen_at = t0;
		ledger_worker_seen(l, &wk);
		lease[w] = ledger_lease_add(l, job, ids[w], (uint64_t)w << 22,
		    (uint64_t)(w + 1) << 22, 12000, t0);
		nonce[w] = (uint32_t)w << 22;
	}
	/* a realistic mix: leases and heartbeats beside the shares */
	for (i = 0; i < nshares; i++) {
		struct ledger_share s = { 0 };

		w = (int)(i % BENCH_WORKERS);
		memset(result, (int)(i & 0xff), sizeof(result));
		memcpy(result, &i, sizeof(i));
		s.job_id = job;
		s.lease_id = lease[w];
		s.worker_id = ids[w];
		s.nonce = nonce[w]++;
		s.result = result;
		s.difficulty = 12000;
		s.hash_difficulty = 12000 + (uint64_t)(i * 7919 % 100000);
		s.reason = LEDGER_REASON_OK;
		s.upstream = LEDGER_FATE_NOT_NEEDED;
		/* spread over the past: one share per worker and hour or so */
		s.created_at = t0 + (i / BENCH_WORKERS) * 3600000 + w;
		ledger_append_share(l, &s, ack, NULL);
		if (i % 2 == 0) {
			struct ledger_heartbeat h = { 0 };

			h.worker_id = ids[w];
			h.at = s.created_at;
			h.hashrate = 4321.5 + (double)(i % 97);
			h.shares_valid = (uint64_t)i / BENCH_WORKERS;
			h.hashes_total = (uint64_t)i * 1000003;
			h.uptime_ms = i * 1000;
			h.cpu_usage = 97.5;
			h.memory_usage = 2.3e9;
			h.temperature = 61.0;
			ledger_heartbeat(l, &h);
		}
		if (i % 2 == 1)
			ledger_lease_release(l, ledger_lease_add(l, job, ids[w],
			    ((uint64_t)1 << 31) + (uint64_t)i * 4096,
			    ((uint64_t)1 << 31) + (uint64_t)i * 4096 + 4096, 12000,
			    s.created_at), s.created_at + 90000);
		/* stay below the writer's queue bound */
		if (i % 8192 == 8191 && ledger_flush(l, 600000) !=
		    LEDGER_COMMITTED) {
			fprintf(stderr, "flush failed\n");
			exit(1);
		}
	}
	ledger_job_supersede(l, job, t0 + nshares * 3600000LL);
	if (ledger_flush(l, 600000) != LEDGER_COMMITTED) {
		fprintf(stderr, "flush failed\n");
		exit(1);
	}
	ledger_close(l);
}

static void
roll(const char *path)
{
	struct ledger *l = open_ledger(path, 1);
	struct ledger_stats st;
	int64_t deadline = clock_mono_ms() + 600000;

	do {
		nanosleep(&(struct timespec){ 0, 50000000L }, NULL);
		ledger_stats_get(l, &st);
	} while (!st.retention_idle && clock_mono_ms() < deadline);
	ledger_close(l);
}

int
main(int argc, char **argv)
{
	char path[4096];
	int64_t nshares = argc > 2 ? atoll(argv[2]) : 100000;
	double workers = argc > 3 ? atof(argv[3]) : 10000;
	double share_s = argc > 4 ? atof(argv[4]) : 15;
	double hb_s = argc > 5 ? atof(argv[5]) : 30;
	double lease_s = argc > 6 ? atof(argv[6]) : 90;
	double b_share, b_lease, b_hb, b_roll, b_range, day_sh, day_hb, day_le;
	double day_roll;
	int64_t rows, bytes, rrows, rbytes, rolled, t;
	sqlite3 *db;

	if (argc < 2 || nshares < BENCH_WORKERS || workers <= 0 ||
	    share_s <= 0 || hb_s <= 0 || lease_s <= 0) {
		fprintf(stderr, "usage: %s DIR [SHARES] [WORKERS] [SHARE_S] "
		    "[HEARTBEAT_S] [LEASE_S]\n", argv[0]);
		return 2;
	}
	log_init("bench-ledger-growth", LOG_LVL_ERROR, 0);
	snprintf(path, sizeof(path), "%s/growth.db", argv[1]);
	fill(path, nshares, clock_wall_ms() - 400LL * 86400000);
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
		return 1;
	b_share = per_row(db, "shares", &rows, &bytes);
	printf("ledger growth: %" PRId64 " shares: %.1f bytes/share "
	    "(table + 5 indexes, whole pages)\n", rows, b_share);
	b_lease = per_row(db, "leases", &rows, &bytes);
	printf("ledger growth: %" PRId64 " leases: %.1f bytes/lease\n", rows,
	    b_lease);
	b_hb = per_row(db, "heartbeats", &rows, &bytes);
	printf("ledger growth: %" PRId64 " heartbeats: %.1f bytes/heartbeat\n",
	    rows, b_hb);
	sqlite3_close(db);

	t = clock_mono_ms();
	roll(path);
	t = clock_mono_ms() - t;
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
		return 1;
	per_row(db, "shares", &rolled, &bytes);
	b_roll = per_row(db, "share_rollups", &rows, &bytes);
	b_range = per_row(db, "share_rollup_ranges", &rrows, &rbytes);
	printf("ledger growth: retention rolled %" PRId64 " shares (%" PRId64
	    " left) into %" PRId64 " rollup rows (%.1f bytes/row) in %" PRId64
	    " ranges (%.1f bytes/range), %.0f shares/s in the writer\n",
	    nshares - rolled, rolled, rows, b_roll, rrows, b_range,
	    (double)(nshares - rolled) * 1000.0 / (double)(t > 0 ? t : 1));
	sqlite3_close(db);

	day_sh = workers * 86400 / share_s;
	day_hb = workers * 86400 / hb_s;
	day_le = workers * 86400 / lease_s;
	day_roll = workers * 24;
	printf("ledger growth at %.0f workers (a share every %.0f s, a "
	    "heartbeat every %.0f s, a lease every %.0f s per worker):\n",
	    workers, share_s, hb_s, lease_s);
	printf("  shares     %6.1f M/day  %8.2f GB/day\n", day_sh / 1e6,
	    day_sh * b_share / 1e9);
	printf("  heartbeats %6.1f M/day  %8.2f GB/day (7 d kept, then hourly)\n",
	    day_hb / 1e6, day_hb * b_hb / 1e9);
	printf("  leases     %6.1f M/day  %8.2f GB/day\n", day_le / 1e6,
	    day_le * b_lease / 1e9);
	printf("  total %.2f GB/day without retention\n",
	    (day_sh * b_share + day_hb * b_hb + day_le * b_lease) / 1e9);
	printf("  with [ledger] retention = 90d: shares level off at %.0f GB; "
	    "rollups then add %.1f MB/day (%.0f rows: one per worker and "
	    "hour)\n", 90 * day_sh * b_share / 1e9, day_roll * b_roll / 1e6,
	    day_roll);
	return 0;
}
