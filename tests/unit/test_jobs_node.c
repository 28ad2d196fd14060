/* test_jobs_node: node work (extranonce_size > 0) is split by extranonce
 * first: every new lease gets a fresh extranonce from a counter that only
 * goes up (continued after a restart) and its own blob from make_blob; the
 * worker's work and the share check both use that blob; a lease restored
 * without its header is stale; no header, no lease. */
#include "config.h"

#include <string.h>

#include "common/target.h"
#include "coordinator/jobs.h"
#include "jobs_fixture.h"
#include "tap.h"

static struct work sent[64];
static int nsent, blob_fail, blob_calls;
static struct lease issued[64];
static int nissued;

static void
ev_send(void *arg, const char *worker_id, const struct work *w)
{
	if (nsent < 64)
		sent[nsent] = *w;
	nsent++;
}
static void ev_job(void *arg, const struct job_info *j) {}
static void
ev_lease(void *arg, uint64_t seq, const struct lease *l)
{
	if (nissued < 64)
		issued[nissued++] = *l;
}
static void ev_release(void *arg, uint64_t id, int64_t now) {}
static void ev_exhausted(void *arg, unsigned sources) {}
static void ev_paused(void *arg, int paused) {}

/* The "coinbase": extranonce written over the merkle root (36..43). */
static int
ev_blob(void *arg, unsigned source, const char *upstream_id, uint64_t ext,
    uint8_t *blob, size_t *len)
{
	blob_calls++;
	if (blob_fail)
		return -1;
	memset(blob, 0x55, 80);
	le32_write(blob + 72, 0x207fffff);
	le64_write(blob + 36, ext);
	*len = 80;
	return 0;
}

static struct job_template
node_job(const char *id, int clean)
{
	struct job_template t = fixture_job(id, clean, 0x55);

	t.height = 5;
	t.target64 = target256_to_target64((const uint8_t[32]){ [31] = 0x7f });
	t.extranonce_size = 8;
	t.reward = 5000000000LL;
	return t;
}

int
main(void)
{
	struct jobs_config cfg = {
		.vardiff = { 15000, 60000, 100, 1000000000ULL, 0.3 },
		.lease_seconds = 120, .renew_seconds = 30,
		.lease_min = 4096, .lease_max = (uint64_t)1 << 32,
		.job_timeout_ms = 60000, .keep_jobs = 3,
	};
	struct jobs_events ev = { ev_send, ev_job, ev_lease, ev_release,
		ev_exhausted, ev_paused, ev_blob, NULL };
	struct jobs *j = jobs_new(&cfg, &ev, NULL);
	struct job_template t;
	struct work wa, wb, wc;
	struct share_ctx ctx;
	struct lease rl;
	uint8_t nonce[4];
	int64_t now = 1000000;

	jobs_set_next_extranonce(j, 41);
	t = node_job("n-1", 1);
	t.opensy = 0;
	t.nonce_offset = 39;
	ok(jobs_add(j, &t, now) == 0, "extranonce work that is no OpenSY "
	    "header is refused");
	t = node_job("n-1", 1);
	t.extranonce_size = 9;
	ok(jobs_add(j, &t, now) == 0, "an extranonce above 8 bytes is refused");
	t = node_job("n-1", 1);
	ok(jobs_add(j, &t, now) != 0, "a node job is added");
	ok(jobs_worker_join(j, "alice", 1000, now, &wa) == 0 &&
	    jobs_worker_join(j, "bob", 1000, now, &wb) == 0, "both get work");
	ok(wa.extranonce == 41 && wb.extranonce == 42 && wa.extranonce_size == 8,
	    "extranonces continue from the ledger's next (41, 42)");
	ok(le64_read(wa.blob + 36) == 41 && le64_read(wb.blob + 36) == 42 &&
	    memcmp(wa.blob, wb.blob, 80) != 0,
	    "each lease's blob is its own header (make_blob)");
	ok(nissued == 2 && issued[0].has_extranonce && issued[0].extranonce == 41 &&
	    issued[1].extranonce == 42, "the ledger hears each lease's extranonce");
	ok(wb.nonce_start >= wa.nonce_end, "nonce ranges are still disjoint");

	le32_write(nonce, (uint32_t)wb.nonce_start + 3);
	ok(jobs_check_share(j, "bob", wb.job_id, nonce, 4, &ctx) ==
	    LEDGER_REASON_OK, "bob's share passes");
	ok(ctx.input_len == 80 && le64_read(ctx.input + 36) == 42 &&
	    memcmp(ctx.input + 76, nonce, 4) == 0 && ctx.extranonce == 42 &&
	    ctx.extranonce_size == 8 && ctx.reward == 5000000000LL,
	    "the share is checked on the lease's blob, with its extranonce");
	ok(jobs_check_share(j, "alice", wb.job_id, nonce, 4, &ctx) ==
	    LEDGER_REASON_OUTSIDE_LEASE, "alice cannot claim bob's nonce");

	/* A renewal is a new lease: a new extranonce. */
	jobs_worker_stream(j, "alice", 1, now);
	nsent = 0;
	jobs_worker_heartbeat(j, "alice", 1000, wa.lease_id, 0, 1, now + 5000);
	ok(nsent == 1 && sent[0].extranonce == 43 &&
	    le64_read(sent[0].blob + 36) == 43, "a renewed lease gets extranonce 43");
	/* A resent lease (new stream) keeps its extranonce. */
	nsent = 0;
	jobs_worker_stream(j, "alice", 1, now + 5001);
	ok(nsent == 1 && sent[0].extranonce == 43, "a resent lease keeps its "
	    "extranonce");

	/* No header: no lease, and the extranonce is never given again. */
	blob_fail = 1;
	ok(jobs_worker_join(j, "carol", 1000, now, &wc) == -1,
	    "no header from the backend: no work");
	blob_fail = 0;
	ok(jobs_worker_join(j, "carol", 1000, now, &wc) == 0 &&
	    wc.extranonce == 45, "the failed extranonce (44) is skipped, not "
	    "reused");

	/* A new tip: clean work, leases continue the counter. */
	t = node_job("n-2", 1);
	le32_write(t.blob, 0x01020304);
	nsent = 0;
	ok(jobs_add(j, &t, now + 6000) != 0 && nsent == 1 &&
	    sent[0].extranonce == 46, "a new tip's work for alice: extranonce 46");
	jobs_free(j);

	/* After a restart: a restored lease has its extranonce but not its
	 * header: shares on it are stale (the template is gone). */
	j = jobs_new(&cfg, &ev, NULL);
	jobs_set_next_extranonce(j, 47);
	memset(&rl, 0, sizeof(rl));
	rl.id = 9;
	rl.start = 0;
	rl.end = 100000;
	snprintf(rl.owner, sizeof(rl.owner), "alice");
	rl.share_target = difficulty_to_target(100);
	rl.has_extranonce = 1;
	rl.extranonce = 46;
	t = node_job("n-2", 1);
	ok(jobs_restore_job(j, &t, 7, now, &rl, 1, NULL, 0) == 0,
	    "a live node job is restored");
	jobs_set_next_ids(j, 8, 10);
	le32_write(nonce, 5);
	ok(jobs_check_share(j, "alice", "0000000000000007", nonce, 4, &ctx) ==
	    LEDGER_REASON_STALE, "a share on a restored node lease is stale");
	t = node_job("n-3", 1);
	ok(jobs_add(j, &t, now) != 0 && jobs_worker_join(j, "alice", 1000, now,
	    &wa) == 0 && wa.extranonce == 47, "the restarted run continues at 47");
	jobs_free(j);
	return tap_done();
}
