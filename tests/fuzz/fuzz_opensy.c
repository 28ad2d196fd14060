/*
 * fuzz_opensy.c: libFuzzer harness for common/opensy.c's parsers of what
 * the node and the operator hand us: a getblocktemplate result (then the
 * coinbase, merkle root and block built from it) and a payout address.
 * Input: first byte 'A'..'C' -> the rest is an address for main, test or
 * regtest; anything else -> the rest is template JSON.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/opensy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fuzz_template(const char *text)
{
	static const uint8_t script[1] = {0x51}, en[8] = {1};
	struct opensy_template t;
	uint8_t cb[OPENSY_COINBASE_MAX], cbw[OPENSY_COINBASE_MAX], txid[32];
	uint8_t root[32], hdr[80], *blk;
	char err[256];
	int cb_len, cbw_len;
	size_t need;

	if (opensy_template_parse_text(text, &t, err, sizeof(err)) != 0) {
		if (memchr(err, '\0', sizeof(err)) == NULL || t.txs != NULL ||
		    t.branch != NULL || t.longpollid != NULL)
			abort();
		return;
	}
	/* what the backend is handed must be what the checks promise */
	if (t.coinbasevalue < 0 || t.coinbasevalue > OPENSY_MAX_MONEY ||
	    t.height < 0 || t.witness_commitment_len > OPENSY_SCRIPT_MAX ||
	    (t.ntx + 1 > 1 && (size_t)1 << t.nbranch < t.ntx + 1) ||
	    (t.nbranch > 0 && (size_t)1 << (t.nbranch - 1) >= t.ntx + 1))
		abort();
	cb_len = opensy_coinbase(&t, script, 1, en, "fuzz", 0, cb, sizeof(cb));
	cbw_len =
	    opensy_coinbase(&t, script, 1, en, "fuzz", 1, cbw, sizeof(cbw));
	if (cb_len <= 0 || cbw_len <= cb_len)
		abort();
	opensy_txid(cb, (size_t)cb_len, txid);
	opensy_merkle_root(&t, txid, root);
	opensy_header(&t, root, t.curtime, 0, hdr);
	need = opensy_block_size(&t, (size_t)cbw_len);
	if ((blk = malloc(need)) == NULL)
		abort();
	if (opensy_block(&t, hdr, cbw, (size_t)cbw_len, blk, need) != (int)need)
		abort();
	free(blk);
	opensy_template_free(&t);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s;

	if (size < 1 || (s = malloc(size)) == NULL)
		return 0;
	memcpy(s, data + 1, size - 1);
	s[size - 1] = '\0';
	if (data[0] >= 'A' && data[0] <= 'C') {
		uint8_t script[OPENSY_SCRIPT_MAX];
		char err[256];
		size_t len = 0;

		if (opensy_address_script(s, (enum opensy_net)(data[0] - 'A'),
		                          script, &len, err,
		                          sizeof(err)) == 0) {
			if (len == 0 || len > OPENSY_SCRIPT_MAX)
				abort();
		} else if (memchr(err, '\0', sizeof(err)) == NULL) {
			abort();
		}
	} else {
		fuzz_template(s);
	}
	free(s);
	return 0;
}
