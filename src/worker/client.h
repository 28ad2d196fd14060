/*
 * client.h: the worker's side of the gRPC wire (coordinator client).
 * The mining engine (miner.c) and main.c use only this header; client.c
 * owns the channel, the StreamJobs call, heartbeats and reconnection.
 *
 * Threads: the client runs its own thread(s).  Callbacks are invoked from
 * them and must not block for long; every client_* verb is thread-safe.
 * A callback may call client_submit_share, client_set_stats and
 * client_request_lease, but not client_stop or client_free (they wait for
 * the thread that runs the callback): hand that to another thread.
 */
#ifndef COOPMINE_WORKER_CLIENT_H
#define COOPMINE_WORKER_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "coopmine_messages.pb-c.h"
#include "rpc/worker.h"

#define CLIENT_JOB_ID_MAX 64
#define CLIENT_BLOB_MAX 256

/* One unit of work: a job and this worker's nonce lease on it. */
struct client_job {
	char job_id[CLIENT_JOB_ID_MAX];
	uint8_t blob[CLIENT_BLOB_MAX];
	size_t blob_len;
	uint32_t nonce_offset;		/* 76 OpenSY header, 39 Monero blob */
	uint8_t seed[32];		/* RandomX key */
	size_t seed_len;
	int64_t height;
	char algo[16];			/* "rx/0" */
	uint64_t share_target;		/* 64-bit share target */
	uint8_t block_target[32];	/* 256-bit LE; valid if has_block_target */
	int has_block_target;
	uint64_t lease_id;
	uint64_t nonce_start, nonce_end;	/* lease [start, end), <= 2^32 */
	int clean_jobs;			/* drop work on older jobs at once */
	uint8_t next_seed[32];		/* the key after the next boundary, to
					 * prepare ahead; next_seed_len 0: none */
	size_t next_seed_len;
};

/* Checks a JobMessage from the network and converts it: 0, or -1 with
 * the reason in why.  Pure (also fuzzed, tests/fuzz/fuzz_rpc_request.c). */
int client_job_from_msg(const Coopmine__JobMessage *m, struct client_job *j,
    char *why, size_t whysz);

struct client_stats {
	double hashrate;		/* H/s, 10 s average */
	double hashrate_60s, hashrate_15m;	/* H/s; 0: window not covered */
	char rx_mode[16];		/* "full" | "light"; "" not ready */
	char huge_pages[32];		/* rx_pages_name(); "" not ready */
	uint32_t huge_pages_used;	/* 2 MiB pages backing the memory */
	uint32_t threads;		/* hashing threads running */
	uint64_t shares_valid, shares_invalid, hashes_total;
	int64_t uptime_ms;
	float cpu_usage, memory_usage, temperature;
	uint64_t lease_id;		/* the lease being worked on */
	uint64_t lease_hashes_done;	/* nonces of it hashed so far */
};

struct client_callbacks {
	/* A new job, or a new lease for the current job. */
	void (*on_job)(void *arg, const struct client_job *job);
	/* A command from a HeartbeatResponse. */
	void (*on_command)(void *arg, enum worker_command cmd);
	/* The coordinator's verdict on a share sent with client_submit_share. */
	void (*on_share_result)(void *arg, uint64_t share_tag, int accepted,
	    const char *reason, int is_block, double difficulty);
	/* Connected (registered and streaming) or lost, with the address. */
	void (*on_connection)(void *arg, int connected, const char *coordinator);
};

struct client_config {
	const char *const *coordinators;	/* host:port, tried in order */
	size_t ncoordinators;
	const char *worker_id;			/* must equal the cert's CN */
	const char *worker_name;
	int threads;
	const char *ca_file, *cert_file, *key_file;
	int insecure;				/* plaintext, logged as a warning */
	int64_t backoff_min_ms, backoff_max_ms;	/* reconnect backoff bounds */
	size_t share_queue_max;			/* shares kept while away */
};

struct client;

struct client *client_new(const struct client_config *cfg,
    const struct client_callbacks *cb, void *arg);
/* Starts connecting in the background.  0 or -1. */
int client_start(struct client *c);
/* Sends a share (nonce as the 4 bytes written into the blob).  While the
 * coordinator is away the share waits in a bounded queue and is sent on
 * reconnect if its job is still current, else dropped with a log line.
 * 0 queued/sent, -1 the queue is full (share dropped, logged). */
int client_submit_share(struct client *c, uint64_t share_tag,
    const char *job_id, uint32_t nonce, const uint8_t result[32]);
/* The figures the next heartbeat carries. */
void client_set_stats(struct client *c, const struct client_stats *st);
/* This worker is about to exhaust its lease: ask for the next one now
 * (sends an early heartbeat with want_lease set). */
void client_request_lease(struct client *c);
/* Unregisters (best effort) and stops the background thread(s). */
void client_stop(struct client *c);
void client_free(struct client *c);

#endif
