/*
 * pplns.c: PPLNS payouts in integer atomic units (see pplns.h for the
 * rules).  Pure: the ledger writer and coopmine-cli feed it the window's
 * shares and store or print what it returns.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "coordinator/pplns.h"

typedef unsigned __int128 u128;

uint64_t
pplns_window_n(uint64_t network_difficulty, uint64_t factor_milli,
    uint64_t absolute)
{
	u128 n;

	if (absolute != 0)
		return absolute;
	n = (u128)network_difficulty * factor_milli / 1000;
	if (n > UINT64_MAX)
		return UINT64_MAX;
	return n == 0 ? 1 : (uint64_t)n;
}

static int
part_cmp(const void *a, const void *b)
{
	const struct pplns_part *pa = a, *pb = b;

	return strcmp(pa->worker_id, pb->worker_id);
}

/* Adds d to the worker's part, creating it; parts stay unsorted here. */
static int
part_add(struct pplns_result *r, size_t *cap, const char *id, uint64_t d)
{
	struct pplns_part *p;
	size_t i;

	for (i = 0; i < r->nparts; i++) {
		if (strcmp(r->parts[i].worker_id, id) == 0) {
			r->parts[i].difficulty += d;
			r->parts[i].shares++;
			return 0;
		}
	}
	if (r->nparts == *cap) {
		size_t ncap = *cap ? *cap * 2 : 16;

		p = realloc(r->parts, ncap * sizeof(*p));
		if (p == NULL)
			return -ENOMEM;
		r->parts = p;
		*cap = ncap;
	}
	p = &r->parts[r->nparts++];
	memset(p, 0, sizeof(*p));
	memcpy(p->worker_id, id, strlen(id) + 1);
	p->difficulty = d;
	p->shares = 1;
	return 0;
}

struct rem {
	size_t i;
	uint64_t rem;	/* amount * w_i mod sum, < sum <= UINT64_MAX */
};

static int
rem_cmp(const void *a, const void *b)
{
	const struct rem *ra = a, *rb = b;

	if (ra->rem != rb->rem)
		return ra->rem > rb->rem ? -1 : 1;
	return ra->i < rb->i ? -1 : ra->i > rb->i;
}

int
pplns_apportion(uint64_t amount, const uint64_t *weights, size_t n,
    uint64_t *out, int *extra)
{
	struct rem *rems;
	uint64_t sum = 0, given = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		if (weights[i] > UINT64_MAX - sum)
			return -EINVAL;
		sum += weights[i];
	}
	if (n == 0 || sum == 0)
		return -EINVAL;
	if ((rems = calloc(n, sizeof(*rems))) == NULL)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		u128 x = (u128)amount * weights[i];

		out[i] = (uint64_t)(x / sum);
		given += out[i];
		rems[i].i = i;
		rems[i].rem = (uint64_t)(x % sum);
		if (extra != NULL)
			extra[i] = 0;
	}
	/* sum of floors > amount - n, so fewer than n units remain */
	qsort(rems, n, sizeof(*rems), rem_cmp);
	for (i = 0; given < amount; i++, given++) {
		out[rems[i].i]++;
		if (extra != NULL)
			extra[rems[i].i] = 1;
	}
	free(rems);
	return 0;
}

int
pplns_split(const struct pplns_share *shares, size_t nshares,
    uint64_t window_n, uint64_t reward, unsigned fee_bps,
    struct pplns_result *out)
{
	uint64_t *w = NULL, *amt = NULL;
	int *extra = NULL;
	uint64_t left;
	size_t cap = 0, i;
	int rc;

	memset(out, 0, sizeof(*out));
	if (fee_bps > 10000 || window_n == 0)
		return -EINVAL;
	out->reward = reward;
	out->window_n = window_n;
	left = window_n;
	for (i = 0; i < nshares && left > 0; i++) {
		uint64_t d = shares[i].difficulty;

		if (d == 0)
			continue;
		if (shares[i].worker_id == NULL ||
		    strlen(shares[i].worker_id) >= PPLNS_WORKER_MAX) {
			rc = -EINVAL;
			goto fail;
		}
		if (d > left)
			d = left;
		left -= d;
		out->window_difficulty += d;
		out->nshares = i + 1;
		if ((rc = part_add(out, &cap, shares[i].worker_id, d)) != 0)
			goto fail;
	}
	out->fee = (uint64_t)((u128)reward * fee_bps / 10000);
	if (out->nparts == 0) {
		out->fee = reward;
		return 0;
	}
	/* sorted by worker_id: the tie rule's smaller index is the smaller id */
	qsort(out->parts, out->nparts, sizeof(*out->parts), part_cmp);
	w = calloc(out->nparts, sizeof(*w));
	amt = calloc(out->nparts, sizeof(*amt));
	extra = calloc(out->nparts, sizeof(*extra));
	if (w == NULL || amt == NULL || extra == NULL) {
		rc = -ENOMEM;
		goto fail;
	}
	for (i = 0; i < out->nparts; i++)
		w[i] = out->parts[i].difficulty;
	if ((rc = pplns_apportion(reward - out->fee, w, out->nparts, amt,
	    extra)) != 0)
		goto fail;
	for (i = 0; i < out->nparts; i++) {
		out->parts[i].amount = amt[i];
		out->parts[i].extra = extra[i];
	}
	free(w);
	free(amt);
	free(extra);
	return 0;
fail:
	free(w);
	free(amt);
	free(extra);
	pplns_result_free(out);
	return rc;
}

void
pplns_result_free(struct pplns_result *r)
{
	free(r->parts);
	r->parts = NULL;
	r->nparts = 0;
}
