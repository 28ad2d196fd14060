/*
 * money.h: money in the ledger (sql/0004_money.sql, docs/ledger.md):
 * income events and their PPLNS/PROP splits, owners and the worker ->
 * owner mapping, payments, balances and the explanation of every split.
 * The write half is a connection of its own (coopmine-cli, POST
 * /api/income) that writes beside the coordinator's writer thread (WAL,
 * busy timeout, synchronous=FULL); the read half works on a
 * ledger_reader and returns typed rows: JSON is built at the edges
 * (dash_json.c, cli.c).  No sqlite3 type crosses this header.
 *
 * Amounts are integer atomic units.  Every write is one transaction:
 * on any error nothing is written and err names the field that was wrong.
 */
#ifndef COOPMINE_MONEY_H
#define COOPMINE_MONEY_H

#include <stddef.h>
#include <stdint.h>

#include "coordinator/pplns.h"

struct ledger_reader;

#define MONEY_NAME_MAX	128	/* owner names, with NUL */
#define MONEY_REF_MAX	256	/* external references, notes, with NUL */
/* Income dated later than now + this is refused (clock skew allowance). */
#define MONEY_FUTURE_MS	60000

enum money_source { MONEY_SRC_POOL = 0, MONEY_SRC_BLOCK, MONEY_SRC_MANUAL };
enum money_scheme { MONEY_PPLNS = 0, MONEY_PROP };

/* Errors (negative): the caller maps them to exit codes / HTTP status. */
enum money_err {
	MONEY_EINVAL = -1,	/* bad input: err names the field */
	MONEY_EEXIST = -2,	/* duplicate reference */
	MONEY_ENOENT = -3,	/* unknown owner, block, income */
	MONEY_EREFUSED = -4,	/* refused by a rule (balance, history) */
	MONEY_EIO = -5		/* the database failed */
};

const char *money_source_name(enum money_source s);
int money_source_parse(const char *s);		/* -1 when unknown */
const char *money_scheme_name(enum money_scheme s);
int money_scheme_parse(const char *s);		/* -1 when unknown */

/* How income is split ([pplns] in the config). */
struct money_rules {
	enum money_scheme scheme;
	uint64_t window_factor_milli;	/* N = factor x network difficulty */
	uint64_t window_abs;		/* absolute N; wins when > 0 */
	unsigned fee_bps;
	const char *fee_owner;		/* the operator's owner; NULL: "operator" */
};

/* An income event to record. */
struct money_income {
	uint64_t amount;		/* > 0, <= INT64_MAX */
	int64_t at;			/* epoch ms; 0 for a block: found_at */
	enum money_source source;
	const char *ref;
	const char *note;		/* NULL: "" */
	int64_t block_id;		/* source block only */
};

/* Parses a decimal amount of atomic units: digits only, > 0, <= INT64_MAX.
 * 0, or MONEY_EINVAL with a reason in err ("not a number", "zero", ...). */
int money_amount_parse(const char *s, uint64_t *out, char *err, size_t errlen);

/* --- writing --- */

struct money;

struct money *money_open(const char *path, char *err, size_t errlen);
void money_close(struct money *m);

/*
 * Records income[0..n) in one transaction, each split at once (same
 * transaction) by the rules.  A reference already recorded is a
 * MONEY_EEXIST error, unless skip_recorded and the recorded row has the
 * same amount and time (an overlapping import: skipped, counted in
 * *skipped).  On error nothing is written and *bad is the index of the
 * offending entry.  ids (may be NULL) gets each new id (0 when skipped).
 */
int money_income_add(struct money *m, const struct money_rules *rules,
    const struct money_income *income, size_t n, int skip_recorded,
    int64_t *ids, size_t *skipped, size_t *bad, char *err, size_t errlen);
/* A reversal row for income_id (its splits negated), refused when it
 * would leave an owner's balance negative. */
