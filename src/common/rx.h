/*
 * rx.h: the RandomX wrapper every hashing binary uses (worker threads,
 * the coordinator's verification pool, the testpool).  An rx_ctx holds the
 * cache (light) or cache+dataset (full) for one key; VMs are per thread.
 */
#ifndef COOPMINE_RX_H
#define COOPMINE_RX_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#define RX_HASH_SIZE 32
#define RX_KEY_MAX 60

enum rx_mode { RX_LIGHT = 0, RX_FULL = 1 };

/* How dataset/cache memory is backed, in order of preference. */
enum rx_pages {
	RX_PAGES_AUTO = 0,	/* reserved huge pages, else THP madvise, else 4 KiB */
	RX_PAGES_LARGE,		/* reserved 2 MiB huge pages only */
	RX_PAGES_THP,		/* transparent huge pages via madvise */
	RX_PAGES_NORMAL		/* plain pages */
};

struct rx_ctx;
struct rx_vm;

struct rx_ctx_info {
	enum rx_mode mode;		/* full may fall back to light (logged) */
	enum rx_pages pages_used;	/* what the memory actually got */
	size_t huge_pages;		/* 2 MiB pages backing the memory */
	size_t total_pages;		/* 2 MiB-sized chunks in the memory:
					 * cache 128 (+ dataset 1040 in full) */
	int64_t init_ms;		/* cache + dataset initialisation time */
};

/* Builds a context for key (1..RX_KEY_MAX bytes).  init_threads splits the
 * dataset initialisation (0: online CPUs).  A full context falls back to
 * light mode, with a warning saying why, when MemAvailable is too small for
 * the dataset or its allocation fails (check info.mode).  NULL on failure
 * (logged). */
struct rx_ctx *rx_ctx_new(const uint8_t *key, size_t keylen, enum rx_mode mode,
    enum rx_pages pages, int init_threads);
/* The same, giving up (NULL, logged at info) soon after *cancel becomes
 * non-zero: a shutdown need not wait for a minute of dataset init. */
struct rx_ctx *rx_ctx_new_cancel(const uint8_t *key, size_t keylen,
    enum rx_mode mode, enum rx_pages pages, int init_threads,
    atomic_int *cancel);
/* Whether MemAvailable leaves room for one more full context (dataset,
 * cache, scratchpads); if not, says why.  rx_ctx_new asks it too. */
int rx_full_mode_fits(char *why, size_t len);
struct rx_ctx *rx_ctx_ref(struct rx_ctx *ctx);
void rx_ctx_unref(struct rx_ctx *ctx);
void rx_ctx_get_info(const struct rx_ctx *ctx, struct rx_ctx_info *info);
/* 1 when ctx was built for this key. */
int rx_ctx_has_key(const struct rx_ctx *ctx, const uint8_t *key, size_t keylen);

/* A VM holds a reference on its context. */
struct rx_vm *rx_vm_new(struct rx_ctx *ctx);
void rx_vm_free(struct rx_vm *vm);
void rx_hash(struct rx_vm *vm, const void *input, size_t len,
    uint8_t out[RX_HASH_SIZE]);
/* Pipelined hashing (randomx_calculate_hash_first/next/last). */
void rx_hash_first(struct rx_vm *vm, const void *input, size_t len);
void rx_hash_next(struct rx_vm *vm, const void *next_input, size_t len,
    uint8_t out[RX_HASH_SIZE]);
void rx_hash_last(struct rx_vm *vm, uint8_t out[RX_HASH_SIZE]);

/* Logs the mode, the init time and "huge pages: 100% (1168/1168)" at
 * info level; with plain pages, a warning on how to reserve huge pages. */
void rx_ctx_log(const struct rx_ctx *ctx, const char *who);
/* The report line alone: "huge pages: 99.8% (1166/1168)". */
void rx_info_pages_str(const struct rx_ctx_info *info, char *buf, size_t len);
/* Parses "auto|reserved|thp|off" (also true/false); -1 when unknown. */
int rx_pages_parse(const char *s, enum rx_pages *out);

const char *rx_pages_name(enum rx_pages p);
const char *rx_mode_name(enum rx_mode m);

#endif
