/*
 * test_retention.c: what [ledger] retention may roll up
 * (src/coordinator/ledger_retain.c): the id arithmetic of the selection
 * rule, then the rule on a real ledger file, row by row: old enough, below
 * the next PPLNS window, outside block windows, never an end of an income
 * window, never a share with an open upstream fate or an open lease, at
 * most `batch` shares a range.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "coordinator/ledger.h"
#include "coordinator/ledger_int.h"
#include "tap.h"

static void
test_limit(void)
{
	struct ledger_span p[] = { { 5, 10 }, { 11, 11 }, { 12, 20 },
	    { 50, 50 } };
	int64_t s;

	s = 1;
	ok(ledger_retain_limit(NULL, 0, 100, &s) == 99 && s == 1,
	    "no span: up to keep_from - 1");
	s = 1;
	ok(ledger_retain_limit(p, 4, 100, &s) == 4 && s == 1,
	    "stops before the next span");
	s = 7;
	ok(ledger_retain_limit(p, 4, 100, &s) == 49 && s == 21,
	    "steps over chained spans, stops before a point span");
	s = 50;
	ok(ledger_retain_limit(p, 4, 100, &s) == 99 && s == 51,
	    "a point span is skipped");
	s = 1;
	ok(ledger_retain_limit(p, 4, 1, &s) < s, "keep_from 1: nothing");
	s = 30;
	ok(ledger_retain_limit(p, 4, 40, &s) == 39, "keep_from below a span");
	s = 3;
	ok(ledger_retain_limit(p + 3, 1, 60, &s) == 49 && s == 3,
	    "spans in any order");
}

static sqlite3 *db;

static void
exec(const char *sql)
{
	char *msg = NULL;

	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		printf("# %s: %s\n", sql, msg);
		sqlite3_free(msg);
		exit(1);
	}
}

/* Shares lo..hi of job/lease, difficulty 10, created at `at` + id. */
static void
shares_fate(int lo, int hi, int job, int lease, int64_t at, const char *fate)
{
	char sql[512];
	int i;

	for (i = lo; i <= hi; i++) {
		snprintf(sql, sizeof(sql), "INSERT INTO shares (id, job_id, "
		    "lease_id, worker_id, nonce, difficulty, verdict, reason, "
		    "upstream, created_at) VALUES (%d, %d, %d, '%s', %d, 10, "
		    "'accepted', 'ok', '%s', %" PRId64 ")", i, job, lease,
		    i % 2 ? "a" : "b", i, fate, at + i);
		exec(sql);
	}
}

static void
shares(int lo, int hi, int job, int lease, int64_t at)
{
	shares_fate(lo, hi, job, lease, at, "not_needed");
}

static int
next(const struct ledger_retention *rt, int64_t now, int64_t *first,
    int64_t *last)
{
	struct ledger_retain_result r;

	if (ledger_db_retain_once(db, rt, now, &r) != 0)
		return -1;
	*first = r.first_share_id;
	*last = r.last_share_id;
	return r.range_id != 0;
}

