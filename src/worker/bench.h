/*
 * bench.h: `coopmine-worker --bench N`: offline hashing of nonces 0..N-1
 * of a fixed OpenSY header under a fixed seed through the real engine,
 * printing H/s and a checksum that must equal the known value for N.
 */
#ifndef COOPMINE_WORKER_BENCH_H
#define COOPMINE_WORKER_BENCH_H

#include <stddef.h>
#include <stdint.h>

#include "worker/miner.h"

/* The fixed input: OpenSY regtest block 1 (tests/data/opensy-regtest.json). */
#define BENCH_SEED_HEX \
	"50cd54253affdd9f84bc3662369a4afc279014842d9b4263da69a2595215fb67"
#define BENCH_HEADER_HEX \
	"0000002050cd54253affdd9f84bc3662369a4afc279014842d9b4263da69a259" \
	"5215fb6756c5c7d58978aeee466de72435d6c289c93093653e5da992a8f9f35c" \
	"2ec3dbf18f04066bffff7f2000000000"
#define BENCH_NONCE_OFFSET 76

/*
 * The checksum of a run: the four 64-bit little-endian words of every
 * hash, summed word by word mod 2^64.  Order does not matter (threads),
 * a hash counted twice or missed changes it.
 */
struct bench_sum {
	uint64_t w[4];
};
void bench_sum_add(struct bench_sum *s, const uint8_t hash[32]);
void bench_sum_hex(const struct bench_sum *s, char out[65]);
/* The known checksum for n nonces, or NULL when n is not one we know. */
const char *bench_known(uint64_t n);
/* The n that bench_known knows, for messages ("100, 1000, ..."). */
void bench_known_list(char *buf, size_t len);

/* Runs the benchmark; 0 when the checksum matched, 1 otherwise. */
int bench_run(const struct miner_config *cfg, uint64_t n);

#endif
