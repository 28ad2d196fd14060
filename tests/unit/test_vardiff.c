/* test_vardiff: a simulated worker of known hashrate converges to the
 * target share interval from far above and far below; bounds hold; steps
 * are clamped; a silent worker's difficulty comes down; the floor keeps the
 * cluster's share rate within the verifier's capacity. */
#include "config.h"

#include <math.h>
#include <stdint.h>

#include "coordinator/vardiff.h"
#include "tap.h"

static uint64_t rng_state = 12345;

static double
uniform(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (double)(rng_state >> 11) / 9007199254740992.0;
}

/* Simulates a worker hashing at `hashrate` for `seconds`: shares arrive as
 * a Poisson process with rate hashrate / diff.  Returns the final diff. */
static uint64_t
simulate(struct vardiff *v, const struct vardiff_config *cfg, double hashrate,
    double seconds, int64_t *now, int *max_step_ok)
{
	double t = (double)*now / 1000.0, end = t + seconds;

	for (;;) {
		uint64_t before = v->diff;
		double rate = hashrate / (double)v->diff;
		t += -log(1.0 - uniform()) / rate;
		if (t > end)
			break;
		*now = (int64_t)(t * 1000.0);
		vardiff_on_share(v, cfg, *now);
		if ((double)v->diff > 4.0 * (double)before + 1 ||
		    (double)v->diff < 0.25 * (double)before - 1)
			*max_step_ok = 0;
	}
	*now = (int64_t)(end * 1000.0);
	return v->diff;
}

int
main(void)
{
	struct vardiff_config cfg = { 15000, 60000, 100, 1000000000ULL, 0.3 };
	struct vardiff v;
	int64_t now = 0;
	int step_ok = 1;
	double h = 600.0, ideal = h * 15.0;	/* 600 H/s, one share per 15 s */
	uint64_t d;

	ok(vardiff_initial(&cfg, h) == 9000, "initial difficulty from hashrate");
	ok(vardiff_initial(&cfg, 0) == 100, "unknown hashrate starts at the minimum");

	vardiff_init(&v, &cfg, 100, now);	/* far too easy: 6 shares/s */
	d = simulate(&v, &cfg, h, 3600, &now, &step_ok);
	ok(fabs((double)d / ideal - 1.0) < 0.5, "from below converges to ~%g (got %llu)",
	    ideal, (unsigned long long)d);
	vardiff_init(&v, &cfg, 10000000, now);	/* far too hard */
	for (int i = 0; i < 40; i++) {		/* silence: the tick lowers it */
		now += 30000;
		vardiff_tick(&v, &cfg, now);
	}
	d = simulate(&v, &cfg, h, 3600, &now, &step_ok);
	ok(fabs((double)d / ideal - 1.0) < 0.5, "from above converges to ~%g (got %llu)",
	    ideal, (unsigned long long)d);
	ok(step_ok, "no step larger than x4 or smaller than x0.25");

	vardiff_init(&v, &cfg, 5, now);
	ok(v.diff == 100, "init clamps to the minimum");
	{
		struct vardiff_config small = cfg;
		small.max_diff = 100000;	/* 1e5 H/s would want 1.5e6 */
		vardiff_init(&v, &small, 100, now);
		d = simulate(&v, &small, 1e5, 900, &now, &step_ok);
		ok(d == small.max_diff, "a large hashrate stops at the maximum");
	}
	vardiff_init(&v, &cfg, 1000, now);
	ok(vardiff_on_share(&v, &cfg, now + 1000) == 0 && v.diff == 1000,
	    "no change before the retarget interval");
	vardiff_init(&v, &cfg, 1000, now);
	for (int i = 0; i < 4; i++)
		vardiff_on_share(&v, &cfg, now + 15000 * (i + 1));
	ok(v.diff == 1000, "on target: unchanged (within tolerance)");

	/* 30 verifications/s (light mode, one thread): a budget of half that,
	 * 15 shares/s; 10 workers at 600 H/s may each send 1.5 shares/s, so
	 * difficulty >= 400. */
	ok(vardiff_budget(30, 0) == 15, "budget: half the measured capacity");
	ok(vardiff_budget(30, 4) == 4 && vardiff_budget(0, 4) == 4,
	    "budget: [verify] budget wins when set");
	ok(vardiff_budget(0, 0) == 0, "budget: none without figures");
	ok(vardiff_floor(600, 15, 10) == 400, "floor from the budget");
	ok(vardiff_floor(600, 0, 10) == 1 && vardiff_floor(0, 15, 10) == 1 &&
	    vardiff_floor(600, 15, 0) == 1, "no floor without figures");
	ok(vardiff_floor(1, 1e6, 1) == 1, "floor never below 1");
	ok(vardiff_floor(1e300, 1e-300, 1) == UINT64_MAX, "floor saturates");
	{
		/* Mixed hashrates: the cluster's expected share rate, the sum of
		 * hashrate / floor, stays within the budget at any size. */
		static const double rates[] = { 50, 600, 1234.5, 9000, 1e5 };
		const double budget = 4;
		int within = 1;

		for (unsigned n = 1; n <= 20000; n = n * 3 + 1) {
			double sum = 0;
			for (unsigned i = 0; i < n; i++) {
				double hr = rates[i % 5];
				sum += hr / (double)vardiff_floor(hr, budget, n);
			}
			if (sum > budget * (1 + 1e-9))
				within = 0;
		}
		ok(within, "sum of hashrate / floor <= budget, 1..20000 workers");
	}
	{
		/* The floor is applied at once, with headroom, and only when it
		 * is above the current difficulty. */
		struct vardiff_config fc = cfg;
		vardiff_init(&v, &cfg, 1000, now);
		fc.min_diff = 800;
		ok(vardiff_apply_floor(&v, &fc, now) == 0 && v.diff == 1000,
		    "floor below the difficulty: unchanged");
		fc.min_diff = 4000;
		ok(vardiff_apply_floor(&v, &fc, now + 5) == 1 && v.diff == 5000 &&
		    v.window_start_ms == now + 5 && v.window_shares == 0,
		    "floor above: raised to 1.25 x the floor, window restarted");
		fc.min_diff = 4500;
		ok(vardiff_apply_floor(&v, &fc, now + 6) == 0 && v.diff == 5000,
		    "a floor that grows within the headroom sends no new work");
		fc.min_diff = 4000;
		fc.max_diff = 4200;
		vardiff_init(&v, &fc, 1000, now);
		v.diff = 1000;
		ok(vardiff_apply_floor(&v, &fc, now) == 1 && v.diff == 4200,
		    "raised no further than max_difficulty");
	}
	return tap_done();
}
