/*
 * dash_money.c: struct dash_source's money functions over the ledger file
 * (dash_money.h).  Each call opens its own connection: the HTTP service
 * threads run them concurrently and a SQLite connection is one thread's.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "coordinator/dash_money.h"
#include "coordinator/ledger.h"

struct dash_money {
	char *path;
	char *fee_owner;
	struct money_rules rules;
};

static struct ledger_reader *
reader(struct dash_money *dm)
{
	struct ledger_reader *r;
	char err[512];

	if ((r = ledger_reader_open(dm->path, err, sizeof(err))) == NULL)
		log_warnx("dashboard: %s", err);
	return r;
}

static int
m_balances(void *ctx, struct money_owner_row **out, size_t *n)
{
	struct ledger_reader *r = reader(ctx);
	int rc;

	if (r == NULL)
		return MONEY_EIO;
	rc = money_read_balances(r, out, n);
	ledger_reader_close(r);
	return rc;
}

static int
m_income(void *ctx, size_t limit, size_t offset,
    struct money_income_row **out, size_t *n)
{
	struct ledger_reader *r = reader(ctx);
	int rc;

	if (r == NULL)
		return MONEY_EIO;
	rc = money_read_income(r, (int)limit, (int)offset, out, n);
	ledger_reader_close(r);
	return rc;
}

static int
m_explain(void *ctx, int64_t id, struct money_explain *out)
{
	struct ledger_reader *r = reader(ctx);
	int rc;

	if (r == NULL)
		return MONEY_EIO;
	rc = money_read_explain(r, id, out);
	ledger_reader_close(r);
	return rc;
}

static int
m_income_add(void *ctx, const struct money_income *in, int64_t *id,
    char *err, size_t errlen)
{
	struct dash_money *dm = ctx;
	struct money *m;
	int rc;

	if ((m = money_open(dm->path, err, errlen)) == NULL)
		return MONEY_EIO;
	rc = money_income_add(m, &dm->rules, in, 1, 0, id, NULL, NULL, err,
	    errlen);
	money_close(m);
	return rc;
}

struct dash_money *
dash_money_new(const char *ledger_path, const struct money_rules *rules)
{
	struct dash_money *dm = calloc(1, sizeof(*dm));

	if (dm == NULL)
		return NULL;
	dm->rules = *rules;
	dm->path = strdup(ledger_path ? ledger_path : "");
	dm->fee_owner = strdup(rules->fee_owner ? rules->fee_owner :
	    "operator");
	if (dm->path == NULL || dm->fee_owner == NULL) {
		dash_money_free(dm);
		return NULL;
	}
	dm->rules.fee_owner = dm->fee_owner;
	return dm;
}

void
dash_money_free(struct dash_money *dm)
{
	if (dm == NULL)
		return;
	free(dm->path);
	free(dm->fee_owner);
	free(dm);
}

void
dash_money_attach(struct dash_money *dm, struct dash_source *src)
{
	src->money_ctx = dm;
	src->balances = m_balances;
	src->income = m_income;
	src->explain = m_explain;
	src->income_add = m_income_add;
}
