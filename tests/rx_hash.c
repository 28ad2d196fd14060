/*
 * rx_hash: a RandomX hashing filter for the Python system tests, which
 * cannot hash themselves.  Reads lines "SEEDHEX BLOBHEX" and prints the
 * hash of each as hex (light mode, through src/common/rx.h); the context
 * is kept while the seed stays the same.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "common/hex.h"
#include "common/log.h"
#include "common/rx.h"

int
main(void)
{
	char line[2048], out[65], seedhex[256], blobhex[1024];
	uint8_t seed[RX_KEY_MAX], blob[512], hash[32];
	size_t seedlen, bloblen;
	struct rx_ctx *ctx = NULL;
	struct rx_vm *vm = NULL;

	log_init("rx_hash", LOG_LVL_WARN, 0);
	while (fgets(line, sizeof(line), stdin) != NULL) {
		if (sscanf(line, "%255s %1023s", seedhex, blobhex) != 2 ||
		    hex_decode(seedhex, seed, sizeof(seed), &seedlen) != 0 ||
		    hex_decode(blobhex, blob, sizeof(blob), &bloblen) != 0 ||
		    seedlen == 0) {
			printf("error\n");
			fflush(stdout);
			continue;
		}
		if (ctx == NULL || !rx_ctx_has_key(ctx, seed, seedlen)) {
			rx_vm_free(vm);
			rx_ctx_unref(ctx);
			ctx = rx_ctx_new(seed, seedlen, RX_LIGHT, RX_PAGES_AUTO, 1);
			vm = ctx != NULL ? rx_vm_new(ctx) : NULL;
		}
		if (vm == NULL) {
			printf("error\n");
			fflush(stdout);
			continue;
		}
		rx_hash(vm, blob, bloblen, hash);
		hex_encode(hash, 32, out, sizeof(out));
		printf("%s\n", out);
		fflush(stdout);
	}
	rx_vm_free(vm);
	rx_ctx_unref(ctx);
	return 0;
}
