/*
 * worker.h: online mode of coopmine-worker: the coordinator client's
 * callbacks drive the engine (jobs, leases, PAUSE/RESUME/SHUTDOWN), shares
 * go back through the client, and a once-a-second tick keeps the hashrate,
 * the heartbeat figures and the periodic log line.  main.c owns signals.
 */
#ifndef COOPMINE_WORKER_WORKER_H
#define COOPMINE_WORKER_WORKER_H

#include <stdint.h>

#include "worker/client.h"
#include "worker/miner.h"

struct worker_opts {
	struct client_config client;
	struct miner_config miner;
	int64_t print_interval_ms;	/* the periodic speed line */
};

struct worker_counts {
	uint64_t shares_sent, shares_accepted, shares_rejected, blocks;
	uint64_t shares_dropped;	/* the client's queue was full */
};

struct worker;

/* Creates the engine and the client; nothing runs until worker_start. */
struct worker *worker_new(const struct worker_opts *o);
/* Starts connecting (the engine idles until the first job).  0 or -1. */
int worker_start(struct worker *w);
/* Once a second: samples the hashrate, updates the heartbeat figures and
 * logs the speed line when due.  Returns 1 once the coordinator sent
 * SHUTDOWN, 0 otherwise. */
int worker_tick(struct worker *w, int64_t now_ms);
void worker_get_counts(struct worker *w, struct worker_counts *c);
struct miner *worker_miner(struct worker *w);
/* Stops the client (unregisters), then the engine, and frees both. */
void worker_free(struct worker *w);

#endif
