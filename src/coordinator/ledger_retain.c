/*
 * ledger_retain.c: share retention ([ledger] retention).  The writer
 * thread (ledger.c) calls ledger_db_retain_once() between its
 * transactions; each call rolls at most one contiguous range of old shares
 * into per-worker, per-hour rows (share_rollups) through the one path the
 * triggers of sql/0007_retention.sql let through.  What may be rolled: see
 * ledger_int.h and docs/ledger.md ("Retention").
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "coordinator/ledger_int.h"

int64_t
ledger_retain_limit(const struct ledger_span *p, size_t n, int64_t keep_from,
    int64_t *start)
{
	int64_t limit;
	size_t i;
	int moved;

	/* step over every span holding *start (they may chain) */
	do {
		moved = 0;
		for (i = 0; i < n; i++)
			if (p[i].lo <= *start && *start <= p[i].hi) {
				*start = p[i].hi + 1;
				moved = 1;
			}
	} while (moved);
	limit = keep_from - 1;
	for (i = 0; i < n; i++)
		if (p[i].lo > *start && p[i].lo - 1 < limit)
			limit = p[i].lo - 1;
	return limit;
}

/* The first column of the first row of sql, its parameters bound to
 * args[0..nargs): 0 (*found 0 for no row or NULL) or -EIO (logged). */
static int
q_i64(sqlite3 *db, const char *sql, const int64_t *args, int nargs,
    int64_t *out, int *found)
{
	sqlite3_stmt *st = ledger_db_prepare(db, sql);
	int i, rc;

	*found = 0;
	if (st == NULL)
		return -EIO;
	for (i = 0; i < nargs; i++)
		sqlite3_bind_int64(st, i + 1, args[i]);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL) {
		*out = sqlite3_column_int64(st, 0);
		*found = 1;
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		log_warnx("ledger retention: %s", sqlite3_errmsg(db));
		return -EIO;
	}
	return 0;
}

/*
 * The oldest share of the window of n units ending at share `last`: the
 * credited shares newest first until n is covered.  1 when the history is
 * shorter than the window (it needs every share).
 */
static int
window_start(sqlite3 *db, int64_t last, uint64_t n, int64_t *start)
{
	sqlite3_stmt *st = ledger_db_prepare(db, "SELECT id, difficulty FROM "
	    "shares WHERE id <= ?1 AND verdict = 'accepted' AND difficulty > 0 "
	    "ORDER BY id DESC");
	uint64_t covered = 0, d;
	int rc;

	*start = 1;
	if (st == NULL)
		return -EIO;
	sqlite3_bind_int64(st, 1, last);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		d = (uint64_t)sqlite3_column_int64(st, 1);
		covered = d > UINT64_MAX - covered ? UINT64_MAX : covered + d;
		if (covered >= n) {
			*start = sqlite3_column_int64(st, 0);
			break;
		}
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		log_warnx("ledger retention: %s", sqlite3_errmsg(db));
		return -EIO;
	}
	return 0;
}

static uint64_t
twice(uint64_t n)
{
	return n > UINT64_MAX / 2 ? UINT64_MAX : n * 2;
}

static int
span_add(struct ledger_span **v, size_t *n, size_t *cap, int64_t lo,
    int64_t hi)
{
	struct ledger_span *nv;

	if (*n == *cap) {
		*cap = *cap ? *cap * 2 : 32;
		if ((nv = realloc(*v, *cap * sizeof(*nv))) == NULL)
			return -ENOMEM;
		*v = nv;
	}
	(*v)[*n].lo = lo;
	(*v)[(*n)++].hi = hi;
	return 0;
}

/* Every block's window, and both ends of every stored income window. */
static int
protect_spans(sqlite3 *db, const struct ledger_retention *rt,
    struct ledger_span **v, size_t *n)
{
	sqlite3_stmt *st;
	size_t cap = 0;
	int64_t start;
	int rc;

	*v = NULL;
	*n = 0;
	/* a block below the oldest share left has nothing left to keep */
	st = ledger_db_prepare(db, "SELECT share_id, window_n, "
	    "network_difficulty FROM blocks WHERE share_id >= (SELECT min(id) "
	    "FROM shares) ORDER BY share_id");
	if (st == NULL)
		return -EIO;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		int64_t sid = sqlite3_column_int64(st, 0);
		uint64_t wn = (uint64_t)sqlite3_column_int64(st, 1);
		uint64_t rn = pplns_window_n((uint64_t)sqlite3_column_int64(st,
		    2), rt->window_factor_milli, rt->window_abs);

		if (window_start(db, sid, twice(wn > rn ? wn : rn), &start) != 0 ||
		    span_add(v, n, &cap, start, sid) != 0) {
			rc = SQLITE_ERROR;
			break;
		}
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		goto fail;
	st = ledger_db_prepare(db, "SELECT first_share_id, last_share_id FROM "
	    "income_splits WHERE last_share_id IS NOT NULL");
	if (st == NULL)
		goto fail;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		int64_t last = sqlite3_column_int64(st, 1);