static void
test_rule(const char *path)
{
	struct ledger_retention rt = { .retention_ms = 1000, .batch = 1000,
	    .window_factor_milli = 2000, .window_abs = 100 };
	struct ledger_span *sp;
	struct ledger_opts o;
	struct ledger *l;
	char err[512];
	int64_t old = 1000000, now = 10000000, keep, first, last;
	int64_t want[][2] = { { 1, 9 }, { 11, 19 }, { 21, 25 }, { 46, 49 },
	    { 51, 59 }, { 61, 100 }, { 111, 120 } };
	size_t nsp, i;
	int rc;

	ledger_opts_default(&o);
	o.path = path;
	if ((l = ledger_open(&o, err, sizeof(err))) == NULL) {
		printf("# %s\n", err);
		exit(1);
	}
	ledger_close(l);
	if (sqlite3_open(path, &db) != SQLITE_OK)
		exit(1);
	exec("BEGIN");
	exec("INSERT INTO workers (id, first_seen, last_seen) VALUES "
	    "('a', 0, 0), ('b', 0, 0)");
	exec("INSERT INTO upstream_sessions (id, pool_url, connected_at) VALUES "
	    "(1, 'x', 0)");
	exec("INSERT INTO jobs (id, session_id, upstream_job_id, blob, seed, "
	    "height, target, difficulty, received_at, clean, superseded_at) "
	    "VALUES (1, 1, 'j1', x'01', x'00', 1, '0000000000000000', 1, 0, 1, "
	    "5), (2, 1, 'j2', x'02', x'00', 1, '0000000000000000', 1, 0, 1, 5)");
	/* lease 2 is still open: its shares stay */
	exec("INSERT INTO leases (id, job_id, worker_id, nonce_start, nonce_end, "
	    "issued_at, released_at) VALUES (1, 1, 'a', 0, 1000, 0, 9), "
	    "(2, 2, 'a', 0, 1000, 0, NULL)");
	shares(1, 49, 1, 1, old);
	shares_fate(50, 50, 1, 1, old, "pending");	/* in the outbox */
	shares(51, 100, 1, 1, old);
	shares(101, 110, 2, 2, old);
	shares(111, 140, 1, 1, old);
	exec("COMMIT");

	/* nothing old enough yet */
	rt.retention_ms = now;
	ok(next(&rt, now, &first, &last) == 0, "no share older than the "
	    "retention: nothing rolled");
	rt.retention_ms = 1000;

	/* prop without any split yet: every share is still to be paid */
	rt.prop = 1;
	ok(ledger_db_retain_bounds(db, &rt, now, &keep, &sp, &nsp) == 0 &&
	    keep == 1, "prop, no split yet: keep from share 1");
	free(sp);
	ok(next(&rt, now, &first, &last) == 0, "prop, no split yet: nothing");
	rt.prop = 0;

	/* an income window 10..20, a block at 45 (window 2 x 100 = 20 shares) */
	exec("INSERT INTO owners (id, name, created_at) VALUES (1, 'op', 0)");
	exec("INSERT INTO income (id, amount, at, source, ref, recorded_at) "
	    "VALUES (1, 1000, 0, 'pool', 'r1', 0)");
	exec("INSERT INTO income_splits (income_id, scheme, after_share_id, "
	    "last_share_id, first_share_id, window_n, n_source, "
	    "window_difficulty, share_count, fee_bps, fee_owner_id) VALUES "
	    "(1, 'pplns', 0, 20, 10, 100, 'test', 110, 11, 0, 1)");
	/* set up by hand, past the append-only trigger */
	exec("DROP TRIGGER shares_no_update");
	exec("UPDATE shares SET block_candidate = 1 WHERE id = 45");
	exec("INSERT INTO blocks (id, share_id, height, hash, "
	    "network_difficulty, window_n, status, found_at, updated_at) VALUES "
	    "(1, 45, 1, x'00', 10, 50, 'accepted', 0, 0)");

	ok(ledger_db_retain_bounds(db, &rt, now, &keep, &sp, &nsp) == 0 &&
	    keep == 121, "next window: 2 x N = 200 = 20 shares back from 140 "
	    "-> keep from 121 (got %" PRId64 ")", keep);
	ok(nsp == 3 && sp[0].lo == 26 && sp[0].hi == 45,
	    "block 1 protects shares 26..45 (its window twice)");
	free(sp);

	/* share 60 is recent: created_at need not follow id order */
	exec("UPDATE shares SET created_at = 9999999 WHERE id = 60");
	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		rc = next(&rt, now, &first, &last);
		ok(rc == 1 && first == want[i][0] && last == want[i][1],
		    "range %zu: shares %" PRId64 "..%" PRId64 " (want %" PRId64
		    "..%" PRId64 ")", i + 1, first, last, want[i][0],
		    want[i][1]);
	}
	ok(next(&rt, now, &first, &last) == 0, "then nothing more");
	{
		int64_t n = 0;

		ledger_db_int(db, "SELECT count(*) FROM shares WHERE id IN (10, "
		    "20, 45, 50, 60) OR id BETWEEN 26 AND 44 OR id BETWEEN 101 "
		    "AND 110 OR id >= 121", &n);
		ok(n == 5 + 19 + 10 + 20, "kept: window ends, block window, "
		    "pending, recent, open lease, next window (%" PRId64 ")", n);
		ledger_db_int(db, "SELECT count(*) FROM shares", &n);
		ok(n == 5 + 19 + 10 + 20, "and nothing else (%" PRId64 ")", n);
		ledger_db_int(db, "SELECT sum(shares_valid) FROM share_rollups",
		    &n);
		ok(n == 140 - 54, "rollups hold the %" PRId64 " others", n);
	}

	/* the batch bound */
	exec("UPDATE leases SET released_at = 9 WHERE id = 2");
	rt.batch = 3;
	ok(next(&rt, now, &first, &last) == 1 && first == 101 && last == 103,
	    "batch 3: shares 101..103 once their lease is released");
	sqlite3_close(db);
}

int
main(void)
{
	char path[] = "/tmp/coopmine-test-retention.XXXXXX";
	char db_path[64];
	int fd;

	log_init("test_retention", LOG_LVL_ERROR, 0);
	test_limit();
	if ((fd = mkstemp(path)) < 0)
		return 1;
	close(fd);
	unlink(path);
	snprintf(db_path, sizeof(db_path), "%s.db", path);
	test_rule(db_path);
	unlink(db_path);
	snprintf(db_path, sizeof(db_path), "%s.db-wal", path);
	unlink(db_path);
	snprintf(db_path, sizeof(db_path), "%s.db-shm", path);
	unlink(db_path);
	return tap_done();
}
