/*
 * bench/income.c: splitting one income event over a PPLNS window of N
 * shares (default 1 M) through money_income_add() (window read, pplns_split,
 * owner division, rows written, one transaction, synchronous=FULL), next
 * to a plain SQL aggregate over the same rows measured in the same run
 * (SELECT worker_id, sum(difficulty), count(*) ... GROUP BY worker_id).
 * The shares are written first through the ledger writer (not timed).
 * Run by bench/income.sh (make bench).
 *
 * usage: bench-income DIR [SHARES] [WORKERS]
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "common/clock.h"
#include "common/log.h"
#include "coordinator/ledger.h"
#include "coordinator/money.h"

#define WORKERS_MAX 256

static void
ack(void *arg, int64_t id, int status)
{
	(void)id;
	if (status != LEDGER_COMMITTED)
		(*(int *)arg)++;
}

/* N shares round-robin over `workers` workers, difficulty 1000..1006. */
static int
fill(const char *path, int64_t n, int workers, int64_t t0)
{
	struct ledger_opts o;
	struct ledger *l;
	struct ledger_job j = { 0 };
	uint8_t blob[80] = { 0 }, seed[32] = { 0 }, res[32] = { 0 };
	int64_t job, lease[WORKERS_MAX], i;
	uint32_t nonce[WORKERS_MAX];
	char ids[WORKERS_MAX][16], err[512];
	int w, failed = 0, rc;

	ledger_opts_default(&o);
	o.path = path;
	o.synchronous = 1;
	o.batch_rows = 8192;
	o.batch_ms = 50;
	if ((l = ledger_open(&o, err, sizeof(err))) == NULL) {
		fprintf(stderr, "%s\n", err);
		return -1;
	}
	j.session_id = ledger_session_begin(l, "stratum+tcp://127.0.0.1:9", t0);
	j.upstream_job_id = "bench";
	j.blob = blob;
	j.blob_len = sizeof(blob);
	j.seed = seed;
	j.seed_len = sizeof(seed);
	j.target64 = UINT64_MAX / 1000;
	j.difficulty = 1000;
	j.received_at = t0;
	job = ledger_job_add(l, &j);
	for (w = 0; w < workers; w++) {
		struct ledger_worker lw = { ids[w], ids[w], 1, "bench", t0 };

		snprintf(ids[w], sizeof(ids[w]), "worker-%03d", w);
		ledger_worker_seen(l, &lw);
		lease[w] = ledger_lease_add(l, job, ids[w], (uint64_t)w << 22,
		    (uint64_t)(w + 1) << 22, 0, 0, 0, t0);
		nonce[w] = (uint32_t)w << 22;
	}
	for (i = 0; i < n; i++) {
		struct ledger_share s = { 0 };

		w = (int)(i % workers);
		s.job_id = job;
		s.lease_id = lease[w];
		s.worker_id = ids[w];
		s.nonce = nonce[w]++;
		s.result = res;
		s.difficulty = 1000 + (uint64_t)(i % 7);
		s.hash_difficulty = s.difficulty;
		s.reason = LEDGER_REASON_OK;
		s.upstream = LEDGER_FATE_NOT_NEEDED;
		s.created_at = t0 + i / 1000;
		ledger_append_share(l, &s, ack, &failed);
	}
	rc = ledger_flush(l, 3600000);
	ledger_close(l);
	return rc == LEDGER_COMMITTED && failed == 0 ? 0 : -1;
}

#define SQL_SUM "SELECT 'all', sum(difficulty), count(*) FROM shares " \
	"WHERE id <= (SELECT max(id) FROM shares) AND verdict = 'accepted' " \
	"AND difficulty > 0"
#define SQL_GROUP "SELECT worker_id, sum(difficulty), count(*) FROM shares " \
	"WHERE id <= (SELECT max(id) FROM shares) AND verdict = 'accepted' " \
	"AND difficulty > 0 GROUP BY worker_id"

