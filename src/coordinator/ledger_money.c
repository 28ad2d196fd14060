/*
 * ledger_money.c: money in the ledger (money.h): recording income and
 * splitting it in the same transaction (PPLNS over pplns.c, or PROP),
 * owners, assignments, payments, and the typed read side (balances, income,
 * explanations) plus the money checks of the audit.  Called by
 * coopmine-cli, the dashboard's POST /api/income and the ledger's writer.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/target.h"
#include "coordinator/ledger_int.h"
#include "coordinator/ledger_steps.h"
#include "coordinator/money.h"

struct money {
	sqlite3 *db;
};

static const char *const source_names[] = { "pool", "block", "manual" };
static const char *const scheme_names[] = { "pplns", "prop" };

const char *
money_source_name(enum money_source s)
{
	return (unsigned)s < 3 ? source_names[s] : "?";
}

int
money_source_parse(const char *s)
{
	return ledger_name_parse(s, source_names, 3);
}

const char *
money_scheme_name(enum money_scheme s)
{
	return (unsigned)s < 2 ? scheme_names[s] : "?";
}

int
money_scheme_parse(const char *s)
{
	return ledger_name_parse(s, scheme_names, 2);
}

static int errf(char *err, size_t errlen, int rc, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Sets the message for the caller and returns rc. */
static int
errf(char *err, size_t errlen, int rc, const char *fmt, ...)
{
	va_list ap;

	if (err != NULL && errlen > 0) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return rc;
}

int
money_amount_parse(const char *s, uint64_t *out, char *err, size_t errlen)
{
	uint64_t v = 0;
	const char *p;

	if (s == NULL || *s == '\0')
		return errf(err, errlen, MONEY_EINVAL, "missing");
	if (*s == '-')
		return errf(err, errlen, MONEY_EINVAL, "negative (%s): amounts "
		    "are > 0; a correction is a reversal", s);
	for (p = s; *p; p++) {
		if (*p < '0' || *p > '9')
			return errf(err, errlen, MONEY_EINVAL, "not a whole number "
			    "of atomic units: %s", s);
		if (v > ((uint64_t)INT64_MAX - (uint64_t)(*p - '0')) / 10)
			return errf(err, errlen, MONEY_EINVAL, "%s is above the "
			    "largest amount (%" PRId64 " atomic units)", s,
			    INT64_MAX);
		v = v * 10 + (uint64_t)(*p - '0');
	}
	if (v == 0)
		return errf(err, errlen, MONEY_EINVAL, "zero: amounts are > 0");
	*out = v;
	return 0;
}

/* --- small SQL helpers on the money connection --- */

static sqlite3_stmt *
prep(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st = NULL;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
		log_warnx("ledger money: preparing \"%s\": %s", sql,
		    sqlite3_errmsg(db));
		return NULL;
	}
	return st;
}

/* A single int64 from a query ("not found" -> *found 0). */
static int
query_i64(sqlite3_stmt *st, int64_t *out, int *found)
{
	int rc;

	*found = 0;
	if (st == NULL)
		return MONEY_EIO;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL) {
		*out = sqlite3_column_int64(st, 0);
		*found = 1;
	}
	sqlite3_finalize(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : MONEY_EIO;
}

static int
begin(sqlite3 *db, char *err, size_t errlen)
{
	char *msg = NULL;

	if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, &msg) != SQLITE_OK) {
		errf(err, errlen, MONEY_EIO, "ledger busy or unwritable: %s",
		    msg ? msg : sqlite3_errmsg(db));
		sqlite3_free(msg);
		return MONEY_EIO;
	}
	return 0;
}

/* Commits when rc is 0, else rolls back; returns rc (or the commit's). */
static int
finish(sqlite3 *db, int rc, char *err, size_t errlen)
{
	if (rc == 0 && sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) ==
	    SQLITE_OK)
		return 0;
	if (rc == 0)
		rc = errf(err, errlen, MONEY_EIO, "commit failed: %s",
		    sqlite3_errmsg(db));
	sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	return rc;
}

