/*
 * jobs_fixture.h: the job manager's set-up shared by its tests and the
 * request fuzzer: the configuration they run it with, and an OpenSY-shaped
 * upstream job (80-byte header, nonce at 76, regtest nBits, difficulty
 * 1000, height 100) that each adjusts where it needs to.
 */
#ifndef COOPMINE_TESTS_JOBS_FIXTURE_H
#define COOPMINE_TESTS_JOBS_FIXTURE_H

#include <stdio.h>
#include <string.h>

#include "common/target.h"
#include "coordinator/jobs.h"

/* vardiff 15 s at 1000 H/s to start, 60 s retarget; 120 s leases */
static const struct jobs_config fixture_jobs_config = {
	.vardiff = { 15000, 60000, 100, 1000000000ULL, 0.3 },
	.lease_seconds = 120, .renew_seconds = 30,
	.lease_min = 4096, .lease_max = 1 << 28,
	.job_timeout_ms = 60000, .keep_jobs = 3,
};

static inline struct job_template
fixture_job(const char *id, int clean, uint8_t fill)
{
	struct job_template t;

	memset(&t, 0, sizeof(t));
	snprintf(t.upstream_id, sizeof(t.upstream_id), "%s", id);
	memset(t.blob, fill, 80);
	le32_write(t.blob + 72, 0x207fffff);	/* regtest nBits */
	t.blob_len = 80;
	t.nonce_offset = 76;
	memset(t.seed, 0x11, 32);
	t.seed_len = 32;
	t.height = 100;
	snprintf(t.algo, sizeof(t.algo), "rx/0");
	t.target64 = difficulty_to_target(1000);
	t.reserved_byte = -1;
	t.clean = clean;
	t.opensy = 1;
	return t;
}

#endif
