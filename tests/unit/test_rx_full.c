/* test_rx_full: the one full-mode test of make check (about a minute of
 * dataset initialisation on 2 cores): the RandomX reference vectors
 * through our layer with a 2080 MiB dataset, the pipelined first/next/last
 * API over OpenSY headers against single hashes, and the page report.
 * (OpenSY block hashes are checked in light mode by test_rx.) */
#include "config.h"

#include <stdio.h>
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

int
main(void)
{
	static const char *key = "test key 000";
	struct rx_ctx *ctx;
	struct rx_ctx_info info;
	struct rx_vm *vm;
	uint8_t out[32], blob[80], single[4][32], piped[4][32];
	char hex[65], pg[96];

	log_init("test_rx_full", LOG_LVL_INFO, 0);
	ctx = rx_ctx_new((const uint8_t *)key, strlen(key), RX_FULL,
	    RX_PAGES_AUTO, 0);
	ok(ctx != NULL, "full-mode context");
	if (ctx == NULL)
		return tap_done();
	rx_ctx_get_info(ctx, &info);
	rx_info_pages_str(&info, pg, sizeof(pg));
	printf("# %s mode, %s, %s, init %.1f s\n", rx_mode_name(info.mode),
	    rx_pages_name(info.pages_used), pg, (double)info.init_ms / 1000.0);
	if (info.mode != RX_FULL) {
		/* rx fell back to light (logged): too little memory here. */
		printf("# full mode unavailable on this machine\n");
	}
	ok(info.mode != RX_FULL || (info.total_pages == 1168 &&
	    info.huge_pages <= info.total_pages),
	    "page report counts cache + dataset: %zu/%zu", info.huge_pages,
	    info.total_pages);
	ok(info.pages_used != RX_PAGES_LARGE || info.huge_pages == info.total_pages,
	    "reserved pages back all of it");
	vm = rx_vm_new(ctx);
	for (size_t i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
		rx_hash(vm, vectors[i].input, strlen(vectors[i].input), out);
		hex_encode(out, 32, hex, sizeof(hex));
		ok(strcmp(hex, vectors[i].hash) == 0, "%s: reference vector %zu",
		    rx_mode_name(info.mode), i + 1);
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
