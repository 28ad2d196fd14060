/*
 * vardiff.h: per-worker share difficulty steered toward a share interval.
 * Pure arithmetic (no clocks, no locks): jobs.c owns one struct per worker
 * and calls these on each share and on its periodic tick.
 */
#ifndef COOPMINE_VARDIFF_H
#define COOPMINE_VARDIFF_H

#include <stdint.h>

struct vardiff_config {
	int64_t target_ms;	/* wanted time between a worker's shares */
	int64_t retarget_ms;	/* how often the difficulty may change */
	uint64_t min_diff, max_diff;
	double tolerance;	/* no change while within +-tolerance (0.3) */
};

struct vardiff {
	uint64_t diff;
	int64_t window_start_ms;
	uint64_t window_shares;
};

void vardiff_init(struct vardiff *v, const struct vardiff_config *cfg,
    uint64_t initial, int64_t now_ms);
/* The starting difficulty for a worker of this hashrate (0: unknown). */
uint64_t vardiff_initial(const struct vardiff_config *cfg, double hashrate);
/* Counts a share; at most once per retarget_ms recomputes the difficulty.
 * Returns 1 when v->diff changed. */
int vardiff_on_share(struct vardiff *v, const struct vardiff_config *cfg,
    int64_t now_ms);
/* Called periodically: lowers the difficulty of a worker that has sent too
 * few shares for a long time.  Returns 1 when v->diff changed. */
int vardiff_tick(struct vardiff *v, const struct vardiff_config *cfg,
    int64_t now_ms);
/* Shares per second the coordinator's verification may take: the
 * configured `[verify] budget` when > 0, else half the measured capacity
 * (hashes/s of the verification pool); 0 when neither is known. */
double vardiff_budget(double capacity, double configured);
/* The lowest difficulty one worker of this hashrate may have so that
 * nworkers of them together send at most `budget` shares/s: each gets an
 * equal part, budget / nworkers, so the sum over the cluster of
 * hashrate / difficulty stays within the budget.  1 when a figure is
 * missing. */
uint64_t vardiff_floor(double worker_hashrate, double budget,
    unsigned nworkers);
/* Where the floor (cfg->min_diff) has risen above v->diff: raises v->diff
 * to VARDIFF_FLOOR_HEADROOM x the floor at once (not at the next retarget)
 * and restarts the window.  Returns 1 when v->diff changed. */
#define VARDIFF_FLOOR_HEADROOM 1.25
int vardiff_apply_floor(struct vardiff *v, const struct vardiff_config *cfg,
    int64_t now_ms);

#endif
