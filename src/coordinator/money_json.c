/*
 * money_json.c: JSON for the money reports (money_json.h), built from the
 * ledger's typed rows; the only place that shape is written.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "coordinator/money_json.h"

json_t *
money_json_balances(const struct money_owner_row *o, size_t n)
{
	json_t *a = json_array();
	size_t i;

	for (i = 0; i < n; i++)
		json_array_append_new(a, json_pack("{s:I, s:s, s:s, s:I, s:I, "
		    "s:I, s:I, s:I}", "owner_id", (json_int_t)o[i].id, "name",
		    o[i].name, "address", o[i].address, "credited",
		    (json_int_t)o[i].credited, "paid", (json_int_t)o[i].paid,
		    "balance", (json_int_t)o[i].balance, "immature",
		    (json_int_t)o[i].immature, "payable",
		    (json_int_t)(o[i].balance - o[i].immature)));
	return a;
}

static json_t *
id_or_null(int64_t id)
{
	return id > 0 ? json_integer((json_int_t)id) : json_null();
}

json_t *
money_json_income_row(const struct money_income_row *i)
{
	return json_pack("{s:I, s:I, s:I, s:s, s:s, s:s, s:o, s:o, s:o, s:I}",
	    "id", (json_int_t)i->id, "amount", (json_int_t)i->amount, "at",
	    (json_int_t)i->at, "source", money_source_name(i->source), "ref",
	    i->ref, "note", i->note, "block_id", id_or_null(i->block_id),
	    "reverses", id_or_null(i->reverses), "reversed_by",
	    id_or_null(i->reversed_by), "recorded_at", (json_int_t)i->recorded_at);
}

json_t *
money_json_income(const struct money_income_row *i, size_t n)
{
	json_t *a = json_array();
	size_t k;

	for (k = 0; k < n; k++)
		json_array_append_new(a, money_json_income_row(&i[k]));
	return a;
}

static double
fraction(uint64_t part, uint64_t whole)
{
	return whole ? (double)part / (double)whole : 0.0;
}

json_t *
money_json_explain(const struct money_explain *e)
{
	json_t *o, *rows = json_array(), *owners = json_array();
	size_t i;

	for (i = 0; i < e->nrows; i++) {
		const struct money_split_row *s = &e->rows[i];

		json_array_append_new(rows, json_pack("{s:s, s:o, s:I, s:s, s:i, "
		    "s:I, s:I, s:f, s:I, s:I, s:b, s:b}", "kind", s->fee ? "fee" :
		    "worker", "worker_id", s->fee ? json_null() :
		    json_string(s->worker_id), "owner_id", (json_int_t)s->owner_id,
		    "owner", s->owner, "bps", (int)s->bps, "difficulty",
		    (json_int_t)s->difficulty, "shares", (json_int_t)s->shares,
		    "fraction", s->fee ? 0.0 : fraction(s->difficulty,
		    e->window_difficulty), "worker_amount",
		    (json_int_t)s->worker_amount, "amount", (json_int_t)s->amount,
		    "worker_remainder", s->worker_extra, "owner_remainder",
		    s->owner_extra));
	}
	for (i = 0; i < e->nowners; i++)
		json_array_append_new(owners, json_pack("{s:I, s:s, s:I, s:f, "
		    "s:I}", "owner_id", (json_int_t)e->owners[i].owner_id, "owner",
		    e->owners[i].owner, "difficulty",
		    (json_int_t)e->owners[i].difficulty, "fraction",
		    fraction(e->owners[i].difficulty, e->window_difficulty),
		    "amount", (json_int_t)e->owners[i].amount));
	o = json_pack("{s:o, s:I, s:s, s:{s:o, s:o, s:o, s:o, s:I, s:I, s:I}, "
	    "s:I, s:s, s:I, s:I, s:i, s:s, s:s, s:o, s:o}",
	    "income", money_json_income_row(&e->income),
	    "split_of", (json_int_t)e->split_of,
	    "scheme", money_scheme_name(e->scheme),
	    "window",
	    "first_share_id", id_or_null(e->first_share_id),
	    "last_share_id", id_or_null(e->last_share_id),
	    "first_share_at", id_or_null(e->first_share_at),
	    "last_share_at", id_or_null(e->last_share_at),
	    "after_share_id", (json_int_t)e->after_share_id,
	    "difficulty", (json_int_t)e->window_difficulty,
	    "shares", (json_int_t)e->share_count,
	    "window_n", (json_int_t)e->window_n,
	    "n_source", e->n_source,
	    "network_difficulty", (json_int_t)e->network_difficulty,
	    "fee", (json_int_t)(e->nrows ? e->rows[e->nrows - 1].amount : 0),
	    "fee_bps", (int)e->fee_bps,
	    "fee_owner", e->fee_owner,
	    "warning", e->warning,
	    "splits", rows,
	    "owners", owners);
	return o;
}

int
money_json_income_parse(json_t *o, struct money_income *in, char *err,
    size_t errlen)
{
	json_t *v;
	int src;

	memset(in, 0, sizeof(*in));
	if (!json_is_object(o)) {
		snprintf(err, errlen, "body: a JSON object");
		return MONEY_EINVAL;
	}
	v = json_object_get(o, "amount");
	if (!json_is_integer(v) || json_integer_value(v) <= 0) {
		snprintf(err, errlen, "amount: a positive integer of atomic units");
		return MONEY_EINVAL;
	}
	in->amount = (uint64_t)json_integer_value(v);
	v = json_object_get(o, "at");
	if (!json_is_integer(v) || json_integer_value(v) <= 0) {
		snprintf(err, errlen, "at: epoch milliseconds");
		return MONEY_EINVAL;
	}
	in->at = (int64_t)json_integer_value(v);
	if ((in->ref = json_string_value(json_object_get(o, "ref"))) == NULL) {
		snprintf(err, errlen, "ref: a string (the external reference)");
		return MONEY_EINVAL;
	}
	in->note = json_string_value(json_object_get(o, "note"));
	v = json_object_get(o, "source");
	src = v == NULL ? MONEY_SRC_POOL : money_source_parse(json_string_value(v));
	if (src < 0) {
		snprintf(err, errlen, "source: pool, block or manual");
		return MONEY_EINVAL;
	}
	in->source = (enum money_source)src;
	v = json_object_get(o, "block_id");
	if (v != NULL && !json_is_null(v)) {
		if (!json_is_integer(v) || json_integer_value(v) <= 0) {
			snprintf(err, errlen, "block_id: a block id");
			return MONEY_EINVAL;
		}
		in->block_id = (int64_t)json_integer_value(v);
	}
	return 0;
}
