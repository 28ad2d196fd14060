/*
 * test_pplns.c: the PPLNS split (src/coordinator/pplns.c): window edges,
 * one and many workers, tiny and huge rewards, the fee, the remainder rule
 * and the exact sum.
 */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "coordinator/pplns.h"
#include "tap.h"

static uint64_t
sum_parts(const struct pplns_result *r)
{
	uint64_t s = r->fee;
	size_t i;

	for (i = 0; i < r->nparts; i++)
		s += r->parts[i].amount;
	return s;
}

static const struct pplns_part *
part(const struct pplns_result *r, const char *id)
{
	size_t i;

	for (i = 0; i < r->nparts; i++)
		if (strcmp(r->parts[i].worker_id, id) == 0)
			return &r->parts[i];
	return NULL;
}

static void
test_one_worker(void)
{
	struct pplns_share s[] = { { "a", 5 }, { "a", 7 } };
	struct pplns_result r;

	ok(pplns_split(s, 2, 100, 1000, 0, &r) == 0, "one worker: split");
	ok(r.nparts == 1 && r.parts[0].amount == 1000 && r.fee == 0,
	    "one worker gets the whole reward");
	ok(r.window_difficulty == 12 && r.parts[0].shares == 2,
	    "window shorter than N covers what there is (12 of 100)");
	pplns_result_free(&r);
}

static void
test_window_edges(void)
{
	/* newest first: the block's share is index 0 */
	struct pplns_share s[] = { { "a", 10 }, { "b", 10 }, { "a", 10 },
	    { "c", 10 } };
	struct pplns_result r;

	ok(pplns_split(s, 4, 25, 1000, 0, &r) == 0, "edge: split");
	ok(r.window_difficulty == 25, "edge: the window is exactly N");
	ok(part(&r, "a") && part(&r, "a")->difficulty == 15 &&
	    part(&r, "a")->shares == 2,
	    "straddling share counts for the part inside the window (10+5)");
	ok(part(&r, "c") == NULL, "shares beyond the window do not count");
	ok(part(&r, "a")->amount == 600 && part(&r, "b")->amount == 400,
	    "amounts proportional to difficulty in the window (600/400)");
	pplns_result_free(&r);

	ok(pplns_split(s, 4, 20, 1000, 0, &r) == 0 && r.nparts == 2 &&
	    part(&r, "a")->difficulty == 10 && part(&r, "b")->difficulty == 10,
	    "window ending exactly on a share boundary takes it whole");
	pplns_result_free(&r);

	ok(pplns_split(s, 4, 1, 1000, 0, &r) == 0 && r.nparts == 1 &&
	    part(&r, "a")->amount == 1000 && r.window_difficulty == 1,
	    "N = 1: only (part of) the block's own share");
	pplns_result_free(&r);
}

static void
test_fee_and_remainder(void)
{
	struct pplns_share s[] = { { "b", 1 }, { "a", 1 }, { "c", 1 } };
	struct pplns_result r;

	ok(pplns_split(s, 3, 100, 100, 0, &r) == 0, "thirds: split");
	/* 100/3 = 33 r 1 each: the one unit left goes to the smallest id */
	ok(part(&r, "a")->amount == 34 && part(&r, "b")->amount == 33 &&
	    part(&r, "c")->amount == 33, "remainder tie goes to the smaller id");
	ok(sum_parts(&r) == 100, "thirds sum exactly");
	pplns_result_free(&r);

	{
		struct pplns_share t[] = { { "a", 1 }, { "b", 2 } };

		/* net 10: a 10/3 = 3 r 1, b 20/3 = 6 r 2: b has the larger
		 * remainder and gets the unit */
		ok(pplns_split(t, 2, 100, 10, 0, &r) == 0 &&
		    part(&r, "a")->amount == 3 && part(&r, "b")->amount == 7,
		    "remainder goes to the largest fractional part first");
		pplns_result_free(&r);
	}

	ok(pplns_split(s, 3, 100, 10000, 250, &r) == 0 && r.fee == 250,
	    "fee 250 bps of 10000 is 250");
	ok(sum_parts(&r) == 10000, "fee + parts = reward");
	pplns_result_free(&r);

	ok(pplns_split(s, 3, 100, 999, 10000, &r) == 0 && r.fee == 999 &&
	    part(&r, "a")->amount == 0, "fee 100%% takes everything");
	pplns_result_free(&r);

	ok(pplns_split(s, 3, 100, 1, 0, &r) == 0 && sum_parts(&r) == 1 &&
	    part(&r, "a")->amount == 1, "reward 1: the single unit, by rule");
	pplns_result_free(&r);

	ok(pplns_split(s, 3, 100, 0, 100, &r) == 0 && sum_parts(&r) == 0,
	    "reward 0: all zero");
	pplns_result_free(&r);

	ok(pplns_split(NULL, 0, 100, 500, 100, &r) == 0 && r.nparts == 0 &&
	    r.fee == 500, "empty window: the reward stays with the fee row");
	pplns_result_free(&r);

	ok(pplns_split(s, 3, 100, 1, 10001, &r) == -EINVAL, "fee > 100%% refused");
	ok(pplns_split(s, 3, 0, 1, 0, &r) == -EINVAL, "window 0 refused");
}

