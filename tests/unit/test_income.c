/*
 * test_income.c: the money arithmetic (pplns_apportion, amounts) and the
 * rules of ledger_money.c on a real ledger written through ledger.h: PROP
 * since the previous event, N from window_factor and the latest job, the
 * one-share warning, the fee owner taking an empty window, co-owners by
 * bps with the tie rule, reversals, payments and the history rule.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "common/clock.h"
#include "common/log.h"
#include "coordinator/ledger.h"
#include "coordinator/money.h"
#include "coordinator/pplns.h"
#include "tap.h"

static char path[512];
static int64_t t0;

static void
test_apportion(void)
{
	uint64_t w3[3] = { 1, 1, 1 }, out[3], big[2] = { UINT64_MAX / 2,
	    UINT64_MAX / 2 }, bo[2], w2[2] = { 6000, 4000 };
	int extra[3];
	char err[256];
	uint64_t v;

	ok(pplns_apportion(2, w3, 3, out, extra) == 0 && out[0] == 1 &&
	    out[1] == 1 && out[2] == 0 && extra[0] && extra[1] && !extra[2],
	    "equal remainders: the smaller index first");
	ok(pplns_apportion(100, w3, 3, out, NULL) == 0 && out[0] == 34 &&
	    out[1] == 33 && out[2] == 33, "100 in thirds: 34/33/33");
	ok(pplns_apportion(UINT64_MAX, big, 2, bo, NULL) == 0 &&
	    bo[0] + bo[1] == UINT64_MAX, "near 2^64: exact (128-bit products)");
	ok(pplns_apportion(7, w2, 2, bo, NULL) == 0 && bo[0] == 4 && bo[1] == 3,
	    "7 at 60/40: 4.2 + 2.8 -> 4 + 3 (largest remainder)");
	ok(pplns_apportion(1, w3, 0, out, NULL) == -EINVAL,
	    "nothing to divide among: refused");
	big[1] = UINT64_MAX;
	ok(pplns_apportion(1, big, 2, bo, NULL) == -EINVAL,
	    "weights summing past 2^64: refused");
	ok(money_amount_parse("9223372036854775807", &v, err, sizeof(err)) == 0
	    && v == INT64_MAX, "2^63-1 atomic units parse");
	ok(money_amount_parse("9223372036854775808", &v, err, sizeof(err)) ==
	    MONEY_EINVAL && strstr(err, "largest") != NULL, "2^63 refused: %s",
	    err);
	ok(money_amount_parse("-1", &v, err, sizeof(err)) == MONEY_EINVAL &&
	    strstr(err, "negative") != NULL, "negative refused");
	ok(money_amount_parse("0", &v, err, sizeof(err)) == MONEY_EINVAL,
	    "zero refused");
	ok(money_amount_parse("12x", &v, err, sizeof(err)) == MONEY_EINVAL,
	    "not a number refused");
}

static void
ack(void *arg, int64_t id, int status)
{
	(void)id;
	if (status != LEDGER_COMMITTED)
		(*(int *)arg)++;
}

/* Ledger: one job (network difficulty 1000) and shares
 * a:100 b:100 (t0+1, t0+2), then c:500 (t0+10), d:300 (t0+20). */
