/*
 * rx.c: RandomX contexts and VMs over librandomx.
 *
 * Memory matters more than anything else for RandomX speed: huge pages
 * roughly double throughput.  So the dataset and cache are backed, in order,
 * by reserved 2 MiB pages (RANDOMX_FLAG_LARGE_PAGES), by transparent huge
 * pages requested with madvise(MADV_HUGEPAGE) before the memory is first
 * touched, or by plain pages.  The cache has no public memory accessor, so
 * its mapping is found by comparing /proc/self/maps before and after the
 * allocation (glibc serves allocations this large with mmap).  The page
 * report counts, per 2 MiB of cache and dataset, what smaps says backs it.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <randomx.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/rx.h"

#define HUGE_2M ((size_t)2 << 20)
#define MAX_MAPS 4096
#define RX_CACHE_BYTES ((size_t)256 << 20)
/* Full mode needs the dataset, the cache, scratchpads and some slack. */
#define RX_FULL_NEED_MIB (2080 + 256 + 256)

/* One block of RandomX memory and how it is backed. */
struct region {
	uintptr_t lo, hi;
	enum rx_pages pages;
};

struct rx_ctx {
	atomic_int refs;
	enum rx_mode mode;
	randomx_flags flags;
	randomx_cache *cache;
	randomx_dataset *dataset;	/* full mode only */
	uint8_t key[RX_KEY_MAX];
	size_t keylen;
	struct region cache_mem, dataset_mem;
	struct rx_ctx_info info;
};

static size_t
rx_dataset_bytes(void)
{
	return randomx_dataset_item_count() * RANDOMX_DATASET_ITEM_SIZE;
}

static size_t
region_total_pages(const struct region *r)
{
	return (r->hi - r->lo + HUGE_2M - 1) / HUGE_2M;
}

struct rx_vm {
	struct rx_ctx *ctx;
	randomx_vm *vm;
};

const char *
rx_pages_name(enum rx_pages p)
{
	switch (p) {
	case RX_PAGES_AUTO: return "auto";
	case RX_PAGES_LARGE: return "reserved huge pages";
	case RX_PAGES_THP: return "transparent huge pages";
	case RX_PAGES_NORMAL: return "4 KiB pages";
	}
	return "?";
}

const char *
rx_mode_name(enum rx_mode m)
{
	return m == RX_FULL ? "full" : "light";
}

/* Start addresses of the current mappings, to spot the one an alloc adds. */
static size_t
maps_snapshot(uintptr_t *starts, size_t max)
{
	FILE *f = fopen("/proc/self/maps", "r");
	char line[512];
	size_t n = 0;

	if (f == NULL)
		return 0;
	while (n < max && fgets(line, sizeof(line), f) != NULL) {
		unsigned long lo;
		if (sscanf(line, "%lx-", &lo) == 1)
			starts[n++] = (uintptr_t)lo;
	}
	fclose(f);
	return n;
}

/* The newest mapping of at least minsize that was not in the snapshot. */
static int
maps_find_new(const uintptr_t *starts, size_t n, size_t minsize,
    uintptr_t *lo_out, uintptr_t *hi_out)
{
	FILE *f = fopen("/proc/self/maps", "r");
	char line[512];
	int found = 0;

	if (f == NULL)
		return 0;
	while (fgets(line, sizeof(line), f) != NULL) {
		unsigned long lo, hi;
		int seen = 0;
		if (sscanf(line, "%lx-%lx", &lo, &hi) != 2 || hi - lo < minsize)
			continue;
		for (size_t i = 0; i < n && !seen; i++)
			seen = starts[i] == (uintptr_t)lo;
		if (!seen) {
			*lo_out = lo;
			*hi_out = hi;
			found = 1;
		}
	}
	fclose(f);
	return found;
}

/* Ask for THP on the 2 MiB-aligned part of [lo, hi). */
static int
thp_advise(uintptr_t lo, uintptr_t hi)
{
	uintptr_t a = (lo + HUGE_2M - 1) & ~(uintptr_t)(HUGE_2M - 1);
	uintptr_t b = hi & ~(uintptr_t)(HUGE_2M - 1);

	if (b <= a)
		return -1;
	return madvise((void *)a, b - a, MADV_HUGEPAGE);
}

