/*
 * registry.h: the coordinator's table of workers (who registered, when they
 * were last heard of, what they report) and the cluster counters built from
 * it.  Written by rpc_server.c on the gRPC threads; read by the stats RPCs
 * and by the dashboard/metrics through snapshots.
 *
 * Threads: every function is thread-safe.  One mutex (workers_lock) guards
 * the table; it is held only for the copy in or out, never across I/O or a
 * callback.  The status callback runs on the thread that caused the change,
 * with no lock held.
 */
#ifndef COOPMINE_COORDINATOR_REGISTRY_H
#define COOPMINE_COORDINATOR_REGISTRY_H

#include <stddef.h>
#include <stdint.h>

#define REGISTRY_ID_MAX 65	/* worker ids: up to 64 bytes + NUL */
#define REGISTRY_TEXT_MAX 65	/* name, version, os, arch, job id */
#define REGISTRY_MISSED_BEATS 3	/* offline after this many silent intervals */

/* Why a worker went offline (or came back). */
enum registry_reason {
	REGISTRY_REGISTERED = 0,	/* -> online: Register */
	REGISTRY_HEARD,			/* -> online: heartbeat/stream after a timeout */
	REGISTRY_UNREGISTERED,		/* -> offline: Unregister */
	REGISTRY_STREAM_CLOSED,		/* -> offline: its last StreamJobs call ended */
	REGISTRY_TIMED_OUT		/* -> offline: REGISTRY_MISSED_BEATS intervals silent */
};

/* WorkerCommand values (proto/coopmine_messages.proto). */
enum registry_command {
	REGISTRY_CMD_NONE = 0,
	REGISTRY_CMD_PAUSE = 1,
	REGISTRY_CMD_RESUME = 2,
	REGISTRY_CMD_UPDATE_CONFIG = 3,
	REGISTRY_CMD_SHUTDOWN = 4
};

/* What a heartbeat reports (HeartbeatRequest). */
struct registry_beat {
	double hashrate;
	uint64_t shares_valid, shares_invalid, hashes_total;	/* worker's view */
	int64_t uptime_ms;
	float cpu_usage, memory_usage, temperature;
};

/* A copy of one worker's row. */
struct registry_worker {
	char id[REGISTRY_ID_MAX];
	char name[REGISTRY_TEXT_MAX];
	char version[REGISTRY_TEXT_MAX], os[REGISTRY_TEXT_MAX], arch[REGISTRY_TEXT_MAX];
	int online;
	const char *status;		/* "online" | "offline" (static) */
	enum registry_reason reason;	/* of the last status change */
	int threads;
	int streams;			/* open StreamJobs calls */
	double hashrate;		/* last reported; 0 while offline */
	struct registry_beat reported;	/* the last heartbeat as sent */
	uint64_t shares_valid, shares_invalid, blocks;	/* coordinator verdicts */
	int64_t registered_at, connected_at, last_seen, last_share_at;	/* epoch ms, 0 never */
	char current_job_id[REGISTRY_TEXT_MAX];	/* last job sent on its stream */
};

struct registry_totals {
	int workers_online, workers_total;
	double total_hashrate;		/* sum over online workers */
	uint64_t shares_valid, shares_invalid, blocks_found;
	int64_t started_at;		/* epoch ms the registry was created */
	int64_t last_block_time;	/* epoch ms, 0 none */
	double avg_block_time;		/* seconds between blocks, 0 < 2 blocks */
};

/* Called after a worker's status changed (online 1/0), no lock held. */
typedef void (*registry_status_fn)(void *arg, const char *worker_id, int online,
    enum registry_reason why);

struct registry;

/* heartbeat_ms: the interval workers are told to beat at (> 0);
 * max_workers: table bound (0: 10000), so an insecure listener cannot be
 * made to grow without end. */
struct registry *registry_new(int64_t heartbeat_ms, size_t max_workers);
void registry_free(struct registry *r);
/* Set once, before the first event. */
void registry_set_status_cb(struct registry *r, registry_status_fn fn, void *arg);
int64_t registry_heartbeat_ms(const struct registry *r);

/* Creates or revives a worker and marks it online.  0, -ENOSPC (table
 * full) or -EINVAL (id empty or too long). */
int registry_register(struct registry *r, const char *id, const char *name,
    int threads, const char *version, const char *os, const char *arch,
    int64_t now_ms);
/* Marks it offline (it keeps its row and counters).  0 or -ENOENT. */
int registry_unregister(struct registry *r, const char *id, int64_t now_ms);
/* Records a heartbeat; a worker offline for missed beats comes back online.
 * *cmd receives the command queued with registry_set_command (then cleared),
 * or REGISTRY_CMD_NONE.  0; -ENOENT unknown; -ESRCH unregistered (it must
 * Register again). */
int registry_heartbeat(struct registry *r, const char *id,
    const struct registry_beat *beat, int64_t now_ms, enum registry_command *cmd);
/* A StreamJobs call of this worker opened / ended.  open: 0, -ENOENT or
 * -ESRCH as for a heartbeat.  The last one to close marks it offline. */
int registry_stream_open(struct registry *r, const char *id, int64_t now_ms);
void registry_stream_close(struct registry *r, const char *id, int64_t now_ms);
/* The verdict of one of its shares (counted by rpc_server from each
 * ShareResponse; the core need not call it). */
void registry_record_share(struct registry *r, const char *id, int accepted,
    int is_block, int64_t now_ms);
/* The job last sent to it (rpc_server calls it from rpc_stream_send). */
void registry_set_job(struct registry *r, const char *id, const char *job_id);
/* Queues a one-shot command for its next heartbeat.  0 or -ENOENT. */
int registry_set_command(struct registry *r, const char *id,
    enum registry_command cmd);
/* Marks offline every online worker silent for REGISTRY_MISSED_BEATS
 * intervals.  Returns how many went offline. */
int registry_sweep(struct registry *r, int64_t now_ms);

/* Copies one worker.  0 or -ENOENT. */
int registry_get(struct registry *r, const char *id, struct registry_worker *out);
/* Copies all workers, sorted by id, into a new array (*out, free() it).
 * 0 or -ENOMEM. */
int registry_list(struct registry *r, struct registry_worker **out, size_t *n);
void registry_totals(struct registry *r, struct registry_totals *out);

/* At start, from the ledger: a worker known from earlier runs, offline,
 * with its counters, so stats continue across restarts.  0, -ENOSPC,
 * -EINVAL. */
int registry_restore(struct registry *r, const char *id, const char *name,
    int threads, const char *version, uint64_t shares_valid,
    uint64_t shares_invalid, int64_t first_seen, int64_t last_seen);
/* The cluster counters of earlier runs. */
void registry_restore_totals(struct registry *r, uint64_t shares_valid,
    uint64_t shares_invalid, uint64_t blocks_found, int64_t last_block_time);

#endif
