/*
 * ledger_int.h: what the ledger's own files share (ledger.c: writer and
 * migrations; ledger_read.c: readers, recovery, audit, backup;
 * ledger_db.c: the helpers below; ledger_money*.c: money).  Not part
 * of the public surface: sqlite3 types live here only.
 */
#ifndef COOPMINE_LEDGER_INT_H
#define COOPMINE_LEDGER_INT_H

#include <sqlite3.h>

#include "coordinator/ledger.h"
#include "coordinator/money.h"

/* PRAGMA application_id of a CoopMine ledger ("CoMn"). */
#define LEDGER_APPLICATION_ID	0x436f4d6e

/* The first column of the first row of sql (a PRAGMA, a count): SQLite's
 * result code (SQLITE_OK when *out was set). */
int ledger_db_int(sqlite3 *db, const char *sql, int64_t *out);

/* PRAGMA quick_check: 0, or -1 with a message for the user in err. */
int ledger_db_quick_check(sqlite3 *db, const char *path, char *err,
    size_t errlen);

/*
 * Checks that db is a usable CoopMine ledger (or an empty file) and reads
 * its schema version.  quick: also run PRAGMA quick_check.  0, or -1 with
 * a message for the user in err.
 */
int ledger_db_check(sqlite3 *db, const char *path, int quick,
    int *version, char *err, size_t errlen);

/*
 * Reads the PPLNS window ending at share last_share_id (0: the latest
 * valid share) and splits reward over it (pplns_split).  0 or -errno.
 */
int ledger_db_window_split(sqlite3 *db, int64_t last_share_id,
    uint64_t window_n, uint64_t reward, unsigned fee_bps,
    struct pplns_result *out);

/*
 * The same over the accepted shares with after_share_id < id <=
 * last_share_id (newest first); *first_share_id (may be NULL) gets the
 * oldest share the window reached (0: none).  0 or -errno.
 */
int ledger_db_range_split(sqlite3 *db, int64_t after_share_id,
    int64_t last_share_id, uint64_t window_n, uint64_t reward,
    unsigned fee_bps, struct pplns_result *out, int64_t *first_share_id);

/*
 * Records and splits one income row on db inside the caller's open
 * transaction (ledger_money.c; the writer thread uses it for block
 * rewards).  A reference already recorded with the same amount and time is
 * a no-op (0, *id 0).  0 or a negative money_err, message in err.
 */
int ledger_db_income_record(sqlite3 *db, const struct money_rules *rules,
    const struct money_income *in, int64_t *id, char *err, size_t errlen);

/*
 * Steps st (prepared and bound by the caller; finalized here) and fills
 * one `size`-byte row per result with fill() into a malloc'd array.  0,
 * -EIO (st NULL or a failed step, logged) or -ENOMEM.
 */
int ledger_db_collect(sqlite3_stmt *st, size_t size,
    void (*fill)(sqlite3_stmt *st, void *row), void **out, size_t *n);
/* A prepared statement, or NULL (logged). */
sqlite3_stmt *ledger_db_prepare(sqlite3 *db, const char *sql);
/* Steps a statement without results once and finalizes it (NULL: a
 * failed prepare): SQLite's result code, SQLITE_DONE when it ran. */
int ledger_db_step_once(sqlite3_stmt *st);
/* A text column into dst ("" for NULL), truncated to len. */
void ledger_col_text(sqlite3_stmt *st, int i, char *dst, size_t len);

/* One audit check: each row of sql is one violation (one text column). */
struct ledger_check {
	const char *what;
	const char *sql;
};

/* Runs the checks, report() once per violation: their number or -EIO. */
int ledger_db_checks(sqlite3 *db, const struct ledger_check *c, size_t n,
    void (*report)(void *arg, const char *violation), void *arg);

/*
 * Opens an existing ledger at the schema this binary writes (readonly, or
 * read-write for coopmine-cli's own rows), with a busy timeout.  NULL with
 * a message for the user in err (not a ledger, corrupt, older: start the
 * coordinator once to migrate it, newer).
 */
sqlite3 *ledger_db_open_current(const char *path, int readonly, int busy_ms,
    char *err, size_t errlen);

/* The network difficulty of the latest job received at or before `at`
 * (0: none).  0 or -EIO. */
int ledger_db_netdiff_at(sqlite3 *db, int64_t at, uint64_t *diff);

/* --- share retention (ledger_retain.c) --- */

/* An inclusive range of share ids. */
struct ledger_span {
	int64_t lo, hi;
};

/*
 * The selection rule's id arithmetic: moves *start past every protected
 * span (any order, may overlap) that holds it and returns the last id a
 * range from *start may reach: the id before the next protected span, and
 * below keep_from.  A result below *start: nothing from *start on.
 */
int64_t ledger_retain_limit(const struct ledger_span *protect, size_t n,
    int64_t keep_from, int64_t *start);

/* How share retention decides (a copy of the writer's options). */
struct ledger_retention {
	int64_t retention_ms;		/* 0: off */
	int batch;			/* shares per range at most */
	int prop;			/* the next split takes every share
					 * since the previous one */
	uint64_t window_factor_milli, window_abs;
};

/* What one call of ledger_db_retain_once() did. */
struct ledger_retain_result {
	int64_t range_id;		/* 0: nothing rolled */
	int64_t first_share_id, last_share_id;
	int64_t shares, rows;		/* shares deleted, rollup rows */
	int64_t keep_from;
};

/*
 * The oldest share id a PPLNS window may still need (every older share may
 * go as far as PPLNS is concerned): the window the next split would take
 * (twice its N, from the newest credited share; prop: every share after
 * the last split) and the windows of every block (twice the larger of its
 * window_n and the rules' N), gathered in *spans (malloc'd, *nspans).
 * 0 or -EIO / -ENOMEM.
 */
int ledger_db_retain_bounds(sqlite3 *db, const struct ledger_retention *rt,
    int64_t now, int64_t *keep_from, struct ledger_span **spans,
    size_t *nspans);

/*
 * Rolls at most one range of shares (rt->batch at most) into share_rollups
 * in its own transaction (the caller holds none).  0 (out->range_id 0:
 * nothing to roll), or -EIO (logged; rolled back).
 */
int ledger_db_retain_once(sqlite3 *db, const struct ledger_retention *rt,
    int64_t now, struct ledger_retain_result *out);

/* The index of s in names[0..n), or -1 (the *_parse functions). */
int ledger_name_parse(const char *s, const char *const *names, int n);

/* Binds a uint64 as SQLite's int64, saturating at INT64_MAX. */
int ledger_bind_u64(sqlite3_stmt *st, int i, uint64_t v);

/* The struct ledger_reader's connection (recovery reuses the reader). */
sqlite3 *ledger_reader_db(struct ledger_reader *r);

/* The database file of a writer. */
const char *ledger_path(struct ledger *l);
/* When ledger_open() closed what the last run left open (leases, jobs,
 * sessions): rows closed then were live when that run stopped. */
int64_t ledger_restart_at(const struct ledger *l);

#endif
