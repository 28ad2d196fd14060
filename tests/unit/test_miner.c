/* test_miner: the hashing engine in light mode: bad coordinator input is
 * refused with a log line and never hashed; threads split a lease so that
 * every nonce is hashed exactly once; queued leases, job switches, pause,
 * seed changes (hashes equal a fresh context's for the new seed) and
 * shares against the 64-bit target. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/hex.h"
#include "common/log.h"
#include "common/rx.h"
#include "common/target.h"
#include "worker/bench.h"
#include "worker/miner.h"
#include "log_capture.h"
#include "tap.h"

#define SLOTS 64
#define MAXH 512

/* Everything the engine reported, classified by nonce. */
static pthread_mutex_t rec_lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
	uint32_t nonce;
	uint8_t hash[32];
} hashes[MAXH];
static size_t nhashes;
static struct miner_share shares[MAXH];
static char share_jobs[MAXH][CLIENT_JOB_ID_MAX];
static size_t nshares;
static atomic_int lease_asks;

static void
rec_hash(void *arg, int thread, uint32_t nonce, const uint8_t hash[32])
{
	pthread_mutex_lock(&rec_lock);
	if (nhashes < MAXH) {
		hashes[nhashes].nonce = nonce;
		memcpy(hashes[nhashes].hash, hash, 32);
	}
	nhashes++;
	pthread_mutex_unlock(&rec_lock);
}

static void
rec_share(void *arg, const struct miner_share *s)
{
	pthread_mutex_lock(&rec_lock);
	if (nshares < MAXH) {
		shares[nshares] = *s;
		snprintf(share_jobs[nshares], CLIENT_JOB_ID_MAX, "%s", s->job_id);
	}
	nshares++;
	pthread_mutex_unlock(&rec_lock);
}

static void
rec_need(void *arg, const char *job_id, uint64_t lease_id)
{
	atomic_fetch_add(&lease_asks, 1);
}

static void
rec_reset(void)
{
	pthread_mutex_lock(&rec_lock);
	nhashes = nshares = 0;
	pthread_mutex_unlock(&rec_lock);
	atomic_store(&lease_asks, 0);
}

/* How often each nonce of [lo, lo + n) was hashed, and how many hashes
 * fell outside it. */
static size_t
count_range(uint64_t lo, uint64_t n, int *counts)
{
	size_t outside = 0;

	memset(counts, 0, n * sizeof(*counts));
	pthread_mutex_lock(&rec_lock);
	for (size_t i = 0; i < nhashes && i < MAXH; i++) {
		if (hashes[i].nonce >= lo && hashes[i].nonce - lo < n)
			counts[hashes[i].nonce - lo]++;
		else
			outside++;
	}
	pthread_mutex_unlock(&rec_lock);
	return outside;
}

static int
all_once(const int *counts, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (counts[i] != 1)
			return 0;
	return 1;
}

static size_t
hashed(void)
{
	size_t n;

	pthread_mutex_lock(&rec_lock);
	n = nhashes;
	pthread_mutex_unlock(&rec_lock);
	return n;
}

/* Waits until at least n hashes were recorded, for at most ms: 0, or -1
 * (a stuck engine fails its check instead of hanging the test). */
static int
wait_hashed(size_t n, int ms)
{
	for (int waited = 0; hashed() < n; waited += 10) {
		if (waited >= ms)
			return -1;
		usleep(10000);
	}
	return 0;
}

static void
base_job(struct client_job *j, const char *id, uint64_t start, uint64_t end)
{
	memset(j, 0, sizeof(*j));
	snprintf(j->job_id, sizeof(j->job_id), "%s", id);
	snprintf(j->algo, sizeof(j->algo), "rx/0");
	hex_decode_exact(BENCH_HEADER_HEX, j->blob, 80);
	j->blob_len = 80;
	j->nonce_offset = 76;
	hex_decode_exact(BENCH_SEED_HEX, j->seed, 32);
	j->seed_len = 32;
	j->share_target = 1;
	j->lease_id = 1;
	j->nonce_start = start;
	j->nonce_end = end;
	j->height = 1;
}