int money_income_reverse(struct money *m, int64_t income_id, const char *ref,
    const char *note, int64_t at, int64_t *id, char *err, size_t errlen);

int money_owner_add(struct money *m, const char *name, const char *address,
    int64_t *id, char *err, size_t errlen);
/* Changes an owner's payout address (names are kept: rows refer to ids). */
int money_owner_set(struct money *m, const char *name, const char *address,
    char *err, size_t errlen);

struct money_share_of {
	const char *owner;		/* owner name */
	unsigned bps;			/* 1..10000; all sum to 10000 */
};
/* Worker -> owners from valid_from on (refused before an income already
 * split: history does not change). */
int money_assign(struct money *m, const char *worker,
    const struct money_share_of *owners, size_t n, int64_t valid_from,
    char *err, size_t errlen);

/* A payment to an owner, refused above balance - immature. */
int money_pay(struct money *m, const char *owner, uint64_t amount,
    const char *ref, const char *note, int64_t at, int64_t *id, char *err,
    size_t errlen);
/* A reversal row for payment payment_id (same owner and amount; it counts
 * negatively).  Refused for an unknown id, a payment already reversed, a
 * reversal, or a ref already recorded. */
int money_pay_reverse(struct money *m, int64_t payment_id, const char *ref,
    const char *note, int64_t at, int64_t *id, char *err, size_t errlen);

/* --- reading (typed rows; free with free()) --- */

struct money_owner_row {
	int64_t id;
	char name[MONEY_NAME_MAX];
	char address[MONEY_REF_MAX];
	int64_t created_at;
	int64_t credited, paid, balance, immature;
};
int money_read_balances(struct ledger_reader *r, struct money_owner_row **out,
    size_t *n);

struct money_income_row {
	int64_t id, at, recorded_at;
	uint64_t amount;
	enum money_source source;
	char ref[MONEY_REF_MAX];
	char note[MONEY_REF_MAX];
	int64_t block_id;		/* 0: none */
	int64_t reverses;		/* 0: not a reversal */
	int64_t reversed_by;		/* 0: not reversed */
};
/* Newest first. */
int money_read_income(struct ledger_reader *r, int limit, int offset,
    struct money_income_row **out, size_t *n);

struct money_split_row {
	int fee;			/* the operator's fee row */
	char worker_id[PPLNS_WORKER_MAX];	/* "" on the fee row */
	int64_t owner_id;
	char owner[MONEY_NAME_MAX];
	unsigned bps;
	uint64_t difficulty, shares;
	int64_t worker_amount, amount;	/* negative on a reversal */
	int worker_extra, owner_extra;	/* got a rounding unit */
};

struct money_owner_part {
	int64_t owner_id;
	char owner[MONEY_NAME_MAX];
	uint64_t difficulty;		/* sum of d x bps / 10000, rounded down */
	int64_t amount;
};

/* Everything needed to answer "why was I paid this?". */
struct money_explain {
	struct money_income_row income;
	int64_t split_of;		/* the income whose window this is */
	enum money_scheme scheme;
	int64_t after_share_id;		/* prop: shares after this id */
	int64_t first_share_id, last_share_id;	/* 0: empty window */
	int64_t first_share_at, last_share_at;
	uint64_t window_n, network_difficulty, window_difficulty, share_count;
	char n_source[MONEY_REF_MAX];
	unsigned fee_bps;
	char fee_owner[MONEY_NAME_MAX];
	char warning[MONEY_REF_MAX];
	struct money_split_row *rows;	/* workers by id, then the fee */
	size_t nrows;
	struct money_owner_part *owners;	/* by owner id */
	size_t nowners;
};
int money_read_explain(struct ledger_reader *r, int64_t income_id,
    struct money_explain *out);
void money_explain_free(struct money_explain *e);

/* The money checks of the audit (ledger_audit calls it). */
int money_audit(struct ledger_reader *r,
    void (*report)(void *arg, const char *violation), void *arg);

#endif