/* AnonHugePages (kB) of the mappings overlapping [lo, hi), from smaps.
 * madvise splits the mapping at the advised range, so the only mappings
 * that overlap are the region's own. */
static size_t
smaps_huge_kb(uintptr_t lo, uintptr_t hi)
{
	FILE *f = fopen("/proc/self/smaps", "r");
	char line[512];
	int inside = 0;
	size_t kb = 0;

	if (f == NULL)
		return 0;
	while (fgets(line, sizeof(line), f) != NULL) {
		unsigned long a, b, v;
		if (sscanf(line, "%lx-%lx ", &a, &b) == 2 && strchr(line, ' ') >
		    strchr(line, '-')) {
			inside = a < hi && b > lo;
			continue;
		}
		if (inside && sscanf(line, "AnonHugePages: %lu kB", &v) == 1)
			kb += v;
	}
	fclose(f);
	return kb;
}

/* 2 MiB pages that back the region, exactly: all of them for reserved
 * pages, else what smaps says the kernel gave us. */
static size_t
region_huge_pages(const struct region *r)
{
	size_t total = region_total_pages(r), huge;

	if (r->hi <= r->lo)
		return 0;
	if (r->pages == RX_PAGES_LARGE)
		return total;
	huge = smaps_huge_kb(r->lo, r->hi) / 2048;
	return huge < total ? huge : total;
}

/*
 * The cache memory pointer is the first member of randomx_cache in every
 * librandomx release (1.1.x, 1.2.x); it is trusted only when it lies inside
 * the mapping the allocation added, so a layout change degrades to
 * advising the whole new mapping instead of touching foreign memory.
 */
static void
cache_region(randomx_cache *cache, const uintptr_t *starts, size_t n,
    struct region *r)
{
	uintptr_t lo, hi, mem;

	r->lo = r->hi = 0;
	if (starts == NULL || !maps_find_new(starts, n, RX_CACHE_BYTES, &lo, &hi))
		return;
	memcpy(&mem, cache, sizeof(mem));
	if (mem >= lo && mem + RX_CACHE_BYTES <= hi) {
		r->lo = mem;
		r->hi = mem + RX_CACHE_BYTES;
	} else {
		r->lo = lo;
		r->hi = hi;
	}
}

static int reserved_pages_fit(size_t bytes);

static randomx_cache *
alloc_cache(randomx_flags base, enum rx_pages want, struct region *r)
{
	uintptr_t *starts;
	size_t n;
	randomx_cache *cache;

	r->lo = r->hi = 0;
	if (want == RX_PAGES_LARGE || (want == RX_PAGES_AUTO &&
	    reserved_pages_fit(RX_CACHE_BYTES))) {
		cache = randomx_alloc_cache(base | RANDOMX_FLAG_LARGE_PAGES);
		if (cache != NULL) {
			r->pages = RX_PAGES_LARGE;
			/* Reserved pages: the memory is the mapping's, exactly. */
			memcpy(&r->lo, cache, sizeof(r->lo));
			r->hi = r->lo + RX_CACHE_BYTES;
			return cache;
		}
		if (want == RX_PAGES_LARGE)
			return NULL;
	}
	starts = calloc(MAX_MAPS, sizeof(*starts));
	n = starts != NULL ? maps_snapshot(starts, MAX_MAPS) : 0;
	cache = randomx_alloc_cache(base);
	r->pages = RX_PAGES_NORMAL;
	if (cache != NULL) {
		cache_region(cache, starts, n, r);
		/* Before randomx_init_cache first touches the memory. */
		if (want != RX_PAGES_NORMAL && r->hi > r->lo &&
		    thp_advise(r->lo, r->hi) == 0)
			r->pages = RX_PAGES_THP;
	}
	free(starts);
	return cache;
}