static void
check_bad_input(struct miner *m)
{
	static const struct {
		const char *name, *log;
	} cases[] = {
		{ "blob too short for the nonce", "too short for the nonce" },
		{ "nonce offset past the blob", "too short for the nonce" },
		{ "empty seed", "seed length 0" },
		{ "zero share target", "zero share target" },
		{ "lease end == start", "empty lease" },
		{ "lease end < start", "empty lease" },
		{ "lease beyond 2^32", "beyond the 32-bit" },
		{ "empty job id", "empty or unterminated job id" },
		{ "empty blob", "blob length 0" },
		{ "unknown algorithm", "unsupported algorithm" },
	};
	struct client_job j;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char why[160];
		base_job(&j, "bad", 0, 4);
		switch (i) {
		case 0: j.blob_len = 79; break;
		case 1: j.nonce_offset = 77; break;
		case 2: j.seed_len = 0; break;
		case 3: j.share_target = 0; break;
		case 4: j.nonce_end = j.nonce_start = 5; break;
		case 5: j.nonce_start = 9; j.nonce_end = 3; break;
		case 6: j.nonce_start = 0xfffffff0; j.nonce_end = ((uint64_t)1 << 32) + 1; break;
		case 7: j.job_id[0] = '\0'; break;
		case 8: j.blob_len = 0; break;
		case 9: snprintf(j.algo, sizeof(j.algo), "rx/wow"); break;
		}
		ok(miner_job_check(&j, why, sizeof(why)) == -1 &&
		    miner_set_job(m, &j) == -EINVAL && log_count(cases[i].log),
		    "bad job refused with a log line: %s (%s)", cases[i].name, why);
	}
	base_job(&j, "edge", 0xfffffffcULL, (uint64_t)1 << 32);
	ok(miner_job_check(&j, (char[160]){ 0 }, 160) == 0,
	    "a lease ending exactly at 2^32 is fine");
	usleep(300 * 1000);
	ok(hashed() == 0, "nothing of the refused jobs was hashed");
}

