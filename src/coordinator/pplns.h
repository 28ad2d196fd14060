/*
 * pplns.h: the PPLNS split of a block's reward, pure integer arithmetic
 * (no SQL, no I/O).  Called by the ledger writer when a block's reward is
 * known, and by coopmine-cli to recompute and audit the stored payouts.
 */
#ifndef COOPMINE_PPLNS_H
#define COOPMINE_PPLNS_H

#include <stddef.h>
#include <stdint.h>

#define PPLNS_WORKER_MAX 128	/* bytes of a worker id, with its NUL */

/* One accepted share, as the window sees it. */
struct pplns_share {
	const char *worker_id;
	uint64_t difficulty;	/* credited share difficulty */
};

/* One worker's part. */
struct pplns_part {
	char worker_id[PPLNS_WORKER_MAX];
	uint64_t difficulty;	/* counted inside the window */
	uint64_t shares;	/* shares that touched the window */
	uint64_t amount;	/* atomic units */
	int extra;		/* 1: got one unit of the rounding remainder */
};

struct pplns_result {
	uint64_t reward;		/* what was split */
	uint64_t fee;			/* the coordinator's part */
	uint64_t window_n;		/* the window asked for */
	uint64_t window_difficulty;	/* what the shares covered (<= window_n) */
	size_t nshares;			/* shares[] entries the window reached
					 * (the oldest is shares[nshares - 1]) */
	size_t nparts;
	struct pplns_part *parts;	/* sorted by worker_id (strcmp) */
};

/*
 * The window size N in share-difficulty units: `absolute` when non-zero,
 * else network_difficulty * factor_milli / 1000 (rounded down, saturating
 * at UINT64_MAX, at least 1).
 */
uint64_t pplns_window_n(uint64_t network_difficulty, uint64_t factor_milli,
    uint64_t absolute);

/*
 * Splits `reward` over the window.  shares[] is newest first, the block's
 * own share at index 0; only the first window_n units of difficulty count:
 * the share that straddles the edge counts for the part inside the window,
 * older shares not at all.  Shares of difficulty 0 are ignored.
 *
 * fee = reward * fee_bps / 10000 (rounded down); the rest, net, goes to the
 * workers: each gets floor(net * d_i / W), W the window difficulty covered,
 * with 128-bit products.  The units left over (fewer than the number of
 * workers) go one each to the workers with the largest remainders
 * (net * d_i mod W), ties to the smaller worker_id (strcmp).  An empty
 * window gives the whole reward to the fee.  fee + sum(amount) == reward,
 * always.
 *
 * Returns 0, -EINVAL (fee_bps > 10000, window_n 0, NULL/long worker id)
 * or -ENOMEM.  Free the result with pplns_result_free().
 */
int pplns_split(const struct pplns_share *shares, size_t nshares,
    uint64_t window_n, uint64_t reward, unsigned fee_bps,
    struct pplns_result *out);
void pplns_result_free(struct pplns_result *r);

/*
 * Divides `amount` in proportion to weights[0..n) (their sum must not be 0):
 * out[i] = floor(amount * w_i / sum) with 128-bit products, then the units
 * left over (fewer than n) one each to the largest remainders, ties to the
 * smaller index; extra[i] (may be NULL) says who got one.  sum(out) ==
 * amount, always.  The rule pplns_split() uses for workers and the ledger
 * for co-owners.  0, -EINVAL (n 0, zero or overflowing sum) or -ENOMEM.
 */
int pplns_apportion(uint64_t amount, const uint64_t *weights, size_t n,
    uint64_t *out, int *extra);

#endif