/* Runs an aggregate twice (the first warms the cache): the faster time. */
static double
plain_sql(const char *path, const char *sql, uint64_t *total, int *groups)
{
	double best = -1;
	int k;

	for (k = 0; k < 2; k++) {
		sqlite3 *db;
		sqlite3_stmt *st;
		int64_t t = clock_mono_us();
		double s;

		*total = 0;
		*groups = 0;
		if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) !=
		    SQLITE_OK || sqlite3_prepare_v2(db, sql, -1, &st, NULL) !=
		    SQLITE_OK)
			return -1;
		while (sqlite3_step(st) == SQLITE_ROW) {
			*total += (uint64_t)sqlite3_column_int64(st, 1);
			(*groups)++;
		}
		sqlite3_finalize(st);
		sqlite3_close(db);
		s = (double)(clock_mono_us() - t) / 1e6;
		if (best < 0 || s < best)
			best = s;
	}
	return best;
}

int
main(int argc, char **argv)
{
	struct money_rules ru = { MONEY_PPLNS, 2000, 0, 0, NULL };
	struct money_income in = { 0 };
	struct money *m;
	char path[512], err[512];
	int64_t n = argc > 2 ? atoll(argv[2]) : 1000000, id, t0, t;
	int workers = argc > 3 ? atoi(argv[3]) : 50, groups, k;
	uint64_t total;
	double fill_s, split_s, sum_s, group_s;

	if (argc < 2 || n < 1 || workers < 1 || workers > WORKERS_MAX) {
		fprintf(stderr, "usage: %s DIR [SHARES] [WORKERS<=%d]\n", argv[0],
		    WORKERS_MAX);
		return 2;
	}
	log_init("bench-income", LOG_LVL_WARN, 0);
	snprintf(path, sizeof(path), "%s/income.db", argv[1]);
	t0 = clock_wall_ms() - 86400000;
	t = clock_mono_us();
	if (fill(path, n, workers, t0) != 0) {
		fprintf(stderr, "bench-income: filling the ledger failed\n");
		return 1;
	}
	fill_s = (double)(clock_mono_us() - t) / 1e6;
	/* warms the page cache for both sides; the window is every share */
	group_s = plain_sql(path, SQL_GROUP, &total, &groups);
	ru.window_abs = total;		/* the window is every share */
	if ((m = money_open(path, err, sizeof(err))) == NULL) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	in.amount = 123456789012;
	in.at = clock_wall_ms();
	in.source = MONEY_SRC_POOL;
	in.ref = "bench-1";
	t = clock_mono_us();
	if (money_income_add(m, &ru, &in, 1, 0, &id, NULL, NULL, err,
	    sizeof(err)) != 0) {
		fprintf(stderr, "bench-income: %s\n", err);
		money_close(m);
		return 1;
	}
	split_s = (double)(clock_mono_us() - t) / 1e6;
	money_close(m);
	sum_s = plain_sql(path, SQL_SUM, &total, &k);
	printf("shares            %" PRId64 " (%d workers, window N = %" PRIu64
	    ", filled through the ledger writer in %.1f s)\n", n, workers,
	    total, fill_s);
	printf("income split      %.3f s  (money_income_add: window read, "
	    "pplns_split, owners, %d+1 rows, COMMIT with synchronous=FULL)\n",
	    split_s, groups);
	printf("plain SQL sum     %.3f s  (sum(difficulty) over the same rows, "
	    "best of two)\n", sum_s);
	printf("SQL GROUP BY      %.3f s  (per-worker sums and counts, best of "
	    "two)\n", group_s);
	printf("ratio             %.2f x the plain SQL sum, %.2f x the GROUP "
	    "BY\n", sum_s > 0 ? split_s / sum_s : 0.0, group_s > 0 ? split_s /
	    group_s : 0.0);
	return 0;
}