int
main(void)
{
	struct miner_config cfg = { 3, RX_LIGHT, RX_PAGES_AUTO, 0 };
	struct miner_callbacks cb = { rec_share, rec_need, rec_hash };
	struct miner *m;
	struct miner_stats st;
	struct client_job j;
	int counts[SLOTS];
	struct rx_ctx *vctx;
	struct rx_vm *vm;
	uint8_t blob[80], want[32];
	size_t n, outside;

	log_capture();
	log_init("test_miner", LOG_LVL_DEBUG, 0);
	m = miner_new(&cfg, &cb, NULL);
	ok(m != NULL && miner_threads(m) == 3, "engine with 3 threads");
	if (m == NULL)
		return tap_done();
	check_bad_input(m);

	/* A tiny lease over 3 threads: every nonce exactly once. */
	base_job(&j, "split", 1000, 1000 + 23);
	ok(miner_set_job(m, &j) == 0, "job accepted");
	ok(miner_wait_idle(m, 120000) == 0, "lease used up");
	outside = count_range(1000, 23, counts);
	ok(all_once(counts, 23) && outside == 0,
	    "23-nonce lease over 3 threads: each nonce hashed once, none outside");
	ok(atomic_load(&lease_asks) >= 1, "the used-up lease asked for the next one");
	miner_get_stats(m, &st);
	ok(st.hashes_total == 23 && st.lease_hashes_done == 23,
	    "stats count 23 hashes (%" PRIu64 ")", st.hashes_total);

	/* The results are the hashes of the header with the nonce at 76. */
	vctx = rx_ctx_new(j.seed, 32, RX_LIGHT, RX_PAGES_AUTO, 1);
	vm = rx_vm_new(vctx);
	memcpy(blob, j.blob, 80);
	n = 0;
	pthread_mutex_lock(&rec_lock);
	for (size_t i = 0; i < 3; i++) {
		le32_write(blob + 76, hashes[i].nonce);
		rx_hash(vm, blob, 80, want);
		n += memcmp(want, hashes[i].hash, 32) == 0;
	}
	pthread_mutex_unlock(&rec_lock);
	ok(n == 3, "engine hashes equal direct hashes of the header");

	/* Same job, next lease, queued behind a running one. */
	rec_reset();
	base_job(&j, "split", 2000, 2010);
	j.lease_id = 2;
	ok(miner_set_job(m, &j) == 0, "lease 2 of the same job");
	base_job(&j, "split", 3000, 3010);
	j.lease_id = 3;
	ok(miner_set_job(m, &j) == 0, "lease 3 queued behind it");
	ok(miner_wait_idle(m, 120000) == 0, "both leases used up");
	outside = count_range(2000, 10, counts);
	ok(all_once(counts, 10), "lease 2: each nonce once");
	outside = count_range(3000, 10, counts);
	ok(all_once(counts, 10) && outside == 10, "lease 3: each nonce once, "
	    "nothing but leases 2 and 3 hashed");

	/* Shares: target with about half of the hashes under it. */
	rec_reset();
	base_job(&j, "shares", 0, 16);
	j.share_target = UINT64_MAX / 2;
	nbits_to_target256(0x207fffff, j.block_target);
	j.has_block_target = 1;
	miner_set_job(m, &j);
	ok(miner_wait_idle(m, 120000) == 0, "share job done");
	n = 0;
	pthread_mutex_lock(&rec_lock);
	for (size_t i = 0; i < nhashes; i++)
		n += hash_meets_target64(hashes[i].hash, j.share_target);
	{
		int good = nshares == n && n > 0 && n < 16;
		for (size_t i = 0; i < nshares && i < MAXH; i++)
			good = good && hash_meets_target64(shares[i].result,
			    j.share_target) && strcmp(share_jobs[i], "shares") == 0 &&
			    shares[i].nonce < 16;
		ok(good, "every hash meeting the share target (%zu of 16) became "
		    "a share of the job, and only those", n);
		n = 0;
		for (size_t i = 0; i < nshares && i < MAXH; i++) {
			uint8_t tgt[32];
			nbits_to_target256(0x207fffff, tgt);
			n += shares[i].is_block ==
			    hash_meets_target256(shares[i].result, tgt);
		}
		ok(n == nshares, "block candidates flagged by the nBits target");
	}
	pthread_mutex_unlock(&rec_lock);

	/* A new job replaces a long lease at once. */
	rec_reset();
	base_job(&j, "long", 0, 1000000);
	miner_set_job(m, &j);
	ok(wait_hashed(3, 60000) == 0, "the long lease is being hashed");
	base_job(&j, "next", 0x80000000ULL, 0x80000000ULL + 9);
	j.blob[0] ^= 1;
	miner_set_job(m, &j);
	ok(miner_wait_idle(m, 120000) == 0, "switched job done");
	n = hashed();
	count_range(0x80000000ULL, 9, counts);
	ok(all_once(counts, 9), "the new job's lease hashed once each");
	usleep(200 * 1000);
	ok(hashed() == n, "no more hashes of the old job after the switch");

	/* Pause holds the threads; resume lets them go on. */
	rec_reset();
	miner_pause(m);
	base_job(&j, "paused", 0, 6);
	miner_set_job(m, &j);
	usleep(400 * 1000);
	ok(hashed() == 0 && miner_paused(m), "paused: no hashes");
	miner_resume(m);
	ok(miner_wait_idle(m, 120000) == 0 && hashed() == 6, "resumed: lease done");

	/* A new seed: the hashes are those of a context built for it. */
	rec_reset();
	base_job(&j, "seed2", 50, 56);
	j.seed[0] ^= 0xff;
	miner_set_job(m, &j);
	ok(miner_wait_idle(m, 120000) == 0, "seed change: lease done");
	rx_vm_free(vm);
	rx_ctx_unref(vctx);
	vctx = rx_ctx_new(j.seed, 32, RX_LIGHT, RX_PAGES_AUTO, 1);
	vm = rx_vm_new(vctx);
	n = 0;
	pthread_mutex_lock(&rec_lock);
	for (size_t i = 0; i < nhashes && i < MAXH; i++) {
		le32_write(blob + 76, hashes[i].nonce);
		rx_hash(vm, blob, 80, want);
		n += memcmp(want, hashes[i].hash, 32) == 0;
	}
	ok(n == 6 && nhashes == 6, "all %zu hashes after the seed change use "
	    "the new seed", n);
	pthread_mutex_unlock(&rec_lock);
	ok(log_count("RandomX light mode ready") && log_count("huge pages:"),
	    "the new dataset's readiness and pages are logged");
	rx_vm_free(vm);
	rx_ctx_unref(vctx);
	miner_free(m);

	log_release();
	return tap_done();
}
