/*
 * money_json.h: the JSON of the money reports (money.h's typed rows), one
 * shape for REST (http.c: /api/income, /api/balances, explain) and
 * coopmine-cli --format json.  Times are epoch ms, amounts integers.
 */
#ifndef COOPMINE_MONEY_JSON_H
#define COOPMINE_MONEY_JSON_H

#include <stddef.h>

#include <jansson.h>

#include "coordinator/money.h"

json_t	*money_json_balances(const struct money_owner_row *o, size_t n);
json_t	*money_json_income_row(const struct money_income_row *i);
json_t	*money_json_income(const struct money_income_row *i, size_t n);
json_t	*money_json_explain(const struct money_explain *e);
/* Parses one income event from a POST body ({"amount", "at", "ref",
 * "source", "note", "block_id"}); 0, or MONEY_EINVAL naming the field. */
int	 money_json_income_parse(json_t *o, struct money_income *in,
	    char *err, size_t errlen);

#endif
