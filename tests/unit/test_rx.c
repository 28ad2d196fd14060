/* test_rx: our RandomX layer against ground truth: the RandomX reference
 * vector and real OpenSY regtest blocks (tests/data/opensy-regtest.json),
 * in light mode; full mode when COOPMINE_TEST_FULL=1 (the worker's tests
 * cover full mode in make check). */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "common/hex.h"
#include "common/rx.h"
#include "common/target.h"
#include "tap.h"

static json_t *
load_vectors(void)
{
	const char *src = getenv("COOPMINE_SRCDIR");
	char path[4096];
	json_error_t jerr;

	snprintf(path, sizeof(path), "%s/tests/data/opensy-regtest.json",
	    src != NULL ? src : ".");
	return json_load_file(path, 0, &jerr);
}

/* Mappings of exactly 2 MiB, 2 MiB-aligned, advised for huge pages (the
 * kernel marks them "hg" in VmFlags): what a VM's scratchpad gets when
 * the RandomX memory is on transparent huge pages (rx.c). */
static int
thp_2m_mappings(void)
{
	FILE *f = fopen("/proc/self/smaps", "r");
	char line[512];
	unsigned long a, b;
	int cand = 0, n = 0;

	if (f == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL) {
		if (sscanf(line, "%lx-%lx ", &a, &b) == 2 &&
		    strchr(line, '-') < strchr(line, ' '))
			cand = b - a == 2UL << 20 && a % (2UL << 20) == 0;
		else if (cand && strncmp(line, "VmFlags:", 8) == 0 &&
		    strstr(line, " hg") != NULL)
			n++;
	}
	fclose(f);
	return n;
}

static void
check_reference(enum rx_mode mode)
{
	static const char *key = "test key 000", *input = "This is a test";
	uint8_t out[32];
	char hex[65];
	struct rx_ctx *ctx = rx_ctx_new((const uint8_t *)key, strlen(key), mode,
	    RX_PAGES_AUTO, 0);
	struct rx_vm *vm;

	ok(ctx != NULL, "%s context for the reference key", rx_mode_name(mode));
	if (ctx == NULL)
		return;
	{
		struct rx_ctx_info info;
		int before = thp_2m_mappings();

		rx_ctx_get_info(ctx, &info);
		vm = rx_vm_new(ctx);
		if (info.pages_used == RX_PAGES_THP)
			ok(thp_2m_mappings() > before, "%s: the VM's scratchpad "
			    "is on 2 MiB-aligned memory advised for transparent "
			    "huge pages", rx_mode_name(mode));
		else
			printf("# skip scratchpad check: RandomX memory is on %s, "
			    "not transparent huge pages\n",
			    rx_pages_name(info.pages_used));
	}
	rx_ctx_unref(ctx);	/* the VM keeps its own reference */
	rx_hash(vm, input, strlen(input), out);
	hex_encode(out, 32, hex, sizeof(hex));
	ok(strcmp(hex, "639183aae1bf4c9a35884cb46b09cad9175f04efd7684e7262a0ac1c2f0b4e3f")
	    == 0, "%s: RandomX reference vector (%s)", rx_mode_name(mode), hex);
	rx_vm_free(vm);
}

int
main(void)
{
	json_t *v = load_vectors(), *blocks, *b;
	struct rx_ctx *ctx = NULL;
	struct rx_vm *vm = NULL;
	size_t i;

	check_reference(RX_LIGHT);
	if (getenv("COOPMINE_TEST_FULL") != NULL)
		check_reference(RX_FULL);

	ok(v != NULL, "vectors load");
	if (v == NULL)
		return tap_done();
	blocks = json_object_get(v, "blocks");
	json_array_foreach(blocks, i, b) {
		uint8_t key[32], header[80], want[32], got[32], tgt[32];
		int height = (int)json_integer_value(json_object_get(b, "height"));
		uint32_t bits = (uint32_t)strtoul(json_string_value(
		    json_object_get(b, "bits")), NULL, 16);

		hex_decode_exact(json_string_value(json_object_get(b, "key_hex_internal")),
		    key, 32);
		hex_decode_exact(json_string_value(json_object_get(b, "header")), header, 80);
		hex_decode_exact(json_string_value(json_object_get(b, "pow_hash_raw")),
		    want, 32);
		if (ctx == NULL || !rx_ctx_has_key(ctx, key, 32)) {
			rx_vm_free(vm);
			if (ctx != NULL)
				rx_ctx_unref(ctx);
			ctx = rx_ctx_new(key, 32, RX_LIGHT, RX_PAGES_AUTO, 0);
			vm = rx_vm_new(ctx);
		}
		rx_hash(vm, header, 80, got);
		ok(memcmp(got, want, 32) == 0, "block %d: RandomX hash of the header",
		    height);
		ok(le32_read(header + 76) == (uint32_t)json_integer_value(
		    json_object_get(b, "nonce")), "block %d: nonce at offset 76, LE", height);
		ok(le32_read(header + 72) == bits, "block %d: nBits at offset 72", height);
		nbits_to_target256(bits, tgt);
		ok(hash_meets_target256(got, tgt), "block %d: hash meets nBits", height);
	}
	rx_vm_free(vm);
	rx_ctx_unref(ctx);
	json_decref(v);
	return tap_done();
}
