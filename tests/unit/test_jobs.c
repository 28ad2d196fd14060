/* test_jobs: upstream jobs become per-worker work with disjoint leases;
 * every first-stage share check gives its own reason; clean jobs make old
 * ones stale; leases are renewed ahead; a cluster with no upstream pauses
 * and resumes; leavers' leases are released and never reissued. */
#include "config.h"

#include <math.h>
#include <string.h>

#include "common/target.h"
#include "coordinator/jobs.h"
#include "jobs_fixture.h"
#include "worker/client.h"
#include "tap.h"

static struct work sent[64];
static char sent_to[64][64];
static int nsent, released, exhausted, added;

static void
ev_send(void *arg, const char *worker_id, const struct work *w)
{
	if (nsent < 64) {
		sent[nsent] = *w;
		snprintf(sent_to[nsent], sizeof(sent_to[0]), "%s", worker_id);
	}
	nsent++;
}
static void ev_job(void *arg, const struct job_info *j) { added++; }
static void ev_lease(void *arg, uint64_t seq, const struct lease *l) {}
static void ev_release(void *arg, uint64_t id, int64_t now) { released++; }
static void ev_exhausted(void *arg, unsigned sources) { exhausted++; }
static int paused_events, paused_now;
static void ev_paused(void *arg, int paused) { paused_events++; paused_now = paused; }

