/* test_miner_nextkey: a job that names the next RandomX key (node work
 * near a key boundary) makes the engine prepare that key in the
 * background while it keeps hashing the current job; the job with that
 * seed then hashes at once, with valid results and no re-initialisation,
 * where a seed change without the hint waits for the cache.  Light mode. */
#include "config.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/hex.h"
#include "common/log.h"
#include "common/rx.h"
#include "common/target.h"
#include "worker/bench.h"
#include "worker/miner.h"
#include "log_capture.h"
#include "tap.h"

#define WAIT_MS 120000

/* The first share of the job being watched, and every share's job. */
static pthread_mutex_t rec_lock = PTHREAD_MUTEX_INITIALIZER;
static char watch_job[CLIENT_JOB_ID_MAX];
static int64_t watch_first_ms;
static struct miner_share watch_share;
static uint64_t shares_of_watch;

static void
rec_share(void *arg, const struct miner_share *s)
{
	(void)arg;
	pthread_mutex_lock(&rec_lock);
	if (strcmp(s->job_id, watch_job) == 0) {
		if (shares_of_watch++ == 0) {
			watch_first_ms = clock_mono_ms();
			watch_share = *s;
			watch_share.job_id = NULL;
		}
	}
	pthread_mutex_unlock(&rec_lock);
}

static void
watch(const char *job_id)
{
	pthread_mutex_lock(&rec_lock);
	snprintf(watch_job, sizeof(watch_job), "%s", job_id);
	shares_of_watch = 0;
	watch_first_ms = 0;
	pthread_mutex_unlock(&rec_lock);
}

static uint64_t
watched_shares(void)
{
	uint64_t n;

	pthread_mutex_lock(&rec_lock);
	n = shares_of_watch;
	pthread_mutex_unlock(&rec_lock);
	return n;
}

/* Waits (bounded) for n shares of the watched job: 0 or -1. */
static int
wait_shares(uint64_t n)
{
	int64_t dl = clock_mono_ms() + WAIT_MS;

	while (watched_shares() < n) {
		if (clock_mono_ms() > dl)
			return -1;
		usleep(2000);
	}
	return 0;
}

static int
wait_prepared(struct miner *m, uint64_t n)
{
	int64_t dl = clock_mono_ms() + WAIT_MS;
	struct miner_stats st;

	for (;;) {
		miner_get_stats(m, &st);
		if (st.rx_prepared >= n)
			return 0;
		if (clock_mono_ms() > dl)
			return -1;
		usleep(5000);
	}
}

static void
make_job(struct client_job *j, const char *id, uint8_t seed_tag,
    int next_tag)
{
	memset(j, 0, sizeof(*j));
	snprintf(j->job_id, sizeof(j->job_id), "%s", id);
	snprintf(j->algo, sizeof(j->algo), "rx/0");
	hex_decode_exact(BENCH_HEADER_HEX, j->blob, 80);
	j->blob[0] ^= seed_tag;		/* a different header per job */
	j->blob_len = 80;
	j->nonce_offset = 76;
	hex_decode_exact(BENCH_SEED_HEX, j->seed, 32);
	j->seed[31] ^= seed_tag;
	j->seed_len = 32;
	if (next_tag >= 0) {
		hex_decode_exact(BENCH_SEED_HEX, j->next_seed, 32);
		j->next_seed[31] ^= (uint8_t)next_tag;
		j->next_seed_len = 32;
	}
	j->share_target = UINT64_MAX;	/* every hash is a share */
	j->lease_id = seed_tag + 1u;
	j->nonce_start = 0;
	j->nonce_end = 1000000;
	j->height = 100 + seed_tag;
}

/* The watched job's first share is the hash of its header with its seed. */
static int
share_valid(const struct client_job *j)
{
	struct rx_ctx *ctx = rx_ctx_new(j->seed, j->seed_len, RX_LIGHT,
	    RX_PAGES_AUTO, 1);
	struct rx_vm *vm = ctx != NULL ? rx_vm_new(ctx) : NULL;
	uint8_t blob[80], want[32];
	int good;

	if (vm == NULL) {
		rx_ctx_unref(ctx);
		return 0;
	}
	memcpy(blob, j->blob, 80);
	pthread_mutex_lock(&rec_lock);
	le32_write(blob + 76, watch_share.nonce);
	rx_hash(vm, blob, 80, want);
	good = memcmp(want, watch_share.result, 32) == 0;
	pthread_mutex_unlock(&rec_lock);
	rx_vm_free(vm);
	rx_ctx_unref(ctx);
	return good;
}

