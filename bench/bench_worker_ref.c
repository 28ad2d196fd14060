/*
 * bench_worker_ref.c: the reference the worker's engine is measured
 * against: the shortest fast loop over librandomx (nothing of ours linked),
 * the same fixed seed, header, nonces, threads and pages as `coopmine-worker
 * --bench`.  It also prints the checksum, so it is the independent path
 * that computed the known values in src/worker/bench.c.
 *
 * usage: bench_worker_ref N THREADS [light|full] [auto|thp|thp-lib|off]
 *        [CHECKPOINTS]
 * thp: cache, dataset and the VMs' scratchpads on transparent huge pages,
 * as xmrig and coopmine-worker put them; thp-lib: cache and dataset only,
 * the scratchpads where librandomx puts them by itself (4 KiB pages).
 * CHECKPOINTS: comma-separated n < N whose checksums to print as well.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <randomx.h>

static const char seed_hex[] =
    "50cd54253affdd9f84bc3662369a4afc279014842d9b4263da69a2595215fb67";
static const char header_hex[] =
    "0000002050cd54253affdd9f84bc3662369a4afc279014842d9b4263da69a259"
    "5215fb6756c5c7d58978aeee466de72435d6c289c93093653e5da992a8f9f35c"
    "2ec3dbf18f04066bffff7f2000000000";

#define HUGE_2M ((uintptr_t)2 << 20)

static randomx_flags vm_flags;
static randomx_cache *cache;
static randomx_dataset *dataset;
static uint64_t total;
static int nthreads;
static uint64_t (*words)[4];	/* per nonce: the hash as 4 LE words */
static double cpu_secs[1024];	/* per hashing thread */

static void
unhex(const char *h, uint8_t *out, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned v;
		sscanf(h + 2 * i, "%2x", &v);
		out[i] = (uint8_t)v;
	}
}

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
advise(void *p, size_t len)
{
	uintptr_t a = ((uintptr_t)p + HUGE_2M - 1) & ~(HUGE_2M - 1);
	uintptr_t b = ((uintptr_t)p + len) & ~(HUGE_2M - 1);

	if (b > a)
		madvise((void *)a, b - a, MADV_HUGEPAGE);
}

/*
 * Scratchpads on THP, as src/common/rx.c does it: VMs are created with
 * RANDOMX_FLAG_LARGE_PAGES and librandomx's failed MAP_HUGETLB mmap is
 * answered with 2 MiB-aligned memory advised MADV_HUGEPAGE.
 */
static int thp_scratchpads;

void *
mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	void *p = (void *)syscall(SYS_mmap, addr, len, prot, flags, fd, off);
	uintptr_t q, a;

	if (p != MAP_FAILED || !(flags & MAP_HUGETLB) || !thp_scratchpads ||
	    addr != NULL || fd != -1)
		return p;
	flags = (int)((unsigned)flags & ~((unsigned)MAP_HUGETLB |
	    (unsigned)MAP_POPULATE | (0x3fU << MAP_HUGE_SHIFT)));
	q = (uintptr_t)syscall(SYS_mmap, NULL, len + HUGE_2M, prot, flags, -1, 0);
	if ((void *)q == MAP_FAILED)
		return MAP_FAILED;
	a = (q + HUGE_2M - 1) & ~(HUGE_2M - 1);
	if (a > q)
		munmap((void *)q, a - q);
	munmap((void *)(a + len), q + len + HUGE_2M - (a + len));
	madvise((void *)a, len, MADV_HUGEPAGE);
	for (size_t i = 0; i < len && (prot & PROT_WRITE); i += 4096)
		((volatile uint8_t *)a)[i] = 0;
	return (void *)a;
}

struct part {
	int i;
	pthread_t tid;
};

static void *
init_part(void *arg)
{
	struct part *p = arg;
	unsigned long items = randomx_dataset_item_count();
	unsigned long a = items * (unsigned long)p->i / (unsigned long)nthreads;
	unsigned long b = items * (unsigned long)(p->i + 1) / (unsigned long)nthreads;

	randomx_init_dataset(dataset, cache, a, b - a);
	return NULL;
}

static void
store(uint64_t nonce, const uint8_t h[32])
{
	for (int k = 0; k < 4; k++) {
		uint64_t w = 0;
		for (int j = 7; j >= 0; j--)
			w = w << 8 | h[8 * k + j];
		words[nonce][k] = w;
	}
}

static void *
hash_part(void *arg)
{
	struct part *p = arg;
	uint64_t a = total * (uint64_t)p->i / (uint64_t)nthreads;
	uint64_t b = total * (uint64_t)(p->i + 1) / (uint64_t)nthreads;
	randomx_vm *vm = randomx_create_vm(vm_flags, dataset ? NULL : cache, dataset);
	uint8_t blob[80], out[32];

	if (vm == NULL && (vm_flags & RANDOMX_FLAG_LARGE_PAGES))
		vm = randomx_create_vm(vm_flags & ~RANDOMX_FLAG_LARGE_PAGES,
		    dataset ? NULL : cache, dataset);
	if (vm == NULL) {
		fprintf(stderr, "ref: cannot create a VM\n");
		exit(1);
	}
	unhex(header_hex, blob, 80);
	if (a < b) {
		memcpy(blob + 76, &(uint32_t){ (uint32_t)a }, 4);
		randomx_calculate_hash_first(vm, blob, 80);
		for (uint64_t n = a + 1; n < b; n++) {
			memcpy(blob + 76, &(uint32_t){ (uint32_t)n }, 4);
			randomx_calculate_hash_next(vm, blob, 80, out);
			store(n - 1, out);
		}
		randomx_calculate_hash_last(vm, out);
		store(b - 1, out);
	}
	{
		struct timespec ts;
		clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
		cpu_secs[p->i] = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
	}
	randomx_destroy_vm(vm);
	return NULL;
}