int
main(void)
{
	struct jobs_config cfg = fixture_jobs_config;
	struct jobs_events ev = { ev_send, ev_job, ev_lease, ev_release, ev_exhausted,
		ev_paused, NULL, NULL };
	struct jobs *j = jobs_new(&cfg, &ev, NULL);
	struct job_template t;
	struct work wa, wb;
	struct share_ctx ctx;
	struct jobs_stats st;
	uint8_t nonce[4];
	uint64_t seq1, seq2, d, lid, ls, le, hd;
	int64_t now = 1000000;

	ok(jobs_worker_join(j, "alice", 1000, now, &wa) == -1, "no job yet: no work");
	t = fixture_job("up-1", 1, 0xaa);
	t.blob_len = 79;
	ok(jobs_add(j, &t, now) == 0, "an OpenSY blob that is not 80 bytes is refused");
	t = fixture_job("up-1", 1, 0xaa);
	t.target64 = 0;
	ok(jobs_add(j, &t, now) == 0, "a zero target is refused");
	t = fixture_job("up-1", 1, 0xaa);
	t.seed_len = 0;
	ok(jobs_add(j, &t, now) == 0, "an empty seed is refused");
	t = fixture_job("up-1", 1, 0xaa);
	seq1 = jobs_add(j, &t, now);
	ok(seq1 != 0 && added == 1, "a good job is added (seq %llu)", (unsigned long long)seq1);

	ok(jobs_worker_join(j, "alice", 1000, now, &wa) == 0, "alice gets work on join");
	ok(wa.nonce_offset == 76 && wa.blob_len == 80 && wa.has_block_target &&
	    wa.block_target[31] == 0x7f && wa.block_target[29] == 0xff,
	    "work carries the nonce offset and the block target from nBits");
	ok(wa.nonce_end - wa.nonce_start == 120000, "lease = 120 s at 1000 H/s");
	ok(wa.difficulty >= 14999 && wa.difficulty <= 15000,
	    "share difficulty from hashrate x 15 s (%llu)", (unsigned long long)wa.difficulty);
	ok(jobs_worker_join(j, "bob", 0, now, &wb) == 0 && wb.nonce_start >= wa.nonce_end,
	    "bob's lease starts after alice's");
	ok(nsent == 0, "no stream yet: nothing sent");
	jobs_worker_stream(j, "alice", 1, now);
	ok(nsent == 1 && strcmp(sent_to[0], "alice") == 0 &&
	    sent[0].lease_id == wa.lease_id && sent[0].nonce_start == wa.nonce_start,
	    "an opened stream gets the lease given at Register (none wasted)");
	wa = sent[0];

	/* Share checks. */
	le32_write(nonce, (uint32_t)wa.nonce_start + 5);
	ok(jobs_check_share(j, "alice", wa.job_id, nonce, 3, &ctx) == LEDGER_REASON_MALFORMED,
	    "a 3-byte nonce is malformed");
	ok(jobs_check_share(j, "alice", "00000000000000ff", nonce, 4, &ctx) ==
	    LEDGER_REASON_UNKNOWN_JOB, "a job id never issued is unknown");
	ok(jobs_check_share(j, "alice", "zz", nonce, 4, &ctx) == LEDGER_REASON_UNKNOWN_JOB,
	    "garbage job id is unknown");
	ok(jobs_check_share(j, "bob", wa.job_id, nonce, 4, &ctx) == LEDGER_REASON_OUTSIDE_LEASE,
	    "bob sending alice's nonce is outside his lease");
	le32_write(nonce, (uint32_t)wa.nonce_end);
	ok(jobs_check_share(j, "alice", wa.job_id, nonce, 4, &ctx) == LEDGER_REASON_OUTSIDE_LEASE,
	    "the lease end is exclusive");
	le32_write(nonce, (uint32_t)wa.nonce_start + 5);
	ok(jobs_check_share(j, "alice", wa.job_id, nonce, 4, &ctx) == LEDGER_REASON_OK,
	    "alice's own nonce passes");
	ok(ctx.input_len == 80 && memcmp(ctx.input + 76, nonce, 4) == 0 &&
	    ctx.input[0] == 0xaa && ctx.share_target == wa.share_target &&
	    ctx.upstream_target == t.target64 && strcmp(ctx.upstream_id, "up-1") == 0,
	    "the share context has the blob with the nonce written at 76");
	ok(jobs_check_share(j, "alice", wa.job_id, nonce, 4, &ctx) == LEDGER_REASON_DUPLICATE,
	    "the same (job, nonce) again is a duplicate");
	jobs_unreserve(j, ctx.job_seq, ctx.nonce);
	ok(jobs_check_share(j, "alice", wa.job_id, nonce, 4, &ctx) == LEDGER_REASON_OK,
	    "after unreserve (a retry) it passes again");

	/* Renewal ahead of exhaustion. */
	nsent = 0;
	jobs_worker_heartbeat(j, "bob", 0, wb.lease_id, 0, 0, now);
	ok(nsent == 0, "a heartbeat without a hashrate changes nothing");
	jobs_worker_heartbeat(j, "bob", 50, wb.lease_id, 0, 0, now);
	ok(nsent == 0, "bob is not streaming: nothing is sent");
	jobs_worker_info(j, "bob", &d, &lid, &ls, &le, &hd);
	ok(d == 750 && lid != wb.lease_id, "bob's first report (50 H/s) replaces the "
	    "guess: difficulty %llu and a fresh lease", (unsigned long long)d);
	jobs_worker_heartbeat(j, "bob", 60, lid, 0, 0, now);
	jobs_worker_info(j, "bob", &d, &lid, &ls, &le, &hd);
	ok(d == 750, "later reports are vardiff's business");
	jobs_worker_heartbeat(j, "alice", 1000, wa.lease_id, 1000, 0, now);
	ok(nsent == 0, "a fresh lease is not renewed");
	jobs_worker_heartbeat(j, "alice", 1000, wa.lease_id, 100000, 0, now + 2000);
	ok(nsent == 1 && sent[0].lease_id != wa.lease_id &&
	    sent[0].nonce_start >= wa.nonce_end, "20 s left (< 30 s): renewed ahead");
	jobs_worker_heartbeat(j, "alice", 1000, wa.lease_id, 110000, 0, now + 3000);
	ok(nsent == 1, "a heartbeat about the old lease does not renew twice");
	jobs_worker_heartbeat(j, "alice", 1000, sent[0].lease_id, 0, 1, now + 3500);
	ok(nsent == 1, "want_lease again within %d ms: refused (rate limit)",
	    JOBS_RENEW_MIN_MS);
	jobs_worker_heartbeat(j, "alice", 1000, sent[0].lease_id, 0, 1, now + 4100);
	ok(nsent == 2, "want_lease renews once the interval has passed");
	le32_write(nonce, (uint32_t)wa.nonce_start + 6);
	ok(jobs_check_share(j, "alice", wa.job_id, nonce, 4, &ctx) == LEDGER_REASON_OK,
	    "a nonce of the previous lease is still alice's");

	/* A non-clean job: the old one stays valid; a clean one makes it stale. */
	nsent = 0;
	t = fixture_job("up-2", 0, 0xbb);
	seq2 = jobs_add(j, &t, now);
	ok(seq2 == seq1 + 1 && nsent == 1, "a new job goes to the streaming worker");
	le32_write(nonce, (uint32_t)wa.nonce_start + 7);
	ok(jobs_check_share(j, "alice", wa.job_id, nonce, 4, &ctx) == LEDGER_REASON_OK,
	    "after a non-clean job the old job still takes shares");
	t = fixture_job("up-3", 1, 0xcc);
	jobs_add(j, &t, now);
	le32_write(nonce, (uint32_t)wa.nonce_start + 8);
	ok(jobs_check_share(j, "alice", wa.job_id, nonce, 4, &ctx) == LEDGER_REASON_STALE,
	    "after a clean job the old job is stale");
	t = fixture_job("up-4", 0, 0xdd);
	jobs_add(j, &t, now);
	t = fixture_job("up-5", 0, 0xee);
	jobs_add(j, &t, now);
	ok(jobs_check_share(j, "alice", wa.job_id, nonce, 4, &ctx) == LEDGER_REASON_STALE,
	    "a pruned job is stale, not unknown");

	/* Leaving releases; nobody gets those nonces again. */
	released = 0;
	jobs_worker_info(j, "alice", &d, &lid, &ls, &le, &hd);
	jobs_worker_leave(j, "alice", now);
	ok(released >= 1, "leaving releases alice's leases (%d)", released);
	ok(jobs_worker_join(j, "carol", 1000, now, &wb) == 0 && wb.nonce_start >= le,
	    "a newcomer's lease starts after every lease ever issued");
	le32_write(nonce, (uint32_t)ls);
	ok(jobs_check_share(j, "carol", wb.job_id, nonce, 4, &ctx) == LEDGER_REASON_OUTSIDE_LEASE,
	    "carol cannot claim alice's released nonces");

	/* No upstream: pause after job_timeout; resume with the next job. */
	jobs_upstream_down(j, 0, now);
	jobs_tick(j, now + 30000);
	ok(paused_events == 0, "no pause before job_timeout (shares go to the "
	    "outbox)");
	jobs_tick(j, now + 61000);
	jobs_get_stats(j, &st);
	ok(st.paused && paused_events == 1 && paused_now == 1,
	    "after job_timeout without a pool: the workers must pause");
	t = fixture_job("up-6", 1, 0x01);
	jobs_add(j, &t, now + 70000);
	ok(paused_events == 2 && paused_now == 0, "work is back: resume");

	/* Nicehash: the pool's byte bounds the space; exhaustion is reported. */
	t = fixture_job("up-7", 1, 0x02);
	t.reserved_byte = 0x5a;
	jobs_add(j, &t, now);
	jobs_worker_join(j, "dave", 1e9, now, &wa);
	ok((wa.nonce_start >> 24) == 0x5a && ((wa.nonce_end - 1) >> 24) == 0x5a,
	    "a reserved nonce byte keeps every lease inside its 2^24 space");
	ok(wa.nonce_end - wa.nonce_start <= (1u << 24) / JOBS_LEASE_FRACTION,
	    "a claim of 1e9 H/s takes at most 1/%d of the space (%llu nonces)",
	    JOBS_LEASE_FRACTION, (unsigned long long)(wa.nonce_end - wa.nonce_start));
	ok(jobs_worker_join(j, "erin", 1e9, now, &wb) == 0 &&
	    wb.nonce_start >= wa.nonce_end, "the next worker still gets work");
	{
		char who[16];
		int k = 0, rc = 0;
		uint64_t last_end = wb.nonce_end;
		for (; k < 400 && rc == 0; k++) {
			snprintf(who, sizeof(who), "greedy-%d", k);
			rc = jobs_worker_join(j, who, 1e9, now, &wb);
			if (rc == 0 && wb.nonce_start < last_end)
				break;
			if (rc == 0)
				last_end = wb.nonce_end;
		}
		ok(rc == -1 && exhausted == 1 && last_end == (0x5bULL << 24),
		    "an exhausted space is reported, not overlapped (%d leases, "
		    "last end %llx)", k, (unsigned long long)last_end);
	}
	/* The pool resends known work (after a reconnect, under a new id):
	 * the same nonce space continues; nothing is hashed twice. */
	{
		struct jobs *k = jobs_new(&cfg, &ev, NULL);
		struct work first;
		uint64_t sx, sy, sx2;
		t = fixture_job("x-1", 1, 0x31);
		sx = jobs_add(k, &t, now);
		jobs_worker_join(k, "fay", 1000, now, &first);
		jobs_worker_stream(k, "fay", 1, now);
		t = fixture_job("y-1", 1, 0x32);
		sy = jobs_add(k, &t, now);
		t = fixture_job("x-1-again", 1, 0x31);
		nsent = 0;
		sx2 = jobs_add(k, &t, now);
		ok(sx2 == sx && sx2 != sy, "the same blob and seed again is the same job");
		ok(nsent == 1 && sent[0].job_seq == sx && sent[0].nonce_start >= first.nonce_end,
		    "the worker's new lease continues after every earlier lease of it");
		le32_write(nonce, (uint32_t)sent[0].nonce_start);
		ok(jobs_check_share(k, "fay", sent[0].job_id, nonce, 4, &ctx) ==
		    LEDGER_REASON_OK && strcmp(ctx.upstream_id, "x-1-again") == 0,
		    "its shares go upstream under the id the pool uses now");
		{
			char yid[24];
			snprintf(yid, sizeof(yid), "%016llx", (unsigned long long)sy);
			ok(jobs_check_share(k, "fay", yid, nonce, 4, &ctx) ==
			    LEDGER_REASON_STALE, "the clean resend makes the other job stale");
		}
		jobs_free(k);
	}
	/* Two pool sessions: when source 0's space is used up, work comes
	 * from source 1's job, nobody else moves, and sources go stale and
	 * down independently. */
	{
		struct jobs_config c2 = cfg;
		struct jobs *k;
		struct work w1, w2, w3;
		uint64_t s0, s1;
		c2.lease_min = 1 << 23;	/* two leases fill a 2^24 space */
		k = jobs_new(&c2, &ev, NULL);
		exhausted = 0;
		t = fixture_job("s0", 1, 0x41);
		t.reserved_byte = 0x10;
		s0 = jobs_add(k, &t, now);
		jobs_worker_join(k, "a", 1, now, &w1);
		jobs_worker_join(k, "b", 1, now, &w2);
		jobs_worker_stream(k, "a", 1, now);
		jobs_worker_stream(k, "b", 1, now);
		jobs_worker_stream(k, "c", 1, now);
		ok(jobs_worker_join(k, "c", 1, now, &w3) == -1 && exhausted >= 1,
		    "a full session space is reported (%d)", exhausted);
		jobs_worker_stream(k, "c", 1, now);
		nsent = 0;
		t = fixture_job("s1", 1, 0x41);
		t.reserved_byte = 0x20;
		t.source = 1;
		s1 = jobs_add(k, &t, now);
		ok(s1 != s0 && s1 != 0, "the second session's job is a job of its own");
		ok(nsent == 1 && strcmp(sent_to[0], "c") == 0 && sent[0].job_seq == s1 &&
		    (sent[0].nonce_start >> 24) == 0x20,
		    "only the idle worker gets work, from the second session's space");
		le32_write(nonce, (uint32_t)sent[0].nonce_start);
		ok(jobs_check_share(k, "c", sent[0].job_id, nonce, 4, &ctx) ==
		    LEDGER_REASON_OK && ctx.source == 1,
		    "its shares go to the second session");
		t = fixture_job("s1-next", 1, 0x42);
		t.reserved_byte = 0x20;
		t.source = 1;
		jobs_add(k, &t, now);
		le32_write(nonce, (uint32_t)w1.nonce_start + 1);
		ok(jobs_check_share(k, "a", w1.job_id, nonce, 4, &ctx) == LEDGER_REASON_OK,
		    "a clean job of session 1 leaves session 0's job valid");
		paused_events = 0;
		jobs_upstream_down(k, 0, now);
		jobs_tick(k, now + 120000);
		ok(paused_events == 0, "one session down: no pause");
		jobs_upstream_down(k, 1, now);
		jobs_tick(k, now + 120000);
		ok(paused_events == 1 && paused_now == 1,
		    "every session down for job_timeout: pause");
		jobs_free(k);
	}
	jobs_free(j);

	/* Claims are bounded; Register again keeps the live lease; work
	 * leased before a restart is never leased again. */
	{
		struct jobs *k = jobs_new(&cfg, &ev, NULL);
		struct ledger_work_cursor cur;
		struct work w1, w2;
		uint64_t d2;

		t = fixture_job("r-1", 1, 0x41);
		memset(&cur, 0, sizeof(cur));
		memcpy(cur.blob, t.blob, t.blob_len);
		cur.blob_len = t.blob_len;
		memcpy(cur.seed, t.seed, t.seed_len);
		cur.seed_len = t.seed_len;
		cur.next_nonce = 24000;
		ok(jobs_restore_cursors(k, &cur, 1) == 0, "cursors restored");
		jobs_add(k, &t, now);
		jobs_worker_join(k, "h", 1000, now, &w1);
		ok(w1.nonce_start >= 24000, "the pool's job after a restart: leases "
		    "continue after the earlier run's (%llu)",
		    (unsigned long long)w1.nonce_start);
		ok(jobs_restore_difficulty(k, "back", 123456) == 0 &&
		    jobs_worker_join(k, "back", 1000, now, &w2) == 0 &&
		    w2.difficulty == 123456, "a worker known before the restart "
		    "starts at its old difficulty, not at the guess (%llu)",
		    (unsigned long long)w2.difficulty);
		ok(jobs_worker_join(k, "h", 1000, now + 10, &w2) == 0 &&
		    w2.lease_id == w1.lease_id && w2.nonce_start == w1.nonce_start,
		    "Register again: the same live lease, not a new one");
		jobs_worker_join(k, "inf", INFINITY, now, &w2);
		jobs_worker_heartbeat(k, "inf", NAN, w2.lease_id, 0, 0, now + 5000);
		jobs_worker_heartbeat(k, "inf", INFINITY, w2.lease_id, 0, 0, now + 9000);
		jobs_tick(k, now + 200000);
		jobs_worker_info(k, "inf", &d2, &lid, &ls, &le, &hd);
		ok(d2 == cfg.vardiff.min_diff && le - ls <= cfg.lease_min,
		    "+Inf and NaN claims size nothing "
		    "(difficulty %llu, lease %llu)", (unsigned long long)d2,
		    (unsigned long long)(le - ls));
		/* 10 minutes of credited shares prove ~100 H/s: a claim of
		 * 1e6 H/s sizes at most 4x that. */
		jobs_worker_join(k, "liar", 100, now, &w2);
		for (int i = 0; i <= 60; i++)
			jobs_share_credited(k, "liar", 1000, now + (int64_t)i * 10000);
		jobs_worker_heartbeat(k, "liar", 1e6, w2.lease_id, w2.nonce_end -
		    w2.nonce_start, 1, now + 700000);
		jobs_worker_info(k, "liar", &d2, &lid, &ls, &le, &hd);
		ok(le - ls <= 4 * 100 * 120 + 4096, "a claim of 1e6 H/s against "
		    "~100 H/s proven: lease of %llu nonces (<= 4x the proven rate "
		    "x 120 s)", (unsigned long long)(le - ls));
		jobs_free(k);
	}

	/* A job live at the stop comes back under its own id. */
	{
		struct jobs *k = jobs_new(&cfg, &ev, NULL);
		struct lease old[2];
		uint32_t credited[1] = { 10 };
		struct work w3;
		char id5[17] = "0000000000000005";

		memset(old, 0, sizeof(old));
		old[0].id = 7;
		old[0].start = 0;
		old[0].end = 1000;
		snprintf(old[0].owner, sizeof(old[0].owner), "h");
		old[0].share_target = difficulty_to_target(100);
		old[1] = old[0];
		old[1].id = 8;
		old[1].start = 1000;
		old[1].end = 3000;
		old[1].released = 1;
		t = fixture_job("live-1", 1, 0x51);
		ok(jobs_restore_job(k, &t, 5, now, old, 2, credited, 1) == 0,
		    "a live job restored with two leases and one credited nonce");
		le32_write(nonce, 20);
		ok(jobs_check_share(k, "h", id5, nonce, 4, &ctx) == LEDGER_REASON_OK &&
		    ctx.lease_id == 7, "a share of its lease sent across the restart "
		    "is judged as before");
		le32_write(nonce, 10);
		ok(jobs_check_share(k, "h", id5, nonce, 4, &ctx) ==
		    LEDGER_REASON_DUPLICATE, "a nonce credited before the restart "
		    "is a duplicate");
		le32_write(nonce, 1500);
		ok(jobs_check_share(k, "x", id5, nonce, 4, &ctx) ==
		    LEDGER_REASON_OUTSIDE_LEASE, "another worker cannot claim it");
		ok(jobs_worker_join(k, "h", 1000, now, &w3) == -1,
		    "the restored job is nobody's work until the pool confirms it");
		ok(jobs_add(k, &t, now) == 5, "the pool sends the same work: it is "
		    "the restored job again");
		ok(jobs_worker_join(k, "h", 1000, now, &w3) == 0 &&
		    w3.nonce_start >= 3000 && strcmp(w3.job_id, id5) == 0,
		    "new leases continue after the restored ones (%llu)",
		    (unsigned long long)w3.nonce_start);
		t = fixture_job("next", 1, 0x52);
		ok(jobs_add(k, &t, now) == 6, "job ids continue after it");
		jobs_free(k);
	}
	return tap_done();
}
