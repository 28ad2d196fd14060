/*
 * backoff.h: reconnect delays, exponential and jittered.  After a
 * coordinator restart every worker reconnects at once; with "equal jitter"
 * (a delay drawn uniformly from [base/2, base], base doubling per failed
 * attempt from min up to max) the storm is spread over half of each step
 * while a single worker still waits at least half of what the plain
 * exponential schedule says.  Pure arithmetic on caller-owned state: the
 * worker's client and bench/loadgen.c use it; tests/unit/test_backoff.c
 * checks its bounds.
 */
#ifndef COOPMINE_BACKOFF_H
#define COOPMINE_BACKOFF_H

#include <stdint.h>

struct backoff {
	int64_t min_ms, max_ms;	/* first step and ceiling (max >= min > 0) */
	unsigned attempt;	/* failed attempts since the last success */
	uint64_t rng;		/* xorshift state, never 0 */
};

/* min_ms <= 0 becomes 1; max_ms < min_ms becomes min_ms; seed 0 becomes 1. */
void backoff_init(struct backoff *b, int64_t min_ms, int64_t max_ms,
    uint64_t seed);
/* The un-jittered step for the current attempt: min x 2^attempt, at most max. */
int64_t backoff_base(const struct backoff *b);
/* The delay before the next attempt, in [base/2, base] (never above max,
 * never below min/2), and counts the attempt. */
int64_t backoff_next(struct backoff *b);
/* A connection worked: the next failure starts from min again. */
void backoff_reset(struct backoff *b);

#endif
