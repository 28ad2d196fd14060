/*
 * target.h: share and block targets, difficulty, and the comparisons that
 * decide whether a RandomX hash is a share or a block.  Pure functions.
 *
 * Conventions (shared/DESIGN.md): a 64-bit share target is met when the
 * hash's last 8 bytes, as a little-endian uint64, are <= it; a block target
 * is a 256-bit little-endian number (OpenSY: from nBits) compared with the
 * whole hash read little-endian.
 */
#ifndef COOPMINE_TARGET_H
#define COOPMINE_TARGET_H

#include <stddef.h>
#include <stdint.h>

/* Stratum "target" hex: 8 hex digits (32-bit compact) or 16 (64-bit), both
 * little-endian.  Returns 0 and the 64-bit target, -1 on bad length/digits
 * or a zero target. */
int target_from_stratum_hex(const char *hex, uint64_t *t64);
/* The 8-byte little-endian hex form of a 64-bit target (17 bytes out). */
void target_to_stratum_hex(uint64_t t64, char out[17]);

/* difficulty = 2^64 / target (0 target -> 0). */
uint64_t target_to_difficulty(uint64_t t64);
/* target = floor((2^64 - 1) / difficulty); difficulty 0 or 1 -> UINT64_MAX. */
uint64_t difficulty_to_target(uint64_t difficulty);

/* The last 8 bytes of the hash as a little-endian uint64. */
uint64_t hash_value64(const uint8_t hash[32]);
int hash_meets_target64(const uint8_t hash[32], uint64_t t64);
/* Share difficulty a hash actually achieved: 2^64 / (value64 + 1). */
uint64_t hash_difficulty(const uint8_t hash[32]);

/* Bitcoin compact nBits -> 256-bit little-endian target.  Returns -1 for a
 * negative or overflowing encoding, 0 otherwise. */
int nbits_to_target256(uint32_t nbits, uint8_t target[32]);
/* 1 when hash (as 256-bit LE) <= target (256-bit LE). */
int hash_meets_target256(const uint8_t hash[32], const uint8_t target[32]);
/* 2^256 / (target + 1) as a double: the network difficulty in the same
 * units as 64-bit share difficulty. */
double target256_difficulty(const uint8_t target[32]);

/* A found block's id: for an 80-byte OpenSY header, the double SHA-256 of
 * the header in display order (reversed); for other blobs (a Monero
 * hashing blob) the proof-of-work hash itself. */
void block_id_hash(const uint8_t *header, size_t len, const uint8_t pow[32],
    uint8_t out[32]);
/* The 64-bit share target that corresponds to a 256-bit target (its top
 * 64 bits: a hash whose top 64 bits are below it meets the target). */
uint64_t target256_to_target64(const uint8_t target[32]);

static inline uint32_t
le32_read(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24;
}

static inline void
le32_write(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static inline uint64_t
le64_read(const uint8_t *p)
{
	return (uint64_t)le32_read(p) | (uint64_t)le32_read(p + 4) << 32;
}

static inline void
le64_write(uint8_t *p, uint64_t v)
{
	le32_write(p, (uint32_t)v);
	le32_write(p + 4, (uint32_t)(v >> 32));
}

#endif