		if (sqlite3_column_type(st, 0) != SQLITE_NULL) {
			start = sqlite3_column_int64(st, 0);
			if (span_add(v, n, &cap, start, start) != 0) {
				rc = SQLITE_NOMEM;
				break;
			}
		}
		if (span_add(v, n, &cap, last, last) != 0) {
			rc = SQLITE_NOMEM;
			break;
		}
	}
	sqlite3_finalize(st);
	if (rc == SQLITE_DONE)
		return 0;
fail:
	free(*v);
	*v = NULL;
	*n = 0;
	return rc == SQLITE_NOMEM ? -ENOMEM : -EIO;
}

int
ledger_db_retain_bounds(sqlite3 *db, const struct ledger_retention *rt,
    int64_t now, int64_t *keep_from, struct ledger_span **spans,
    size_t *nspans)
{
	uint64_t netdiff = 0, n;
	int64_t last = 0;
	int found, rc;

	*spans = NULL;
	*nspans = 0;
	*keep_from = 1;
	if (rt->prop) {
		/* prop pays every share after the previous split's last */
		if ((rc = q_i64(db, "SELECT max(last_share_id) FROM "
		    "income_splits", NULL, 0, &last, &found)) != 0)
			return rc;
		*keep_from = found ? last + 1 : 1;
	} else {
		if ((rc = q_i64(db, "SELECT max(id) FROM shares WHERE verdict "
		    "= 'accepted' AND difficulty > 0", NULL, 0, &last,
		    &found)) != 0)
			return rc;
		if (!found)
			*keep_from = INT64_MAX;	/* nothing any window counts */
		else {
			if (rt->window_abs == 0 &&
			    ledger_db_netdiff_at(db, now, &netdiff) != 0)
				return -EIO;
			/* no N can be known: keep everything */
			if (rt->window_abs == 0 && netdiff == 0)
				return 0;
			n = pplns_window_n(netdiff, rt->window_factor_milli,
			    rt->window_abs);
			if ((rc = window_start(db, last, twice(n), keep_from)) != 0)
				return rc;
		}
	}
	return protect_spans(db, rt, spans, nspans);
}

/* A share that nothing else refers to any more. */
#define ELIGIBLE \
	"s.created_at < ?3 AND s.upstream NOT IN ('pending', 'submitted') " \
	"AND NOT EXISTS (SELECT 1 FROM blocks b WHERE b.share_id = s.id) " \
	"AND (s.job_id IS NULL OR EXISTS (SELECT 1 FROM jobs j WHERE " \
	"j.id = s.job_id AND j.superseded_at IS NOT NULL)) " \
	"AND (s.lease_id IS NULL OR EXISTS (SELECT 1 FROM leases le WHERE " \
	"le.id = s.lease_id AND le.released_at IS NOT NULL))"

/* Finds the next range [*first, *last]: 0 and *found, or -EIO. */
static int
pick_range(sqlite3 *db, const struct ledger_retention *rt, int64_t cutoff,
    int64_t keep_from, const struct ledger_span *sp, size_t nsp,
    int64_t *first, int64_t *last, int *found)
{
	int64_t lo, hi, pos, limit, start, a[3];
	int f, rc;

	*found = 0;
	if ((rc = q_i64(db, "SELECT min(id) FROM shares", NULL, 0, &lo,
	    &f)) != 0 || !f)
		return rc;
	if ((rc = q_i64(db, "SELECT max(id) FROM shares WHERE created_at < ?1",
	    &cutoff, 1, &hi, &f)) != 0 || !f)
		return rc;
	for (pos = lo; pos <= hi; pos = limit + 1) {
		limit = ledger_retain_limit(sp, nsp, keep_from, &pos);
		if (limit < pos || pos > hi)
			break;
		if (limit > hi)
			limit = hi;
		a[0] = pos;
		a[1] = limit;
		a[2] = cutoff;
		if ((rc = q_i64(db, "SELECT s.id FROM shares s WHERE s.id "
		    "BETWEEN ?1 AND ?2 AND " ELIGIBLE " ORDER BY s.id LIMIT 1",
		    a, 3, &start, &f)) != 0)
			return rc;
		if (!f)
			continue;
		/* at most batch shares */
		a[0] = start;
		a[1] = rt->batch > 0 ? rt->batch - 1 : 0;
		if ((rc = q_i64(db, "SELECT id FROM shares WHERE id >= ?1 "
		    "ORDER BY id LIMIT 1 OFFSET ?2", a, 2, &a[1], &f)) != 0)
			return rc;
		if (f && a[1] < limit)
			limit = a[1];
		/* up to the first share something still refers to */
		a[1] = limit;
		if ((rc = q_i64(db, "SELECT s.id FROM shares s WHERE s.id > ?1 "
		    "AND s.id <= ?2 AND NOT (" ELIGIBLE ") ORDER BY s.id "
		    "LIMIT 1", a, 3, &a[1], &f)) != 0)
			return rc;
		if (f)
			limit = a[1] - 1;
		a[1] = limit;
		if ((rc = q_i64(db, "SELECT max(id) FROM shares WHERE id BETWEEN "
		    "?1 AND ?2", a, 2, last, &f)) != 0)
			return rc;
		*first = start;
		*found = 1;
		return 0;
	}
	return 0;
}

