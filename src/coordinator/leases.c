/*
 * leases.c: a bump allocator over one job's nonce space.  Leases are kept
 * in issue order, which is also start order, so finding the lease of a
 * nonce is a binary search.  Disjointness holds by construction: the cursor
 * only moves forward.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coordinator/leases.h"

struct lease_space {
	uint64_t start, end, cursor;
	struct lease *leases;
	size_t n, cap;
	int unsorted;		/* a lease was added out of id order */
};

/* Notes whether the lease just appended keeps leases[] in id order. */
static void
appended(struct lease_space *sp)
{
	if (sp->n > 1 && sp->leases[sp->n - 1].id <= sp->leases[sp->n - 2].id)
		sp->unsorted = 1;
}

struct lease_space *
lease_space_new(uint64_t start, uint64_t end)
{
	struct lease_space *sp;

	if (end < start || end > ((uint64_t)1 << 32))
		return NULL;
	if ((sp = calloc(1, sizeof(*sp))) == NULL)
		return NULL;
	sp->start = sp->cursor = start;
	sp->end = end;
	return sp;
}

void
lease_space_free(struct lease_space *sp)
{
	if (sp == NULL)
		return;
	free(sp->leases);
	free(sp);
}

/* Room for one more lease.  0 or -1. */
static int
room(struct lease_space *sp)
{
	struct lease *nl;
	size_t cap;

	if (sp->n < sp->cap)
		return 0;
	cap = sp->cap ? sp->cap * 2 : 16;
	if ((nl = realloc(sp->leases, cap * sizeof(*nl))) == NULL)
		return -1;
	sp->leases = nl;
	sp->cap = cap;
	return 0;
}

int
lease_take(struct lease_space *sp, uint64_t id, const char *owner,
    uint64_t want, uint64_t min_size, uint64_t share_target, int64_t now_ms,
    struct lease *out)
{
	uint64_t left = sp->end - sp->cursor, n;
	struct lease *l;

	if (left == 0)
		return -1;
	if (want < min_size)
		want = min_size;
	if (want == 0)
		want = 1;
	n = want < left ? want : left;
	if (room(sp) != 0)
		return -1;
	l = &sp->leases[sp->n++];
	memset(l, 0, sizeof(*l));
	l->id = id;
	l->start = sp->cursor;
	l->end = sp->cursor + n;
	snprintf(l->owner, sizeof(l->owner), "%s", owner);
	l->share_target = share_target;
	l->issued_ms = now_ms;
	sp->cursor += n;
	appended(sp);
	*out = *l;
	return 0;
}

int
lease_restore(struct lease_space *sp, const struct lease *l)
{
	if (l->start < sp->cursor || l->end <= l->start || l->end > sp->end)
		return -1;
	if (room(sp) != 0)
		return -1;
	sp->leases[sp->n++] = *l;
	sp->cursor = l->end;
	appended(sp);
	return 0;
}

/* Leases are taken (and restored) in the order of their ids, so a binary
 * search finds one in log n (a new job releases every worker's lease: n
 * lookups of n leases each otherwise); a space not in that order is
 * searched through. */
static struct lease *
lease_by_id(const struct lease_space *sp, uint64_t id)
{
	size_t lo = 0, hi = sp->n;

	if (sp->unsorted) {
		for (size_t i = sp->n; i > 0; i--)
			if (sp->leases[i - 1].id == id)
				return &sp->leases[i - 1];
		return NULL;
	}
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (sp->leases[mid].id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < sp->n && sp->leases[lo].id == id ? &sp->leases[lo] : NULL;
}

int
lease_release(struct lease_space *sp, uint64_t id)
{
	struct lease *l = lease_by_id(sp, id);

	if (l == NULL)
		return -1;
	l->released = 1;
	return 0;
}

size_t
lease_release_owner(struct lease_space *sp, const char *owner)
{
	size_t n = 0;

	for (size_t i = 0; i < sp->n; i++) {
		if (!sp->leases[i].released &&
		    strcmp(sp->leases[i].owner, owner) == 0) {
			sp->leases[i].released = 1;
			n++;
		}
	}
	return n;
}

const struct lease *
lease_find(const struct lease_space *sp, uint64_t nonce)
{
	size_t lo = 0, hi = sp->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct lease *l = &sp->leases[mid];
		if (nonce < l->start)
			hi = mid;
		else if (nonce >= l->end)
			lo = mid + 1;
		else
			return l;
	}
	return NULL;
}

int
lease_set_extranonce(struct lease_space *sp, uint64_t id, uint64_t extranonce,
    const uint8_t *blob, size_t blob_len)
{
	struct lease *l = lease_by_id(sp, id);

	if (l == NULL || blob_len > LEASE_BLOB_MAX)
		return -1;
	l->has_extranonce = 1;
	l->extranonce = extranonce;
	if (blob_len > 0)
		memcpy(l->blob, blob, blob_len);
	l->blob_len = blob_len;
	return 0;
}

const struct lease *
lease_get(const struct lease_space *sp, uint64_t id)
{
	return lease_by_id(sp, id);
}

uint64_t
lease_space_end(const struct lease_space *sp)
{
	return sp->end;
}

uint64_t
lease_space_remaining(const struct lease_space *sp)
{
	return sp->end - sp->cursor;
}

size_t
lease_space_count(const struct lease_space *sp)
{
	return sp->n;
}

const struct lease *
lease_space_at(const struct lease_space *sp, size_t i)
{
	return i < sp->n ? &sp->leases[i] : NULL;
}

uint64_t
lease_size_for(double hashrate, double seconds, uint64_t min, uint64_t max)
{
	double n = hashrate * seconds;

	if (!(n >= (double)min))	/* also catches NaN */
		return min;
	if (n >= (double)max)
		return max;
	return (uint64_t)n;
}