static int
check_text(const char *field, const char *s, size_t max, char *err,
    size_t errlen)
{
	const unsigned char *p;

	if (s == NULL || *s == '\0')
		return errf(err, errlen, MONEY_EINVAL, "%s: missing", field);
	if (strlen(s) >= max)
		return errf(err, errlen, MONEY_EINVAL, "%s: longer than %zu bytes",
		    field, max - 1);
	for (p = (const unsigned char *)s; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			return errf(err, errlen, MONEY_EINVAL, "%s: control "
			    "character in \"%s\"", field, s);
	return 0;
}

/* --- open --- */

struct money *
money_open(const char *path, char *err, size_t errlen)
{
	struct money *m;

	if ((m = calloc(1, sizeof(*m))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	/* beside the coordinator's writer: wait for it, same durability */
	if ((m->db = ledger_db_open_current(path, 0, 10000, err, errlen)) ==
	    NULL) {
		free(m);
		return NULL;
	}
	if (sqlite3_exec(m->db, "PRAGMA journal_mode = WAL; PRAGMA synchronous "
	    "= FULL; PRAGMA foreign_keys = ON", NULL, NULL, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "ledger %s: %s", path,
		    sqlite3_errmsg(m->db));
		money_close(m);
		return NULL;
	}
	return m;
}

void
money_close(struct money *m)
{
	if (m == NULL)
		return;
	sqlite3_close(m->db);
	free(m);
}

/* --- owners --- */

static int
owner_find(sqlite3 *db, const char *name, int64_t *id, int *found)
{
	sqlite3_stmt *st = prep(db, "SELECT id FROM owners WHERE name = ?1");

	if (st != NULL)
		sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	return query_i64(st, id, found);
}

/* The owner called name, created when absent (workers, the operator). */
static int
owner_ensure(sqlite3 *db, const char *name, int64_t now, int64_t *id)
{
	sqlite3_stmt *st;
	int found, rc;

	if ((rc = owner_find(db, name, id, &found)) != 0 || found)
		return rc;
	if ((st = prep(db, "INSERT INTO owners (name, created_at) VALUES "
	    "(?1, ?2)")) == NULL)
		return MONEY_EIO;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, now);
	if (ledger_db_step_once(st) != SQLITE_DONE)
		return MONEY_EIO;
	*id = sqlite3_last_insert_rowid(db);
	log_info("ledger money: owner %s created (id %" PRId64 ")", name, *id);
	return 0;
}

int
money_owner_add(struct money *m, const char *name, const char *address,
    int64_t *id, char *err, size_t errlen)
{
	sqlite3_stmt *st;
	int64_t old;
	int found, rc;

	if ((rc = check_text("name", name, MONEY_NAME_MAX, err, errlen)) != 0)
		return rc;
	if (address != NULL && *address != '\0' && (rc = check_text("address",
	    address, MONEY_REF_MAX, err, errlen)) != 0)
		return rc;
	if ((rc = begin(m->db, err, errlen)) != 0)
		return rc;
	if ((rc = owner_find(m->db, name, &old, &found)) == 0 && found)
		rc = errf(err, errlen, MONEY_EEXIST, "name: owner %s already "
		    "exists (id %" PRId64 "); owners set changes its address",
		    name, old);
	if (rc == 0) {
		st = prep(m->db, "INSERT INTO owners (name, address, created_at) "
		    "VALUES (?1, ?2, ?3)");
		if (st != NULL) {
			sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
			sqlite3_bind_text(st, 2, address ? address : "", -1,
			    SQLITE_STATIC);
			sqlite3_bind_int64(st, 3, clock_wall_ms());
		}
		if (ledger_db_step_once(st) != SQLITE_DONE)
			rc = errf(err, errlen, MONEY_EIO, "owners: %s",
			    sqlite3_errmsg(m->db));
		else if (id != NULL)
			*id = sqlite3_last_insert_rowid(m->db);
	}
	return finish(m->db, rc, err, errlen);
}

int
money_owner_set(struct money *m, const char *name, const char *address,
    char *err, size_t errlen)
{
	sqlite3_stmt *st;
	int rc;

	if ((rc = check_text("address", address, MONEY_REF_MAX, err,
	    errlen)) != 0)
		return rc;
	if ((rc = begin(m->db, err, errlen)) != 0)
		return rc;
	st = prep(m->db, "UPDATE owners SET address = ?2 WHERE name = ?1");
	if (st != NULL) {
		sqlite3_bind_text(st, 1, name ? name : "", -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, address, -1, SQLITE_STATIC);
	}
	if (ledger_db_step_once(st) != SQLITE_DONE)
		rc = errf(err, errlen, MONEY_EIO, "owners: %s",
		    sqlite3_errmsg(m->db));
	else if (sqlite3_changes(m->db) == 0)
		rc = errf(err, errlen, MONEY_ENOENT, "owner: no owner named %s "
		    "(owners list)", name ? name : "");
	return finish(m->db, rc, err, errlen);
}

int
money_assign(struct money *m, const char *worker,
    const struct money_share_of *owners, size_t n, int64_t valid_from,
    char *err, size_t errlen)
{
	sqlite3_stmt *st;
	int64_t oid, later;
	unsigned sum = 0;
	size_t i, j;
	int found, rc;

	if ((rc = check_text("worker", worker, MONEY_NAME_MAX, err,
	    errlen)) != 0)
		return rc;
	if (n == 0)
		return errf(err, errlen, MONEY_EINVAL, "owners: none given");
	for (i = 0; i < n; i++) {
		if (owners[i].bps == 0 || owners[i].bps > 10000)
			return errf(err, errlen, MONEY_EINVAL, "bps: %s:%u is not "
			    "in 1..10000", owners[i].owner, owners[i].bps);
		for (j = 0; j < i; j++)
			if (strcmp(owners[i].owner, owners[j].owner) == 0)
				return errf(err, errlen, MONEY_EINVAL, "owners: "
				    "%s given twice", owners[i].owner);
		sum += owners[i].bps;
	}
	if (sum != 10000)
		return errf(err, errlen, MONEY_EINVAL, "bps: the parts sum to %u, "
		    "not 10000", sum);
	if ((rc = begin(m->db, err, errlen)) != 0)
		return rc;
	/* a split already made with the old owners must stay explainable */
	st = prep(m->db, "SELECT max(id) FROM income WHERE at >= ?1");
	if (st != NULL)
		sqlite3_bind_int64(st, 1, valid_from);
	if ((rc = query_i64(st, &later, &found)) == 0 && found)
		rc = errf(err, errlen, MONEY_EREFUSED, "from: income %" PRId64
		    " at or after this time is already split with the current "
		    "owners; assign from a later time", later);
	for (i = 0; rc == 0 && i < n; i++) {
		if ((rc = owner_find(m->db, owners[i].owner, &oid, &found)) != 0)
			break;
		if (!found) {
			rc = errf(err, errlen, MONEY_ENOENT, "owner: no owner named "
			    "%s (owners add NAME first)", owners[i].owner);
			break;
		}
		st = prep(m->db, "INSERT INTO worker_owners (worker_id, owner_id, "
		    "bps, valid_from) VALUES (?1, ?2, ?3, ?4)");
		if (st != NULL) {
			sqlite3_bind_text(st, 1, worker, -1, SQLITE_STATIC);
			sqlite3_bind_int64(st, 2, oid);
			sqlite3_bind_int(st, 3, (int)owners[i].bps);
			sqlite3_bind_int64(st, 4, valid_from);
		}
		if ((found = ledger_db_step_once(st)) != SQLITE_DONE)
			rc = errf(err, errlen, (found & 0xff) == SQLITE_CONSTRAINT ?
			    MONEY_EEXIST : MONEY_EIO, "from: worker %s already has "
			    "owners from this time (%s)", worker,
			    sqlite3_errmsg(m->db));
	}
	return finish(m->db, rc, err, errlen);
}

/* --- the split --- */

struct block_row {
	int64_t share_id, found_at;
	uint64_t network_difficulty;
};

static int
block_get(sqlite3 *db, int64_t id, struct block_row *b, int *found)
{
	sqlite3_stmt *st = prep(db, "SELECT share_id, found_at, "
	    "network_difficulty FROM blocks WHERE id = ?1");
	int rc;

	*found = 0;
	if (st == NULL)
		return MONEY_EIO;
	sqlite3_bind_int64(st, 1, id);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		b->share_id = sqlite3_column_int64(st, 0);
		b->found_at = sqlite3_column_int64(st, 1);
		b->network_difficulty = (uint64_t)sqlite3_column_int64(st, 2);
		*found = 1;
	}
	sqlite3_finalize(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : MONEY_EIO;
}

/* The network difficulty of the latest job received at or before `at`. */
static int
netdiff_at(sqlite3 *db, int64_t at, uint64_t *diff, int64_t *job_id)
{
	sqlite3_stmt *st = prep(db, "SELECT id, block_target, nbits FROM jobs "
	    "WHERE received_at <= ?1 AND (block_target IS NOT NULL OR nbits <> 0) "
	    "ORDER BY received_at DESC, id DESC LIMIT 1");
	uint8_t target[32];
	double d;
	int rc;

	*diff = 0;
	if (st == NULL)
		return MONEY_EIO;
	sqlite3_bind_int64(st, 1, at);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		*job_id = sqlite3_column_int64(st, 0);
		if (sqlite3_column_bytes(st, 1) == 32)
			memcpy(target, sqlite3_column_blob(st, 1), 32);
		else if (nbits_to_target256((uint32_t)sqlite3_column_int64(st,
		    2), target) != 0)
			memset(target, 0xff, sizeof(target));
		d = target256_difficulty(target);
		*diff = d >= 1.8e19 ? UINT64_MAX : d < 1 ? 1 : (uint64_t)d;
	}
	sqlite3_finalize(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : MONEY_EIO;
}

struct window {
	enum money_scheme scheme;
	int64_t after, last, first;
	uint64_t n, netdiff;
	char n_source[MONEY_REF_MAX];
	char warning[MONEY_REF_MAX];
};

/* Where the event's window ends, and its N. */
static int
window_find(sqlite3 *db, const struct money_rules *ru,
    const struct money_income *in, int64_t at, const struct block_row *b,
    struct window *w, char *err, size_t errlen)
{
	sqlite3_stmt *st;
	int64_t job = 0;
	int found, rc;

	memset(w, 0, sizeof(*w));
	w->scheme = ru->scheme;
	if (in->source == MONEY_SRC_BLOCK)
		w->last = b->share_id;
	else {
		st = prep(db, "SELECT max(id) FROM shares WHERE verdict = "
		    "'accepted' AND difficulty > 0 AND created_at <= ?1");
		if (st != NULL)
			sqlite3_bind_int64(st, 1, at);
		if ((rc = query_i64(st, &w->last, &found)) != 0)
			return errf(err, errlen, rc, "shares: %s",
			    sqlite3_errmsg(db));
	}
	if (ru->scheme == MONEY_PROP) {
		/* every share paid once: the shares since the previous event */
		st = prep(db, "SELECT max(last_share_id) FROM income_splits");
		if ((rc = query_i64(st, &w->after, &found)) != 0)
			return errf(err, errlen, rc, "income_splits: %s",
			    sqlite3_errmsg(db));
		w->n = UINT64_MAX;
		snprintf(w->n_source, sizeof(w->n_source), "prop: the shares "
		    "after share %" PRId64 " (the previous income's window)",
		    w->after);
		return 0;
	}
	if (ru->window_abs > 0) {
		w->n = ru->window_abs;
		snprintf(w->n_source, sizeof(w->n_source), "[pplns] window = %"
		    PRIu64 " (absolute)", w->n);
		return 0;
	}
	if (in->source == MONEY_SRC_BLOCK) {
		w->netdiff = b->network_difficulty;
		snprintf(w->n_source, sizeof(w->n_source), "window_factor %"
		    PRIu64 ".%03" PRIu64 " x network difficulty %" PRIu64
		    " (block %" PRId64 ")", ru->window_factor_milli / 1000,
		    ru->window_factor_milli % 1000, w->netdiff, in->block_id);
	} else {
		if ((rc = netdiff_at(db, at, &w->netdiff, &job)) != 0)
			return errf(err, errlen, rc, "jobs: %s",
			    sqlite3_errmsg(db));
		if (w->netdiff == 0)
			return errf(err, errlen, MONEY_EINVAL, "at: no job with a "
			    "network difficulty at or before this time, so no "
			    "PPLNS window N; set [pplns] window (absolute N)");
		snprintf(w->n_source, sizeof(w->n_source), "window_factor %"
		    PRIu64 ".%03" PRIu64 " x network difficulty %" PRIu64
		    " (job %" PRId64 ", the latest at the event)",
		    ru->window_factor_milli / 1000, ru->window_factor_milli % 1000,
		    w->netdiff, job);
	}
	w->n = pplns_window_n(w->netdiff, ru->window_factor_milli, 0);
	return 0;
}

static int
insert_split(sqlite3 *db, int64_t income_id, const char *worker,
    int64_t owner_id, unsigned bps, uint64_t difficulty, uint64_t shares,
    uint64_t worker_amount, uint64_t amount, int wextra, int oextra)
{
	sqlite3_stmt *st = prep(db, "INSERT INTO splits (income_id, kind, "
	    "worker_id, owner_id, bps, difficulty, shares, worker_amount, amount, "
	    "worker_extra, owner_extra) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, "
	    "?9, ?10, ?11)");

	if (st == NULL)
		return MONEY_EIO;
	sqlite3_bind_int64(st, 1, income_id);
	sqlite3_bind_text(st, 2, worker ? "worker" : "fee", -1, SQLITE_STATIC);
	if (worker != NULL)
		sqlite3_bind_text(st, 3, worker, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, owner_id);
	sqlite3_bind_int(st, 5, (int)bps);
	ledger_bind_u64(st, 6, difficulty);
	ledger_bind_u64(st, 7, shares);
	ledger_bind_u64(st, 8, worker_amount);
	ledger_bind_u64(st, 9, amount);
	sqlite3_bind_int(st, 10, wextra);
	sqlite3_bind_int(st, 11, oextra);
	return ledger_db_step_once(st) == SQLITE_DONE ? 0 : MONEY_EIO;
}

#define OWNERS_MAX	64	/* co-owners of one worker */

/* A worker's part, divided among its owners at `at` by bps. */
static int
split_worker(sqlite3 *db, int64_t income_id, int64_t at, int64_t now,
    const struct pplns_part *p)
{
	int64_t oid[OWNERS_MAX];
	uint64_t bps[OWNERS_MAX], amt[OWNERS_MAX];
	int extra[OWNERS_MAX];
	sqlite3_stmt *st;
	size_t n = 0, i;
	int rc;

	st = prep(db, "SELECT owner_id, bps FROM worker_owners WHERE worker_id "
	    "= ?1 AND valid_from = (SELECT max(valid_from) FROM worker_owners "
	    "WHERE worker_id = ?1 AND valid_from <= ?2) ORDER BY owner_id");
	if (st == NULL)
		return MONEY_EIO;
	sqlite3_bind_text(st, 1, p->worker_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, at);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW && n < OWNERS_MAX) {
		oid[n] = sqlite3_column_int64(st, 0);
		bps[n++] = (uint64_t)sqlite3_column_int64(st, 1);
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		return MONEY_EIO;
	if (n == 0) {
		/* nothing is ever unassigned: the worker's own owner row */
		if ((rc = owner_ensure(db, p->worker_id, now, &oid[0])) != 0)
			return rc;
		bps[n++] = 10000;
	}
	if (pplns_apportion(p->amount, bps, n, amt, extra) != 0)
		return MONEY_EIO;
	for (i = 0; i < n; i++)
		if ((rc = insert_split(db, income_id, p->worker_id, oid[i],
		    (unsigned)bps[i], p->difficulty, p->shares, p->amount, amt[i],
		    p->extra, extra[i])) != 0)
			return rc;
	return 0;
}

static int
insert_header(sqlite3 *db, int64_t income_id, const struct window *w,
    const struct pplns_result *res, unsigned fee_bps, int64_t fee_owner)
{
	sqlite3_stmt *st = prep(db, "INSERT INTO income_splits (income_id, "
	    "scheme, after_share_id, last_share_id, first_share_id, window_n, "
	    "n_source, network_difficulty, window_difficulty, share_count, "
	    "fee_bps, fee_owner_id, warning) VALUES (?1, ?2, ?3, ?4, ?5, ?6, "
	    "?7, ?8, ?9, ?10, ?11, ?12, ?13)");

	if (st == NULL)
		return MONEY_EIO;
	sqlite3_bind_int64(st, 1, income_id);
	sqlite3_bind_text(st, 2, scheme_names[w->scheme], -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, w->after);
	if (w->last > 0)
		sqlite3_bind_int64(st, 4, w->last);
	if (w->first > 0)
		sqlite3_bind_int64(st, 5, w->first);
	/* prop: N is what the range held */
	ledger_bind_u64(st, 6, w->scheme == MONEY_PROP ? res->window_difficulty :
	    w->n);
	sqlite3_bind_text(st, 7, w->n_source, -1, SQLITE_STATIC);
	ledger_bind_u64(st, 8, w->netdiff);
	ledger_bind_u64(st, 9, res->window_difficulty);
	ledger_bind_u64(st, 10, res->nshares);
	sqlite3_bind_int(st, 11, (int)fee_bps);
	sqlite3_bind_int64(st, 12, fee_owner);
	sqlite3_bind_text(st, 13, w->warning, -1, SQLITE_STATIC);
	return ledger_db_step_once(st) == SQLITE_DONE ? 0 : MONEY_EIO;
}

/*
 * Refuses a window that reaches into shares [ledger] retention rolled up:
 * their rollups cannot say which of them the window's edge would cut.
 * Retention keeps the window of the next split, so only income dated far
 * back gets here.
 */
static int
window_rolled(sqlite3 *db, const struct window *w,
    const struct pplns_result *res, char *err, size_t errlen)
{
	sqlite3_stmt *st;
	int64_t lo, id = 0;
	int found, rc;

	if (w->last <= w->after)
		return 0;
	/* a full window stops at its oldest share; a short one read all */
	lo = w->scheme == MONEY_PPLNS && res->window_difficulty >= w->n &&
	    w->first > 0 ? w->first : w->after + 1;
	st = prep(db, "SELECT max(id) FROM share_rollup_ranges WHERE "
	    "first_share_id <= ?2 AND last_share_id >= ?1");
	if (st != NULL) {
		sqlite3_bind_int64(st, 1, lo);
		sqlite3_bind_int64(st, 2, w->last);
	}
	if ((rc = query_i64(st, &id, &found)) != 0)
		return errf(err, errlen, rc, "share_rollup_ranges: %s",
		    sqlite3_errmsg(db));
	if (id > 0)
		return errf(err, errlen, MONEY_EREFUSED, "at: the window of "
		    "this income (shares %" PRId64 " to %" PRId64 ") reaches "
		    "shares rolled up by [ledger] retention (range %" PRId64
		    "): record it at a later time, or split it by hand", lo,
		    w->last, id);
	return 0;
}

int
ledger_db_netdiff_at(sqlite3 *db, int64_t at, uint64_t *diff)
{
	int64_t job = 0;

	return netdiff_at(db, at, diff, &job) == 0 ? 0 : -EIO;
}

/* Splits a just-inserted income row (inside the caller's transaction). */
static int
split_income(sqlite3 *db, const struct money_rules *ru,
    const struct money_income *in, int64_t income_id, int64_t at,
    const struct block_row *b, int64_t now, char *err, size_t errlen)
{
	struct pplns_result res;
	struct window w;
	int64_t fee_owner;
	size_t i;
	int rc;

	if (ru->fee_bps > 10000)
		return errf(err, errlen, MONEY_EINVAL, "[pplns] fee_bps: %u is "
		    "above 10000", ru->fee_bps);
	if ((rc = window_find(db, ru, in, at, b, &w, err, errlen)) != 0)
		return rc;
	memset(&res, 0, sizeof(res));
	if (w.last > w.after && (rc = ledger_db_range_split(db, w.after, w.last,
	    w.n, in->amount, ru->fee_bps, &res, &w.first)) != 0)
		return errf(err, errlen, MONEY_EIO, "splitting income %" PRId64
		    ": %s", income_id, strerror(-rc));
	if ((rc = window_rolled(db, &w, &res, err, errlen)) != 0) {
		pplns_result_free(&res);
		return rc;
	}
	if (res.nparts == 0) {
		res.fee = in->amount;
		snprintf(w.warning, sizeof(w.warning), "no credited share in "
		    "the window: the whole amount goes to the fee owner");
	} else if (w.scheme == MONEY_PPLNS && res.nshares == 1)
		snprintf(w.warning, sizeof(w.warning), "the window N = %" PRIu64
		    " is no larger than one share (share %" PRId64 "): it takes "
		    "everything; raise [pplns] window or window_factor", w.n,
		    w.first);
	if (*w.warning)
		log_warnx("ledger money: income %" PRId64 ": %s", income_id,
		    w.warning);
	rc = owner_ensure(db, ru->fee_owner ? ru->fee_owner : "operator", now,
	    &fee_owner);
	if (rc == 0)
		rc = insert_header(db, income_id, &w, &res, ru->fee_bps, fee_owner);
	if (rc == 0)
		rc = insert_split(db, income_id, NULL, fee_owner, 10000,
		    res.window_difficulty, 0, res.fee, res.fee, 0, 0);
	for (i = 0; rc == 0 && i < res.nparts; i++)
		rc = split_worker(db, income_id, at, now, &res.parts[i]);
	pplns_result_free(&res);
	if (rc != 0)
		return errf(err, errlen, rc, "splitting income %" PRId64 ": %s",
		    income_id, sqlite3_errmsg(db));
	return 0;
}

/* Validates, inserts and splits one income row; *skipped when it was
 * already recorded identically and skip_recorded. */
static int
record_one(sqlite3 *db, const struct money_rules *ru,
    const struct money_income *in, int skip_recorded, int64_t now,
    int64_t *id, int *skipped, char *err, size_t errlen)
{
	struct block_row b = { 0 };
	sqlite3_stmt *st;
	int64_t at = in->at;
	int found, rc;

	*skipped = 0;
	*id = 0;
	if (in->amount == 0)
		return errf(err, errlen, MONEY_EINVAL, "amount: zero: amounts "
		    "are > 0");
	if (in->amount > INT64_MAX)
		return errf(err, errlen, MONEY_EINVAL, "amount: %" PRIu64 " is "
		    "above the largest amount (%" PRId64 ")", in->amount,
		    INT64_MAX);
	if ((unsigned)in->source > MONEY_SRC_MANUAL)
		return errf(err, errlen, MONEY_EINVAL, "source: pool, block or "
		    "manual");
	if ((rc = check_text("ref", in->ref, MONEY_REF_MAX, err, errlen)) != 0)
		return rc;
	if (in->note != NULL && strlen(in->note) >= MONEY_REF_MAX)
		return errf(err, errlen, MONEY_EINVAL, "note: longer than %d "
		    "bytes", MONEY_REF_MAX - 1);
	if (in->source == MONEY_SRC_BLOCK) {
		if (in->block_id <= 0)
			return errf(err, errlen, MONEY_EINVAL, "block: source "
			    "block needs the block's id (--block ID)");
		if ((rc = block_get(db, in->block_id, &b, &found)) != 0)
			return errf(err, errlen, rc, "blocks: %s",
			    sqlite3_errmsg(db));
		if (!found)
			return errf(err, errlen, MONEY_ENOENT, "block: no block %"
			    PRId64 " in the ledger", in->block_id);
		if (at == 0)
			at = b.found_at;
	} else if (in->block_id != 0)
		return errf(err, errlen, MONEY_EINVAL, "block: only with source "
		    "block");
	if (at <= 0)
		return errf(err, errlen, MONEY_EINVAL, "at: missing (epoch ms or "
		    "an ISO date)");
	if (at > now + MONEY_FUTURE_MS)
		return errf(err, errlen, MONEY_EINVAL, "at: %" PRId64 " is in the "
		    "future (now %" PRId64 ")", at, now);
	st = prep(db, "SELECT id, amount, at FROM income WHERE ref = ?1");
	if (st == NULL)
		return errf(err, errlen, MONEY_EIO, "income: %s",
		    sqlite3_errmsg(db));
	sqlite3_bind_text(st, 1, in->ref, -1, SQLITE_STATIC);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		int64_t old = sqlite3_column_int64(st, 0);
		int same = (uint64_t)sqlite3_column_int64(st, 1) == in->amount &&
		    sqlite3_column_int64(st, 2) == at;

		sqlite3_finalize(st);
		if (skip_recorded && same) {
			*skipped = 1;
			return 0;
		}
		return errf(err, errlen, MONEY_EEXIST, "ref: %s is already "
		    "recorded (income %" PRId64 "%s)", in->ref, old, same ? "" :
		    ", with another amount or time");
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return errf(err, errlen, MONEY_EIO, "income: %s",
		    sqlite3_errmsg(db));
	st = prep(db, "INSERT INTO income (amount, at, source, ref, note, "
	    "block_id, recorded_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)");
	if (st == NULL)
		return MONEY_EIO;
	ledger_bind_u64(st, 1, in->amount);
	sqlite3_bind_int64(st, 2, at);
	sqlite3_bind_text(st, 3, source_names[in->source], -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, in->ref, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, in->note ? in->note : "", -1, SQLITE_STATIC);
	if (in->source == MONEY_SRC_BLOCK)
		sqlite3_bind_int64(st, 6, in->block_id);
	sqlite3_bind_int64(st, 7, now);
	if (ledger_db_step_once(st) != SQLITE_DONE)
		return errf(err, errlen, MONEY_EIO, "income: %s",
		    sqlite3_errmsg(db));
	*id = sqlite3_last_insert_rowid(db);
	return split_income(db, ru, in, *id, at, &b, now, err, errlen);
}

int
ledger_db_income_record(sqlite3 *db, const struct money_rules *rules,
    const struct money_income *in, int64_t *id, char *err, size_t errlen)
{
	int skipped;

	return record_one(db, rules, in, 1, clock_wall_ms(), id, &skipped, err,
	    errlen);
}

int
money_income_add(struct money *m, const struct money_rules *rules,
    const struct money_income *income, size_t n, int skip_recorded,
    int64_t *ids, size_t *skipped, size_t *bad, char *err, size_t errlen)
{
	int64_t now = clock_wall_ms(), id;
	size_t i, nskip = 0;
	int rc, sk;

	if ((rc = begin(m->db, err, errlen)) != 0)
		return rc;
	for (i = 0; i < n; i++) {
		if ((rc = record_one(m->db, rules, &income[i], skip_recorded, now,
		    &id, &sk, err, errlen)) != 0) {
			if (bad != NULL)
				*bad = i;
			break;
		}
		nskip += (size_t)sk;
		if (ids != NULL)
			ids[i] = id;
	}
	if (skipped != NULL)
		*skipped = nskip;
	return finish(m->db, rc, err, errlen);
}

/* Owners whose balance is below zero: the first one named in err. */
static int
check_balances(sqlite3 *db, const char *what, char *err, size_t errlen)
{
	sqlite3_stmt *st = prep(db, "SELECT name, credited - paid FROM "
	    "owner_balances WHERE credited - paid < 0 ORDER BY owner_id "
	    "LIMIT 1");
	int rc;

	if (st == NULL)
		return MONEY_EIO;
	if ((rc = sqlite3_step(st)) == SQLITE_ROW)
		rc = errf(err, errlen, MONEY_EREFUSED, "%s would leave owner %s "
		    "with a negative balance (%" PRId64 ")", what,
		    (const char *)sqlite3_column_text(st, 0),
		    (int64_t)sqlite3_column_int64(st, 1));
	else
		rc = rc == SQLITE_DONE ? 0 : MONEY_EIO;
	sqlite3_finalize(st);
	return rc;
}

/*
 * Whether row id of table (income or payments) may be reversed by a new row
 * with ref: it exists, is no reversal itself, is not reversed yet, and ref
 * is free.  Inside the caller's transaction; err names the field.
 */
static int
reversal_check(sqlite3 *db, const char *table, const char *noun, int64_t id,
    const char *ref, char *err, size_t errlen)
{
	char sql[256];
	sqlite3_stmt *st;
	int64_t other;
	int found, rc;

	snprintf(sql, sizeof(sql), "SELECT coalesce(t.reverses, 0), coalesce(("
	    "SELECT x.id FROM %s x WHERE x.reverses = t.id), 0) FROM %s t "
	    "WHERE t.id = ?1", table, table);
	if ((st = prep(db, sql)) == NULL)
		return MONEY_EIO;
	sqlite3_bind_int64(st, 1, id);
	if ((rc = sqlite3_step(st)) == SQLITE_DONE)
		rc = errf(err, errlen, MONEY_ENOENT, "id: no %s %" PRId64, noun,
		    id);
	else if (rc != SQLITE_ROW)
		rc = MONEY_EIO;
	else if (sqlite3_column_int64(st, 0) != 0)
		rc = errf(err, errlen, MONEY_EINVAL, "id: %s %" PRId64 " is "
		    "itself a reversal (of %s %" PRId64 ") and cannot be "
		    "reversed", noun, id, noun, (int64_t)sqlite3_column_int64(st,
		    0));
	else if (sqlite3_column_int64(st, 1) != 0)
		rc = errf(err, errlen, MONEY_EEXIST, "id: %s %" PRId64 " is "
		    "already reversed (by %s %" PRId64 ")", noun, id, noun,
		    (int64_t)sqlite3_column_int64(st, 1));
	else
		rc = 0;
	sqlite3_finalize(st);
	if (rc != 0)
		return rc;
	snprintf(sql, sizeof(sql), "SELECT id FROM %s WHERE ref = ?1", table);
	if ((st = prep(db, sql)) != NULL)
		sqlite3_bind_text(st, 1, ref, -1, SQLITE_STATIC);
	if ((rc = query_i64(st, &other, &found)) == 0 && found)
		rc = errf(err, errlen, MONEY_EEXIST, "ref: %s is already "
		    "recorded (%s %" PRId64 ")", ref, noun, other);
	return rc;
}

/* The checks every reversal starts with, then its transaction opened. */
static int
reversal_begin(struct money *m, const char *table, const char *noun,
    int64_t id, const char *ref, int64_t *at, char *err, size_t errlen)
{
	int64_t now = clock_wall_ms();
	int rc;

	if ((rc = check_text("ref", ref, MONEY_REF_MAX, err, errlen)) != 0)
		return rc;
	if (*at == 0)
		*at = now;
	if (*at > now + MONEY_FUTURE_MS)
		return errf(err, errlen, MONEY_EINVAL, "at: in the future");
	if ((rc = begin(m->db, err, errlen)) != 0)
		return rc;
	if ((rc = reversal_check(m->db, table, noun, id, ref, err, errlen)) != 0)
		return finish(m->db, rc, err, errlen);
	return 0;
}

/* The INSERT of a reversal row, its parameters bound: ?1 the row reversed,
 * ?2 at, ?3 ref, ?4 note, ?5 recorded_at.  NULL when it does not prepare. */
static sqlite3_stmt *
reversal_stmt(sqlite3 *db, const char *sql, int64_t id, int64_t at,
    const char *ref, const char *note, int64_t now)
{
	sqlite3_stmt *st = prep(db, sql);

	if (st == NULL)
		return NULL;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int64(st, 2, at);
	sqlite3_bind_text(st, 3, ref, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, note ? note : "", -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 5, now);
	return st;
}

int
money_income_reverse(struct money *m, int64_t income_id, const char *ref,
    const char *note, int64_t at, int64_t *id, char *err, size_t errlen)
{
	sqlite3_stmt *st;
	int64_t now = clock_wall_ms(), rev = 0;
	int rc;

	if ((rc = reversal_begin(m, "income", "income", income_id, ref, &at, err,
	    errlen)) != 0)
		return rc;
	if (ledger_db_step_once(reversal_stmt(m->db, "INSERT INTO income "
	    "(amount, at, source, ref, note, block_id, reverses, recorded_at) "
	    "SELECT amount, ?2, source, ?3, ?4, block_id, id, ?5 FROM income "
	    "WHERE id = ?1", income_id, at, ref, note, now)) != SQLITE_DONE)
		rc = MONEY_EIO;
	rev = sqlite3_last_insert_rowid(m->db);
	if (rc == 0) {
		st = prep(m->db, "INSERT INTO splits (income_id, kind, worker_id, "
		    "owner_id, bps, difficulty, shares, worker_amount, amount, "
		    "worker_extra, owner_extra) SELECT ?2, kind, worker_id, "
		    "owner_id, bps, difficulty, shares, -worker_amount, -amount, "
		    "worker_extra, owner_extra FROM splits WHERE income_id = ?1 "
		    "ORDER BY id");
		if (st != NULL) {
			sqlite3_bind_int64(st, 1, income_id);
			sqlite3_bind_int64(st, 2, rev);
		}
		if (ledger_db_step_once(st) != SQLITE_DONE)
			rc = MONEY_EIO;
	}
	if (rc == MONEY_EIO)
		errf(err, errlen, rc, "income: %s", sqlite3_errmsg(m->db));
	if (rc == 0)
		rc = check_balances(m->db, "the reversal", err, errlen);
	if (rc == 0 && id != NULL)
		*id = rev;
	return finish(m->db, rc, err, errlen);
}

/* Runs a prepared INSERT INTO payments; *id (may be NULL) gets its id. */
static int
payment_insert(sqlite3 *db, sqlite3_stmt *st, int64_t *id, char *err,
    size_t errlen)
{
	if (ledger_db_step_once(st) != SQLITE_DONE)
		return errf(err, errlen, MONEY_EIO, "payments: %s",
		    sqlite3_errmsg(db));
	if (id != NULL)
		*id = sqlite3_last_insert_rowid(db);
	return 0;
}

int
money_pay(struct money *m, const char *owner, uint64_t amount,
    const char *ref, const char *note, int64_t at, int64_t *id, char *err,
    size_t errlen)
{
	sqlite3_stmt *st;
	int64_t now = clock_wall_ms(), oid = 0, other;
	int found, rc;

	if (amount == 0 || amount > INT64_MAX)
		return errf(err, errlen, MONEY_EINVAL, "amount: %" PRIu64 " is "
		    "not in 1..%" PRId64, amount, INT64_MAX);
	if ((rc = check_text("ref", ref, MONEY_REF_MAX, err, errlen)) != 0 ||
	    (rc = check_text("owner", owner, MONEY_NAME_MAX, err, errlen)) != 0)
		return rc;
	if (at == 0)
		at = now;
	if (at > now + MONEY_FUTURE_MS)
		return errf(err, errlen, MONEY_EINVAL, "at: in the future");
	if ((rc = begin(m->db, err, errlen)) != 0)
		return rc;
	if ((rc = owner_find(m->db, owner, &oid, &found)) == 0 && !found)
		rc = errf(err, errlen, MONEY_ENOENT, "owner: no owner named %s "
		    "(owners list)", owner);
	if (rc == 0) {
		st = prep(m->db, "SELECT id FROM payments WHERE ref = ?1");
		if (st != NULL)
			sqlite3_bind_text(st, 1, ref, -1, SQLITE_STATIC);
		if ((rc = query_i64(st, &other, &found)) == 0 && found)
			rc = errf(err, errlen, MONEY_EEXIST, "ref: %s is already "
			    "recorded (payment %" PRId64 ")", ref, other);
	}
	if (rc == 0) {
		st = prep(m->db, "SELECT credited - paid, immature FROM "
		    "owner_balances WHERE owner_id = ?1");
		if (st != NULL)
			sqlite3_bind_int64(st, 1, oid);
		if (st == NULL || sqlite3_step(st) != SQLITE_ROW)
			rc = MONEY_EIO;
		else {
			int64_t bal = sqlite3_column_int64(st, 0);
			int64_t imm = sqlite3_column_int64(st, 1);

			if ((int64_t)amount > bal - imm)
				rc = errf(err, errlen, MONEY_EREFUSED, "amount: %"
				    PRIu64 " is above owner %s's balance: %" PRId64
				    " atomic units, of which %" PRId64 " immature "
				    "(payable %" PRId64 ")", amount, owner, bal,
				    imm, bal - imm);
		}
		sqlite3_finalize(st);
	}
	if (rc == 0) {
		st = prep(m->db, "INSERT INTO payments (owner_id, amount, at, ref, "
		    "note, recorded_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
		if (st != NULL) {
			sqlite3_bind_int64(st, 1, oid);
			ledger_bind_u64(st, 2, amount);
			sqlite3_bind_int64(st, 3, at);
			sqlite3_bind_text(st, 4, ref, -1, SQLITE_STATIC);
			sqlite3_bind_text(st, 5, note ? note : "", -1,
			    SQLITE_STATIC);
			sqlite3_bind_int64(st, 6, now);
		}
		rc = payment_insert(m->db, st, id, err, errlen);
	}
	return finish(m->db, rc, err, errlen);
}

int
money_pay_reverse(struct money *m, int64_t payment_id, const char *ref,
    const char *note, int64_t at, int64_t *id, char *err, size_t errlen)
{
	sqlite3_stmt *st;
	int64_t now = clock_wall_ms();
	int rc;

	if ((rc = reversal_begin(m, "payments", "payment", payment_id, ref, &at,
	    err, errlen)) != 0)
		return rc;
	/* the same owner and amount; it counts negatively in owner_balances,
	 * so the owner's balance grows back and cannot go below zero */
	st = reversal_stmt(m->db, "INSERT INTO payments (owner_id, amount, at, "
	    "ref, note, reverses, recorded_at) SELECT owner_id, amount, ?2, ?3, "
	    "?4, id, ?5 FROM payments WHERE id = ?1", payment_id, at, ref, note,
	    now);
	rc = payment_insert(m->db, st, id, err, errlen);
	return finish(m->db, rc, err, errlen);
}