static void
print_sum(uint64_t n)
{
	uint64_t s[4] = { 0, 0, 0, 0 };

	for (uint64_t i = 0; i < n; i++)
		for (int k = 0; k < 4; k++)
			s[k] += words[i][k];
	printf("ref: checksum N=%llu ", (unsigned long long)n);
	for (int k = 0; k < 4; k++)
		for (int j = 0; j < 8; j++)
			printf("%02x", (unsigned)(s[k] >> (8 * j)) & 0xff);
	printf("\n");
}

int
main(int argc, char **argv)
{
	int full = argc < 4 || strcmp(argv[3], "light") != 0;
	const char *pages = argc > 4 ? argv[4] : "auto";
	int thp = strcmp(pages, "off") != 0;
	int large = strcmp(pages, "auto") == 0;
	randomx_flags flags = randomx_get_flags();
	uint8_t seed[32];
	struct part *parts;
	double t0, t1;

	if (argc < 3 || (total = strtoull(argv[1], NULL, 10)) == 0 ||
	    (nthreads = atoi(argv[2])) <= 0 || nthreads > 1024 || total > ((uint64_t)1 << 32)) {
		fprintf(stderr, "usage: %s N THREADS [light|full] [auto|thp|off] "
		    "[CHECKPOINTS]\n", argv[0]);
		return 2;
	}
	words = calloc(total, sizeof(*words));
	parts = calloc((size_t)nthreads, sizeof(*parts));
	unhex(seed_hex, seed, 32);
	t0 = now();
	cache = large ? randomx_alloc_cache(flags | RANDOMX_FLAG_LARGE_PAGES) : NULL;
	if (cache != NULL) {
		flags |= RANDOMX_FLAG_LARGE_PAGES;
	} else {
		large = 0;
		cache = randomx_alloc_cache(flags);
		/* Its memory pointer is randomx_cache's first member. */
		if (cache != NULL && thp)
			advise(*(void **)cache, (size_t)256 << 20);
	}
	if (cache == NULL) {
		fprintf(stderr, "ref: cannot allocate the cache\n");
		return 1;
	}
	randomx_init_cache(cache, seed, 32);
	if (full) {
		dataset = large ? randomx_alloc_dataset(RANDOMX_FLAG_LARGE_PAGES) : NULL;
		if (dataset == NULL) {
			dataset = randomx_alloc_dataset(RANDOMX_FLAG_DEFAULT);
			if (dataset != NULL && thp)
				advise(randomx_get_dataset_memory(dataset),
				    randomx_dataset_item_count() * RANDOMX_DATASET_ITEM_SIZE);
			flags &= ~RANDOMX_FLAG_LARGE_PAGES;
		}
		if (dataset == NULL) {
			fprintf(stderr, "ref: cannot allocate the dataset\n");
			return 1;
		}
		for (int i = 0; i < nthreads; i++) {
			parts[i].i = i;
			pthread_create(&parts[i].tid, NULL, init_part, &parts[i]);
		}
		for (int i = 0; i < nthreads; i++)
			pthread_join(parts[i].tid, NULL);
		flags |= RANDOMX_FLAG_FULL_MEM;
	}
	if (thp && !large && strcmp(pages, "thp-lib") != 0) {
		thp_scratchpads = 1;
		flags |= RANDOMX_FLAG_LARGE_PAGES;
	}
	vm_flags = flags;
	t1 = now();
	printf("ref: %s mode, %s pages, init %.1f s\n", full ? "full" : "light",
	    large ? "reserved huge" : thp_scratchpads ? "thp (scratchpads too)" :
	    thp ? "thp (cache/dataset only)" : "4 KiB", t1 - t0);
	for (int i = 0; i < nthreads; i++) {
		parts[i].i = i;
		pthread_create(&parts[i].tid, NULL, hash_part, &parts[i]);
	}
	for (int i = 0; i < nthreads; i++)
		pthread_join(parts[i].tid, NULL);
	t0 = now();
	printf("ref: %llu hashes, %d threads: %.1f H/s\n",
	    (unsigned long long)total, nthreads, (double)total / (t0 - t1));
	{
		double cpu = 0;
		for (int i = 0; i < nthreads; i++)
			cpu += cpu_secs[i];
		if (cpu > 0)
			printf("ref: cpu %.3f s: %.1f H/s at full CPU\n", cpu,
			    (double)total / cpu * nthreads);
	}
	if (argc > 5) {
		char *s = argv[5];
		while (*s != '\0') {
			uint64_t n = strtoull(s, &s, 10);
			if (n > 0 && n < total)
				print_sum(n);
			if (*s == ',')
				s++;
			else
				break;
		}
	}
	print_sum(total);
	if (dataset != NULL)
		randomx_release_dataset(dataset);
	randomx_release_cache(cache);
	free(words);
	free(parts);
	return 0;
}
