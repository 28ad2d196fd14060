/*
 * leases.h: nonce leases.  Each job's nonce space is handed out as
 * contiguous, disjoint ranges, one or more per worker; a range once handed
 * out is never handed to anyone else for that job, even after release, so
 * no two machines ever hash the same (job, nonce).  Called by jobs.c (to
 * hand out work) and shares.c (is this nonce in the sender's lease?).
 * Not thread-safe: the job manager owns its spaces.
 */
#ifndef COOPMINE_LEASES_H
#define COOPMINE_LEASES_H

#include <stddef.h>
#include <stdint.h>

#include "rpc/worker.h"

#define LEASE_OWNER_MAX WORKER_ID_MAX	/* a worker id with its NUL */
#define LEASE_BLOB_MAX 80		/* a node lease's own header */

struct lease {
	uint64_t id;
	uint64_t start, end;		/* [start, end) */
	char owner[LEASE_OWNER_MAX];	/* worker id */
	uint64_t share_target;		/* the target the holder was given */
	int64_t issued_ms;
	int released;
	/* node work: the lease's own coinbase extranonce and the header it
	 * gives (blob_len 0: not known, e.g. restored after a restart) */
	int has_extranonce;
	uint64_t extranonce;
	uint8_t blob[LEASE_BLOB_MAX];
	size_t blob_len;
};

struct lease_space;

/* A space for the nonces [start, end) of one job (end <= 2^32; an empty
 * space, start == end, is work already used up). */
struct lease_space *lease_space_new(uint64_t start, uint64_t end);
void lease_space_free(struct lease_space *sp);

/* Carves the next min(want, remaining) nonces for owner; want is raised to
 * min_size when smaller.  Returns 0 and fills *out, or -1 when the space
 * is exhausted (ask the upstream for another session). */
int lease_take(struct lease_space *sp, uint64_t id, const char *owner,
    uint64_t want, uint64_t min_size, uint64_t share_target, int64_t now_ms,
    struct lease *out);
/* A lease from the ledger (a restart): appended as it was; leases must
 * come in start order, inside the space, past the cursor (which moves to
 * its end).  0 or -1. */
int lease_restore(struct lease_space *sp, const struct lease *l);
/* Gives lease id its extranonce and blob (node work).  0 or -1. */
int lease_set_extranonce(struct lease_space *sp, uint64_t id,
    uint64_t extranonce, const uint8_t *blob, size_t blob_len);
/* Marks a lease released (its unused rest is never reissued). 0 or -1. */
int lease_release(struct lease_space *sp, uint64_t id);
/* Releases every lease of owner; returns how many. */
size_t lease_release_owner(struct lease_space *sp, const char *owner);
/* The lease containing nonce, or NULL when no lease covers it. */
const struct lease *lease_find(const struct lease_space *sp, uint64_t nonce);
const struct lease *lease_get(const struct lease_space *sp, uint64_t id);
uint64_t lease_space_remaining(const struct lease_space *sp);
uint64_t lease_space_end(const struct lease_space *sp);
size_t lease_space_count(const struct lease_space *sp);
const struct lease *lease_space_at(const struct lease_space *sp, size_t i);

/* Nonces for `seconds` of work at `hashrate`, clamped to [min, max]. */
uint64_t lease_size_for(double hashrate, double seconds, uint64_t min,
    uint64_t max);

#endif
