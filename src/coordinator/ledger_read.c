/*
 * ledger_read.c: the ledger's read side: read-only connections for the
 * dashboard/REST and coopmine-cli (typed rows), restart recovery for the
 * core, PPLNS recomputation, audit, CSV export and online backup.  What
 * the writer shares with it is in ledger_db.c.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/hex.h"
#include "common/log.h"
#include "coordinator/ledger_int.h"

struct ledger_reader {
	sqlite3 *db;
	char *path;
};

/* --- readers --- */

struct ledger_reader *
ledger_reader_open(const char *path, char *err, size_t errlen)
{
	struct ledger_reader *r;

	if ((r = calloc(1, sizeof(*r))) == NULL ||
	    (r->path = strdup(path)) == NULL) {
		free(r);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if ((r->db = ledger_db_open_current(path, 1, 5000, err, errlen)) == NULL) {
		free(r->path);
		free(r);
		return NULL;
	}
	return r;
}

void
ledger_reader_close(struct ledger_reader *r)
{
	if (r == NULL)
		return;
	sqlite3_close(r->db);
	free(r->path);
	free(r);
}

sqlite3 *
ledger_reader_db(struct ledger_reader *r)
{
	return r->db;
}

/* A blob column into buf (at most len bytes); its length. */
static size_t
col_blob(sqlite3_stmt *st, int i, uint8_t *buf, size_t len)
{
	size_t n = (size_t)sqlite3_column_bytes(st, i);

	if (n > len)
		n = len;
	if (n > 0)
		memcpy(buf, sqlite3_column_blob(st, i), n);
	return n;
}

static void
bind_page(sqlite3_stmt *st, int i, int limit, int offset)
{
	sqlite3_bind_int(st, i, limit > 0 ? limit : -1);
	sqlite3_bind_int(st, i + 1, offset > 0 ? offset : 0);
}

static void
fill_share(sqlite3_stmt *st, void *row)
{
	struct ledger_share_row *s = row;
	int v;

	s->id = sqlite3_column_int64(st, 0);
	s->job_id = sqlite3_column_int64(st, 1);
	ledger_col_text(st, 2, s->upstream_job_id, sizeof(s->upstream_job_id));
	s->lease_id = sqlite3_column_int64(st, 3);
	ledger_col_text(st, 4, s->worker_id, sizeof(s->worker_id));
	s->nonce = (uint32_t)sqlite3_column_int64(st, 5);
	s->has_result = col_blob(st, 6, s->result, sizeof(s->result)) == 32;
	s->difficulty = (uint64_t)sqlite3_column_int64(st, 7);
	s->hash_difficulty = (uint64_t)sqlite3_column_int64(st, 8);
	v = ledger_reason_parse((const char *)sqlite3_column_text(st, 9));
	s->reason = v < 0 ? LEDGER_REASON_MALFORMED : (enum ledger_reason)v;
	s->block_candidate = sqlite3_column_int(st, 10);
	v = ledger_fate_parse((const char *)sqlite3_column_text(st, 11));
	s->upstream = v < 0 ? LEDGER_FATE_NOT_NEEDED : (enum ledger_fate)v;
	ledger_col_text(st, 12, s->upstream_reason, sizeof(s->upstream_reason));
	s->upstream_at = sqlite3_column_int64(st, 13);
	s->created_at = sqlite3_column_int64(st, 14);
}

int
ledger_read_shares(struct ledger_reader *r, int64_t since_ms,
    const char *worker_id, int limit, int offset,
    struct ledger_share_row **out, size_t *n)
{
	sqlite3_stmt *st = ledger_db_prepare(r->db, "SELECT s.id, s.job_id, "
	    "j.upstream_job_id, s.lease_id, s.worker_id, s.nonce, s.result, "
	    "s.difficulty, s.hash_difficulty, s.reason, s.block_candidate, "
	    "s.upstream, s.upstream_reason, s.upstream_at, s.created_at "
	    "FROM shares s LEFT JOIN jobs j ON j.id = s.job_id "
	    "WHERE s.created_at >= ?1 AND (?2 IS NULL OR s.worker_id = ?2) "
	    "ORDER BY s.id DESC LIMIT ?3 OFFSET ?4");

	if (st != NULL) {
		sqlite3_bind_int64(st, 1, since_ms);
		if (worker_id != NULL)
			sqlite3_bind_text(st, 2, worker_id, -1, SQLITE_STATIC);
		bind_page(st, 3, limit, offset);
	}
	return ledger_db_collect(st, sizeof(**out), fill_share, (void **)out, n);
}

static void
fill_job(sqlite3_stmt *st, void *row)
{
	struct ledger_job_row *j = row;

	j->id = sqlite3_column_int64(st, 0);
	j->session_id = sqlite3_column_int64(st, 1);
	ledger_col_text(st, 2, j->upstream_job_id, sizeof(j->upstream_job_id));
	j->height = (uint64_t)sqlite3_column_int64(st, 3);
	ledger_col_text(st, 4, j->target, sizeof(j->target));
	j->difficulty = (uint64_t)sqlite3_column_int64(st, 5);
	j->nbits = (uint32_t)sqlite3_column_int64(st, 6);
	j->seed_len = col_blob(st, 7, j->seed, sizeof(j->seed));
	j->received_at = sqlite3_column_int64(st, 8);
	j->clean = sqlite3_column_int(st, 9);
	j->superseded_at = sqlite3_column_int64(st, 10);
	j->shares_valid = (uint64_t)sqlite3_column_int64(st, 11);
}

int
ledger_read_jobs(struct ledger_reader *r, int limit, int offset,
    struct ledger_job_row **out, size_t *n)
{
	sqlite3_stmt *st = ledger_db_prepare(r->db, "SELECT id, session_id, "
	    "upstream_job_id, height, target, difficulty, nbits, seed, "
	    "received_at, clean, superseded_at, (SELECT count(*) FROM shares s "
	    "WHERE s.job_id = jobs.id AND s.verdict = 'accepted') FROM jobs "
	    "ORDER BY id DESC LIMIT ?1 OFFSET ?2");

	if (st != NULL)
		bind_page(st, 1, limit, offset);
	return ledger_db_collect(st, sizeof(**out), fill_job, (void **)out, n);
}

static void
fill_block(sqlite3_stmt *st, void *row)
{
	struct ledger_block_row *b = row;
	int v;

	b->id = sqlite3_column_int64(st, 0);
	b->share_id = sqlite3_column_int64(st, 1);
	ledger_col_text(st, 2, b->worker_id, sizeof(b->worker_id));
	b->height = (uint64_t)sqlite3_column_int64(st, 3);
	b->hash_len = col_blob(st, 4, b->hash, sizeof(b->hash));
	b->network_difficulty = (uint64_t)sqlite3_column_int64(st, 5);
	b->window_n = (uint64_t)sqlite3_column_int64(st, 6);
	b->fee_bps = (unsigned)sqlite3_column_int(st, 7);
	v = ledger_block_status_parse((const char *)sqlite3_column_text(st, 8));
	b->status = v < 0 ? LEDGER_BLOCK_CANDIDATE : (enum ledger_block_status)v;
	b->has_reward = sqlite3_column_type(st, 9) != SQLITE_NULL;
	b->reward = (uint64_t)sqlite3_column_int64(st, 9);
	b->found_at = sqlite3_column_int64(st, 10);
	b->updated_at = sqlite3_column_int64(st, 11);
}

int
ledger_read_blocks(struct ledger_reader *r, int limit, int offset,
    struct ledger_block_row **out, size_t *n)
{
	sqlite3_stmt *st = ledger_db_prepare(r->db, "SELECT b.id, b.share_id, "
	    "s.worker_id, b.height, b.hash, b.network_difficulty, b.window_n, "
	    "b.fee_bps, b.status, b.reward, b.found_at, b.updated_at FROM blocks "
	    "b JOIN shares s ON s.id = b.share_id ORDER BY b.id DESC "
	    "LIMIT ?1 OFFSET ?2");

	if (st != NULL)
		bind_page(st, 1, limit, offset);
	return ledger_db_collect(st, sizeof(**out), fill_block, (void **)out, n);
}

static void
fill_worker(sqlite3_stmt *st, void *row)
{
	struct ledger_worker_row *w = row;

	ledger_col_text(st, 0, w->worker_id, sizeof(w->worker_id));
	ledger_col_text(st, 1, w->name, sizeof(w->name));
	w->shares_valid = (uint64_t)sqlite3_column_int64(st, 2);
	w->shares_invalid = (uint64_t)sqlite3_column_int64(st, 3);
	w->difficulty_valid = (uint64_t)sqlite3_column_int64(st, 4);
	w->last_share_at = sqlite3_column_int64(st, 5);
	w->blocks_found = (uint64_t)sqlite3_column_int64(st, 6);
	w->paid_accepted = (uint64_t)sqlite3_column_int64(st, 7);
	w->first_seen = sqlite3_column_int64(st, 8);
	w->last_seen = sqlite3_column_int64(st, 9);
}

int
ledger_read_workers(struct ledger_reader *r, struct ledger_worker_row **out,
    size_t *n)
{
	sqlite3_stmt *st = ledger_db_prepare(r->db, "SELECT worker_id, name, "
	    "shares_valid, shares_invalid, difficulty_valid, last_share_at, "
	    "blocks_found, paid_accepted, first_seen, last_seen FROM "
	    "worker_totals ORDER BY worker_id");

	return ledger_db_collect(st, sizeof(**out), fill_worker, (void **)out,
	    n);
}

static void
fill_payout(sqlite3_stmt *st, void *row)
{
	struct ledger_payout_row *p = row;

	p->block_id = sqlite3_column_int64(st, 0);
	p->fee = sqlite3_column_type(st, 1) == SQLITE_NULL;
	ledger_col_text(st, 1, p->worker_id, sizeof(p->worker_id));
	p->amount = (uint64_t)sqlite3_column_int64(st, 2);
	p->window_difficulty = (uint64_t)sqlite3_column_int64(st, 3);
	p->share_count = (uint64_t)sqlite3_column_int64(st, 4);
}

int
ledger_read_payouts(struct ledger_reader *r, int64_t block_id,
    struct ledger_payout_row **out, size_t *n)
{
	sqlite3_stmt *st = ledger_db_prepare(r->db, "SELECT block_id, "
	    "worker_id, amount, window_difficulty, share_count FROM payouts "
	    "WHERE block_id = ?1 ORDER BY kind DESC, worker_id");

	if (st != NULL)
		sqlite3_bind_int64(st, 1, block_id);
	return ledger_db_collect(st, sizeof(**out), fill_payout, (void **)out,
	    n);
}

int
ledger_read_last_blocks(struct ledger_reader *r, int count, int64_t *ids,
    int max)
{
	sqlite3_stmt *st = ledger_db_prepare(r->db, "SELECT id FROM blocks "
	    "ORDER BY id DESC LIMIT ?1");
	int n = 0;

	if (st == NULL)
		return -EIO;
	sqlite3_bind_int(st, 1, count < max ? count : max);
	while (n < max && sqlite3_step(st) == SQLITE_ROW)
		ids[n++] = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return n;
}

static int
block_info(sqlite3 *db, int64_t id, struct ledger_block_info *bi)
{
	sqlite3_stmt *st;
	int rc;

	if (sqlite3_prepare_v2(db, "SELECT id, share_id, height, "
	    "network_difficulty, window_n, fee_bps, status, reward, found_at "
	    "FROM blocks WHERE id = ?1", -1, &st, NULL) != SQLITE_OK)
		return -EIO;
	sqlite3_bind_int64(st, 1, id);
	if ((rc = sqlite3_step(st)) != SQLITE_ROW) {
		sqlite3_finalize(st);
		return rc == SQLITE_DONE ? -ENOENT : -EIO;
	}
	memset(bi, 0, sizeof(*bi));
	bi->id = sqlite3_column_int64(st, 0);
	bi->share_id = sqlite3_column_int64(st, 1);
	bi->height = (uint64_t)sqlite3_column_int64(st, 2);
	bi->network_difficulty = (uint64_t)sqlite3_column_int64(st, 3);
	bi->window_n = (uint64_t)sqlite3_column_int64(st, 4);
	bi->fee_bps = (unsigned)sqlite3_column_int(st, 5);
	bi->status = ledger_block_status_parse(
	    (const char *)sqlite3_column_text(st, 6));
	bi->has_reward = sqlite3_column_type(st, 7) != SQLITE_NULL;
	bi->reward = (uint64_t)sqlite3_column_int64(st, 7);
	bi->found_at = sqlite3_column_int64(st, 8);
	sqlite3_finalize(st);
	return 0;
}

int
ledger_compute_payouts(struct ledger_reader *r, int64_t block_id,
    const uint64_t *reward_override, struct ledger_block_info *info,
    struct pplns_result *out)
{
	struct ledger_block_info bi;
	uint64_t reward;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = block_info(r->db, block_id, &bi)) != 0)
		return rc;
	if (info != NULL)
		*info = bi;
	if (reward_override != NULL)
		reward = *reward_override;
	else if (bi.has_reward)
		reward = bi.reward;
	else
		return -ENODATA;
	return ledger_db_window_split(r->db, bi.share_id, bi.window_n, reward,
	    bi.fee_bps, out);
}