static int
make_ledger(void)
{
	struct ledger_opts o;
	struct ledger *l;
	struct ledger_job j = { 0 };
	uint8_t blob[80] = { 0 }, seed[32] = { 0 }, bt[32], res[32] = { 0 };
	const char *ws[4] = { "a", "b", "c", "d" };
	uint64_t ds[4] = { 100, 100, 500, 300 };
	int64_t at[4] = { 1, 2, 10, 20 }, job, lease[4];
	uint64_t t64 = UINT64_MAX / 1000;
	char err[512];
	int i, failed = 0;

	ledger_opts_default(&o);
	o.path = path;
	if ((l = ledger_open(&o, err, sizeof(err))) == NULL) {
		printf("# %s\n", err);
		return -1;
	}
	memset(bt, 0xff, sizeof(bt));
	for (i = 0; i < 8; i++)
		bt[24 + i] = (uint8_t)(t64 >> (8 * i));
	j.session_id = ledger_session_begin(l, "stratum+tcp://127.0.0.1:9", t0);
	j.upstream_job_id = "j";
	j.blob = blob;
	j.blob_len = sizeof(blob);
	j.seed = seed;
	j.seed_len = sizeof(seed);
	j.target64 = UINT64_MAX / 100;
	j.difficulty = 100;
	j.block_target = bt;
	j.received_at = t0;
	job = ledger_job_add(l, &j);
	for (i = 0; i < 4; i++) {
		struct ledger_worker w = { ws[i], ws[i], 1, "t", t0 };
		struct ledger_share s = { 0 };

		ledger_worker_seen(l, &w);
		lease[i] = ledger_lease_add(l, job, ws[i], (uint64_t)i << 20,
		    (uint64_t)(i + 1) << 20, 0, 0, 0, t0);
		s.job_id = job;
		s.lease_id = lease[i];
		s.worker_id = ws[i];
		s.nonce = (uint32_t)i << 20;
		s.result = res;
		s.difficulty = ds[i];
		s.hash_difficulty = ds[i];
		s.reason = LEDGER_REASON_OK;
		s.upstream = LEDGER_FATE_NOT_NEEDED;
		s.created_at = t0 + at[i];
		ledger_append_share(l, &s, ack, &failed);
	}
	i = ledger_flush(l, 10000);
	ledger_close(l);
	return i == LEDGER_COMMITTED && failed == 0 ? 0 : -1;
}

static int64_t
query(const char *sql)
{
	sqlite3 *db;
	sqlite3_stmt *st;
	int64_t v = -1;

	if (sqlite3_open(path, &db) != SQLITE_OK)
		return -1;
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return v;
}

static int64_t
amount_of(int64_t income, const char *owner)
{
	char sql[256];

	snprintf(sql, sizeof(sql), "SELECT coalesce(sum(s.amount), -1) FROM "
	    "splits s JOIN owners o ON o.id = s.owner_id WHERE s.income_id = %"
	    PRId64 " AND o.name = '%s'", income, owner);
	return query(sql);
}

static int64_t
add(struct money *m, const struct money_rules *ru, uint64_t amount,
    int64_t at, const char *ref, char *err, size_t errlen)
{
	struct money_income in = { amount, at, MONEY_SRC_POOL, ref, NULL, 0 };
	int64_t id = 0;

	if (money_income_add(m, ru, &in, 1, 0, &id, NULL, NULL, err,
	    errlen) != 0)
		return -1;
	return id;
}

