/* test_hashrate: the 10 s / 60 s / 15 min averages as xmrig reports them:
 * steady and changing rates, "n/a" until a window is covered, totals over
 * threads, the maximum. */
#include "config.h"

#include <math.h>
#include <string.h>

#include "worker/hashrate.h"
#include "tap.h"

static int
near(double a, double b)
{
	return fabs(a - b) < 1e-6 * (fabs(b) + 1);
}

int
main(void)
{
	struct hashrate *h = hashrate_new(2, 1024);
	char buf[32];
	uint64_t c0 = 0, c1 = 0;
	int64_t t;

	ok(h != NULL, "hashrate for 2 threads");
	ok(hashrate_total(h, HASHRATE_SHORT_MS) < 0, "no samples: n/a");
	ok(strcmp(hashrate_format(-1, buf, sizeof(buf)), "n/a") == 0, "n/a printed");
	/* Thread 0 at 100 H/s, thread 1 at 50 H/s, one sample a second. */
	for (t = 0; t <= 5000; t += 1000) {
		hashrate_add(h, 0, t, c0);
		hashrate_add(h, 1, t, c1);
		c0 += 100;
		c1 += 50;
	}
	ok(hashrate_total(h, HASHRATE_SHORT_MS) < 0, "5 s of samples: 10 s figure is n/a");
	for (; t <= 120000; t += 1000) {
		hashrate_add(h, 0, t, c0);
		hashrate_add(h, 1, t, c1);
		c0 += 100;
		c1 += 50;
	}
	ok(near(hashrate_series(h, 0, HASHRATE_SHORT_MS), 100), "thread 0: 100 H/s");
	ok(near(hashrate_total(h, HASHRATE_SHORT_MS), 150), "total 10 s: 150 H/s");
	ok(near(hashrate_total(h, HASHRATE_MEDIUM_MS), 150), "total 60 s: 150 H/s");
	ok(hashrate_total(h, HASHRATE_LARGE_MS) < 0, "2 minutes: 15 min figure is n/a");
	/* Thread 0 doubles for 10 s: the 10 s figure follows, 60 s lags. */
	for (int i = 0; i <= 10; i++, t += 1000) {
		hashrate_add(h, 0, t, c0);
		hashrate_add(h, 1, t, c1);
		c0 += 200;
		c1 += 50;
	}
	ok(near(hashrate_total(h, HASHRATE_SHORT_MS), 250), "10 s after doubling: 250 H/s (%.1f)",
	    hashrate_total(h, HASHRATE_SHORT_MS));
	ok(hashrate_total(h, HASHRATE_MEDIUM_MS) > 150 &&
	    hashrate_total(h, HASHRATE_MEDIUM_MS) < 250, "60 s figure in between (%.1f)",
	    hashrate_total(h, HASHRATE_MEDIUM_MS));
	ok(near(hashrate_max(h), 250), "max is the best 10 s total");
	/* A long run: the ring keeps more than 15 minutes. */
	for (; t <= 1000000; t += 1000) {
		hashrate_add(h, 0, t, c0);
		hashrate_add(h, 1, t, c1);
		c0 += 100;
		c1 += 50;
	}
	ok(hashrate_total(h, HASHRATE_LARGE_MS) > 0, "15 min figure after 16 min (%.1f)",
	    hashrate_total(h, HASHRATE_LARGE_MS));
	ok(strcmp(hashrate_format(812.44, buf, sizeof(buf)), "812.4") == 0,
	    "one decimal");
	ok(hashrate_series(h, 7, HASHRATE_SHORT_MS) < 0, "unknown thread: n/a");
	hashrate_free(h);
	return tap_done();
}
