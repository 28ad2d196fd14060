/*
 * ledger_money_read.c: the read side of money.h: balances, income, the
 * explanation of a split (typed rows; dash_json.c and cli.c make JSON and
 * text of them) and the money checks of ledger_audit().
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "coordinator/ledger_int.h"
#include "coordinator/money.h"

/* Runs sql with int64 binds into typed rows (ledger_db_collect). */
static int
collect(sqlite3 *db, const char *sql, int nbind, const int64_t *binds,
    size_t size, void (*fill)(sqlite3_stmt *, void *), void **out, size_t *n)
{
	sqlite3_stmt *st = ledger_db_prepare(db, sql);
	int i;

	for (i = 0; st != NULL && i < nbind; i++)
		sqlite3_bind_int64(st, i + 1, binds[i]);
	return ledger_db_collect(st, size, fill, out, n) == 0 ? 0 : MONEY_EIO;
}

static void
fill_owner(sqlite3_stmt *st, void *p)
{
	struct money_owner_row *o = p;

	o->id = sqlite3_column_int64(st, 0);
	ledger_col_text(st, 1, o->name, sizeof(o->name));
	ledger_col_text(st, 2, o->address, sizeof(o->address));
	o->created_at = sqlite3_column_int64(st, 3);
	o->credited = sqlite3_column_int64(st, 4);
	o->paid = sqlite3_column_int64(st, 5);
	o->immature = sqlite3_column_int64(st, 6);
	o->balance = o->credited - o->paid;
}

int
money_read_balances(struct ledger_reader *r, struct money_owner_row **out,
    size_t *n)
{
	return collect(ledger_reader_db(r), "SELECT b.owner_id, b.name, "
	    "b.address, o.created_at, b.credited, b.paid, b.immature FROM "
	    "owner_balances b JOIN owners o ON o.id = b.owner_id ORDER BY "
	    "b.owner_id", 0, NULL, sizeof(**out), fill_owner, (void **)out, n);
}

#define INCOME_COLS "i.id, i.at, i.recorded_at, i.amount, i.source, i.ref, " \
	"i.note, coalesce(i.block_id, 0), coalesce(i.reverses, 0), " \
	"coalesce((SELECT x.id FROM income x WHERE x.reverses = i.id), 0)"

static void
fill_income(sqlite3_stmt *st, void *p)
{
	struct money_income_row *i = p;
	int src;

	i->id = sqlite3_column_int64(st, 0);
	i->at = sqlite3_column_int64(st, 1);
	i->recorded_at = sqlite3_column_int64(st, 2);
	i->amount = (uint64_t)sqlite3_column_int64(st, 3);
	src = money_source_parse((const char *)sqlite3_column_text(st, 4));
	i->source = src < 0 ? MONEY_SRC_MANUAL : (enum money_source)src;
	ledger_col_text(st, 5, i->ref, sizeof(i->ref));
	ledger_col_text(st, 6, i->note, sizeof(i->note));
	i->block_id = sqlite3_column_int64(st, 7);
	i->reverses = sqlite3_column_int64(st, 8);
	i->reversed_by = sqlite3_column_int64(st, 9);
}

int
money_read_income(struct ledger_reader *r, int limit, int offset,
    struct money_income_row **out, size_t *n)
{
	int64_t b[2] = { limit > 0 ? limit : -1, offset > 0 ? offset : 0 };

	return collect(ledger_reader_db(r), "SELECT " INCOME_COLS " FROM "
	    "income i ORDER BY i.id DESC LIMIT ?1 OFFSET ?2", 2, b,
	    sizeof(**out), fill_income, (void **)out, n);
}

static void
fill_split(sqlite3_stmt *st, void *p)
{
	struct money_split_row *s = p;

	s->fee = sqlite3_column_type(st, 0) == SQLITE_NULL;
	ledger_col_text(st, 0, s->worker_id, sizeof(s->worker_id));
	s->owner_id = sqlite3_column_int64(st, 1);
	ledger_col_text(st, 2, s->owner, sizeof(s->owner));
	s->bps = (unsigned)sqlite3_column_int(st, 3);
	s->difficulty = (uint64_t)sqlite3_column_int64(st, 4);
	s->shares = (uint64_t)sqlite3_column_int64(st, 5);
	s->worker_amount = sqlite3_column_int64(st, 6);
	s->amount = sqlite3_column_int64(st, 7);
	s->worker_extra = sqlite3_column_int(st, 8);
	s->owner_extra = sqlite3_column_int(st, 9);
}

