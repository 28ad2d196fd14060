/* test_rx_full: the one full-mode test of make check (about a minute of
 * dataset initialisation on 2 cores): the RandomX reference vectors
 * through our layer with a 2080 MiB dataset, the pipelined first/next/last
 * API over OpenSY headers against single hashes, and the page report.
 * (OpenSY block hashes are checked in light mode by test_rx.)  Without
 * the memory for a dataset it SKIPs, saying so; a context that falls back
 * to light mode although the memory was there is a failure, never a
 * silent light-mode run under a full-mode name. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/hex.h"
#include "common/log.h"
#include "common/rx.h"
#include "common/target.h"
#include "worker/bench.h"
#include "tap.h"

/* From RandomX's own tests (tests/tests.cpp), key "test key 000". */
static const struct {
	const char *input, *hash;
} vectors[] = {
	{ "This is a test",
	    "639183aae1bf4c9a35884cb46b09cad9175f04efd7684e7262a0ac1c2f0b4e3f" },
	{ "Lorem ipsum dolor sit amet",
	    "300a0adb47603dedb42228ccb2b211104f4da45af709cd7547cd049e9489c969" },
	{ "sed do eiusmod tempor incididunt ut labore et dolore magna aliqua",
	    "c36d4ed4191e617309867ed66a443be4075014e2b061bcdaf9ce7b721d2b77a8" },
};

/* The dataset (2080 MiB), the cache (256 MiB) and some room. */
#define FULL_MODE_MIB	2400

/* MemAvailable in MiB (-1 unknown); COOPMINE_TEST_MEM_MIB overrides it, so
 * the skip itself can be tested. */
static long
mem_available_mib(void)
{
	const char *env = getenv("COOPMINE_TEST_MEM_MIB");
	char line[128];
	long kib = -1;
	FILE *f;

	if (env != NULL)
		return atol(env);
	if ((f = fopen("/proc/meminfo", "r")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "MemAvailable: %ld kB", &kib) == 1)
			break;
	fclose(f);
	return kib < 0 ? -1 : kib / 1024;
}

int
main(void)
{
	static const char *key = "test key 000";
	struct rx_ctx *ctx;
	struct rx_ctx_info info;
	struct rx_vm *vm;
	uint8_t out[32], blob[80], single[4][32], piped[4][32];
	char hex[65], pg[96], why[128];
	long mib = mem_available_mib();

	log_init("test_rx_full", LOG_LVL_INFO, 0);
	if (mib >= 0 && mib < FULL_MODE_MIB) {
		snprintf(why, sizeof(why), "full mode needs %d MiB of available "
		    "memory, this machine has %ld", FULL_MODE_MIB, mib);
		tap_skip_all(why);
	}
	ctx = rx_ctx_new((const uint8_t *)key, strlen(key), RX_FULL,
	    RX_PAGES_AUTO, 0);
	ok(ctx != NULL, "full-mode context");
	if (ctx == NULL)
		return tap_done();
	rx_ctx_get_info(ctx, &info);
	rx_info_pages_str(&info, pg, sizeof(pg));
	printf("# %s mode, %s, %s, init %.1f s\n", rx_mode_name(info.mode),
	    rx_pages_name(info.pages_used), pg, (double)info.init_ms / 1000.0);
	ok(info.mode == RX_FULL, "full mode asked for, full mode got "
	    "(%ld MiB available)", mib);
	if (info.mode != RX_FULL) {	/* the rest would test light mode */
		rx_ctx_unref(ctx);
		return tap_done();
	}
	ok(info.total_pages == 1168 && info.huge_pages <= info.total_pages,
	    "page report counts cache + dataset: %zu/%zu", info.huge_pages,
	    info.total_pages);
	ok(info.pages_used != RX_PAGES_LARGE || info.huge_pages == info.total_pages,
	    "reserved pages back all of it");
	vm = rx_vm_new(ctx);
	for (size_t i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
		rx_hash(vm, vectors[i].input, strlen(vectors[i].input), out);
		hex_encode(out, 32, hex, sizeof(hex));
		ok(strcmp(hex, vectors[i].hash) == 0, "full: reference vector %zu",
		    i + 1);
	}
	/* Pipelining over OpenSY headers (nonce at 76) under the same key. */
	hex_decode_exact(BENCH_HEADER_HEX, blob, 80);
	for (uint32_t n = 0; n < 4; n++) {
		le32_write(blob + 76, n);
		rx_hash(vm, blob, 80, single[n]);
	}
	le32_write(blob + 76, 0);
	rx_hash_first(vm, blob, 80);
	for (uint32_t n = 1; n < 4; n++) {
		le32_write(blob + 76, n);
		rx_hash_next(vm, blob, 80, piped[n - 1]);
	}
	rx_hash_last(vm, piped[3]);
	ok(memcmp(single, piped, sizeof(single)) == 0,
	    "pipelined first/next/last equals single hashes");
	rx_vm_free(vm);
	rx_ctx_unref(ctx);
	return tap_done();
}
