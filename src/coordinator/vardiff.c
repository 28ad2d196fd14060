/*
 * vardiff.c: share difficulty from the observed share rate.  The implied
 * hashrate over the window (shares x difficulty / elapsed) times the target
 * interval is the difficulty that would give one share per interval; the
 * step is clamped to x4 / x0.25 so one lucky or unlucky window cannot swing
 * it wildly, and small deviations are ignored so it does not jitter.
 */
#include "config.h"

#include <math.h>

#include "coordinator/vardiff.h"

static uint64_t
clamp_diff(const struct vardiff_config *cfg, double d)
{
	if (!(d >= (double)cfg->min_diff))
		return cfg->min_diff;
	if (d >= (double)cfg->max_diff)
		return cfg->max_diff;
	return (uint64_t)d;
}

void
vardiff_init(struct vardiff *v, const struct vardiff_config *cfg,
    uint64_t initial, int64_t now_ms)
{
	v->diff = clamp_diff(cfg, (double)initial);
	v->window_start_ms = now_ms;
	v->window_shares = 0;
}

uint64_t
vardiff_initial(const struct vardiff_config *cfg, double hashrate)
{
	if (!(hashrate > 0))
		return cfg->min_diff;
	return clamp_diff(cfg, hashrate * (double)cfg->target_ms / 1000.0);
}

static int
retarget(struct vardiff *v, const struct vardiff_config *cfg, int64_t now_ms,
    double shares)
{
	double elapsed = (double)(now_ms - v->window_start_ms);
	double want, ratio;
	uint64_t next;

	if (elapsed <= 0)
		return 0;
	/* shares per target interval, relative to the one we want */
	ratio = shares * (double)cfg->target_ms / elapsed;
	v->window_start_ms = now_ms;
	v->window_shares = 0;
	if (fabs(ratio - 1.0) <= cfg->tolerance)
		return 0;
	if (ratio > 4.0)
		ratio = 4.0;
	if (ratio < 0.25)
		ratio = 0.25;
	want = (double)v->diff * ratio;
	next = clamp_diff(cfg, want);
	if (next == v->diff)
		return 0;
	v->diff = next;
	return 1;
}

int
vardiff_on_share(struct vardiff *v, const struct vardiff_config *cfg,
    int64_t now_ms)
{
	v->window_shares++;
	if (now_ms - v->window_start_ms < cfg->retarget_ms)
		return 0;
	return retarget(v, cfg, now_ms, (double)v->window_shares);
}

int
vardiff_tick(struct vardiff *v, const struct vardiff_config *cfg,
    int64_t now_ms)
{
	/* Only a window that is long overdue and nearly empty is judged here;
	 * busy windows are judged on their next share. */
	if (now_ms - v->window_start_ms < 2 * cfg->retarget_ms ||
	    (double)v->window_shares * (double)cfg->target_ms >=
	    (double)(now_ms - v->window_start_ms) * (1.0 - cfg->tolerance))
		return 0;
	return retarget(v, cfg, now_ms, (double)v->window_shares);
}

double
vardiff_budget(double capacity, double configured)
{
	if (configured > 0)
		return configured;
	/* Half of what the pool can hash: room for bursts, for shares that
	 * fail cheap checks after queueing, and for a slow machine. */
	return capacity > 0 ? capacity * 0.5 : 0;
}

uint64_t
vardiff_floor(double worker_hashrate, double budget, unsigned nworkers)
{
	double per_worker, floor;

	if (!(worker_hashrate > 0) || !(budget > 0) || nworkers == 0)
		return 1;
	per_worker = budget / (double)nworkers;		/* shares/s */
	floor = ceil(worker_hashrate / per_worker);
	if (floor < 1)
		return 1;
	/* A hashrate nobody has (or +Inf) must not overflow the cast. */
	return floor < 1.8e19 ? (uint64_t)floor : UINT64_MAX;
}

int
vardiff_apply_floor(struct vardiff *v, const struct vardiff_config *cfg,
    int64_t now_ms)
{
	double up;

	if (v->diff >= cfg->min_diff)
		return 0;
	/* Above the floor by a quarter: a cluster that keeps growing moves
	 * each worker's difficulty (and sends it new work) once per 25 %
	 * of growth, not once per worker that joins. */
	up = (double)cfg->min_diff * VARDIFF_FLOOR_HEADROOM;
	v->diff = clamp_diff(cfg, up);
	v->window_start_ms = now_ms;
	v->window_shares = 0;
	return 1;
}