static void
test_huge(void)
{
	struct pplns_share s[] = { { "a", UINT64_MAX / 3 },
	    { "b", UINT64_MAX / 3 }, { "c", UINT64_MAX / 3 + 5 } };
	struct pplns_result r;

	ok(pplns_split(s, 3, UINT64_MAX, UINT64_MAX, 1, &r) == 0,
	    "huge: reward and difficulties near 2^64");
	ok(sum_parts(&r) == UINT64_MAX, "huge: exact sum (128-bit products)");
	ok(r.fee == (uint64_t)((unsigned __int128)UINT64_MAX / 10000),
	    "huge: fee without overflow");
	pplns_result_free(&r);
}

static void
test_many(void)
{
	struct pplns_share *s = calloc(5000, sizeof(*s));
	char (*ids)[16] = calloc(100, sizeof(*ids));
	struct pplns_result r, r2;
	uint64_t seed = 42, n = 0;
	int i, same = 1;
	size_t k;

	for (i = 0; i < 100; i++)
		snprintf(ids[i], sizeof(ids[i]), "w%03d", i);
	for (i = 0; i < 5000; i++) {
		seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
		s[i].worker_id = ids[(seed >> 33) % 100];
		s[i].difficulty = 1 + (seed >> 40) % 100000;
		n += s[i].difficulty;
	}
	ok(pplns_split(s, 5000, n / 2, 123456789012345ULL, 75, &r) == 0,
	    "many: 5000 shares, 100 workers");
	ok(sum_parts(&r) == 123456789012345ULL, "many: exact sum");
	ok(r.window_difficulty == n / 2, "many: window covers N exactly");
	ok(pplns_split(s, 5000, n / 2, 123456789012345ULL, 75, &r2) == 0 &&
	    r2.nparts == r.nparts, "many: recomputed");
	for (k = 0; k < r.nparts; k++)
		same &= r.parts[k].amount == r2.parts[k].amount &&
		    strcmp(r.parts[k].worker_id, r2.parts[k].worker_id) == 0;
	ok(same, "many: recomputation is identical");
	for (k = 1; k < r.nparts; k++)
		same &= strcmp(r.parts[k - 1].worker_id, r.parts[k].worker_id) < 0;
	ok(same, "parts come sorted by worker id");
	pplns_result_free(&r);
	pplns_result_free(&r2);
	free(s);
	free(ids);
}

int
main(void)
{
	test_one_worker();
	test_window_edges();
	test_fee_and_remainder();
	test_huge();
	test_many();
	ok(pplns_window_n(1000, 2500, 0) == 2500, "N = 2.5 x network difficulty");
	ok(pplns_window_n(1000, 2500, 77) == 77, "absolute N wins");
	ok(pplns_window_n(UINT64_MAX, 5000, 0) == UINT64_MAX, "N saturates");
	ok(pplns_window_n(1, 1, 0) == 1, "N at least 1");
	return tap_done();
}
