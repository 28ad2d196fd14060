/*
 * bench/verify.c: shares per second through the coordinator's verification
 * pool (src/coordinator/verify.c: the queue, the per-thread VMs, the
 * callbacks) against a bare librandomx loop with the same threads and mode
 * in the same run, alternating, each given the same number of hashes.
 * The bare loop uses randomx_calculate_hash, one input at a time, as the
 * pool does (a share is one hash, never a pipeline).  Run by
 * bench/verify.sh (make bench).
 *
 * usage: bench-verify light|full THREADS HASHES [ROUNDS]
 */
#include "config.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <randomx.h>

#include "common/clock.h"
#include "common/log.h"
#include "coordinator/verify.h"

static const uint8_t seed[32] = "coopmine bench-verify seed 0001";

/* ---- through the pool -------------------------------------------------- */

static pthread_mutex_t done_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t done_cond = PTHREAD_COND_INITIALIZER;
static int done_n;

static void
on_done(struct verify_job *vj, void *arg)
{
	(void)vj;
	(void)arg;
	pthread_mutex_lock(&done_lock);
	done_n++;
	pthread_cond_signal(&done_cond);
	pthread_mutex_unlock(&done_lock);
}

static void
job_fill(struct verify_job *vj, int i)
{
	memset(vj, 0, sizeof(*vj));
	memcpy(vj->seed, seed, sizeof(seed));
	vj->seed_len = sizeof(seed);
	vj->input_len = 80;
	memcpy(vj->input + 76, &i, sizeof(i));
	vj->done = on_done;
}

static void
wait_done(int n)
{
	pthread_mutex_lock(&done_lock);
	while (done_n < n)
		pthread_cond_wait(&done_cond, &done_lock);
	pthread_mutex_unlock(&done_lock);
}

/* Hashes/s through a pool whose context is already built. */
static double
run_pool(struct verifier *v, struct verify_job *jobs, int n)
{
	int64_t t0;

	pthread_mutex_lock(&done_lock);
	done_n = 0;
	pthread_mutex_unlock(&done_lock);
	t0 = clock_mono_us();
	for (int i = 0; i < n; i++) {
		job_fill(&jobs[i], i);
		if (verifier_submit(v, &jobs[i]) != 0) {
			fprintf(stderr, "bench-verify: the queue refused a share\n");
			exit(1);
		}
	}
	wait_done(n);
	return n / ((double)(clock_mono_us() - t0) / 1e6);
}

/* ---- bare librandomx --------------------------------------------------- */

static randomx_flags flags;
static randomx_cache *cache;
static randomx_dataset *dataset;
static atomic_int next_i;
static int bare_n;

struct init_part {
	unsigned long start, count;
};

static void *
init_thread(void *arg)
{
	struct init_part *p = arg;

	randomx_init_dataset(dataset, cache, p->start, p->count);
	return NULL;
}

static void *
bare_thread(void *arg)
{
	randomx_vm *vm = randomx_create_vm(flags, dataset ? NULL : cache, dataset);
	uint8_t in[80] = { 0 }, out[RANDOMX_HASH_SIZE];
	int i;

	(void)arg;
	if (vm == NULL) {
		fprintf(stderr, "bench-verify: randomx_create_vm failed\n");
		exit(1);
	}
	while ((i = atomic_fetch_add(&next_i, 1)) < bare_n) {
		memcpy(in + 76, &i, sizeof(i));
		randomx_calculate_hash(vm, in, sizeof(in), out);
	}
	randomx_destroy_vm(vm);
	return NULL;
}

static double
run_bare(int threads, int n)
{
	pthread_t *t = calloc((size_t)threads, sizeof(*t));
	int64_t t0;

	atomic_store(&next_i, 0);
	bare_n = n;
	t0 = clock_mono_us();
	for (int i = 0; i < threads; i++)
		pthread_create(&t[i], NULL, bare_thread, NULL);
	for (int i = 0; i < threads; i++)
		pthread_join(t[i], NULL);
	free(t);
	return n / ((double)(clock_mono_us() - t0) / 1e6);
}

#define HUGE_2M ((uintptr_t)2 << 20)

static void
advise(void *p, size_t len)
{
	uintptr_t a = ((uintptr_t)p + HUGE_2M - 1) & ~(HUGE_2M - 1);
	uintptr_t b = ((uintptr_t)p + len) & ~(HUGE_2M - 1);

	if (b > a)
		madvise((void *)a, b - a, MADV_HUGEPAGE);
}

