/* test_opensy: common/opensy.c against ground truth nobody on this project
 * wrote: the block a real OpenSY node accepted (assembled_block in
 * tests/data/opensy-regtest.json, rebuilt byte for byte from its template),
 * the node's real blocks (RandomX light mode with the key the key rule
 * gives), OpenSY's own address vectors and the BIP173/BIP350 vectors. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "common/hex.h"
#include "common/opensy.h"
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

static const char *
jstr(const json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));

	return s != NULL ? s : "";
}

/* Compares bytes with a vector's hex, printing both on a mismatch. */
static int
same_hex(const uint8_t *got, size_t len, const char *want)
{
	char *hex = malloc(2 * len + 1);
	int same;

	hex_encode(got, len, hex, 2 * len + 1);
	same = strcmp(hex, want) == 0;
	if (!same)
		printf("#   got  %s\n#   want %s\n", hex, want);
	free(hex);
	return same;
}

static void
check_key_rule(void)
{
	static const struct {
		int64_t h, k;
	} cases[] = {
	    {0, 0},   {31, 0},  {32, 0},   {63, 0},   {64, 32},
	    {95, 32}, {96, 64}, {127, 64}, {128, 96}, {-1, 0},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		ok(opensy_key_height(cases[i].h) == cases[i].k,
		   "key rule: height %lld -> key block %lld (got %lld)",
		   (long long)cases[i].h, (long long)cases[i].k,
		   (long long)opensy_key_height(cases[i].h));
	/* The distance to the next change agrees with the rule itself. */
	for (int64_t h = 0; h < 200; h++) {
		int64_t d = opensy_blocks_to_key_change(h);
		int good = d >= 1 && opensy_key_height(h + d) !=
		    opensy_key_height(h);
		for (int64_t x = h; good && x < h + d; x++)
			good = opensy_key_height(x) == opensy_key_height(h);
		if (!good || h == 0 || h == 63 || h == 64) {
			ok(good, "height %lld: the key changes %lld blocks on",
			    (long long)h, (long long)d);
		}
	}
}

static void
check_assembled(const json_t *a)
{
	struct opensy_template t;
	uint8_t script[OPENSY_SCRIPT_MAX], en[8], cbw[OPENSY_COINBASE_MAX];
	uint8_t cb[OPENSY_COINBASE_MAX], txid[32], root[32], hdr[80];
	uint8_t want_hdr[80], *blk;
	char err[256], disp[65];
	size_t slen, bsize;
	int cbw_len, cb_len, blen;
	uint32_t nonce =
	    (uint32_t)json_integer_value(json_object_get(a, "nonce"));

	ok(opensy_template_parse(json_object_get(a, "gbt"), &t, err,
	                         sizeof(err)) == 0,
	   "assembled_block: template parses (%s)", err);
	ok(t.height == 71 && t.coinbasevalue == 1000000000000LL &&
	       t.bits == 0x207fffff && t.version == 0x20000000 && t.ntx == 0 &&
	       t.nbranch == 0 && t.witness_commitment_len == 38 &&
	       t.mintime == 1795556578u && t.curtime == 1795556602u,
	   "assembled_block: template fields");
	ok(t.longpollid != NULL &&
	       strcmp(t.longpollid,
	              jstr(json_object_get(a, "gbt"), "longpollid")) == 0,
	   "assembled_block: longpollid kept");
	opensy_hash_to_display(t.prev_hash, disp);
	ok(strcmp(disp, jstr(json_object_get(a, "gbt"), "previousblockhash")) ==
	       0,
	   "previousblockhash round-trips through internal order");
	ok(opensy_address_script("script:51", OPENSY_REGTEST, script, &slen,
	                         err, sizeof(err)) == 0 &&
	       slen == 1 && script[0] == 0x51,
	   "script:51 payout is OP_TRUE");
	hex_decode_exact(jstr(a, "extranonce_in_scriptsig"), en, 8);

	cbw_len =
	    opensy_coinbase(&t, script, slen, en, NULL, 1, cbw, sizeof(cbw));
	ok(cbw_len > 0 &&
	       same_hex(cbw, (size_t)cbw_len, jstr(a, "coinbase_with_witness")),
	   "assembled_block: coinbase with witness byte for byte");
	cb_len = opensy_coinbase(&t, script, slen, en, NULL, 0, cb, sizeof(cb));
	ok(cb_len > 0 && cb_len < cbw_len,
	   "coinbase without witness is shorter");
	opensy_txid(cb, (size_t)cb_len, txid);
	opensy_hash_to_display(txid, disp);
	ok(strcmp(disp, jstr(a, "coinbase_txid")) == 0,
	   "assembled_block: coinbase txid (%s)", disp);
	opensy_merkle_root(&t, txid, root);
	ok(same_hex(root, 32, jstr(a, "merkle_root_internal")),
	   "assembled_block: merkle root (internal order)");
	hex_decode_exact(jstr(a, "header"), want_hdr, 80);
	opensy_header(&t, root, le32_read(want_hdr + 68), nonce, hdr);
	ok(same_hex(hdr, 80, jstr(a, "header")),
	   "assembled_block: header byte for byte");
	ok(le32_read(hdr + 68) >= t.mintime, "header time is at least mintime");
	opensy_header_set_nonce(hdr, 0xdeadbeef);
	ok(le32_read(hdr + 76) == 0xdeadbeef && hdr[76] == 0xef,
	   "nonce is little-endian at offset 76");
	opensy_header_set_nonce(hdr, nonce);

	bsize = opensy_block_size(&t, (size_t)cbw_len);
	blk = malloc(bsize);
	blen = opensy_block(&t, hdr, cbw, (size_t)cbw_len, blk, bsize);
	ok(blen == (int)bsize && same_hex(blk, (size_t)blen, jstr(a, "block")),
	   "assembled_block: the whole block submitblock took");
	ok(opensy_block(&t, hdr, cbw, (size_t)cbw_len, blk, bsize - 1) == -1,
	   "opensy_block refuses a buffer one byte short");
	free(blk);
	{
		char *hex = opensy_block_hex(&t, hdr, cbw, (size_t)cbw_len);
		ok(hex != NULL && strcmp(hex, jstr(a, "block")) == 0,
		   "opensy_block_hex gives the same block");
		free(hex);
	}
	ok(opensy_coinbase(&t, script, slen, en, NULL, 1, cbw,
	                   (size_t)cbw_len - 1) == -1,
	   "coinbase refuses a short buffer");

	/* The accepted block's own proof of work. */
	{
		uint8_t key[32], want[32], got[32];
		struct rx_ctx *ctx;
		struct rx_vm *vm;

		hex_decode_exact(jstr(a, "key_hex_internal"), key, 32);
		hex_decode_exact(jstr(a, "pow_hash_raw"), want, 32);
		ctx = rx_ctx_new(key, 32, RX_LIGHT, RX_PAGES_AUTO, 0);
		vm = rx_vm_new(ctx);
		rx_ctx_unref(ctx);
		rx_hash(vm, hdr, 80, got);
		ok(memcmp(got, want, 32) == 0 &&
		       opensy_hash_meets(got, t.target),
		   "assembled_block: RandomX hash of our header meets the "
		   "target");
		rx_vm_free(vm);
	}
	opensy_template_free(&t);
}

/* The hash of block key_height in internal order, from the vectors
 * themselves: the block's own id reversed, or the prev hash of the block
 * after it (the genesis block is not among blocks[]). */
static int
vector_key(const json_t *blocks, int64_t kh, uint8_t key[32])
{
	size_t i;
	json_t *b;

	json_array_foreach(blocks, i, b)
	{
		int64_t h = json_integer_value(json_object_get(b, "height"));
		uint8_t hdr[80];

		if (h == kh)
			return opensy_hash_from_display(jstr(b, "block_hash"),
			                                key);
		if (h == kh + 1) {
			hex_decode_exact(jstr(b, "header"), hdr, 80);
			memcpy(key, hdr + 4, 32);
			return 0;
		}
	}
	return -1;
}

static void
check_blocks(const json_t *blocks)
{
	struct rx_ctx *ctx = NULL;
	struct rx_vm *vm = NULL;
	size_t i;
	json_t *b;

	json_array_foreach(blocks, i, b)
	{
		int64_t h = json_integer_value(json_object_get(b, "height"));
		int64_t kh = opensy_key_height(h);
		uint8_t key[32], vkey[32], hdr[80], want[32], got[32], tgt[32];
		uint8_t id[32];
		char disp[65];

		ok(kh == json_integer_value(json_object_get(b, "key_height")),
		   "block %lld: key rule gives key height %lld", (long long)h,
		   (long long)kh);
		hex_decode_exact(jstr(b, "key_hex_internal"), vkey, 32);
		ok(vector_key(blocks, kh, key) == 0 &&
		       memcmp(key, vkey, 32) == 0,
		   "block %lld: key = hash of block %lld, internal order",
		   (long long)h, (long long)kh);
		hex_decode_exact(jstr(b, "header"), hdr, 80);
		hex_decode_exact(jstr(b, "pow_hash_raw"), want, 32);
		opensy_sha256d(hdr, 80, id);
		opensy_hash_to_display(id, disp);
		ok(strcmp(disp, jstr(b, "block_hash")) == 0,
		   "block %lld: id is sha256d(header) reversed", (long long)h);
		if (ctx == NULL || !rx_ctx_has_key(ctx, key, 32)) {
			rx_vm_free(vm);
			if (ctx != NULL)
				rx_ctx_unref(ctx);
			ctx = rx_ctx_new(key, 32, RX_LIGHT, RX_PAGES_AUTO, 0);
			vm = rx_vm_new(ctx);
		}
		rx_hash(vm, hdr, 80, got);
		ok(opensy_bits_to_target(le32_read(hdr + 72), tgt) == 0 &&
		       memcmp(got, want, 32) == 0 &&
		       opensy_hash_meets(got, tgt),
		   "block %lld: RandomX(header) = pow_hash_raw, meets its bits",
		   (long long)h);
	}
	rx_vm_free(vm);
	if (ctx != NULL)
		rx_ctx_unref(ctx);
}

static void
check_targets(void)
{
	uint8_t t[32], h[32];
	char disp[65];

	ok(opensy_bits_to_target(0x207fffff, t) == 0, "bits 207fffff");
	opensy_hash_to_display(t, disp);
	ok(strcmp(disp, "7fffff0000000000000000000000000000000000000000000000"
	                "000000000000") == 0,
	   "regtest target (%s)", disp);
	ok(opensy_bits_to_target(0x1d00ffff, t) == 0 && t[26] == 0xff &&
	       t[27] == 0xff && t[28] == 0 && t[25] == 0,
	   "bits 1d00ffff");
	ok(opensy_bits_to_target(0x20800000, t) == -1, "negative bits refused");
	ok(opensy_bits_to_target(0x00000000, t) == -1, "zero target refused");
	ok(opensy_bits_to_target(0x2300ffff, t) == -1, "overflow refused");
	opensy_bits_to_target(0x207fffff, t);
	memcpy(h, t, 32);
	ok(opensy_hash_meets(h, t), "hash == target meets");
	h[31] = 0x7e; /* top byte lower, the rest higher */
	memset(h, 0xff, 31);
	ok(opensy_hash_meets(h, t), "hash below target meets");
	memcpy(h, t, 32);
	h[0] = 1; /* target + 1 */
	ok(!opensy_hash_meets(h, t), "hash one above target fails");
}

/* A non-witness transaction whose only difference is n. */
static size_t
fake_tx(uint8_t *out, unsigned n, int witness)
{
	size_t o = 0;

	le32_write(out, 2);
	o = 4;
	if (witness) {
		out[o++] = 0;
		out[o++] = 1;
	}
	out[o++] = 1;
	memset(out + o, 0x11, 32);
	out[o] = (uint8_t)n;
	o += 32;
	le32_write(out + o, n);
	o += 4;
	out[o++] = 0; /* empty scriptSig */
	le32_write(out + o, 0xfffffffe);
	o += 4;
	out[o++] = 1;
	le64_write(out + o, 1000u + n);
	o += 8;
	out[o++] = 1;
	out[o++] = 0x51;
	if (witness) {
		out[o++] = 1; /* one item of 3 bytes */
		out[o++] = 3;
		out[o++] = 0xaa;
		out[o++] = 0xbb;
		out[o++] = (uint8_t)n;
	}
	le32_write(out + o, 0);
	return o + 4;
}

/* A template text around n fake transactions (every third with witness). */
static char *
fake_template(unsigned n, const char *override_key, const char *override_val)
{
	json_t *o = json_object(), *txs = json_array();
	char *text;

	for (unsigned i = 0; i < n; i++) {
		uint8_t raw[128], id[32], nowit[128];
		char hex[257], disp[65];
		size_t len = fake_tx(raw, i, i % 3 == 2);
		json_t *tx = json_object();

		hex_encode(raw, len, hex, sizeof(hex));
		json_object_set_new(tx, "data", json_string(hex));
		opensy_sha256d(nowit, fake_tx(nowit, i, 0), id);
		opensy_hash_to_display(id, disp);
		json_object_set_new(tx, "txid", json_string(disp));
		opensy_sha256d(raw, len, id);
		opensy_hash_to_display(id, disp);
		json_object_set_new(tx, "hash", json_string(disp));
		json_object_set_new(tx, "fee", json_integer(100 + i));
		json_array_append_new(txs, tx);
	}
	json_object_set_new(o, "version", json_integer(0x20000000));
	json_object_set_new(o, "previousblockhash",
	                    json_string("b6659836b5ed5e4c70000dce84aca8e9fa7768"
	                                "d9e8882dd37b5556257cbaaaba"));
	json_object_set_new(o, "bits", json_string("207fffff"));
	json_object_set_new(
	    o, "target",
	    json_string("7fffff00000000000000000"
	                "00000000000000000000000000000000000000000"));
	json_object_set_new(o, "height", json_integer(71));
	json_object_set_new(o, "curtime", json_integer(1795556602));
	json_object_set_new(o, "mintime", json_integer(1795556578));
	json_object_set_new(o, "coinbasevalue", json_integer(5000000000LL));
	json_object_set_new(o, "transactions", txs);
	if (override_key != NULL) {
		if (override_val == NULL)
			json_object_del(o, override_key);
		else
			json_object_set_new(
			    o, override_key,
			    json_loads(override_val, JSON_DECODE_ANY, NULL));
	}
	text = json_dumps(o, 0);
	json_decref(o);
	return text;
}

/* The merkle root the slow way: every level in full. */
static void
naive_root(const struct opensy_template *t, const uint8_t cb[32],
           uint8_t root[32])
{
	size_t n = t->ntx + 1;
	uint8_t(*lv)[32] = calloc(n + 1, 32);

	memcpy(lv[0], cb, 32);
	for (size_t i = 0; i < t->ntx; i++)
		memcpy(lv[i + 1], t->txs[i].txid, 32);
	while (n > 1) {
		if (n % 2)
			memcpy(lv[n], lv[n - 1], 32);
		for (size_t i = 0; i < n; i += 2)
			opensy_sha256d(lv[i], 64, lv[i / 2]);
		n = (n + 1) / 2;
	}
	memcpy(root, lv[0], 32);
	free(lv);
}

static void
check_merkle(void)
{
	static const size_t expect_branch[] = {0, 1, 2, 2, 3, 3, 3, 3, 4, 4};
	uint8_t cb[32], a[32], b[32];

	memset(cb, 0x5a, 32);
	for (unsigned n = 0; n < 10; n++) {
		struct opensy_template t;
		char err[256] = "";
		char *text = fake_template(n, NULL, NULL);
		int64_t fees = 0;

		ok(opensy_template_parse_text(text, &t, err, sizeof(err)) == 0,
		   "template with %u transactions parses (%s)", n, err);
		free(text);
		naive_root(&t, cb, a);
		opensy_merkle_root(&t, cb, b);
		for (unsigned i = 0; i < n; i++)
			fees += 100 + i;
		ok(memcmp(a, b, 32) == 0 && t.nbranch == expect_branch[n] &&
		       t.total_fees == fees,
		   "%u transactions: merkle root from a %zu-hash branch, fees "
		   "%lld",
		   n, t.nbranch, (long long)t.total_fees);
		opensy_template_free(&t);
	}
}

static void
check_block_with_txs(void)
{
	struct opensy_template t;
	uint8_t script[1] = {0x51}, en[8] = {1, 2, 3, 4, 5, 6, 7, 8};
	uint8_t cbw[OPENSY_COINBASE_MAX], hdr[80], root[32] = {0}, *blk;
	char err[256], *text = fake_template(300, NULL, NULL);
	int cbw_len, blen;
	size_t off;

	ok(opensy_template_parse_text(text, &t, err, sizeof(err)) == 0,
	   "300-transaction template parses");
	free(text);
	cbw_len =
	    opensy_coinbase(&t, script, 1, en, "coopmine", 1, cbw, sizeof(cbw));
	opensy_header(&t, root, t.curtime, 7, hdr);
	blen = opensy_block(&t, hdr, cbw, (size_t)cbw_len, NULL, 0);
	ok(blen == -1, "block into a zero buffer refused");
	blk = malloc(opensy_block_size(&t, (size_t)cbw_len));
	blen = opensy_block(&t, hdr, cbw, (size_t)cbw_len, blk,
	                    opensy_block_size(&t, (size_t)cbw_len));
	ok(blen > 0 && blk[80] == 0xfd && blk[81] == 0x2d && blk[82] == 0x01,
	   "301 transactions: compact size fd2d01");
	off = 83 + (size_t)cbw_len;
	ok(memcmp(blk + off, t.txs[0].data, t.txs[0].len) == 0 &&
	       memcmp(blk + (size_t)blen - t.txs[299].len, t.txs[299].data,
	              t.txs[299].len) == 0,
	   "template transactions follow the coinbase");
	free(blk);
	opensy_template_free(&t);
}

/* scriptSig bytes of a coinbase serialized without witness. */
static void
check_height(int64_t h, const char *want_prefix)
{
	struct opensy_template t;
	uint8_t script[1] = {0x51}, en[8] = {0}, cb[OPENSY_COINBASE_MAX];
	char hex[64];
	int len;

	memset(&t, 0, sizeof(t));
	t.height = h;
	t.coinbasevalue = 1;
	len = opensy_coinbase(&t, script, 1, en, NULL, 0, cb, sizeof(cb));
	hex_encode(cb + 42, strlen(want_prefix) / 2, hex, sizeof(hex));
	ok(len > 0 && strcmp(hex, want_prefix) == 0 &&
	       cb[41] == strlen(want_prefix) / 2 + 9,
	   "BIP34 height %lld -> %s (got %s)", (long long)h, want_prefix, hex);
}

static void
check_coinbase_parts(void)
{
	struct opensy_template t;
	uint8_t script[1] = {0x51}, en[8] = {9, 9, 9, 9, 9, 9, 9, 9};
	uint8_t cb[OPENSY_COINBASE_MAX];
	int len;

	/* Bitcoin's CScript() << nHeight: OP_0, OP_1..OP_16, then minimal
	 * little-endian numbers with a sign byte when the top bit is set. */
	check_height(0, "00");
	check_height(1, "51");
	check_height(16, "60");
	check_height(17, "0111");
	check_height(127, "017f");
	check_height(128, "028000");
	check_height(255, "02ff00");
	check_height(256, "020001");
	check_height(32767, "02ff7f");
	check_height(32768, "03008000");
	check_height(8388608, "0400008000");
	check_height(1000000, "0340420f");

	memset(&t, 0, sizeof(t));
	t.height = 100;
	t.coinbasevalue = 5;
	len = opensy_coinbase(&t, script, 1, en, "CoopMine", 0, cb, sizeof(cb));
	ok(len > 0 && cb[41] == 2 + 9 + 9 && cb[42] == 1 && cb[43] == 100 &&
	       cb[44] == 8 && cb[53] == 8 &&
	       memcmp(cb + 54, "CoopMine", 8) == 0,
	   "scriptSig: height, extranonce push, tag push");
	ok(cb[62 + 4] == 1, "no witness commitment: one output");
	ok(opensy_coinbase(&t, script, 1, en, "123456789012345678901", 0, cb,
	                   sizeof(cb)) == -1,
	   "a 21-byte tag is refused");
	ok(opensy_coinbase(&t, script, 1, en, "12345678901234567890", 0, cb,
	                   sizeof(cb)) > 0,
	   "a 20-byte tag is taken");
	ok(opensy_coinbase(&t, script, 0, en, NULL, 0, cb, sizeof(cb)) == -1,
	   "an empty payout script is refused");
}

static void
check_malformed(void)
{
	static const struct {
		const char *key, *val, *msg;
	} cases[] = {
	    {"previousblockhash", NULL, "previousblockhash: missing"},
	    {"previousblockhash", "\"b6659836\"",
	     "previousblockhash: expected 64"},
	    {"previousblockhash",
	     "\"zz659836b5ed5e4c70000dce84aca8e9fa7768d9e8882dd37b5556257cbaaab"
	     "a\"",
	     "previousblockhash: expected 64"},
	    {"previousblockhash", "17", "previousblockhash: expected a string"},
	    {"bits", "\"7fffff\"", "bits: expected 8"},
	    {"bits", "\"20800000\"", "bits: 20800000 is not a valid target"},
	    {"target", "\"00ff\"", "target: expected 64"},
	    {"target",
	     "\"0000ff000000000000000000000000000000000000000000000000000000000"
	     "0\"",
	     "target: does not match"},
	    {"height", NULL, "height: missing"},
	    {"height", "-1", "height: -1 out of range"},
	    {"height", "\"71\"", "height: expected an integer"},
	    {"curtime", NULL, "curtime: missing"},
	    {"coinbasevalue", NULL, "coinbasevalue: missing"},
	    {"coinbasevalue", "-1", "coinbasevalue: -1 out of range"},
	    {"coinbasevalue", "2100000000000001",
	     "coinbasevalue: 2100000000000001 out of range"},
	    {"default_witness_commitment", "\"6a2\"",
	     "default_witness_commitment: expected"},
	    {"transactions", NULL, "transactions: missing"},
	    {"transactions", "{}", "transactions: expected an array"},
	    {"transactions", "[{\"data\":\"00\"}]",
	     "transactions[0].txid: missing"},
	    {"transactions",
	     "[{\"data\":\"0200000001\",\"txid\":\"00\",\"hash\":\"00\"}]",
	     "transactions[0].data: bad length"},
	};
	struct opensy_template t;
	char err[256];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *text = fake_template(1, cases[i].key, cases[i].val);
		int r;

		err[0] = '\0';
		r = opensy_template_parse_text(text, &t, err, sizeof(err));
		ok(r == -1 && strstr(err, cases[i].msg) != NULL &&
		       t.txs == NULL,
		   "malformed template refused: \"%s\"", err);
		opensy_template_free(&t);
		free(text);
	}
	/* A transaction whose txid or hash does not match its data. */
	{
		char *text = fake_template(3, NULL, NULL);
		char *p = strstr(text, "\"txid\"");

		p = strchr(p + 6, '"') + 1; /* the value's first digit */
		*p = *p == '0' ? '1' : '0';
		ok(opensy_template_parse_text(text, &t, err, sizeof(err)) ==
		           -1 &&
		       strstr(err, "txid: does not match its data") != NULL,
		   "wrong txid refused: \"%s\"", err);
		free(text);
	}
	ok(opensy_template_parse_text("{\"version\": ", &t, err, sizeof(err)) ==
	           -1 &&
	       strstr(err, "not JSON") != NULL,
	   "not JSON: \"%s\"", err);
	ok(opensy_template_parse_text("[1]", &t, err, sizeof(err)) == -1 &&
	       strstr(err, "expected a JSON object") != NULL,
	   "not an object");
}