static randomx_dataset *
alloc_dataset(enum rx_pages want, struct region *r)
{
	randomx_dataset *ds;

	if (want == RX_PAGES_LARGE || (want == RX_PAGES_AUTO &&
	    reserved_pages_fit(rx_dataset_bytes()))) {
		ds = randomx_alloc_dataset(RANDOMX_FLAG_LARGE_PAGES);
		if (ds != NULL) {
			r->pages = RX_PAGES_LARGE;
			r->lo = (uintptr_t)randomx_get_dataset_memory(ds);
			r->hi = r->lo + rx_dataset_bytes();
			return ds;
		}
		if (want == RX_PAGES_LARGE)
			return NULL;
	}
	ds = randomx_alloc_dataset(RANDOMX_FLAG_DEFAULT);
	if (ds == NULL)
		return NULL;
	r->lo = (uintptr_t)randomx_get_dataset_memory(ds);
	r->hi = r->lo + rx_dataset_bytes();
	r->pages = RX_PAGES_NORMAL;
	/* Before randomx_init_dataset first touches the memory. */
	if (want != RX_PAGES_NORMAL && thp_advise(r->lo, r->hi) == 0)
		r->pages = RX_PAGES_THP;
	return ds;
}

/*
 * Whether enough reserved 2 MiB pages are free for bytes.  Asked first
 * because a failed RANDOMX_FLAG_LARGE_PAGES allocation costs a page-table
 * walk and, in librandomx 1.1.10, leaks a small object.
 */
static int
reserved_pages_fit(size_t bytes)
{
	FILE *f = fopen("/proc/meminfo", "r");
	char line[256];
	unsigned long free_pages = 0, page_kb = 0, v;

	if (f == NULL)
		return 1;	/* cannot tell: let the allocation decide */
	while (fgets(line, sizeof(line), f) != NULL) {
		if (sscanf(line, "HugePages_Free: %lu", &v) == 1)
			free_pages = v;
		else if (sscanf(line, "Hugepagesize: %lu kB", &v) == 1)
			page_kb = v;
	}
	fclose(f);
	return page_kb > 0 && (double)free_pages * (double)page_kb * 1024.0 >=
	    (double)bytes;
}

/* MemAvailable in MiB; SIZE_MAX when it cannot be read. */
static size_t
mem_available_mib(void)
{
	FILE *f = fopen("/proc/meminfo", "r");
	char line[256];
	size_t mib = SIZE_MAX;
	unsigned long kb;

	if (f == NULL)
		return mib;
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "MemAvailable: %lu kB", &kb) == 1) {
			mib = kb / 1024;
			break;
		}
	fclose(f);
	return mib;
}

struct init_part {
	randomx_dataset *ds;
	randomx_cache *cache;
	unsigned long start, count;
	atomic_int *cancel;
};

/* Items per step between looks at the cancel flag (~0.2 s of work). */
#define INIT_STEP 65536UL

static void *
init_thread(void *arg)
{
	struct init_part *p = arg;
	unsigned long done = 0;

	while (done < p->count) {
		unsigned long n = p->count - done < INIT_STEP ?
		    p->count - done : INIT_STEP;
		if (p->cancel != NULL && atomic_load(p->cancel))
			break;
		randomx_init_dataset(p->ds, p->cache, p->start + done, n);
		done += n;
	}
	return NULL;
}

/* Splits the dataset initialisation over threads; thread 0 is the caller. */
static void
init_dataset(randomx_dataset *ds, randomx_cache *cache, int threads,
    atomic_int *cancel)
{
	unsigned long items = randomx_dataset_item_count();
	struct init_part *parts;
	pthread_t *tids;
	char *started;

	if (threads <= 0) {
		long n = sysconf(_SC_NPROCESSORS_ONLN);
		threads = n > 0 ? (int)n : 1;
	}
	parts = calloc((size_t)threads, sizeof(*parts));
	tids = calloc((size_t)threads, sizeof(*tids));
	started = calloc((size_t)threads, 1);
	if (parts == NULL || tids == NULL || started == NULL) {
		randomx_init_dataset(ds, cache, 0, items);
		goto out;
	}
	for (int i = 0; i < threads; i++) {
		unsigned long a = items * (unsigned long)i / (unsigned long)threads;
		unsigned long b = items * (unsigned long)(i + 1) / (unsigned long)threads;
		parts[i] = (struct init_part){ ds, cache, a, b - a, cancel };
		if (i > 0)
			started[i] = pthread_create(&tids[i], NULL, init_thread,
			    &parts[i]) == 0;
	}
	for (int i = 0; i < threads; i++)
		if (i == 0 || !started[i])
			init_thread(&parts[i]);
	for (int i = 1; i < threads; i++)
		if (started[i])
			pthread_join(tids[i], NULL);
out:
	free(parts);
	free(tids);
	free(started);
}

