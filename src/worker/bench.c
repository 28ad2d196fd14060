/*
 * bench.c: --bench mode.  Runs the real engine (miner.c) offline on a fixed
 * job, times it from the moment the dataset is ready until every nonce is
 * hashed, and checks a checksum of all hashes against values computed
 * once by bench/bench_worker_ref.c, which calls librandomx directly, in
 * full mode and cross-checked in light mode.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/hex.h"
#include "common/log.h"
#include "common/target.h"
#include "worker/bench.h"

static const struct {
	uint64_t n;
	const char *sum;
} known[] = {
#include "worker/bench_known.h"
};

void
bench_sum_add(struct bench_sum *s, const uint8_t hash[32])
{
	for (int k = 0; k < 4; k++)
		s->w[k] += le64_read(hash + 8 * k);
}

void
bench_sum_hex(const struct bench_sum *s, char out[65])
{
	uint8_t b[32];

	for (int k = 0; k < 4; k++)
		le64_write(b + 8 * k, s->w[k]);
	hex_encode(b, 32, out, 65);
}

const char *
bench_known(uint64_t n)
{
	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (known[i].n == n)
			return known[i].sum;
	return NULL;
}

void
bench_known_list(char *buf, size_t len)
{
	size_t off = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]) && off < len; i++) {
		int w = snprintf(buf + off, len - off, "%s%" PRIu64, i ? ", " : "",
		    known[i].n);
		if (w < 0)
			break;
		off += (size_t)w;
	}
}

/* One accumulator per thread, a cache line each: no locks, no sharing. */
struct bench_acc {
	_Alignas(64) struct bench_sum sum;
	uint64_t count;
};

static void
bench_on_hash(void *arg, int thread, uint32_t nonce, const uint8_t hash[32])
{
	struct bench_acc *acc = arg;

	bench_sum_add(&acc[thread].sum, hash);
	acc[thread].count++;
}

int
bench_run(const struct miner_config *cfg, uint64_t n)
{
	struct miner_callbacks cb = { .on_hash = bench_on_hash };
	struct client_job job;
	struct miner_stats st;
	struct bench_acc *acc;
	struct bench_sum sum = { { 0, 0, 0, 0 } };
	struct miner *m;
	const char *want = bench_known(n);
	char hex[65], pg[96];
	uint64_t count = 0;
	int64_t t_end;
	double secs, cpu;
	int nthreads;

	if (want == NULL) {
		char list[256];
		bench_known_list(list, sizeof(list));
		log_error("bench: no known checksum for N=%" PRIu64 " (known: %s)",
		    n, list);
		return 1;
	}
	memset(&job, 0, sizeof(job));
	snprintf(job.job_id, sizeof(job.job_id), "bench");
	snprintf(job.algo, sizeof(job.algo), "rx/0");
	job.blob_len = 80;
	job.nonce_offset = BENCH_NONCE_OFFSET;
	job.seed_len = 32;
	if (hex_decode_exact(BENCH_HEADER_HEX, job.blob, 80) != 0 ||
	    hex_decode_exact(BENCH_SEED_HEX, job.seed, 32) != 0)
		fatalx("bench: bad built-in header or seed");
	job.share_target = 1;	/* no shares: the checksum is the output */
	job.lease_id = 1;
	job.nonce_start = 0;
	job.nonce_end = n;

	nthreads = cfg->threads;
	if (nthreads <= 0) {
		long c = sysconf(_SC_NPROCESSORS_ONLN);
		nthreads = c > 0 ? (int)c : 1;
	}
	if (posix_memalign((void **)&acc, 64, (size_t)nthreads * sizeof(*acc)) != 0)
		fatalx("bench: out of memory");
	memset(acc, 0, (size_t)nthreads * sizeof(*acc));
	if ((m = miner_new(cfg, &cb, acc)) == NULL) {
		free(acc);
		return 1;
	}
	if (miner_set_job(m, &job) != 0 || miner_wait_idle(m, -1) != 0)
		fatalx("bench: the engine refused the bench job");
	t_end = clock_mono_ms();
	cpu = miner_cpu_seconds(m);
	miner_get_stats(m, &st);
	miner_free(m);
	for (int i = 0; i < nthreads; i++) {
		for (int k = 0; k < 4; k++)
			sum.w[k] += acc[i].sum.w[k];
		count += acc[i].count;
	}
	free(acc);
	if (!st.have_ctx) {
		log_error("bench: RandomX could not be initialised");
		return 1;
	}
	secs = (double)(t_end - st.ready_ms) / 1000.0;
	if (secs <= 0)
		secs = 0.001;
	bench_sum_hex(&sum, hex);
	rx_info_pages_str(&st.rx, pg, sizeof(pg));
	printf("bench: %s mode, %s, %s, %s init %.1f s\n",
	    rx_mode_name(st.rx.mode), rx_pages_name(st.rx.pages_used), pg,
	    st.rx.mode == RX_FULL ? "dataset" : "cache",
	    (double)st.rx.init_ms / 1000.0);
	printf("bench: %" PRIu64 " hashes, %d threads, %.3f s: %.1f H/s\n", count,
	    nthreads, secs, (double)count / secs);
	if (cpu > 0)
		printf("bench: cpu %.3f s: %.1f H/s at full CPU\n", cpu,
		    (double)count / cpu * nthreads);
	if (count != n) {
		printf("bench: FAILED: %" PRIu64 " hashes for %" PRIu64 " nonces\n",
		    count, n);
		return 1;
	}
	if (strcmp(hex, want) != 0) {
		printf("bench: FAILED: checksum %s, expected %s: this build hashes "
		    "wrongly\n", hex, want);
		return 1;
	}
	printf("bench: checksum %s OK\n", hex);
	return 0;
}
