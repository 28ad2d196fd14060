/*
 * backoff.c: jittered exponential reconnect delays (see backoff.h).
 */
#include "config.h"

#include "common/backoff.h"

void
backoff_init(struct backoff *b, int64_t min_ms, int64_t max_ms, uint64_t seed)
{
	b->min_ms = min_ms > 0 ? min_ms : 1;
	b->max_ms = max_ms >= b->min_ms ? max_ms : b->min_ms;
	b->attempt = 0;
	b->rng = seed ? seed : 1;
}

int64_t
backoff_base(const struct backoff *b)
{
	int64_t base = b->min_ms;

	/* Doubling stops at max, so it cannot overflow. */
	for (unsigned i = 0; i < b->attempt && base < b->max_ms; i++)
		base *= 2;
	return base < b->max_ms ? base : b->max_ms;
}

static uint64_t
xorshift(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

int64_t
backoff_next(struct backoff *b)
{
	int64_t base = backoff_base(b), half = base / 2;

	if (b->attempt < 64)
		b->attempt++;
	return half + (int64_t)(xorshift(&b->rng) % (uint64_t)(base - half + 1));
}

void
backoff_reset(struct backoff *b)
{
	b->attempt = 0;
}