int
rx_full_mode_fits(char *why, size_t len)
{
	size_t avail = mem_available_mib();

	if (avail != SIZE_MAX && avail < RX_FULL_NEED_MIB) {
		snprintf(why, len, "only %zu MiB of memory available, full mode "
		    "needs about %d MiB", avail, RX_FULL_NEED_MIB);
		return 0;
	}
	return 1;
}

/* The cache's own region, or the dataset's once there is one. */
static void
ctx_count_pages(struct rx_ctx *ctx)
{
	const struct region *main_mem = ctx->dataset != NULL ?
	    &ctx->dataset_mem : &ctx->cache_mem;

	ctx->info.pages_used = main_mem->pages;
	ctx->info.total_pages = region_total_pages(&ctx->cache_mem);
	ctx->info.huge_pages = region_huge_pages(&ctx->cache_mem);
	if (ctx->dataset != NULL) {
		ctx->info.total_pages += region_total_pages(&ctx->dataset_mem);
		ctx->info.huge_pages += region_huge_pages(&ctx->dataset_mem);
	}
}

struct rx_ctx *
rx_ctx_new(const uint8_t *key, size_t keylen, enum rx_mode mode,
    enum rx_pages pages, int init_threads)
{
	return rx_ctx_new_cancel(key, keylen, mode, pages, init_threads, NULL);
}

struct rx_ctx *
rx_ctx_new_cancel(const uint8_t *key, size_t keylen, enum rx_mode mode,
    enum rx_pages pages, int init_threads, atomic_int *cancel)
{
	struct rx_ctx *ctx;
	randomx_flags base = randomx_get_flags();
	int64_t t0 = clock_mono_ms();
	char why[160];

	if (keylen == 0 || keylen > RX_KEY_MAX) {
		log_warnx("rx: key length %zu outside 1..%d", keylen, RX_KEY_MAX);
		return NULL;
	}
	if (mode == RX_FULL && !rx_full_mode_fits(why, sizeof(why))) {
		log_warnx("rx: using light mode: %s", why);
		mode = RX_LIGHT;
	}
	if ((ctx = calloc(1, sizeof(*ctx))) == NULL)
		return NULL;
	atomic_init(&ctx->refs, 1);
	memcpy(ctx->key, key, keylen);
	ctx->keylen = keylen;

	ctx->cache = alloc_cache(base, pages, &ctx->cache_mem);
	if (ctx->cache == NULL && pages == RX_PAGES_LARGE)
		log_warnx("rx: no reserved huge pages for the cache");
	else if (ctx->cache == NULL && (base & RANDOMX_FLAG_JIT)) {
		/* No JIT (e.g. W^X policy): fall back to the interpreter. */
		base &= ~RANDOMX_FLAG_JIT;
		ctx->cache = alloc_cache(base, pages, &ctx->cache_mem);
	}
	if (ctx->cache == NULL) {
		log_warnx("rx: cannot allocate the RandomX cache (256 MiB)");
		free(ctx);
		return NULL;
	}
	randomx_init_cache(ctx->cache, key, keylen);
	ctx->flags = base;
	if (mode == RX_FULL) {
		ctx->dataset = alloc_dataset(pages, &ctx->dataset_mem);
		if (ctx->dataset == NULL && pages == RX_PAGES_LARGE) {
			log_warnx("rx: no reserved huge pages for the dataset");
			randomx_release_cache(ctx->cache);
			free(ctx);
			return NULL;
		}
		if (ctx->dataset == NULL) {
			log_warnx("rx: using light mode: cannot allocate the "
			    "RandomX dataset (2080 MiB)");
			mode = RX_LIGHT;
		} else {
			init_dataset(ctx->dataset, ctx->cache, init_threads, cancel);
			ctx->flags |= RANDOMX_FLAG_FULL_MEM;
		}
	}
	if (cancel != NULL && atomic_load(cancel)) {
		/* Half a dataset must never hash: throw it all away. */
		log_info("rx: initialisation cancelled");
		if (ctx->dataset != NULL)
			randomx_release_dataset(ctx->dataset);
		randomx_release_cache(ctx->cache);
		free(ctx);
		return NULL;
	}
	ctx->mode = ctx->info.mode = mode;
	ctx_count_pages(ctx);
	if (ctx->info.pages_used == RX_PAGES_LARGE)
		ctx->flags |= RANDOMX_FLAG_LARGE_PAGES;
	ctx->info.init_ms = clock_mono_ms() - t0;
	return ctx;
}

