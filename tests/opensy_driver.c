/*
 * opensy_driver: builds an OpenSY block with common/opensy.c for the system
 * tests (tests/system/fakenode_selftest.py): reads a getblocktemplate
 * result (JSON) from a file or stdin, builds the coinbase for an
 * extranonce and a payout, grinds nonces in RandomX light mode until the
 * header meets the target, and prints the block as hex for submitblock.
 * Flags spoil one part of the block on purpose, so that the node's
 * refusals can be tested:
 *
 *   opensy_driver --template FILE|- --key DISPLAYHEX --extranonce HEX16
 *       --payout ADDR [--net regtest] [--tag TEXT] [--time T]
 *       [--bad-merkle | --no-commitment | --bad-pow | --height N |
 *        --bad-prev]
 */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/hex.h"
#include "common/log.h"
#include "common/opensy.h"
#include "common/rx.h"
#include "common/target.h"

static char *
slurp(const char *path)
{
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
	size_t len = 0, cap = 65536, n;
	char *buf = malloc(cap);

	if (f == NULL || buf == NULL) {
		free(buf);
		return NULL;
	}
	while ((n = fread(buf + len, 1, cap - len - 1, f)) > 0) {
		len += n;
		if (cap - len < 2) {
			char *nb = realloc(buf, cap *= 2);
			if (nb == NULL) {
				free(buf);
				return NULL;
			}
			buf = nb;
		}
	}
	buf[len] = '\0';
	if (f != stdin)
		fclose(f);
	return buf;
}

static void
usage(void)
{
	fprintf(stderr,
	        "usage: opensy_driver --template FILE|- --key HEX "
	        "--extranonce HEX16 --payout ADDR [--net NET] [--tag TEXT] "
	        "[--time T] [--bad-merkle|--no-commitment|--bad-pow|--height N|"
	        "--bad-prev]\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"template", required_argument, NULL, 'T'},
	    {"key", required_argument, NULL, 'k'},
	    {"extranonce", required_argument, NULL, 'e'},
	    {"payout", required_argument, NULL, 'p'},
	    {"net", required_argument, NULL, 'n'},
	    {"tag", required_argument, NULL, 'g'},
	    {"time", required_argument, NULL, 't'},
	    {"height", required_argument, NULL, 'H'},
	    {"bad-merkle", no_argument, NULL, 'M'},
	    {"no-commitment", no_argument, NULL, 'C'},
	    {"bad-pow", no_argument, NULL, 'P'},
	    {"bad-prev", no_argument, NULL, 'V'},
	    {NULL, 0, NULL, 0}};
	const char *tpath = NULL, *keyhex = NULL, *enhex = NULL, *payout = NULL;
	const char *tag = NULL;
	enum opensy_net net = OPENSY_REGTEST;
	int bad_merkle = 0, no_commit = 0, bad_pow = 0, bad_prev = 0, c;
	long long height = -1, ntime = -1;
	struct opensy_template t;
	uint8_t key[32], en[8], script[OPENSY_SCRIPT_MAX],
	    cb[OPENSY_COINBASE_MAX];
	uint8_t cbw[OPENSY_COINBASE_MAX], txid[32], root[32], hdr[80], hash[32];
	size_t slen;
	int cb_len, cbw_len;
	char err[256], *text, *blockhex, disp[65];
	struct rx_ctx *ctx;
	struct rx_vm *vm;
	uint32_t nonce;

	log_init("opensy_driver", LOG_LVL_WARN, 0);
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'T':
			tpath = optarg;
			break;
		case 'k':
			keyhex = optarg;
			break;
		case 'e':
			enhex = optarg;
			break;
		case 'p':
			payout = optarg;
			break;
		case 'n':
			if (opensy_net_parse(optarg, &net) != 0)
				usage();
			break;
		case 'g':
			tag = optarg;
			break;
		case 't':
			ntime = atoll(optarg);
			break;
		case 'H':
			height = atoll(optarg);
			break;
		case 'M':
			bad_merkle = 1;
			break;
		case 'C':
			no_commit = 1;
			break;
		case 'P':
			bad_pow = 1;
			break;
		case 'V':
			bad_prev = 1;
			break;
		default:
			usage();
		}
	}
	if (tpath == NULL || keyhex == NULL || enhex == NULL || payout == NULL)
		usage();
	if (opensy_hash_from_display(keyhex, key) != 0 ||
	    hex_decode_exact(enhex, en, 8) != 0) {
		fprintf(stderr, "opensy_driver: bad --key or --extranonce\n");
		return 2;
	}
	if ((text = slurp(tpath)) == NULL) {
		fprintf(stderr, "opensy_driver: cannot read %s\n", tpath);
		return 2;
	}
	if (opensy_template_parse_text(text, &t, err, sizeof(err)) != 0) {
		fprintf(stderr, "opensy_driver: template refused: %s\n", err);
		free(text);
		return 1;
	}
	free(text);
	if (opensy_address_script(payout, net, script, &slen, err,
	                          sizeof(err)) != 0) {
		fprintf(stderr, "opensy_driver: payout address refused: %s\n",
		        err);
		return 1;
	}
	if (no_commit)
		t.witness_commitment_len = 0;
	if (height >= 0)
		t.height = height;
	if (bad_prev)
		t.prev_hash[0] ^= 1;
	cb_len = opensy_coinbase(&t, script, slen, en, tag, 0, cb, sizeof(cb));
	cbw_len =
	    opensy_coinbase(&t, script, slen, en, tag, 1, cbw, sizeof(cbw));
	if (cb_len < 0 || cbw_len < 0) {
		fprintf(stderr, "opensy_driver: coinbase does not fit\n");
		return 1;
	}
	opensy_txid(cb, (size_t)cb_len, txid);
	opensy_merkle_root(&t, txid, root);
	if (bad_merkle)
		root[0] ^= 1;
	opensy_header(&t, root, ntime >= 0 ? (uint32_t)ntime : t.curtime, 0,
	              hdr);

	if ((ctx = rx_ctx_new(key, 32, RX_LIGHT, RX_PAGES_AUTO, 1)) == NULL)
		return 1;
	vm = rx_vm_new(ctx);
	rx_ctx_unref(ctx);
	for (nonce = 0;; nonce++) {
		opensy_header_set_nonce(hdr, nonce);
		rx_hash(vm, hdr, 80, hash);
		if (opensy_hash_meets(hash, t.target) != bad_pow)
			break;
		if (nonce == UINT32_MAX) {
			fprintf(stderr,
			        "opensy_driver: nonce space exhausted\n");
			return 1;
		}
	}
	rx_vm_free(vm);
	opensy_sha256d(hdr, 80, hash);
	opensy_hash_to_display(hash, disp);
	fprintf(stderr, "opensy_driver: block %s height %lld nonce %u\n", disp,
	        (long long)t.height, nonce);
	blockhex = opensy_block_hex(&t, hdr, cbw, (size_t)cbw_len);
	if (blockhex == NULL)
		return 1;
	printf("%s\n", blockhex);
	free(blockhex);
	opensy_template_free(&t);
	return 0;
}
