/*
 * target.c: conversions between Stratum targets, difficulties, nBits and
 * the hash comparisons.  Used by the worker (is this a share?), the
 * coordinator (verify, vardiff, block candidates) and the testpool.
 */
#include "config.h"

#include <math.h>
#include <string.h>

#include <openssl/sha.h>

#include "common/hex.h"
#include "common/target.h"

int
target_from_stratum_hex(const char *hex, uint64_t *t64)
{
	uint8_t raw[8];
	size_t len = strlen(hex);

	if (len == 8) {
		uint32_t t32;
		if (hex_decode_exact(hex, raw, 4) != 0)
			return -1;
		t32 = le32_read(raw);
		if (t32 == 0)
			return -1;
		/* As xmrig: widen the compact target so difficulties agree. */
		*t64 = UINT64_MAX / (0xFFFFFFFFULL / (uint64_t)t32);
		return 0;
	}
	if (len == 16) {
		if (hex_decode_exact(hex, raw, 8) != 0)
			return -1;
		*t64 = le64_read(raw);
		return *t64 == 0 ? -1 : 0;
	}
	return -1;
}

void
target_to_stratum_hex(uint64_t t64, char out[17])
{
	uint8_t raw[8];

	le64_write(raw, t64);
	hex_encode(raw, 8, out, 17);
}

uint64_t
target_to_difficulty(uint64_t t64)
{
	if (t64 == 0)
		return 0;
	/* floor(2^64 / t) without 128-bit arithmetic. */
	return UINT64_MAX / t64 + (UINT64_MAX % t64 + 1 == t64 ? 1 : 0);
}

uint64_t
difficulty_to_target(uint64_t difficulty)
{
	if (difficulty <= 1)
		return UINT64_MAX;
	return UINT64_MAX / difficulty;
}

uint64_t
hash_value64(const uint8_t hash[32])
{
	return le64_read(hash + 24);
}

int
hash_meets_target64(const uint8_t hash[32], uint64_t t64)
{
	return hash_value64(hash) <= t64;
}

uint64_t
hash_difficulty(const uint8_t hash[32])
{
	uint64_t v = hash_value64(hash);

	return v == 0 ? UINT64_MAX : UINT64_MAX / v;
}

int
nbits_to_target256(uint32_t nbits, uint8_t target[32])
{
	uint32_t exponent = nbits >> 24;
	uint32_t mantissa = nbits & 0x007fffff;

	memset(target, 0, 32);
	if (nbits & 0x00800000)
		return mantissa == 0 ? 0 : -1;	/* negative */
	if (mantissa == 0)
		return 0;
	if (exponent <= 3) {
		mantissa >>= 8 * (3 - exponent);
		le32_write(target, mantissa);
		return 0;
	}
	/* mantissa * 256^(exponent-3): bytes land at offset exponent-3. */
	for (int i = 0; i < 3; i++) {
		uint32_t pos = exponent - 3 + (uint32_t)i;
		uint8_t b = (uint8_t)(mantissa >> (8 * i));
		if (pos >= 32) {
			if (b != 0)
				return -1;
			continue;
		}
		target[pos] = b;
	}
	return 0;
}

int
hash_meets_target256(const uint8_t hash[32], const uint8_t target[32])
{
	for (int i = 31; i >= 0; i--) {
		if (hash[i] < target[i])
			return 1;
		if (hash[i] > target[i])
			return 0;
	}
	return 1;
}

double
target256_difficulty(const uint8_t target[32])
{
	double t = 0.0;

	for (int i = 31; i >= 0; i--)
		t = t * 256.0 + target[i];
	return ldexp(1.0, 256) / (t + 1.0);
}

uint64_t
target256_to_target64(const uint8_t target[32])
{
	return le64_read(target + 24);
}

void
block_id_hash(const uint8_t *header, size_t len, const uint8_t pow[32],
    uint8_t out[32])
{
	uint8_t h1[32], h2[32];

	if (len != 80) {
		memcpy(out, pow, 32);
		return;
	}
	SHA256(header, 80, h1);
	SHA256(h1, 32, h2);
	for (int i = 0; i < 32; i++)
		out[i] = h2[31 - i];
}