/* --- recovery --- */

static void *
grow(void *p, size_t *cap, size_t n, size_t size)
{
	void *np;

	if (n < *cap)
		return p;
	*cap = *cap ? *cap * 2 : 64;
	if ((np = realloc(p, *cap * size)) == NULL)
		fatal("ledger: out of memory");
	return np;
}

static int
recover_workers(sqlite3 *db, struct ledger_recovery *out)
{
	sqlite3_stmt *st;
	size_t cap = 0;
	int rc;

	if (sqlite3_prepare_v2(db, "SELECT id, name, version, threads, "
	    "first_seen, last_seen, shares_valid, shares_invalid, "
	    "difficulty_valid, (SELECT s.difficulty FROM shares s WHERE "
	    "s.worker_id = workers.id AND s.verdict = 'accepted' ORDER BY s.id "
	    "DESC LIMIT 1) FROM workers ORDER BY id", -1, &st, NULL) !=
	    SQLITE_OK)
		return -1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct ledger_worker_state *w;

		out->workers = grow(out->workers, &cap, out->nworkers,
		    sizeof(*w));
		w = &out->workers[out->nworkers++];
		memset(w, 0, sizeof(*w));
		ledger_col_text(st, 0, w->id, sizeof(w->id));
		ledger_col_text(st, 1, w->name, sizeof(w->name));
		ledger_col_text(st, 2, w->version, sizeof(w->version));
		w->threads = sqlite3_column_int(st, 3);
		w->first_seen = sqlite3_column_int64(st, 4);
		w->last_seen = sqlite3_column_int64(st, 5);
		w->shares_valid = (uint64_t)sqlite3_column_int64(st, 6);
		w->shares_invalid = (uint64_t)sqlite3_column_int64(st, 7);
		w->difficulty_valid = (uint64_t)sqlite3_column_int64(st, 8);
		w->last_difficulty = (uint64_t)sqlite3_column_int64(st, 9);
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

static int
recover_outbox(sqlite3 *db, struct ledger_recovery *out)
{
	sqlite3_stmt *st;
	size_t cap = 0;
	int rc;

	if (sqlite3_prepare_v2(db, "SELECT s.id, s.job_id, s.lease_id, "
	    "j.session_id, j.upstream_job_id, s.worker_id, s.nonce, s.result, "
	    "s.hash_difficulty, s.block_candidate, s.upstream, "
	    "j.superseded_at IS NOT NULL, s.created_at, "
	    "coalesce(le.extranonce, 0) FROM shares s "
	    "JOIN jobs j ON j.id = s.job_id "
	    "LEFT JOIN leases le ON le.id = s.lease_id "
	    "WHERE s.upstream IN ('pending', 'submitted') ORDER BY s.id", -1,
	    &st, NULL) != SQLITE_OK)
		return -1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct ledger_outbox_share *o;
		int n;

		out->outbox = grow(out->outbox, &cap, out->noutbox, sizeof(*o));
		o = &out->outbox[out->noutbox++];
		memset(o, 0, sizeof(*o));
		o->share_id = sqlite3_column_int64(st, 0);
		o->job_id = sqlite3_column_int64(st, 1);
		o->lease_id = sqlite3_column_int64(st, 2);
		o->session_id = sqlite3_column_int64(st, 3);
		ledger_col_text(st, 4, o->upstream_job_id, sizeof(o->upstream_job_id));
		ledger_col_text(st, 5, o->worker_id, sizeof(o->worker_id));
		o->nonce = (uint32_t)sqlite3_column_int64(st, 6);
		n = sqlite3_column_bytes(st, 7);
		if (n == 32)
			memcpy(o->result, sqlite3_column_blob(st, 7), 32);
		o->hash_difficulty = (uint64_t)sqlite3_column_int64(st, 8);
		o->block_candidate = sqlite3_column_int(st, 9);
		o->fate = ledger_fate_parse((const char *)sqlite3_column_text(st,
		    10));
		o->job_superseded = sqlite3_column_int(st, 11);
		o->created_at = sqlite3_column_int64(st, 12);
		o->extranonce = (uint64_t)sqlite3_column_int64(st, 13);
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

static int
recover_blocks(sqlite3 *db, struct ledger_recovery *out)
{
	sqlite3_stmt *st;
	size_t cap = 0;
	int rc;

	if (sqlite3_prepare_v2(db, "SELECT id, share_id, height, hash, "
	    "network_difficulty, window_n, status, reward, found_at FROM blocks "
	    "ORDER BY id", -1, &st, NULL) != SQLITE_OK)
		return -1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct ledger_block_state *b;
		int n;

		out->blocks = grow(out->blocks, &cap, out->nblocks, sizeof(*b));
		b = &out->blocks[out->nblocks++];
		memset(b, 0, sizeof(*b));
		b->id = sqlite3_column_int64(st, 0);
		b->share_id = sqlite3_column_int64(st, 1);
		b->height = (uint64_t)sqlite3_column_int64(st, 2);
		n = sqlite3_column_bytes(st, 3);
		if (n > 0)
			memcpy(b->hash, sqlite3_column_blob(st, 3), n < 32 ? n : 32);
		b->network_difficulty = (uint64_t)sqlite3_column_int64(st, 4);
		b->window_n = (uint64_t)sqlite3_column_int64(st, 5);
		b->status = ledger_block_status_parse(
		    (const char *)sqlite3_column_text(st, 6));
		b->has_reward = sqlite3_column_type(st, 7) != SQLITE_NULL;
		b->reward = (uint64_t)sqlite3_column_int64(st, 7);
		b->found_at = sqlite3_column_int64(st, 8);
		out->totals.blocks_total++;
		if ((unsigned)b->status < LEDGER_BLOCK_COUNT)
			out->totals.blocks[b->status]++;
		if (b->found_at > out->totals.last_block_at)
			out->totals.last_block_at = b->found_at;
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

/* One worker_access row (id, worker_id, action, reason, at). */
static void
fill_access(sqlite3_stmt *st, void *row)
{
	struct ledger_access_row *a = row;
	int state;

	a->id = sqlite3_column_int64(st, 0);
	ledger_col_text(st, 1, a->worker_id, sizeof(a->worker_id));
	state = ledger_access_parse((const char *)sqlite3_column_text(st, 2));
	a->state = state < 0 ? LEDGER_ACCESS_ALLOW : (enum ledger_access)state;
	ledger_col_text(st, 3, a->reason, sizeof(a->reason));
	a->at = sqlite3_column_int64(st, 4);
}

static int
read_access(sqlite3 *db, const char *sql, int64_t arg,
    struct ledger_access_row **out, size_t *n)
{
	sqlite3_stmt *st = ledger_db_prepare(db, sql);

	if (st != NULL)
		sqlite3_bind_int64(st, 1, arg);
	return ledger_db_collect(st, sizeof(**out), fill_access, (void **)out, n);
}

int
ledger_read_access(struct ledger_reader *r, int64_t after_id,
    struct ledger_access_row **out, size_t *n)
{
	return read_access(r->db, "SELECT id, worker_id, action, reason, at "
	    "FROM worker_access WHERE id > ?1 ORDER BY id", after_id, out, n);
}

static void
fill_history(sqlite3_stmt *st, void *row)
{
	struct ledger_history_row *h = row;
	int reason;

	ledger_col_text(st, 0, h->worker_id, sizeof(h->worker_id));
	h->hour = sqlite3_column_int64(st, 1);
	reason = ledger_reason_parse((const char *)sqlite3_column_text(st, 2));
	h->reason = reason < 0 ? LEDGER_REASON_MALFORMED :
	    (enum ledger_reason)reason;
	h->shares = (uint64_t)sqlite3_column_int64(st, 3);
	h->difficulty = (uint64_t)sqlite3_column_int64(st, 4);
}

int
ledger_worker_history(struct ledger_reader *r, const char *worker_id,
    int64_t since_ms, struct ledger_history_row **out, size_t *n)
{
	/* created_at (indexed) bounds the scan; ?2 NULL means every worker.
	 * Integer division keeps the hour exact in both SQL engines.  Hours
	 * that retention rolled up (share_rollups, sql/0007_retention.sql)
	 * count their accepted shares and credited difficulty as 'ok'; a
	 * rollup keeps no rejection reasons, so rolled invalid shares are
	 * not in the breakdown (retention is days, the history at most 7). */
	sqlite3_stmt *st = ledger_db_prepare(r->db, "SELECT worker_id, hour, "
	    "reason, sum(n), sum(d) FROM (SELECT worker_id, "
	    "(created_at / 3600000) * 3600000 AS hour, reason, count(*) AS n, "
	    "coalesce(sum(difficulty), 0) AS d FROM shares WHERE created_at >= "
	    "?1 AND (?2 IS NULL OR worker_id = ?2) GROUP BY worker_id, hour, "
	    "reason UNION ALL SELECT worker_id, hour_start_ms, 'ok', "
	    "shares_valid, difficulty_sum FROM share_rollups WHERE "
	    "hour_start_ms >= ?1 AND (?2 IS NULL OR worker_id = ?2)) AS h "
	    "GROUP BY worker_id, hour, reason ORDER BY worker_id, hour, reason");

	if (since_ms < 0)
		since_ms = 0;
	if (st != NULL) {
		sqlite3_bind_int64(st, 1, since_ms - since_ms % LEDGER_HOUR_MS);
		if (worker_id != NULL)
			sqlite3_bind_text(st, 2, worker_id, -1, SQLITE_TRANSIENT);
		else
			sqlite3_bind_null(st, 2);
	}
	return ledger_db_collect(st, sizeof(**out), fill_history, (void **)out,
	    n);
}

/* Identities denied now, and the newest row id. */
static int
recover_access(sqlite3 *db, struct ledger_recovery *out)
{
	if (read_access(db, "SELECT id, worker_id, state, reason, at FROM "
	    "worker_access_now WHERE state <> 'allow' AND ?1 = ?1 ORDER BY id",
	    0, &out->access, &out->naccess) != 0)
		return -1;
	return ledger_db_int(db, "SELECT coalesce(max(id), 0) FROM worker_access",
	    &out->access_seen) == SQLITE_OK ? 0 : -1;
}

/* Each work (blob, seed) leased within the horizon, and how far its
 * leases reached. */
static int
recover_cursors(sqlite3 *db, int64_t horizon_ms, struct ledger_recovery *out)
{
	sqlite3_stmt *st;
	size_t cap = 0;
	int rc;

	if (sqlite3_prepare_v2(db, "SELECT j.blob, j.seed, max(le.nonce_end), "
	    "max(le.issued_at) FROM leases le JOIN jobs j ON j.id = le.job_id "
	    "WHERE ?1 = 0 OR j.received_at >= (SELECT max(received_at) FROM jobs) "
	    "- ?1 GROUP BY j.blob, j.seed", -1, &st, NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_int64(st, 1, horizon_ms);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct ledger_work_cursor *c;
		int nb = sqlite3_column_bytes(st, 0), ns = sqlite3_column_bytes(st, 1);

		if (nb <= 0 || nb > LEDGER_BLOB_MAX || ns <= 0 ||
		    ns > LEDGER_SEED_MAX)
			continue;	/* not work this coordinator could have made */
		out->cursors = grow(out->cursors, &cap, out->ncursors,
		    sizeof(*c));
		c = &out->cursors[out->ncursors++];
		memset(c, 0, sizeof(*c));
		memcpy(c->blob, sqlite3_column_blob(st, 0), (size_t)nb);
		c->blob_len = (size_t)nb;
		memcpy(c->seed, sqlite3_column_blob(st, 1), (size_t)ns);
		c->seed_len = (size_t)ns;
		c->next_nonce = (uint64_t)sqlite3_column_int64(st, 2);
		c->last_leased_at = sqlite3_column_int64(st, 3);
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

/* One lease of a live job (id, worker, start, end, difficulty, issued,
 * released before the stop). */
static void
fill_live_lease(sqlite3_stmt *st, void *row)
{
	struct ledger_live_lease *le = row;

	le->id = sqlite3_column_int64(st, 0);
	ledger_col_text(st, 1, le->worker_id, sizeof(le->worker_id));
	le->nonce_start = (uint64_t)sqlite3_column_int64(st, 2);
	le->nonce_end = (uint64_t)sqlite3_column_int64(st, 3);
	le->difficulty = (uint64_t)sqlite3_column_int64(st, 4);
	le->issued_at = sqlite3_column_int64(st, 5);
	le->released = sqlite3_column_int(st, 6);
	le->has_extranonce = sqlite3_column_type(st, 7) != SQLITE_NULL;
	le->extranonce = (uint64_t)sqlite3_column_int64(st, 7);
}

static void
fill_nonce(sqlite3_stmt *st, void *row)
{
	*(uint32_t *)row = (uint32_t)sqlite3_column_int64(st, 0);
}

/* The leases and credited nonces of one live job. */
static int
recover_live_rows(sqlite3 *db, int64_t restart_at, struct ledger_live_job *lj)
{
	sqlite3_stmt *st = ledger_db_prepare(db, "SELECT id, worker_id, "
	    "nonce_start, nonce_end, difficulty, issued_at, released_at < ?2, "
	    "extranonce FROM leases WHERE job_id = ?1 ORDER BY nonce_start");

	if (st != NULL) {
		sqlite3_bind_int64(st, 1, lj->id);
		sqlite3_bind_int64(st, 2, restart_at);
	}
	if (ledger_db_collect(st, sizeof(*lj->leases), fill_live_lease,
	    (void **)&lj->leases, &lj->nleases) != 0)
		return -1;
	st = ledger_db_prepare(db, "SELECT nonce FROM shares WHERE job_id = ?1 "
	    "AND verdict = 'accepted'");
	if (st != NULL)
		sqlite3_bind_int64(st, 1, lj->id);
	return ledger_db_collect(st, sizeof(*lj->credited), fill_nonce,
	    (void **)&lj->credited, &lj->ncredited) == 0 ? 0 : -1;
}

/* The jobs the last run left open (closed by this start), or whose leases
 * it left open (a job restored before and mined again), newest
 * LEDGER_LIVE_JOBS_MAX of them, oldest first. */
static int
recover_live(sqlite3 *db, int64_t restart_at, struct ledger_recovery *out)
{
	sqlite3_stmt *st;
	size_t cap = 0;
	int rc;

	if (restart_at == 0)
		return 0;
	if (sqlite3_prepare_v2(db, "SELECT * FROM (SELECT id, upstream_job_id, "
	    "blob, seed, height, target, received_at, clean FROM jobs WHERE "
	    "superseded_at >= ?1 OR id IN (SELECT job_id FROM leases WHERE "
	    "released_at >= ?1) ORDER BY id DESC LIMIT ?2) ORDER BY id", -1, &st,
	    NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_int64(st, 1, restart_at);
	sqlite3_bind_int(st, 2, LEDGER_LIVE_JOBS_MAX);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct ledger_live_job *lj;
		int nb = sqlite3_column_bytes(st, 2), ns = sqlite3_column_bytes(st, 3);
		const char *tgt = (const char *)sqlite3_column_text(st, 5);

		if (nb <= 0 || nb > LEDGER_BLOB_MAX || ns <= 0 ||
		    ns > LEDGER_SEED_MAX || tgt == NULL)
			continue;
		out->live = grow(out->live, &cap, out->nlive, sizeof(*lj));
		lj = &out->live[out->nlive++];
		memset(lj, 0, sizeof(*lj));
		lj->id = sqlite3_column_int64(st, 0);
		ledger_col_text(st, 1, lj->upstream_job_id, sizeof(lj->upstream_job_id));
		memcpy(lj->blob, sqlite3_column_blob(st, 2), (size_t)nb);
		lj->blob_len = (size_t)nb;
		memcpy(lj->seed, sqlite3_column_blob(st, 3), (size_t)ns);
		lj->seed_len = (size_t)ns;
		lj->height = (uint64_t)sqlite3_column_int64(st, 4);
		lj->target64 = strtoull(tgt, NULL, 16);
		lj->received_at = sqlite3_column_int64(st, 6);
		lj->clean = sqlite3_column_int(st, 7);
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return -1;
	for (size_t i = 0; i < out->nlive; i++)
		if (recover_live_rows(db, restart_at, &out->live[i]) != 0)
			return -1;
	return 0;
}

static int
recover_totals(sqlite3 *db, struct ledger_totals *t)
{
	sqlite3_stmt *st;
	int rc;

	if (sqlite3_prepare_v2(db, "SELECT reason, upstream, count(*), "
	    "sum(difficulty) FROM shares GROUP BY reason, upstream", -1, &st,
	    NULL) != SQLITE_OK)
		return -1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		int reason = ledger_reason_parse(
		    (const char *)sqlite3_column_text(st, 0));
		int fate = ledger_fate_parse(
		    (const char *)sqlite3_column_text(st, 1));
		uint64_t n = (uint64_t)sqlite3_column_int64(st, 2);

		if (reason < 0 || fate < 0)
			continue;
		t->by_reason[reason] += n;
		if (reason == LEDGER_REASON_OK) {
			t->shares_valid += n;
			t->by_fate[fate] += n;
			t->difficulty_valid +=
			    (uint64_t)sqlite3_column_int64(st, 3);
		} else
			t->shares_invalid += n;
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

static void
fill_follow(sqlite3_stmt *st, void *row)
{
	struct ledger_follow_block *f = row;
	int n = sqlite3_column_bytes(st, 0);

	if (n == 32)
		hex_encode(sqlite3_column_blob(st, 0), 32, f->hash, sizeof(f->hash));
	f->height = sqlite3_column_int64(st, 1);
	f->reward = sqlite3_column_int64(st, 2);
}

/* Node work: the next extranonce (never one recorded before) and the
 * blocks still to follow. */
static int
recover_node(sqlite3 *db, struct ledger_recovery *out)
{
	int64_t next = 1;
	sqlite3_stmt *st;

	if (ledger_db_int(db, "SELECT coalesce(max(extranonce), 0) + 1 FROM "
	    "leases", &next) != SQLITE_OK)
		return -1;
	out->next_extranonce = next > 0 ? (uint64_t)next : 1;
	st = ledger_db_prepare(db, "SELECT hash, height, coalesce(reward, 0) "
	    "FROM blocks WHERE status = 'accepted' AND maturity > 0 AND "
	    "matured_at IS NULL ORDER BY id");
	return ledger_db_collect(st, sizeof(*out->follow), fill_follow,
	    (void **)&out->follow, &out->nfollow) == 0 ? 0 : -1;
}

int
ledger_recover(struct ledger *l, uint64_t window_n, int64_t cursor_horizon_ms,
    struct ledger_recovery *out, char *err, size_t errlen)
{
	struct ledger_reader *r;
	sqlite3 *db;
	static const char *tables[] = { "upstream_sessions", "jobs", "leases",
	    "shares", "blocks" };
	int64_t *next[] = { &out->next_session_id, &out->next_job_id,
	    &out->next_lease_id, &out->next_share_id, &out->next_block_id };
	char sql[128];
	int i, rc;

	memset(out, 0, sizeof(*out));
	if (ledger_flush(l, -1) != LEDGER_COMMITTED) {
		snprintf(err, errlen, "ledger: recovery: pending writes failed");
		return -1;
	}
	if ((r = ledger_reader_open(ledger_path(l), err, errlen)) == NULL)
		return -1;
	db = r->db;
	/* one snapshot for everything */
	sqlite3_exec(db, "BEGIN", NULL, NULL, NULL);
	for (i = 0; i < 5; i++) {
		snprintf(sql, sizeof(sql), "SELECT coalesce(max(id), 0) + 1 FROM %s",
		    tables[i]);
		if (ledger_db_int(db, sql, next[i]) != SQLITE_OK)
			goto fail;
	}
	if (recover_workers(db, out) != 0 || recover_outbox(db, out) != 0 ||
	    recover_blocks(db, out) != 0 || recover_totals(db, &out->totals) != 0 ||
	    recover_access(db, out) != 0 ||
	    recover_cursors(db, cursor_horizon_ms, out) != 0 ||
	    recover_live(db, ledger_restart_at(l), out) != 0 ||
	    recover_node(db, out) != 0)
		goto fail;
	if (window_n > 0 && (rc = ledger_db_window_split(db, 0, window_n, 0, 0,
	    &out->window)) != 0) {
		snprintf(err, errlen, "ledger: recovery: PPLNS window: %s",
		    strerror(-rc));
		goto out_fail;
	}
	sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
	ledger_reader_close(r);
	log_info("ledger: recovered %zu workers, %" PRIu64 " valid / %" PRIu64
	    " invalid shares, %zu in the outbox, %zu blocks", out->nworkers,
	    out->totals.shares_valid, out->totals.shares_invalid, out->noutbox,
	    out->nblocks);
	return 0;
fail:
	snprintf(err, errlen, "ledger: recovery: %s", sqlite3_errmsg(db));
out_fail:
	sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	ledger_reader_close(r);
	ledger_recovery_free(out);
	return -1;
}

void
ledger_recovery_free(struct ledger_recovery *r)
{
	free(r->workers);
	free(r->outbox);
	free(r->blocks);
	free(r->access);
	free(r->cursors);
	for (size_t i = 0; i < r->nlive; i++) {
		free(r->live[i].leases);
		free(r->live[i].credited);
	}
	free(r->live);
	free(r->follow);
	pplns_result_free(&r->window);
	memset(r, 0, sizeof(*r));
}

/* --- audit --- */

static const struct ledger_check checks[] = {
	{ "accepted share outside a lease held by its worker",
	  "SELECT 'share ' || s.id || ' (worker ' || s.worker_id || ', job ' || "
	  "coalesce(s.job_id, 'NULL') || ', nonce ' || s.nonce || ', lease ' || "
	  "coalesce(s.lease_id, 'NULL') || ')' FROM shares s "
	  "LEFT JOIN leases le ON le.id = s.lease_id WHERE s.verdict = "
	  "'accepted' AND (le.id IS NULL OR le.worker_id <> s.worker_id OR "
	  "le.job_id <> s.job_id OR s.nonce < le.nonce_start OR "
	  "s.nonce >= le.nonce_end)" },
	/* The same work is the same blob and seed, whatever job id a pool
	 * or a restart gave it, and on node work the same extranonce (the
	 * unit of work is (job, extranonce); pool leases have none). */
	{ "duplicate (blob, seed, extranonce, nonce) credited",
	  "SELECT 'nonce ' || s.nonce || ' of the work of job ' || "
	  "min(s.job_id) || coalesce(' extranonce ' || le.extranonce, '') || "
	  "': ' || count(*) || ' accepted shares (' || "
	  "group_concat('share ' || s.id || ' job ' || s.job_id, ', ') || ')' "
	  "FROM shares s JOIN jobs j ON j.id = s.job_id "
	  "LEFT JOIN leases le ON le.id = s.lease_id "
	  "WHERE s.verdict = 'accepted' GROUP BY j.blob, j.seed, le.extranonce, "
	  "s.nonce HAVING count(*) > 1" },
	{ "overlapping leases of the same work",
	  "SELECT 'lease ' || id || ' of job ' || job_id || ' starts at ' || "
	  "nonce_start || ' before an earlier lease of the same blob, seed "
	  "and extranonce ends (' || prev_end || ')' "
	  "FROM (SELECT le.id, le.job_id, le.nonce_start, max(le.nonce_end) "
	  "OVER (PARTITION BY j.blob, j.seed, le.extranonce ORDER BY "
	  "le.nonce_start, le.id ROWS BETWEEN UNBOUNDED PRECEDING AND 1 "
	  "PRECEDING) AS prev_end "
	  "FROM leases le JOIN jobs j ON j.id = le.job_id) AS x "
	  "WHERE nonce_start < prev_end" },
	{ "income of an orphaned or rejected node block not reversed",
	  "SELECT 'income ' || i.id || ' (' || i.ref || '): block ' || b.id || "
	  "' is ' || b.status FROM income i JOIN blocks b ON b.id = i.block_id "
	  "WHERE b.maturity > 0 AND b.status IN ('orphaned', 'rejected') AND "
	  "i.reverses IS NULL AND NOT EXISTS (SELECT 1 FROM income x WHERE "
	  "x.reverses = i.id)" },
	{ "extranonce given to more than one lease",
	  "SELECT 'extranonce ' || extranonce || ': leases ' || "
	  "group_concat(id, ', ') FROM leases WHERE extranonce IS NOT NULL "
	  "GROUP BY extranonce HAVING count(*) > 1" },
	{ "share credited at another difficulty than its lease's",
	  "SELECT 'share ' || s.id || ' credited ' || s.difficulty || ' on lease ' "
	  "|| le.id || ' given ' || le.difficulty FROM shares s JOIN leases le "
	  "ON le.id = s.lease_id WHERE s.verdict = 'accepted' AND "
	  "le.difficulty > 0 AND s.difficulty <> le.difficulty" },
	{ "block candidate without its block row",
	  "SELECT 'share ' || s.id || ' (worker ' || s.worker_id || ', job ' || "
	  "s.job_id || ')' FROM shares s WHERE s.block_candidate = 1 AND NOT "
	  "EXISTS (SELECT 1 FROM blocks b WHERE b.share_id = s.id)" },
	{ "payouts do not sum to the reward",
	  "SELECT 'block ' || b.id || ': reward ' || coalesce(b.reward, 'NULL') "
	  "|| ', payouts ' || coalesce((SELECT sum(amount) FROM payouts p WHERE "
	  "p.block_id = b.id), 'none') FROM blocks b WHERE (b.reward IS NULL AND "
	  "EXISTS (SELECT 1 FROM payouts p WHERE p.block_id = b.id)) OR "
	  "(b.reward IS NOT NULL AND coalesce((SELECT sum(amount) FROM payouts p "
	  "WHERE p.block_id = b.id), -1) <> b.reward)" },
	{ "worker counters differ from the share rows",
	  "SELECT 'worker ' || w.id || ': counters ' || w.shares_valid || '/' || "
	  "w.shares_invalid || '/' || w.difficulty_valid || ', rows ' || "
	  "t.shares_valid || '/' || t.shares_invalid || '/' || "
	  "t.difficulty_valid FROM workers w JOIN worker_totals t ON "
	  "t.worker_id = w.id WHERE w.shares_valid <> t.shares_valid OR "
	  "w.shares_invalid <> t.shares_invalid OR w.difficulty_valid <> "
	  "t.difficulty_valid" },
	{ "block whose share is not a valid block candidate",
	  "SELECT 'block ' || b.id || ' share ' || b.share_id FROM blocks b "
	  "JOIN shares s ON s.id = b.share_id WHERE s.verdict <> 'accepted' OR "
	  "s.block_candidate = 0" },
	{ "broken reference",
	  "SELECT \"table\" || ' rowid ' || rowid || ' -> ' || parent "
	  "FROM pragma_foreign_key_check" },
	/* retention (sql/0007_retention.sql): what a range held before
	 * deletion equals its rollups, and nothing of it remains */
	{ "rolled range left open",
	  "SELECT 'range ' || id || ' (shares ' || first_share_id || '..' || "
	  "last_share_id || ') is ' || state FROM share_rollup_ranges WHERE "
	  "state <> 'done'" },
	{ "share inside a rolled range",
	  "SELECT 'share ' || s.id || ' in range ' || r.id || ' (shares ' || "
	  "r.first_share_id || '..' || r.last_share_id || ')' FROM "
	  "share_rollup_ranges r JOIN shares s ON s.id BETWEEN "
	  "r.first_share_id AND r.last_share_id" },
	{ "rollups differ from what their range held",
	  "SELECT 'range ' || r.id || ' (shares ' || r.first_share_id || '..' "
	  "|| r.last_share_id || '): recorded ' || r.shares_valid || ' valid, ' "
	  "|| r.shares_invalid || ' invalid, difficulty ' || r.difficulty_sum "
	  "|| ', ' || r.workers || ' workers; rollups give ' || "
	  "coalesce(x.v, 0) || ', ' || coalesce(x.i, 0) || ', ' || "
	  "coalesce(x.d, 0) || ', ' || coalesce(x.w, 0) FROM "
	  "share_rollup_ranges r LEFT JOIN (SELECT range_id, sum(shares_valid) "
	  "AS v, sum(shares_invalid) AS i, sum(difficulty_sum) AS d, "
	  "count(DISTINCT worker_id) AS w FROM share_rollups GROUP BY range_id) "
	  "x ON x.range_id = r.id WHERE coalesce(x.v, 0) <> r.shares_valid OR "
	  "coalesce(x.i, 0) <> r.shares_invalid OR coalesce(x.d, 0) <> "
	  "r.difficulty_sum OR coalesce(x.w, 0) <> r.workers" },
	{ "rollup row outside its range or its hour",
	  "SELECT 'rollup of range ' || u.range_id || ', worker ' || "
	  "u.worker_id || ', hour ' || u.hour_start_ms || ': shares ' || "
	  "u.first_share_id || '..' || u.last_share_id || CASE WHEN r.id IS "
	  "NULL THEN ', no such range' ELSE ', range ' || r.first_share_id || "
	  "'..' || r.last_share_id || ' created ' || r.first_created_at || '..' "
	  "|| r.last_created_at END FROM share_rollups u LEFT JOIN "
	  "share_rollup_ranges r ON r.id = u.range_id WHERE r.id IS NULL OR "
	  "u.first_share_id < r.first_share_id OR u.last_share_id > "
	  "r.last_share_id OR u.hour_start_ms + 3600000 <= r.first_created_at "
	  "OR u.hour_start_ms > r.last_created_at OR u.shares_credited > "
	  "u.shares_valid OR u.shares_valid + u.shares_invalid = 0" },
	{ "rolled range cuts an income window (its split cannot recompute)",
	  "SELECT 'range ' || r.id || ' (shares ' || r.first_share_id || '..' "
	  "|| r.last_share_id || ') holds share ' || CASE WHEN h.first_share_id "
	  "BETWEEN r.first_share_id AND r.last_share_id THEN h.first_share_id "
	  "ELSE h.last_share_id END || ', an end of the window of income ' || "
	  "h.income_id FROM share_rollup_ranges r JOIN income_splits h ON "
	  "h.first_share_id BETWEEN r.first_share_id AND r.last_share_id OR "
	  "h.last_share_id BETWEEN r.first_share_id AND r.last_share_id" },
};

static int
audit_payouts(struct ledger_reader *r,
    void (*report)(void *, const char *), void *arg)
{
	sqlite3_stmt *st, *pst;
	char msg[512];
	int n = 0, rc;

	if (sqlite3_prepare_v2(r->db, "SELECT id FROM blocks WHERE reward IS "
	    "NOT NULL ORDER BY id", -1, &st, NULL) != SQLITE_OK)
		return -EIO;
	if (sqlite3_prepare_v2(r->db, "SELECT amount FROM payouts WHERE "
	    "block_id = ?1 AND (worker_id = ?2 OR (?2 IS NULL AND kind = "
	    "'fee'))", -1, &pst, NULL) != SQLITE_OK) {
		sqlite3_finalize(st);
		return -EIO;
	}
	while (sqlite3_step(st) == SQLITE_ROW) {
		struct pplns_result res;
		int64_t id = sqlite3_column_int64(st, 0);
		size_t i;

		if ((rc = ledger_compute_payouts(r, id, NULL, NULL, &res)) != 0) {
			snprintf(msg, sizeof(msg), "payouts of block %" PRId64
			    ": cannot recompute (%s)", id, strerror(-rc));
			report(arg, msg);
			n++;
			continue;
		}
		for (i = 0; i <= res.nparts; i++) {
			const char *w = i < res.nparts ? res.parts[i].worker_id :
			    NULL;
			uint64_t want = i < res.nparts ? res.parts[i].amount :
			    res.fee;
			int64_t have = -1;

			sqlite3_bind_int64(pst, 1, id);
			if (w != NULL)
				sqlite3_bind_text(pst, 2, w, -1, SQLITE_STATIC);
			else
				sqlite3_bind_null(pst, 2);
			if (sqlite3_step(pst) == SQLITE_ROW)
				have = sqlite3_column_int64(pst, 0);
			sqlite3_reset(pst);
			sqlite3_clear_bindings(pst);
			if (have < 0 || (uint64_t)have != want) {
				snprintf(msg, sizeof(msg), "payouts of block %"
				    PRId64 ": %s stored %" PRId64 ", PPLNS gives "
				    "%" PRIu64, id, w ? w : "fee", have, want);
				report(arg, msg);
				n++;
			}
		}
		pplns_result_free(&res);
	}
	sqlite3_finalize(pst);
	sqlite3_finalize(st);
	return n;
}

int
ledger_audit(struct ledger_reader *r,
    void (*report)(void *arg, const char *violation), void *arg)
{
	char err[512];
	int n = 0, rc;

	sqlite3_exec(r->db, "BEGIN", NULL, NULL, NULL);
	if (ledger_db_quick_check(r->db, r->path, err, sizeof(err)) != 0) {
		report(arg, err);
		n++;
	}
	if ((rc = ledger_db_checks(r->db, checks, sizeof(checks) /
	    sizeof(checks[0]), report, arg)) < 0) {
		sqlite3_exec(r->db, "COMMIT", NULL, NULL, NULL);
		return rc;
	}
	n += rc;
	rc = audit_payouts(r, report, arg);
	if (rc >= 0) {
		n += rc;
		rc = money_audit(r, report, arg);
	}
	sqlite3_exec(r->db, "COMMIT", NULL, NULL, NULL);
	return rc < 0 ? rc : n + rc;
}

static void
fill_range(sqlite3_stmt *st, void *row)
{
	struct ledger_rollup_range *r = row;

	r->id = sqlite3_column_int64(st, 0);
	r->first_share_id = sqlite3_column_int64(st, 1);
	r->last_share_id = sqlite3_column_int64(st, 2);
	r->first_created_at = sqlite3_column_int64(st, 3);
	r->last_created_at = sqlite3_column_int64(st, 4);
	r->shares_valid = (uint64_t)sqlite3_column_int64(st, 5);
	r->shares_invalid = (uint64_t)sqlite3_column_int64(st, 6);
	r->difficulty_sum = (uint64_t)sqlite3_column_int64(st, 7);
	r->workers = (uint64_t)sqlite3_column_int64(st, 8);
	r->rolled_at = sqlite3_column_int64(st, 9);
	r->done = sqlite3_column_int(st, 10);
	r->rows = (uint64_t)sqlite3_column_int64(st, 11);
	r->matches = sqlite3_column_int(st, 12);
}

int
ledger_read_rollup_ranges(struct ledger_reader *r,
    struct ledger_rollup_range **out, size_t *n)
{
	return ledger_db_collect(ledger_db_prepare(r->db, "SELECT r.id, "
	    "r.first_share_id, r.last_share_id, r.first_created_at, "
	    "r.last_created_at, r.shares_valid, r.shares_invalid, "
	    "r.difficulty_sum, r.workers, r.rolled_at_ms, r.state = 'done', "
	    "coalesce(x.n, 0), coalesce(x.v, 0) = r.shares_valid AND "
	    "coalesce(x.i, 0) = r.shares_invalid AND coalesce(x.d, 0) = "
	    "r.difficulty_sum AND coalesce(x.w, 0) = r.workers AND NOT EXISTS "
	    "(SELECT 1 FROM shares s WHERE s.id BETWEEN r.first_share_id AND "
	    "r.last_share_id) FROM share_rollup_ranges r LEFT JOIN (SELECT "
	    "range_id, count(*) AS n, sum(shares_valid) AS v, "
	    "sum(shares_invalid) AS i, sum(difficulty_sum) AS d, "
	    "count(DISTINCT worker_id) AS w FROM share_rollups GROUP BY "
	    "range_id) x ON x.range_id = r.id ORDER BY r.id"), sizeof(**out),
	    fill_range, (void **)out, n);
}

/* --- export and backup --- */

static void
csv_field(FILE *out, sqlite3_stmt *st, int i)
{
	const unsigned char *p;
	char *hex;
	int n;

	switch (sqlite3_column_type(st, i)) {
	case SQLITE_NULL:
		return;
	case SQLITE_BLOB:
		n = sqlite3_column_bytes(st, i);
		if ((hex = malloc((size_t)n * 2 + 1)) == NULL)
			return;
		if (hex_encode(sqlite3_column_blob(st, i), (size_t)n, hex,
		    (size_t)n * 2 + 1) == 0)
			fputs(hex, out);
		free(hex);
		return;
	case SQLITE_TEXT:
		p = sqlite3_column_text(st, i);
		if (strpbrk((const char *)p, ",\"\r\n") == NULL) {
			fputs((const char *)p, out);
			return;
		}
		fputc('"', out);
		for (; *p; p++) {
			if (*p == '"')
				fputc('"', out);
			fputc(*p, out);
		}
		fputc('"', out);
		return;
	default:
		fputs((const char *)sqlite3_column_text(st, i), out);
	}
}

int
ledger_export_csv(struct ledger_reader *r, const char *what,
    int64_t since_ms, FILE *out)
{
	sqlite3_stmt *st;
	int i, n, rc;

	if (strcmp(what, "shares") == 0)
		st = ledger_db_prepare(r->db, "SELECT s.id, s.created_at, "
		    "s.worker_id, s.job_id, j.upstream_job_id, s.lease_id, "
		    "s.nonce, s.result, s.difficulty, s.hash_difficulty, "
		    "s.verdict, s.reason, s.block_candidate, s.upstream, "
		    "s.upstream_reason, s.upstream_at FROM shares s LEFT JOIN "
		    "jobs j ON j.id = s.job_id WHERE s.created_at >= ?1 "
		    "ORDER BY s.id");
	else if (strcmp(what, "payouts") == 0)
		st = ledger_db_prepare(r->db, "SELECT * FROM block_payouts "
		    "WHERE ?1 IS NOT NULL ORDER BY block_id, kind DESC, "
		    "worker_id");
	else
		return -EINVAL;
	if (st == NULL)
		return -EIO;
	sqlite3_bind_int64(st, 1, since_ms);
	n = sqlite3_column_count(st);
	for (i = 0; i < n; i++)
		fprintf(out, "%s%s", i ? "," : "", sqlite3_column_name(st, i));
	fputc('\n', out);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		for (i = 0; i < n; i++) {
			if (i)
				fputc(',', out);
			csv_field(out, st, i);
		}
		fputc('\n', out);
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		log_warnx("export %s: %s", what, sqlite3_errmsg(r->db));
		return -EIO;
	}
	return ferror(out) ? -EIO : 0;
}

int
ledger_backup(const char *db_path, const char *dest, char *err, size_t errlen)
{
	struct ledger_reader *r;
	sqlite3 *d = NULL;
	sqlite3_backup *b;
	int rc;

	if ((r = ledger_reader_open(db_path, err, errlen)) == NULL)
		return -1;
	if (access(dest, F_OK) == 0) {
		snprintf(err, errlen, "%s exists: refusing to overwrite it", dest);
		ledger_reader_close(r);
		return -1;
	}
	if (sqlite3_open_v2(dest, &d, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
	    NULL) != SQLITE_OK) {
		snprintf(err, errlen, "cannot create %s: %s", dest,
		    d ? sqlite3_errmsg(d) : "out of memory");
		goto fail;
	}
	if ((b = sqlite3_backup_init(d, "main", r->db, "main")) == NULL) {
		snprintf(err, errlen, "backup to %s: %s", dest, sqlite3_errmsg(d));
		goto fail;
	}
	/* all pages in one step: one read snapshot, which a WAL writer does
	 * not disturb (smaller steps restart whenever the writer commits) */
	do {
		rc = sqlite3_backup_step(b, -1);
		if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED)
			sqlite3_sleep(20);
	} while (rc == SQLITE_OK || rc == SQLITE_BUSY || rc == SQLITE_LOCKED);
	sqlite3_backup_finish(b);
	if (rc != SQLITE_DONE) {
		snprintf(err, errlen, "backup to %s: %s", dest, sqlite3_errstr(rc));
		goto fail;
	}
	sqlite3_close(d);
	ledger_reader_close(r);
	return 0;
fail:
	sqlite3_close(d);
	unlink(dest);
	ledger_reader_close(r);
	return -1;
}
