/* test_backoff: reconnect delays double from min to max, every delay lies
 * in [base/2, base] and never above max, the jitter actually spreads a
 * reconnect storm (many workers at the same attempt pick different delays),
 * and a success starts again from min. */
#include "config.h"

#include <stdint.h>

#include "common/backoff.h"
#include "tap.h"

int
main(void)
{
	struct backoff b;
	int in_bounds = 1, doubled = 1;
	int64_t prev_base = 0;

	backoff_init(&b, 1000, 60000, 42);
	ok(backoff_base(&b) == 1000, "first step is min");
	for (int i = 0; i < 200; i++) {
		int64_t base = backoff_base(&b), d = backoff_next(&b);
		if (d < base / 2 || d > base || d > 60000 || d < 500)
			in_bounds = 0;
		if (i > 0 && base != (prev_base * 2 < 60000 ? prev_base * 2 : 60000))
			doubled = 0;
		prev_base = base;
	}
	ok(in_bounds, "200 delays in [base/2, base], within [min/2, max]");
	ok(doubled, "base doubles per attempt up to max");
	ok(backoff_base(&b) == 60000, "stays at max after many attempts");
	backoff_reset(&b);
	ok(backoff_base(&b) == 1000, "reset: back to min");

	{
		/* 10000 workers at their first retry: how the storm spreads. */
		int64_t lo = INT64_MAX, hi = 0;
		int buckets[10] = { 0 }, even = 1;

		for (uint64_t w = 0; w < 10000; w++) {
			backoff_init(&b, 1000, 60000, w * 2654435761u + 1);
			int64_t d = backoff_next(&b);
			lo = d < lo ? d : lo;
			hi = d > hi ? d : hi;
			buckets[(d - 500) * 10 / 501]++;
		}
		for (int i = 0; i < 10; i++)
			if (buckets[i] < 700 || buckets[i] > 1300)
				even = 0;
		ok(lo >= 500 && hi <= 1000 && hi - lo > 450,
		    "first retries spread over [500, 1000] ms (%lld..%lld)",
		    (long long)lo, (long long)hi);
		ok(even, "spread evenly (10 buckets of ~1000)");
	}

	backoff_init(&b, 0, -5, 0);
	ok(b.min_ms == 1 && b.max_ms == 1 && b.rng != 0 && backoff_next(&b) <= 1,
	    "degenerate settings are made safe");
	backoff_init(&b, 7, 7, 3);
	ok(backoff_next(&b) >= 3 && backoff_next(&b) <= 7, "min == max");
	return tap_done();
}
