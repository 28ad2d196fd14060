/*
 * hashrate.c: per-series rings of (time, cumulative count) samples.  An
 * average over a window is the count difference between the newest sample
 * and the oldest one still inside the window, over their time difference,
 * which is how xmrig's Hashrate::calc works; no figure until the series has
 * a sample at least as old as most of the window.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>

#include "worker/hashrate.h"

struct sample {
	int64_t t;
	uint64_t count;
};

struct series {
	struct sample *ring;
	size_t head;		/* next slot to write */
	size_t n;		/* samples held */
};

struct hashrate {
	size_t nseries, capacity;
	struct series *s;
	double max;
};

struct hashrate *
hashrate_new(size_t nseries, size_t capacity)
{
	struct hashrate *h = calloc(1, sizeof(*h));

	if (h == NULL || nseries == 0 || capacity < 2)
		goto fail;
	h->nseries = nseries;
	h->capacity = capacity;
	if ((h->s = calloc(nseries, sizeof(*h->s))) == NULL)
		goto fail;
	for (size_t i = 0; i < nseries; i++)
		if ((h->s[i].ring = calloc(capacity, sizeof(struct sample))) == NULL)
			goto fail;
	return h;
fail:
	hashrate_free(h);
	return NULL;
}

void
hashrate_free(struct hashrate *h)
{
	if (h == NULL)
		return;
	if (h->s != NULL)
		for (size_t i = 0; i < h->nseries; i++)
			free(h->s[i].ring);
	free(h->s);
	free(h);
}

static const struct sample *
sample_at(const struct hashrate *h, const struct series *s, size_t age)
{
	/* age 0 is the newest sample. */
	return &s->ring[(s->head + h->capacity - 1 - age) % h->capacity];
}

void
hashrate_add(struct hashrate *h, size_t series, int64_t now_ms, uint64_t count)
{
	struct series *s;
	double total;

	if (series >= h->nseries)
		return;
	s = &h->s[series];
	s->ring[s->head] = (struct sample){ now_ms, count };
	s->head = (s->head + 1) % h->capacity;
	if (s->n < h->capacity)
		s->n++;
	if (series == h->nseries - 1 &&
	    (total = hashrate_total(h, HASHRATE_SHORT_MS)) > h->max)
		h->max = total;
}

double
hashrate_series(const struct hashrate *h, size_t series, int64_t window_ms)
{
	const struct series *s;
	const struct sample *newest, *oldest = NULL;

	if (series >= h->nseries)
		return -1;
	s = &h->s[series];
	if (s->n < 2)
		return -1;
	newest = sample_at(h, s, 0);
	for (size_t age = 1; age < s->n; age++) {
		const struct sample *x = sample_at(h, s, age);
		if (newest->t - x->t > window_ms)
			break;
		oldest = x;
	}
	/* A window mostly not covered yet has no figure ("n/a"). */
	if (oldest == NULL || newest->t - oldest->t < window_ms * 9 / 10 ||
	    newest->t <= oldest->t || newest->count < oldest->count)
		return -1;
	return (double)(newest->count - oldest->count) * 1000.0 /
	    (double)(newest->t - oldest->t);
}

double
hashrate_total(const struct hashrate *h, int64_t window_ms)
{
	double sum = 0;

	for (size_t i = 0; i < h->nseries; i++) {
		double v = hashrate_series(h, i, window_ms);
		if (v < 0)
			return -1;
		sum += v;
	}
	return sum;
}

double
hashrate_max(const struct hashrate *h)
{
	return h->max;
}

const char *
hashrate_format(double hs, char *buf, size_t len)
{
	if (hs < 0)
		snprintf(buf, len, "n/a");
	else
		snprintf(buf, len, "%.1f", hs);
	return buf;
}
