/*
 * cli_money.h: coopmine-cli's money commands (cli_money.c), called by
 * cli.c's main with the parsed options.
 */
#ifndef COOPMINE_CLI_MONEY_H
#define COOPMINE_CLI_MONEY_H

#include <stdint.h>

#include "coordinator/ledger.h"
#include "coordinator/money.h"

#define CLI_EXIT_USAGE	2
#define CLI_EXIT_IO	3

struct cli_money_opts {
	const char *db, *format;
	const char *amount, *at, *ref, *source, *note, *owner, *address, *from;
	int64_t block, limit;
	int coin_decimals;
	struct money_rules rules;
};

/* Epoch ms, or an ISO date (local time unless Z or +HH:MM): 0 or -1. */
int cli_time_parse(const char *s, int64_t *out);

/* The writing commands (income add|import|reverse, owners add|set,
 * workers assign, pay record): an exit code, or -1 when the command only
 * reads (then cli_money_read). */
int cli_money_write(const struct cli_money_opts *o, const char *cmd,
    char **args, int nargs);
/* balances, owners [list], income [list]. */
int cli_money_read(struct ledger_reader *r, const struct cli_money_opts *o,
    const char *cmd);
/* payouts --explain ID */
int cli_money_explain(struct ledger_reader *r, const struct cli_money_opts *o,
    int64_t id);

#endif
