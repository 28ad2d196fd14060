/* test_leases: the allocator's promises under thousands of random
 * join / leave / renew / new-job events: leases never overlap, stay inside
 * the job's space, are never handed out twice (even after release), and
 * lease_find names the holder of any nonce.  COOPMINE_TEST_SEED reruns a
 * failure's sequence. */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coordinator/leases.h"
#include "tap.h"

static uint64_t rng_state;

static uint64_t
rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

/* Every invariant over one space; returns a description of the first
 * violation or NULL. */
static const char *
check_space(const struct lease_space *sp, uint64_t start, uint64_t end)
{
	uint64_t handed = 0, prev_end = start;

	for (size_t i = 0; i < lease_space_count(sp); i++) {
		const struct lease *l = lease_space_at(sp, i);
		if (l->start < start || l->end > end || l->end <= l->start)
			return "lease outside the job's space or empty";
		if (l->start < prev_end)
			return "two leases overlap";
		if (l->start != prev_end)
			return "a gap between leases (nonces lost)";
		prev_end = l->end;
		handed += l->end - l->start;
		if (lease_find(sp, l->start) != l || lease_find(sp, l->end - 1) != l)
			return "lease_find misses a lease's own edge";
	}
	if (handed + lease_space_remaining(sp) != end - start)
		return "handed + remaining != space (a range handed out twice?)";
	for (int k = 0; k < 200; k++) {
		uint64_t nonce = start + rng() % (end - start);
		const struct lease *f = lease_find(sp, nonce), *brute = NULL;
		for (size_t i = 0; i < lease_space_count(sp); i++) {
			const struct lease *l = lease_space_at(sp, i);
			if (nonce >= l->start && nonce < l->end)
				brute = l;
		}
		if (f != brute)
			return "lease_find disagrees with a linear scan";
	}
	return NULL;
}

