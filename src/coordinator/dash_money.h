/*
 * dash_money.h: the money side of struct dash_source (balances, income,
 * explanations, POST /api/income) over a ledger file: a read connection
 * per request and money.h's own write connection, so the HTTP threads
 * never share one.  dashsrc.c (the coordinator) and the dashboard test
 * fixture attach it.
 */
#ifndef COOPMINE_DASH_MONEY_H
#define COOPMINE_DASH_MONEY_H

#include "coordinator/dash_source.h"
#include "coordinator/money.h"

struct dash_money;

/* rules: how POSTed income is split (copied, fee_owner too). */
struct dash_money *dash_money_new(const char *ledger_path,
    const struct money_rules *rules);
void dash_money_free(struct dash_money *dm);
/* Fills src's money functions (money_ctx = dm). */
void dash_money_attach(struct dash_money *dm, struct dash_source *src);

#endif