void
rx_info_pages_str(const struct rx_ctx_info *info, char *buf, size_t len)
{
	double pct = info->total_pages > 0 ?
	    100.0 * (double)info->huge_pages / (double)info->total_pages : 0;

	/* Never round a partial coverage up to 100%. */
	if (info->huge_pages < info->total_pages && pct > 99.9)
		pct = 99.9;
	snprintf(buf, len, "huge pages: %.*f%% (%zu/%zu)",
	    pct == 100.0 || pct == 0.0 ? 0 : 1, pct, info->huge_pages,
	    info->total_pages);
}

void
rx_ctx_log(const struct rx_ctx *ctx, const char *who)
{
	const struct rx_ctx_info *info = &ctx->info;
	char pg[96];

	rx_info_pages_str(info, pg, sizeof(pg));
	log_info("%s: RandomX %s mode ready in %.1f s (%s), %s", who,
	    rx_mode_name(info->mode), (double)info->init_ms / 1000.0,
	    rx_pages_name(info->pages_used), pg);
	if (info->pages_used == RX_PAGES_NORMAL)
		log_warnx("%s: RandomX memory is in 4 KiB pages, hashing runs "
		    "about half as fast: reserve huge pages as root with "
		    "'sysctl -w vm.nr_hugepages=1280' (full mode, 2 MiB each) "
		    "or allow transparent ones with 'echo madvise > "
		    "/sys/kernel/mm/transparent_hugepage/enabled'", who);
	else if (info->huge_pages * 2 < info->total_pages)
		log_warnx("%s: the kernel gave only %zu of %zu huge pages "
		    "(memory fragmented?): reserve them at boot with "
		    "'sysctl -w vm.nr_hugepages=1280'", who, info->huge_pages,
		    info->total_pages);
}

int
rx_pages_parse(const char *s, enum rx_pages *out)
{
	static const struct {
		const char *name;
		enum rx_pages p;
	} names[] = {
		{ "auto", RX_PAGES_AUTO }, { "true", RX_PAGES_AUTO },
		{ "yes", RX_PAGES_AUTO }, { "on", RX_PAGES_AUTO },
		{ "reserved", RX_PAGES_LARGE }, { "large", RX_PAGES_LARGE },
		{ "thp", RX_PAGES_THP }, { "transparent", RX_PAGES_THP },
		{ "off", RX_PAGES_NORMAL }, { "false", RX_PAGES_NORMAL },
		{ "no", RX_PAGES_NORMAL }, { "none", RX_PAGES_NORMAL },
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcasecmp(s, names[i].name) == 0) {
			*out = names[i].p;
			return 0;
		}
	return -1;
}

struct rx_ctx *
rx_ctx_ref(struct rx_ctx *ctx)
{
	atomic_fetch_add(&ctx->refs, 1);
	return ctx;
}

void
rx_ctx_unref(struct rx_ctx *ctx)
{
	if (ctx == NULL || atomic_fetch_sub(&ctx->refs, 1) != 1)
		return;
	if (ctx->dataset != NULL)
		randomx_release_dataset(ctx->dataset);
	randomx_release_cache(ctx->cache);
	free(ctx);
}

void
rx_ctx_get_info(const struct rx_ctx *ctx, struct rx_ctx_info *info)
{
	*info = ctx->info;
}

int
rx_ctx_has_key(const struct rx_ctx *ctx, const uint8_t *key, size_t keylen)
{
	return keylen == ctx->keylen && memcmp(key, ctx->key, keylen) == 0;
}