/* Sets job j and returns how long its first share took, in ms (-1: none). */
static int64_t
time_to_first_share(struct miner *m, const struct client_job *j)
{
	int64_t t0;

	watch(j->job_id);
	t0 = clock_mono_ms();
	if (miner_set_job(m, j) != 0 || wait_shares(1) != 0)
		return -1;
	return watch_first_ms - t0;
}

int
main(void)
{
	struct miner_config cfg = { 2, RX_LIGHT, RX_PAGES_AUTO, 0 };
	struct miner_callbacks cb = { rec_share, NULL, NULL };
	struct miner *m;
	struct miner_stats st0, st;
	struct client_job j;
	int64_t plain_ms, ahead_ms;
	uint64_t during;

	log_capture();
	log_init("test_miner_nextkey", LOG_LVL_DEBUG, 0);
	m = miner_new(&cfg, &cb, NULL);
	ok(m != NULL, "engine with 2 threads");
	if (m == NULL)
		return tap_done();

	/* Seed 1, then seed 2 without a hint: the engine re-initialises. */
	make_job(&j, "a", 1, -1);
	ok(time_to_first_share(m, &j) >= 0, "job a (seed 1) hashes");
	miner_get_stats(m, &st0);
	make_job(&j, "b", 2, -1);
	plain_ms = time_to_first_share(m, &j);
	miner_get_stats(m, &st);
	ok(plain_ms >= 0 && st.rx_inits == st0.rx_inits + 1,
	    "seed 2 without a hint: re-initialised (%" PRIu64 " -> %" PRIu64
	    " inits), first share after %" PRId64 " ms", st0.rx_inits,
	    st.rx_inits, plain_ms);

	/* Seed 2 naming seed 3 as next: prepared while job c is hashed. */
	make_job(&j, "c", 2, 3);
	watch("c");
	ok(miner_set_job(m, &j) == 0 && wait_shares(1) == 0,
	    "job c (seed 2, next seed 3) hashes");
	during = watched_shares();
	ok(wait_prepared(m, st.rx_prepared + 1) == 0,
	    "seed 3 prepared in the background");
	ok(watched_shares() > during,
	    "job c kept hashing while seed 3 was prepared (%" PRIu64 " -> %"
	    PRIu64 " shares)", during, watched_shares());
	ok(log_count("preparing RandomX (light) for the next seed") == 1,
	    "the background preparation is logged once");

	/* The job with seed 3: no re-initialisation, valid results at once. */
	miner_get_stats(m, &st0);
	make_job(&j, "d", 3, -1);
	ahead_ms = time_to_first_share(m, &j);
	miner_get_stats(m, &st);
	ok(ahead_ms >= 0 && st.rx_inits == st0.rx_inits &&
	    st.rx_switched_ahead == st0.rx_switched_ahead + 1,
	    "seed 3 after the hint: switched without re-initialising (inits %"
	    PRIu64 " -> %" PRIu64 ", switched ahead %" PRIu64 ")",
	    st0.rx_inits, st.rx_inits, st.rx_switched_ahead);
	ok(log_count("was prepared ahead, switched without re-initialising") == 1,
	    "the instant switch is logged");
	ok(share_valid(&j), "job d's first share is the hash with seed 3");
	ok(ahead_ms >= 0 && ahead_ms < plain_ms,
	    "first share after the seed change: %" PRId64 " ms with the hint, %"
	    PRId64 " ms without", ahead_ms, plain_ms);
	printf("# time from new-seed job to first share: %" PRId64 " ms with "
	    "the hint, %" PRId64 " ms without\n", ahead_ms, plain_ms);

	/* A prepared key no later job names is dropped, not kept. */
	make_job(&j, "e", 3, 4);
	watch("e");
	miner_get_stats(m, &st0);
	ok(miner_set_job(m, &j) == 0 && wait_prepared(m, st0.rx_prepared + 1) == 0,
	    "job e (seed 3, next seed 4): seed 4 prepared");
	make_job(&j, "f", 3, -1);
	j.blob[1] ^= 1;
	ok(miner_set_job(m, &j) == 0 &&
	    log_count("dropping the RandomX context prepared ahead") == 1,
	    "a job naming no next seed drops the prepared one");
	make_job(&j, "g", 4, -1);
	miner_get_stats(m, &st0);
	ok(time_to_first_share(m, &j) >= 0 &&
	    (miner_get_stats(m, &st), st.rx_inits == st0.rx_inits + 1),
	    "seed 4 after the drop is initialised as usual");

	miner_free(m);
	log_release();
	return tap_done();
}