static void
check_bech32(void)
{
	/* BIP173 (bech32) and BIP350 (bech32m) test vectors. */
	static const char *valid32[] = {
	    "A12UEL5L",
	    "a12uel5l",
	    "an83characterlonghumanreadablepartthatcontainsthenumber1andtheexcl"
	    "udedcharactersbio1tt5tgs",
	    "abcdef1qpzry9x8gf2tvdw0s3jn54khce6mua7lmqqqxw",
	    "11qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqq"
	    "qqqqqqqqqqqqqqqqqqc8247j",
	    "split1checkupstagehandshakeupstreamerranterredcaperred2y9e3w",
	    "?1ezyfcl",
	};
	static const char *valid32m[] = {
	    "A1LQFN3A",
	    "a1lqfn3a",
	    "an83characterlonghumanreadablepartthatcontainsthetheexcludedcharac"
	    "tersbioandnumber11sg7hg6",
	    "abcdef1l7aum6echk45nj3s0wdvt2fg8x9yrzpqzd3ryx",
	    "11llllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllll"
	    "llllllllllllllllllludsr8",
	    "split1checkupstagehandshakeupstreamerranterredcaperredlc445v",
	    "?1v759aa",
	};
	static const char *invalid[] = {
	    " 1nwldj5",
	    "\x7f"
	    "1axkwrx",
	    "\x80"
	    "1eym55h",
	    "an84characterslonghumanreadablepartthatcontainsthenumber1andtheexc"
	    "ludedcharactersbio1569pvx",
	    "pzry9x0s0muk",
	    "1pzry9x0s0muk",
	    "x1b4n0q5v",
	    "li1dgmt3",
	    "de1lg7wt\xff",
	    "A1G7SGD8",
	    "10a06t8",
	    "1qzzfhee",
	    "a12UEL5L",
	    "A12uEL5L",
	    "abcdef1qpzrz9x8gf2tvdw0s3jn54khce6mua7lmqqqxw",
	    " 1xj0phk",
	    "\x7f"
	    "1g6xzxy",
	    "qyrz8wqd2c9m",
	    "1qyrz8wqd2c9m",
	    "y1b0jsk6g",
	    "lt1igcx5c0",
	    "in1muywd",
	    "mm1crxm3i",
	    "au1s5cgom",
	    "M1VUXWEZ",
	    "16plkw9",
	    "1p2gdwpf",
	};
	char hrp[100], err[128];
	uint8_t v[100];
	size_t nv;

	for (size_t i = 0; i < sizeof(valid32) / sizeof(valid32[0]); i++)
		ok(opensy_bech32_decode(valid32[i], hrp, sizeof(hrp), v, &nv,
		                        sizeof(v), err,
		                        sizeof(err)) == OPENSY_BECH32,
		   "BIP173 valid: %.24s", valid32[i]);
	for (size_t i = 0; i < sizeof(valid32m) / sizeof(valid32m[0]); i++)
		ok(opensy_bech32_decode(valid32m[i], hrp, sizeof(hrp), v, &nv,
		                        sizeof(v), err,
		                        sizeof(err)) == OPENSY_BECH32M,
		   "BIP350 valid: %.24s", valid32m[i]);
	for (size_t i = 0; i < sizeof(invalid) / sizeof(invalid[0]); i++) {
		int r = opensy_bech32_decode(invalid[i], hrp, sizeof(hrp), v,
		                             &nv, sizeof(v), err, sizeof(err));
		ok(r == -1, "BIP173/350 invalid #%zu refused (%s)", i, err);
	}
}