static int
exec_bound(sqlite3 *db, const char *sql, const int64_t *v, int nv,
    int64_t *changes)
{
	sqlite3_stmt *st = ledger_db_prepare(db, sql);
	int i, rc;

	if (st == NULL)
		return -EIO;
	for (i = 0; i < nv; i++)
		sqlite3_bind_int64(st, i + 1, v[i]);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		log_warnx("ledger retention: %s", sqlite3_errmsg(db));
		return -EIO;
	}
	if (changes != NULL)
		*changes = sqlite3_changes64(db);
	return 0;
}

/* The range's transaction: its figures, its rollups, the deletion, done. */
static int
roll(sqlite3 *db, int64_t first, int64_t last, int64_t cutoff,
    int64_t keep_from, int64_t now, struct ledger_retain_result *out)
{
	int64_t v[5], id;

	if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) {
		log_warnx("ledger retention: %s", sqlite3_errmsg(db));
		return -EIO;
	}
	v[0] = first;
	v[1] = last;
	v[2] = cutoff;
	v[3] = keep_from;
	v[4] = now;
	if (exec_bound(db, "INSERT INTO share_rollup_ranges (first_share_id, "
	    "last_share_id, first_created_at, last_created_at, shares_valid, "
	    "shares_invalid, difficulty_sum, workers, cutoff_ms, keep_from, "
	    "state, rolled_at_ms) SELECT ?1, ?2, min(created_at), "
	    "max(created_at), sum(verdict = 'accepted'), sum(verdict = "
	    "'rejected'), sum(difficulty), count(DISTINCT worker_id), ?3, ?4, "
	    "'deleting', ?5 FROM shares WHERE id BETWEEN ?1 AND ?2", v, 5,
	    NULL) != 0)
		goto fail;
	id = sqlite3_last_insert_rowid(db);
	v[2] = id;
	v[3] = now;
	if (exec_bound(db, "INSERT INTO share_rollups (range_id, worker_id, "
	    "hour_start_ms, shares_valid, shares_invalid, shares_credited, "
	    "difficulty_sum, first_share_id, last_share_id, rolled_at_ms) "
	    "SELECT ?3, worker_id, (created_at / 3600000) * 3600000, "
	    "sum(verdict = 'accepted'), sum(verdict = 'rejected'), "
	    "sum(verdict = 'accepted' AND difficulty > 0), sum(difficulty), "
	    "min(id), max(id), ?4 FROM shares WHERE id BETWEEN ?1 AND ?2 "
	    "GROUP BY worker_id, (created_at / 3600000) * 3600000", v, 4,
	    &out->rows) != 0)
		goto fail;
	if (exec_bound(db, "DELETE FROM shares WHERE id BETWEEN ?1 AND ?2", v, 2,
	    &out->shares) != 0)
		goto fail;
	if (exec_bound(db, "UPDATE share_rollup_ranges SET state = 'done' WHERE "
	    "id = ?1", &id, 1, NULL) != 0)
		goto fail;
	if (sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
		log_warnx("ledger retention: %s", sqlite3_errmsg(db));
		goto fail;
	}
	out->range_id = id;
	out->first_share_id = first;
	out->last_share_id = last;
	return 0;
fail:
	if (!sqlite3_get_autocommit(db))
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	return -EIO;
}

int
ledger_db_retain_once(sqlite3 *db, const struct ledger_retention *rt,
    int64_t now, struct ledger_retain_result *out)
{
	struct ledger_span *sp = NULL;
	int64_t cutoff, keep_from, first = 0, last = 0;
	size_t nsp = 0;
	int found, rc;

	memset(out, 0, sizeof(*out));
	if (rt->retention_ms <= 0)
		return 0;
	cutoff = now - rt->retention_ms;
	if ((rc = ledger_db_retain_bounds(db, rt, now, &keep_from, &sp,
	    &nsp)) != 0)
		return rc;
	out->keep_from = keep_from;
	rc = pick_range(db, rt, cutoff, keep_from, sp, nsp, &first, &last,
	    &found);
	free(sp);
	if (rc != 0 || !found)
		return rc;
	return roll(db, first, last, cutoff, keep_from, now, out);
}