static void
test_rules(void)
{
	struct money_rules ru = { MONEY_PPLNS, 2000, 0, 0, NULL };
	struct money_share_of co[2] = { { "x", 5000 }, { "y", 5000 } };
	struct ledger_reader *r;
	struct money_explain e;
	struct money *m;
	char err[512];
	int64_t id, id2, rev;

	if ((m = money_open(path, err, sizeof(err))) == NULL) {
		ok(0, "money_open: %s", err);
		return;
	}
	/* N = 2.0 x 1000: d 300 + c 500 + b 100 + a 100, all of them */
	id = add(m, &ru, 1000, t0 + 30, "n-factor", err, sizeof(err));
	ok(id > 0, "income split with N from window_factor (%s)", id > 0 ? "" :
	    err);
	ok(query("SELECT window_n FROM income_splits") == 2000,
	    "N = window_factor x the latest job's network difficulty");
	ok(amount_of(id, "a") == 100 && amount_of(id, "c") == 500 &&
	    amount_of(id, "d") == 300, "parts by difficulty");
	/* before share c: only a and b, equal: 3 units, the tie to a */
	ru.window_abs = 200;
	id = add(m, &ru, 3, t0 + 5, "tie", err, sizeof(err));
	ok(id > 0 && amount_of(id, "a") == 2 && amount_of(id, "b") == 1,
	    "equal remainders: the smaller worker id gets the unit");
	/* N 50 is inside share d alone */
	ru.window_abs = 50;
	id = add(m, &ru, 10, t0 + 25, "one-share", err, sizeof(err));
	ok(id > 0 && amount_of(id, "d") == 10 && query("SELECT count(*) FROM "
	    "income_splits WHERE warning LIKE '%no larger than one share%'") ==
	    1, "a window inside one share is flagged in the explanation");
	/* no share before the event: the fee owner takes it */
	id = add(m, &ru, 10, t0 - 5, "empty", err, sizeof(err));
	ok(id > 0 && amount_of(id, "operator") == 10,
	    "an empty window goes to the fee owner");
	/* prop: the shares since the previous event's window */
	ru.scheme = MONEY_PROP;
	id = add(m, &ru, 800, t0 + 30, "prop", err, sizeof(err));
	ok(id > 0 && amount_of(id, "a") == -1 && amount_of(id, "d") == -1,
	    "prop after an event covering share d: nothing left (all to fee)");
	ru.scheme = MONEY_PPLNS;
	ru.window_abs = 1000;
	/* co-owners 50/50 of c's part 500 x 7/... with a tie at owner level */
	ok(money_owner_add(m, "x", NULL, NULL, err, sizeof(err)) == 0 &&
	    money_owner_add(m, "y", NULL, NULL, err, sizeof(err)) == 0,
	    "owners x and y");
	ok(money_assign(m, "c", co, 2, t0 + 1, err, sizeof(err)) ==
	    MONEY_EREFUSED && strstr(err, "from") != NULL,
	    "assigning before income already split is refused: %s", err);
	ok(money_assign(m, "c", co, 2, t0 + 31, err, sizeof(err)) == 0,
	    "c split 50/50 between x and y from t0+31");
	/* window 1000 at t0+40: d 300, c 500, b 100, a 100; amount 10 ->
	 * c's part 5, divided 2.5/2.5: the tie to x (smaller owner id) */
	id2 = add(m, &ru, 10, t0 + 40, "co", err, sizeof(err));
	ok(id2 > 0 && amount_of(id2, "x") == 3 && amount_of(id2, "y") == 2,
	    "co-owners: equal remainders, the smaller owner id gets the unit");
	ok(money_pay(m, "x", 4, "tx1", NULL, 0, NULL, err, sizeof(err)) ==
	    MONEY_EREFUSED && strstr(err, "balance: 3") != NULL,
	    "payment above the balance refused, balance shown: %s", err);
	ok(money_pay(m, "x", 3, "tx1", NULL, 0, NULL, err, sizeof(err)) == 0,
	    "payment of the whole balance");
	ok(money_income_reverse(m, id2, "rev-co", NULL, 0, &rev, err,
	    sizeof(err)) == MONEY_EREFUSED && strstr(err, "x") != NULL,
	    "a reversal that would leave x negative is refused: %s", err);
	ok(money_income_reverse(m, id, "rev-prop", NULL, 0, &rev, err,
	    sizeof(err)) == 0 && amount_of(rev, "operator") == -800,
	    "a reversal negates the splits");
	ok(query("SELECT count(*) FROM split_differences") == 0,
	    "the view recomputes every stored split");
	money_close(m);
	if ((r = ledger_reader_open(path, err, sizeof(err))) == NULL) {
		ok(0, "reader: %s", err);
		return;
	}
	ok(money_read_explain(r, id2, &e) == 0 && e.nrows == 6 &&
	    e.first_share_id == 1 && e.last_share_id == 4 && e.rows[5].fee &&
	    e.nowners == 5, "explain: window bounds, rows, the fee last");
	money_explain_free(&e);
	ledger_reader_close(r);
}

static void
no_report(void *arg, const char *v)
{
	(void)arg;
	printf("# %s\n", v);
}

int
main(void)
{
	const char *tmp = getenv("TMPDIR");
	struct ledger_reader *r;
	char err[512];

	alarm(60);	/* the test's time limit */
	log_init("test_income", LOG_LVL_ERROR, 0);
	snprintf(path, sizeof(path), "%s/test_income.%d.db", tmp ? tmp : "/tmp",
	    (int)getpid());
	unlink(path);
	t0 = clock_wall_ms() - 3600000;
	test_apportion();
	ok(make_ledger() == 0, "a ledger with four shares");
	test_rules();
	r = ledger_reader_open(path, err, sizeof(err));
	ok(r != NULL && ledger_audit(r, no_report, NULL) == 0,
	    "the audit is clean");
	ledger_reader_close(r);
	unlink(path);
	return tap_done();
}