/*
 * Scratchpads on transparent huge pages.  librandomx (1.1.x) puts a VM's
 * 2 MiB scratchpad on reserved huge pages when asked (RANDOMX_FLAG_LARGE_
 * PAGES: mmap with MAP_HUGETLB) and otherwise on whatever posix_memalign
 * gives: 4 KiB pages, never 2 MiB-aligned, so no transparent huge page can
 * back it and every hash walks 512 page-table entries of scratchpad beside
 * the dataset's.  That was the whole gap to xmrig without reserved pages
 * (issue 16).  So when our memory is on transparent huge pages, rx_vm_new()
 * asks librandomx for large pages anyway, and while it creates the VM this
 * thread's failed MAP_HUGETLB requests are answered here with anonymous
 * memory aligned to 2 MiB and advised MADV_HUGEPAGE (populated as
 * MAP_POPULATE asks); librandomx frees it with munmap as its own.  This
 * mmap is the process's (the dynamic linker binds librandomx's calls to
 * the executable's definition); outside that window it is the plain system
 * call.
 */
static _Thread_local int thp_instead_of_hugetlb;

static void *
thp_map(size_t len, int prot, int flags)
{
	size_t span = len + HUGE_2M;
	uintptr_t p, a;
	size_t i;

	flags = (int)((unsigned)flags & ~((unsigned)MAP_HUGETLB |
	    (unsigned)MAP_POPULATE | (0x3fU << MAP_HUGE_SHIFT)));
	p = (uintptr_t)syscall(SYS_mmap, NULL, span, prot, flags, -1, 0);
	if ((void *)p == MAP_FAILED)
		return MAP_FAILED;
	a = (p + HUGE_2M - 1) & ~(uintptr_t)(HUGE_2M - 1);
	if (a > p)
		munmap((void *)p, a - p);
	if (p + span > a + len)
		munmap((void *)(a + len), p + span - (a + len));
	madvise((void *)a, len, MADV_HUGEPAGE);
	if (prot & PROT_WRITE)
		for (i = 0; i < len; i += 4096)
			((volatile uint8_t *)a)[i] = 0;
	return (void *)a;
}

void *
mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	void *p = (void *)syscall(SYS_mmap, addr, len, prot, flags, fd, off);

	if (p != MAP_FAILED || !(flags & MAP_HUGETLB) ||
	    !thp_instead_of_hugetlb || addr != NULL || fd != -1)
		return p;
	return thp_map(len, prot, flags);
}

struct rx_vm *
rx_vm_new(struct rx_ctx *ctx)
{
	struct rx_vm *vm = calloc(1, sizeof(*vm));
	randomx_flags flags = ctx->flags;

	if (vm == NULL)
		return NULL;
	if (ctx->info.pages_used == RX_PAGES_THP) {
		flags |= RANDOMX_FLAG_LARGE_PAGES;
		thp_instead_of_hugetlb = 1;
	}
	vm->vm = randomx_create_vm(flags, ctx->mode == RX_FULL ? NULL : ctx->cache,
	    ctx->dataset);
	thp_instead_of_hugetlb = 0;
	if (vm->vm == NULL && (flags & RANDOMX_FLAG_LARGE_PAGES)) {
		/* Scratchpads in large pages may not fit what is reserved. */
		flags &= ~RANDOMX_FLAG_LARGE_PAGES;
		vm->vm = randomx_create_vm(flags,
		    ctx->mode == RX_FULL ? NULL : ctx->cache, ctx->dataset);
	}
	if (vm->vm == NULL) {
		log_warnx("rx: cannot create a RandomX VM");
		free(vm);
		return NULL;
	}
	vm->ctx = rx_ctx_ref(ctx);
	return vm;
}

void
rx_vm_free(struct rx_vm *vm)
{
	if (vm == NULL)
		return;
	randomx_destroy_vm(vm->vm);
	rx_ctx_unref(vm->ctx);
	free(vm);
}

void
rx_hash(struct rx_vm *vm, const void *input, size_t len, uint8_t out[RX_HASH_SIZE])
{
	randomx_calculate_hash(vm->vm, input, len, out);
}

void
rx_hash_first(struct rx_vm *vm, const void *input, size_t len)
{
	randomx_calculate_hash_first(vm->vm, input, len);
}

void
rx_hash_next(struct rx_vm *vm, const void *next_input, size_t len,
    uint8_t out[RX_HASH_SIZE])
{
	randomx_calculate_hash_next(vm->vm, next_input, len, out);
}

void
rx_hash_last(struct rx_vm *vm, uint8_t out[RX_HASH_SIZE])
{
	randomx_calculate_hash_last(vm->vm, out);
}