static void
fill_owner_part(sqlite3_stmt *st, void *p)
{
	struct money_owner_part *o = p;

	o->owner_id = sqlite3_column_int64(st, 0);
	ledger_col_text(st, 1, o->owner, sizeof(o->owner));
	o->difficulty = (uint64_t)sqlite3_column_int64(st, 2);
	o->amount = sqlite3_column_int64(st, 3);
}

static int
explain_header(sqlite3 *db, struct money_explain *e)
{
	sqlite3_stmt *st;
	int rc, sch;

	if (sqlite3_prepare_v2(db, "SELECT h.scheme, h.after_share_id, "
	    "coalesce(h.first_share_id, 0), coalesce(h.last_share_id, 0), "
	    "h.window_n, h.network_difficulty, h.window_difficulty, "
	    "h.share_count, h.n_source, h.fee_bps, o.name, h.warning, "
	    "(SELECT created_at FROM shares WHERE id = h.first_share_id), "
	    "(SELECT created_at FROM shares WHERE id = h.last_share_id) "
	    "FROM income_splits h JOIN owners o ON o.id = h.fee_owner_id "
	    "WHERE h.income_id = ?1", -1, &st, NULL) != SQLITE_OK)
		return MONEY_EIO;
	sqlite3_bind_int64(st, 1, e->split_of);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		sch = money_scheme_parse((const char *)sqlite3_column_text(st, 0));
		e->scheme = sch < 0 ? MONEY_PPLNS : (enum money_scheme)sch;
		e->after_share_id = sqlite3_column_int64(st, 1);
		e->first_share_id = sqlite3_column_int64(st, 2);
		e->last_share_id = sqlite3_column_int64(st, 3);
		e->window_n = (uint64_t)sqlite3_column_int64(st, 4);
		e->network_difficulty = (uint64_t)sqlite3_column_int64(st, 5);
		e->window_difficulty = (uint64_t)sqlite3_column_int64(st, 6);
		e->share_count = (uint64_t)sqlite3_column_int64(st, 7);
		ledger_col_text(st, 8, e->n_source, sizeof(e->n_source));
		e->fee_bps = (unsigned)sqlite3_column_int(st, 9);
		ledger_col_text(st, 10, e->fee_owner, sizeof(e->fee_owner));
		ledger_col_text(st, 11, e->warning, sizeof(e->warning));
		e->first_share_at = sqlite3_column_int64(st, 12);
		e->last_share_at = sqlite3_column_int64(st, 13);
	}
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? MONEY_ENOENT :
	    MONEY_EIO;
}

int
money_read_explain(struct ledger_reader *r, int64_t income_id,
    struct money_explain *out)
{
	sqlite3 *db = ledger_reader_db(r);
	struct money_income_row *inc;
	size_t n;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = collect(db, "SELECT " INCOME_COLS " FROM income i WHERE "
	    "i.id = ?1", 1, &income_id, sizeof(*inc), fill_income,
	    (void **)&inc, &n)) != 0)
		return rc;
	if (n == 0) {
		free(inc);
		return MONEY_ENOENT;
	}
	out->income = inc[0];
	free(inc);
	/* a reversal explains with its original's window, negated */
	out->split_of = out->income.reverses ? out->income.reverses : income_id;
	if ((rc = explain_header(db, out)) != 0)
		return rc;
	if ((rc = collect(db, "SELECT s.worker_id, s.owner_id, o.name, s.bps, "
	    "s.difficulty, s.shares, s.worker_amount, s.amount, s.worker_extra, "
	    "s.owner_extra FROM splits s JOIN owners o ON o.id = s.owner_id "
	    "WHERE s.income_id = ?1 ORDER BY s.worker_id IS NULL, s.worker_id, "
	    "s.owner_id", 1, &income_id, sizeof(*out->rows), fill_split,
	    (void **)&out->rows, &out->nrows)) != 0)
		return rc;
	rc = collect(db, "SELECT s.owner_id, o.name, sum(s.difficulty / 10000 * "
	    "s.bps + s.difficulty % 10000 * s.bps / 10000), sum(s.amount) "
	    "FROM splits s JOIN owners o ON o.id = s.owner_id WHERE "
	    "s.income_id = ?1 AND s.kind = 'worker' GROUP BY s.owner_id, o.name "
	    "ORDER BY s.owner_id", 1, &income_id, sizeof(*out->owners),
	    fill_owner_part, (void **)&out->owners, &out->nowners);
	if (rc != 0)
		money_explain_free(out);
	return rc;
}