int
main(void)
{
	struct lease_space *sp;
	struct lease l;
	const char *seed_env = getenv("COOPMINE_TEST_SEED");
	const char *violation = NULL;
	uint64_t next_id = 1, start = 0, end = (uint64_t)1 << 32;
	int events = 0, exhausted = 0, jobs = 1, released = 0;
	char owner[32];

	rng_state = seed_env != NULL ? strtoull(seed_env, NULL, 0) : 0x9e3779b97f4a7c15ULL;
	printf("# seed 0x%016" PRIx64 "\n", rng_state);

	/* Basics. */
	ok(lease_space_new(11, 10) == NULL && lease_space_new(0, end + 1) == NULL,
	    "reversed or oversized spaces refused");
	{
		struct lease_space *used = lease_space_new(10, 10);
		struct lease got;
		ok(used != NULL && lease_space_remaining(used) == 0 &&
		    lease_take(used, 1, "w", 100, 1, 1, 0, &got) == -1,
		    "an empty space (work leased before a restart) has nothing "
		    "to give");
		lease_space_free(used);
	}
	sp = lease_space_new(100, 200);
	ok(lease_take(sp, 1, "a", 30, 10, 77, 0, &l) == 0 && l.start == 100 && l.end == 130,
	    "first lease starts at the space start");
	ok(l.share_target == 77 && lease_find(sp, 100)->share_target == 77,
	    "a lease keeps the share target its holder was given");
	ok(lease_take(sp, 2, "b", 5, 10, 77, 0, &l) == 0 && l.end - l.start == 10,
	    "a lease is at least min_size");
	ok(lease_release(sp, 1) == 0 && lease_find(sp, 110) != NULL &&
	    strcmp(lease_find(sp, 110)->owner, "a") == 0 && lease_find(sp, 110)->released,
	    "a released lease still names its holder");
	ok(lease_take(sp, 3, "c", 1000, 10, 77, 0, &l) == 0 && l.start == 140 && l.end == 200,
	    "the last lease gets what is left; released ranges are not reissued");
	ok(lease_take(sp, 4, "c", 10, 10, 77, 0, &l) == -1, "an exhausted space refuses");
	ok(lease_find(sp, 99) == NULL && lease_find(sp, 200) == NULL,
	    "nonces outside the space belong to nobody");
	ok(lease_release(sp, 42) == -1, "releasing an unknown lease fails");
	lease_space_free(sp);
	ok(lease_size_for(1000.0, 120, 4096, 1 << 30) == 120000, "size from hashrate");
	ok(lease_size_for(0.0, 120, 4096, 1 << 30) == 4096, "unknown hashrate: minimum");
	ok(lease_size_for(1e12, 120, 4096, 1 << 30) == 1 << 30, "capped at maximum");

	/* Property run. */
	sp = lease_space_new(start, end);
	for (events = 0; events < 20000 && violation == NULL; events++) {
		uint64_t r = rng() % 100;
		snprintf(owner, sizeof(owner), "w%" PRIu64, rng() % 50);
		if (r < 60) {		/* join or renew */
			uint64_t want = 1 + rng() % (r < 5 ? ((uint64_t)1 << 28) : 1000000);
			if (lease_take(sp, next_id++, owner, want, 1 + rng() % 4096, 1,
			    events, &l) != 0)
				exhausted++;
		} else if (r < 90) {	/* leave */
			released += (int)lease_release_owner(sp, owner);
		} else if (r < 97) {	/* release one */
			if (lease_space_count(sp) > 0)
				lease_release(sp, lease_space_at(sp,
				    rng() % lease_space_count(sp))->id);
		} else {		/* a new job: a fresh space, maybe nicehash-sized */
			violation = check_space(sp, start, end);
			lease_space_free(sp);
			if (rng() % 2) {
				start = (rng() % 256) << 24;
				end = start + ((uint64_t)1 << 24);
			} else {
				start = 0;
				end = (uint64_t)1 << 32;
			}
			sp = lease_space_new(start, end);
			jobs++;
		}
		if (events % 97 == 0 && violation == NULL)
			violation = check_space(sp, start, end);
	}
	if (violation == NULL)
		violation = check_space(sp, start, end);
	ok(violation == NULL, "%d random events over %d jobs (%d exhausted takes, %d "
	    "releases): %s", events, jobs, exhausted, released,
	    violation != NULL ? violation : "no overlap, no gap handed out twice");
	ok(exhausted > 0, "the run exercised exhaustion");
	lease_space_free(sp);

	/* Leases by id: a binary search while they came in id order, a scan
	 * once one did not (restored from a ledger in another order). */
	{
		struct lease r, out;
		int found = 1;

		sp = lease_space_new(0, (uint64_t)1 << 32);
		for (uint64_t id = 1; id <= 1000; id++)
			if (lease_take(sp, id * 3, "w", 100, 1, 0, 0, &out) != 0)
				found = 0;
		for (uint64_t id = 1; id <= 1000; id++) {
			const struct lease *g = lease_get(sp, id * 3);
			if (g == NULL || g->id != id * 3 ||
			    g->start != (id - 1) * 100)
				found = 0;
		}
		ok(found && lease_get(sp, 4) == NULL && lease_get(sp, 0) == NULL &&
		    lease_get(sp, 3001) == NULL && lease_release(sp, 1500) == 0 &&
		    lease_get(sp, 1500)->released,
		    "1,000 leases in id order: each found by its id, no other");
		memset(&r, 0, sizeof(r));
		r.id = 7;	/* an id below the ones before it */
		r.start = 1000 * 100;
		r.end = r.start + 50;
		ok(lease_restore(sp, &r) == 0 && lease_get(sp, 7) != NULL &&
		    lease_get(sp, 7)->start == r.start && lease_get(sp, 2997) != NULL &&
		    lease_get(sp, 8) == NULL,
		    "a lease restored out of id order is found, and so are the others");
		lease_space_free(sp);
	}
	return tap_done();
}
