/*
 * fake_client.h: a test double of src/worker/client.h for the worker's
 * unit tests: jobs and commands are pushed in by the test, shares and
 * lease requests are recorded instead of sent.
 */
#ifndef COOPMINE_FAKE_CLIENT_H
#define COOPMINE_FAKE_CLIENT_H

#include <stdint.h>

#include "worker/client.h"

#define FAKE_SHARES_MAX 4096

struct fake_share {
	uint64_t tag;
	char job_id[CLIENT_JOB_ID_MAX];
	uint32_t nonce;
	uint8_t result[32];
};

/* Deliver through the callbacks the worker registered. */
void fake_client_job(const struct client_job *job);
void fake_client_command(enum worker_command cmd);
void fake_client_verdict(uint64_t tag, int accepted, const char *reason);

/* What the worker did with the client (copies, taken under a lock). */
size_t fake_client_shares(struct fake_share *out, size_t max);
int fake_client_lease_requests(void);
int fake_client_started(void);
int fake_client_stopped(void);
void fake_client_last_stats(struct client_stats *st);

#endif
