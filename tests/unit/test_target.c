/* test_target: Stratum targets, difficulty, nBits and the comparisons,
 * including the boundaries where hash == target. */
#include "config.h"

#include <math.h>
#include <string.h>

#include "common/hex.h"
#include "common/target.h"
#include "tap.h"

static void
hash_with_top64(uint8_t h[32], uint64_t v)
{
	memset(h, 0xee, 32);
	le64_write(h + 24, v);
}

int
main(void)
{
	uint64_t t;
	uint8_t h[32], tgt[32], exp[32];
	char hex[17];

	/* 4-byte compact target: difficulty 2^32 / t32. */
	ok(target_from_stratum_hex("b88d0600", &t) == 0, "compact target parses");
	ok(target_to_difficulty(t) == 10000, "b88d0600 is difficulty 10000 (got %llu)",
	    (unsigned long long)target_to_difficulty(t));
	ok(target_from_stratum_hex("ffffffff", &t) == 0 && target_to_difficulty(t) == 1,
	    "ffffffff is difficulty 1");
	/* 8-byte target, little-endian. */
	ok(target_from_stratum_hex("0000000000000001", &t) == 0 &&
	    t == 0x0100000000000000ULL, "8-byte target is little-endian");
	ok(target_to_difficulty(t) == 256, "2^56 target is difficulty 256");
	ok(target_from_stratum_hex("00000000", &t) == -1, "zero target refused");
	ok(target_from_stratum_hex("0000000000000000", &t) == -1, "zero 64-bit target refused");
	ok(target_from_stratum_hex("abcdef", &t) == -1, "6 digits refused");
	ok(target_from_stratum_hex("zzzzzzzz", &t) == -1, "non-hex refused");
	target_to_stratum_hex(0x0100000000000000ULL, hex);
	ok(strcmp(hex, "0000000000000001") == 0, "64-bit target to hex");
	ok(difficulty_to_target(1) == UINT64_MAX && difficulty_to_target(0) == UINT64_MAX,
	    "difficulty 0/1 is the easiest target");
	ok(target_to_difficulty(difficulty_to_target(100000)) == 100000,
	    "difficulty round trip");

	/* 64-bit comparison at the boundary. */
	t = 0x00000fffffffffffULL;
	hash_with_top64(h, t);
	ok(hash_meets_target64(h, t), "hash == target meets it");
	hash_with_top64(h, t + 1);
	ok(!hash_meets_target64(h, t), "hash == target+1 does not");
	hash_with_top64(h, 0);
	ok(hash_meets_target64(h, 1) && hash_difficulty(h) == UINT64_MAX,
	    "zero hash meets everything");

	/* nBits: regtest 207fffff -> 7fffff << 8*(0x20-3). */
	ok(nbits_to_target256(0x207fffff, tgt) == 0, "regtest nBits decodes");
	memset(exp, 0, 32);
	exp[29] = 0xff; exp[30] = 0xff; exp[31] = 0x7f;
	ok(memcmp(tgt, exp, 32) == 0, "207fffff target bytes");
	/* Bitcoin mainnet genesis 1d00ffff: 0xffff << 8*(0x1d-3). */
	ok(nbits_to_target256(0x1d00ffff, tgt) == 0, "1d00ffff decodes");
	memset(exp, 0, 32);
	exp[26] = 0xff; exp[27] = 0xff;
	ok(memcmp(tgt, exp, 32) == 0, "1d00ffff target bytes");
	ok(fabs(target256_difficulty(tgt) / 4295032833.0 - 1.0) < 1e-9,
	    "1d00ffff difficulty in 64-bit share units (~2^32)");
	ok(nbits_to_target256(0x04923456, tgt) == -1, "negative nBits refused");
	ok(nbits_to_target256(0x23123456, tgt) == -1, "overflowing nBits refused");
	ok(nbits_to_target256(0x03123456, tgt) == 0 && tgt[0] == 0x56 && tgt[1] == 0x34 &&
	    tgt[2] == 0x12 && tgt[3] == 0, "small exponent");

	/* 256-bit comparison at the boundary. */
	nbits_to_target256(0x1d00ffff, tgt);
	memcpy(h, tgt, 32);
	ok(hash_meets_target256(h, tgt), "256-bit: hash == target meets");
	h[0] = 1;
	ok(!hash_meets_target256(h, tgt), "256-bit: target+1 does not");
	memcpy(h, tgt, 32);
	h[26] = 0xfe;
	h[0] = 0xff;
	ok(hash_meets_target256(h, tgt), "256-bit: high byte decides over low bytes");
	ok(target256_to_target64(tgt) == 0x00000000ffff0000ULL,
	    "top 64 bits of a 256-bit target");
	return tap_done();
}