static void
check_addresses(void)
{
	/* OpenSY's own address vectors (src/test/data/key_io_valid.json in
	 * github.com/opensyria/OpenSY): address, network, scriptPubKey. */
	static const struct {
		const char *addr;
		enum opensy_net net;
		const char *script;
	} valid[] = {
	    {"FLZSavFrz5Bm7mTxUhDScbDxZYpyjQedMj", OPENSY_MAIN,
	     "76a914a19331b7b2627e663e25a7b001e4c0dcc5e21bc788ac"},
	    {"Ff2vj1QD9GoV7BB9i8ipPjongyFFEketET", OPENSY_MAIN,
	     "a9146c382dcdf5b284760c8e3fead91f7422cd76aa8787"},
	    {"syl1qvyq0cc6rahyvsazfdje0twl7ez82ndmut57kjf", OPENSY_MAIN,
	     "00146100fc6343edc8c874496cb2f5bbfec88ea9b77c"},
	    {"syl1qyucykdlhp62tezs0hagqury402qwhk589q80tqs5myh3rxq34nwqjt2gvh",
	     OPENSY_MAIN,
	     "002027304b37f70e94bc8a0fbf500e0c957a80ebda87280ef58214d92f119811a"
	     "cdc"},
	    {"syl1p83n3au0rjylefxq2nc2xh2y4jzz4pm6zxj4mw5pagdjjr2a9f36sl04vn4",
	     OPENSY_MAIN,
	     "51203c671ef1e3913f94980a9e146ba895908550ef4234abb7503d436521aba54"
	     "c75"},
	    {"syl1z2rks4jgppg", OPENSY_MAIN, "520250ed"},
	    {"fWGnGYezP6FXsKZ2d4v3jJzLhZZGHan73m", OPENSY_TEST,
	     "76a914b14ce7070b53cb0e4b5b5f6e253e876990aeca2e88ac"},
	    {"fhPBPSbJ69HxUsARkWTwQbPu3xn1js3grD", OPENSY_TEST,
	     "a9142b2c149cde619eae3d7fe995243b76a3417541aa87"},
	    {"tsyl1qcrh3yqn4nlleplcez2yndq2ry8h9ncg3t0jqef", OPENSY_TEST,
	     "0014c0ef1202759fff90ff19128936814321ee59e111"},
	    {"tsyl1rgv5m6uvdk3kc7qsuz0c79v88ych8k9cq", OPENSY_TEST,
	     "53104329bd718db46d8f021c13f1e2b0e726"},
	    {"fEHaLzPsar4CHdUC8J457D6jbiXJqSpZ1x", OPENSY_REGTEST,
	     "76a91401f15a4cc063dae4f4d56b89bfbc8bcc9ae5387c88ac"},
	    {"fiTGGUN1XnD8H9rxjVFaPaeGCXJXq6jxsW", OPENSY_REGTEST,
	     "a91436e9f191e0b75036a77f65e2eaa4752443233fbe87"},
	    {"rsyl1qdavt4j2sd7dlhqsavtnfxvzppw6k7qy9jk0hkw", OPENSY_REGTEST,
	     "00146f58bac9506f9bfb821d62e69330410bb56f0085"},
	    {"RSYL1QDAVT4J2SD7DLHQSAVTNFXVZPPW6K7QY9JK0HKW", OPENSY_REGTEST,
	     "00146f58bac9506f9bfb821d62e69330410bb56f0085"},
	    {"rsyl1pfwxjqvtt4tcxrtdluukfmy2dv7xd2qzdfy6kajv5nwn4yam3wxkqlwhpfk",
	     OPENSY_REGTEST,
	     "51204b8d20316baaf061adbfe72c9d914d678cd5004d49356ec9949ba75277717"
	     "1ac"},
	    {"rsyl1sx6p8njlx7h9mc2agz4yg82dzne23050ncq72cneeecez2pst8mahn8xecsf"
	     "8g6hzmy0rdf",
	     OPENSY_REGTEST,
	     "6028368279cbe6f5cbbc2ba8154883a9a29e5517d1f3c03cac4f39ce3225060b3"
	     "efb799cd9c412746ae2"},
	};
	/* Refusals: the message must say which check failed.  The
	 * bad-length and wrong-variant strings have valid checksums (made
	 * with an independent encoder, tests' own). */
	static const struct {
		const char *addr;
		enum opensy_net net;
		const char *msg;
	} bad[] = {
	    {"FLZSavFrz5Bm7mTxUhDScbDxZYpyjQedMk", OPENSY_MAIN, "bad checksum"},
	    {"syl1qvyq0cc6rahyvsazfdje0twl7ez82ndmut57kjg", OPENSY_MAIN,
	     "bad checksum"},
	    {"rsyl1qdavt4j2sd7dlhqsavtnfxvzppw6k7qy9jk0hkq", OPENSY_REGTEST,
	     "bad checksum"},
	    {"FLZSavFrz5Bm7mTxUhDScbDxZYpyjQedMj", OPENSY_REGTEST,
	     "wrong network: address is for main, not regtest"},
	    {"fEHaLzPsar4CHdUC8J457D6jbiXJqSpZ1x", OPENSY_MAIN,
	     "wrong network: address is for test, not main"},
	    {"syl1qvyq0cc6rahyvsazfdje0twl7ez82ndmut57kjf", OPENSY_REGTEST,
	     "wrong network: address is for main, not regtest"},
	    {"tsyl1qcrh3yqn4nlleplcez2yndq2ry8h9ncg3t0jqef", OPENSY_REGTEST,
	     "wrong network: address is for test, not regtest"},
	    {"rsyl1qdavt4j2sd7dlhqsavtnfxvzppw6k7qy9jk0hkw", OPENSY_MAIN,
	     "wrong network: address is for regtest, not main"},
	    {"bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4", OPENSY_MAIN,
	     "wrong network: bech32 prefix 'bc'"},
	    {"16L5yRNPTuciSgXGHqYwn9N6NeoKqopAu", OPENSY_MAIN,
	     "unknown address version byte 0"},
	    {"rsyl1qqypqxpq9qcrsszg2pvxq6rs0zqg3yyc5z552vt9n", OPENSY_REGTEST,
	     "bad length: 21-byte witness program"},
	    {"syl1pqypqxpq9qcrsszg2pvxq6rs0zqg3yyc5z5tpwxqergd3c8g7ruszzg3rysjj"
	     "vfeg9ye5kflw",
	     OPENSY_MAIN, "bad length"},
	    {"3ujGLfAse5XAh5FaFPiRpv3ZSyQbhtGozizW", OPENSY_REGTEST,
	     "bad length: 26 bytes"},
	    {"9fLQFZnw7UrMi9bP7Nrog8FXLKqQcNTTh", OPENSY_REGTEST,
	     "bad length: 24 bytes"},
	    {"rsyl1pqypqxpq9qcrsszg2pvxq6rs0zqg3yyc5z5tpwxqergd3c8g7rusq0pq8m9",
	     OPENSY_REGTEST, "needs bech32m"},
	    {"rsyl1qqypqxpq9qcrsszg2pvxq6rs0zqg3yyc5ck5rpz", OPENSY_REGTEST,
	     "needs bech32"},
	    {"rsyl1qdavt4j2sd7DLHQSAVTNFXVZPPW6K7QY9JK0HKW", OPENSY_REGTEST,
	     "mixed case"},
	    {"fEHaLzPsar4CHdUC8J457D6jbiXJqSpZ0x", OPENSY_REGTEST,
	     "bad character '0'"},
	    {"", OPENSY_REGTEST, "empty address"},
	    {"script:5", OPENSY_REGTEST, "script: expected"},
	};
	uint8_t script[OPENSY_SCRIPT_MAX];
	char err[256], addr[100];
	size_t len;

	for (size_t i = 0; i < sizeof(valid) / sizeof(valid[0]); i++) {
		int r;

		err[0] = '\0';
		r = opensy_address_script(valid[i].addr, valid[i].net, script,
		                          &len, err, sizeof(err));
		ok(r == 0 && same_hex(script, len, valid[i].script),
		   "%s address %.20s... -> script (%s)",
		   opensy_net_name(valid[i].net), valid[i].addr, err);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int r;

		err[0] = '\0';
		r = opensy_address_script(bad[i].addr, bad[i].net, script, &len,
		                          err, sizeof(err));
		ok(r == -1 && strstr(err, bad[i].msg) != NULL,
		   "refused %.24s on %s: \"%s\"", bad[i].addr,
		   opensy_net_name(bad[i].net), err);
	}
	/* Encoding reproduces OpenSY's vectors. */
	hex_decode_exact("6f58bac9506f9bfb821d62e69330410bb56f0085", script,
	                 20);
	ok(opensy_segwit_address(OPENSY_REGTEST, 0, script, 20, addr,
	                         sizeof(addr)) == 0 &&
	       strcmp(addr, "rsyl1qdavt4j2sd7dlhqsavtnfxvzppw6k7qy9jk0hkw") ==
	           0,
	   "segwit v0 encode (%s)", addr);
	hex_decode_exact("3c671ef1e3913f94980a9e146ba895908550ef4234abb7503d"
	                 "436521aba54c75",
	                 script, 32);
	ok(opensy_segwit_address(OPENSY_MAIN, 1, script, 32, addr,
	                         sizeof(addr)) == 0 &&
	       strcmp(addr, "syl1p83n3au0rjylefxq2nc2xh2y4jz"
	                    "z4pm6zxj4mw5pagdjjr2a9f36sl04vn4") == 0,
	   "segwit v1 encode (%s)", addr);
	ok(opensy_segwit_address(OPENSY_MAIN, 0, script, 21, addr,
	                         sizeof(addr)) == -1,
	   "segwit v0 with 21 bytes not encoded");
	{
		enum opensy_net n;
		ok(opensy_net_parse("regtest", &n) == 0 &&
		       n == OPENSY_REGTEST &&
		       opensy_net_parse("mainnet", &n) == 0 &&
		       n == OPENSY_MAIN &&
		       opensy_net_parse("signet", &n) == 0 &&
		       n == OPENSY_TEST &&
		       opensy_net_parse("testnet4", &n) == 0 &&
		       n == OPENSY_TEST &&
		       opensy_net_parse("bitcoin", &n) == -1,
		   "network names, as"
		   " getblockchaininfo's chain");
	}
}

int
main(void)
{
	json_t *v = load_vectors();

	check_key_rule();
	check_targets();
	ok(v != NULL, "vectors load");
	if (v != NULL) {
		check_assembled(json_object_get(v, "assembled_block"));
		check_blocks(json_object_get(v, "blocks"));
		json_decref(v);
	}
	check_merkle();
	check_block_with_txs();
	check_coinbase_parts();
	check_malformed();
	check_bech32();
	check_addresses();
	return tap_done();
}