void
money_explain_free(struct money_explain *e)
{
	free(e->rows);
	free(e->owners);
	e->rows = NULL;
	e->owners = NULL;
	e->nrows = e->nowners = 0;
}

/* --- audit --- */

static const struct ledger_check money_checks[] = {
	{ "split does not sum to its income",
	  "SELECT 'income ' || i.id || ': amount ' || (CASE WHEN i.reverses IS "
	  "NULL THEN i.amount ELSE -i.amount END) || ', splits ' || "
	  "coalesce((SELECT sum(s.amount) FROM splits s WHERE s.income_id = "
	  "i.id), 'none') FROM income i WHERE coalesce((SELECT sum(s.amount) "
	  "FROM splits s WHERE s.income_id = i.id), 0) <> (CASE WHEN i.reverses "
	  "IS NULL THEN i.amount ELSE -i.amount END)" },
	{ "worker part not divided exactly among its owners",
	  "SELECT 'income ' || income_id || ' worker ' || worker_id || ': part "
	  "' || max(worker_amount) || ', owners ' || sum(amount) FROM splits "
	  "WHERE kind = 'worker' GROUP BY income_id, worker_id HAVING "
	  "sum(amount) <> max(worker_amount) OR min(worker_amount) <> "
	  "max(worker_amount)" },
	{ "stored split differs from the recomputation (split_recompute)",
	  "SELECT side || ' row: income ' || income_id || ' ' || kind || "
	  "coalesce(' ' || worker_id, '') || ' owner ' || owner_id || "
	  "' amount ' || amount || ' (worker part ' || worker_amount || ', "
	  "difficulty ' || difficulty || ', shares ' || shares || ', bps ' || "
	  "bps || ')' FROM split_differences" },
	{ "negative balance",
	  "SELECT 'owner ' || owner_id || ' (' || name || '): credited ' || "
	  "credited || ', paid ' || paid FROM owner_balances WHERE credited - "
	  "paid < 0" },
	{ "reversal of nothing",
	  "SELECT 'income ' || i.id || ' reverses ' || i.reverses || ', which "
	  "does not exist or is a reversal' FROM income i LEFT JOIN income o ON "
	  "o.id = i.reverses WHERE i.reverses IS NOT NULL AND (o.id IS NULL OR "
	  "o.reverses IS NOT NULL OR o.amount <> i.amount)" },
	{ "payment reversal of nothing",
	  "SELECT 'payment ' || p.id || ' reverses ' || p.reverses || ', which "
	  "does not exist, is a reversal, or is another owner''s or amount' "
	  "FROM payments p LEFT JOIN payments o ON o.id = p.reverses WHERE "
	  "p.reverses IS NOT NULL AND (o.id IS NULL OR o.reverses IS NOT NULL "
	  "OR o.owner_id <> p.owner_id OR o.amount <> p.amount)" },
	{ "split header differs from its window (income_window)",
	  "SELECT 'income ' || h.income_id || ': header window difficulty ' || "
	  "h.window_difficulty || ', ' || h.share_count || ' shares; the "
	  "shares give ' || coalesce(w.d, 0) || ', ' || coalesce(w.n, 0) FROM "
	  "income_splits h LEFT JOIN (SELECT income_id, sum(counted) AS d, "
	  "sum(shares) AS n FROM income_window GROUP BY income_id) w ON "
	  "w.income_id = h.income_id WHERE coalesce(w.d, 0) <> "
	  "h.window_difficulty OR coalesce(w.n, 0) <> h.share_count" },
	{ "income without its split",
	  "SELECT 'income ' || i.id FROM income i WHERE i.reverses IS NULL AND "
	  "NOT EXISTS (SELECT 1 FROM income_splits h WHERE h.income_id = i.id)" },
	{ "co-owners do not sum to 10000 bps",
	  "SELECT 'worker ' || worker_id || ' from ' || valid_from || ': ' || "
	  "sum(bps) || ' bps' FROM worker_owners GROUP BY worker_id, valid_from "
	  "HAVING sum(bps) <> 10000" },
};

int
money_audit(struct ledger_reader *r,
    void (*report)(void *arg, const char *violation), void *arg)
{
	return ledger_db_checks(ledger_reader_db(r), money_checks,
	    sizeof(money_checks) / sizeof(money_checks[0]), report, arg);
}