static int
bare_setup(int full, int threads)
{
	/* The pages the pool's contexts get (common/rx.c, RX_PAGES_AUTO):
	 * reserved huge pages when there are, else transparent ones advised
	 * before the memory is first touched. */
	flags = randomx_get_flags();
	if ((cache = randomx_alloc_cache(flags | RANDOMX_FLAG_LARGE_PAGES)) != NULL) {
		flags |= RANDOMX_FLAG_LARGE_PAGES;
	} else {
		if ((cache = randomx_alloc_cache(flags)) == NULL)
			return -1;
		/* Its memory pointer is randomx_cache's first member. */
		advise(*(void **)cache, (size_t)256 << 20);
	}
	randomx_init_cache(cache, seed, sizeof(seed));
	if (full) {
		unsigned long items = randomx_dataset_item_count();
		pthread_t *t = calloc((size_t)threads, sizeof(*t));
		struct init_part *p = calloc((size_t)threads, sizeof(*p));

		flags |= RANDOMX_FLAG_FULL_MEM;
		if ((dataset = randomx_alloc_dataset(RANDOMX_FLAG_LARGE_PAGES)) == NULL) {
			if ((dataset = randomx_alloc_dataset(RANDOMX_FLAG_DEFAULT)) == NULL)
				return -1;
			advise(randomx_get_dataset_memory(dataset),
			    items * RANDOMX_DATASET_ITEM_SIZE);
		}
		for (int i = 0; i < threads; i++) {
			p[i].start = items * (unsigned long)i / (unsigned long)threads;
			p[i].count = items * (unsigned long)(i + 1) /
			    (unsigned long)threads - p[i].start;
			pthread_create(&t[i], NULL, init_thread, &p[i]);
		}
		for (int i = 0; i < threads; i++)
			pthread_join(t[i], NULL);
		free(t);
		free(p);
	}
	return 0;
}

int
main(int argc, char **argv)
{
	enum verify_mode mode;
	struct verifier *v;
	struct verify_job *jobs, warm;
	int threads, n, rounds = 2, full;
	double pool_sum = 0, bare_sum = 0;

	if (argc < 4 || verify_mode_parse(argv[1], &mode) != 0 ||
	    mode == VERIFY_NONE || (threads = atoi(argv[2])) < 1 ||
	    (n = atoi(argv[3])) < 1 || (argc > 4 && (rounds = atoi(argv[4])) < 1)) {
		fprintf(stderr, "usage: bench-verify light|full THREADS HASHES [ROUNDS]\n");
		return 2;
	}
	full = mode == VERIFY_FULL;
	log_init("bench-verify", LOG_LVL_WARN, 0);
	if ((jobs = calloc((size_t)n, sizeof(*jobs))) == NULL)
		return 1;

	/* The pool: build the seed's context (in full mode, wait until the
	 * dataset has replaced the light cache that serves meanwhile). */
	if ((v = verifier_new(mode, threads, (size_t)n + 16)) == NULL) {
		fprintf(stderr, "bench-verify: cannot start the pool\n");
		return 1;
	}
	job_fill(&warm, -1);
	verifier_submit(v, &warm);
	wait_done(1);
	if (full) {
		struct verify_stats st;
		int64_t t0 = clock_mono_ms();
		do {
			sleep(1);
			/* a dataset hash is ~100x faster than a light one */
			pthread_mutex_lock(&done_lock);
			done_n = 0;
			pthread_mutex_unlock(&done_lock);
			job_fill(&warm, -2);
			verifier_submit(v, &warm);
			wait_done(1);
			verifier_get_stats(v, &st);
		} while (st.hash_ms > 5 && clock_mono_ms() - t0 < 600000);
		if (st.hash_ms > 5) {
			fprintf(stderr, "bench-verify: no full dataset after 10 min\n");
			return 1;
		}
	}
	if (bare_setup(full, threads) != 0) {
		fprintf(stderr, "bench-verify: bare librandomx setup failed\n");
		return 1;
	}
	printf("verification, %s mode, %d thread(s), %d hashes a run, %d rounds "
	    "alternating:\n", argv[1], threads, n, rounds);
	run_bare(threads, n / 4 + 1);	/* first touch of its pages */
	for (int r = 0; r < rounds; r++) {
		double b = run_bare(threads, n), p = run_pool(v, jobs, n);
		printf("  round %d: bare librandomx %8.1f hashes/s, coordinator pool "
		    "%8.1f shares/s\n", r + 1, b, p);
		bare_sum += b;
		pool_sum += p;
	}
	printf("verify %s: %.1f shares/s through the pool, %.1f hashes/s bare: "
	    "ratio %.3f\n", argv[1], pool_sum / rounds, bare_sum / rounds,
	    pool_sum / bare_sum);
	verifier_free(v);
	if (dataset != NULL)
		randomx_release_dataset(dataset);
	randomx_release_cache(cache);
	free(jobs);
	return 0;
}
