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

#include "rpc/worker.h"

#define REGISTRY_ID_MAX WORKER_ID_MAX	/* worker ids: up to 64 bytes + NUL */
#define REGISTRY_TEXT_MAX 65	/* name, version, os, arch, job id */
#define REGISTRY_MISSED_BEATS 3	/* offline after this many silent intervals */
#define REGISTRY_THREADS_MAX 1024	/* a claim above this is clamped */
/* What a worker reports is not trusted: every number is made finite,
 * non-negative and capped before anyone reads it. */
#define REGISTRY_HASHRATE_MAX 1e12	/* H/s: far above any CPU cluster */
#define REGISTRY_PERCENT_MAX 102400.0	/* cpu %: 100 per thread, 1024 threads */
#define REGISTRY_TEMP_MAX 1000.0	/* degrees */
#define REGISTRY_PAGES_MAX 1048576	/* 2 MiB pages: 2 TiB */
#define REGISTRY_REASONS 16		/* verdict counters (ledger_reason) */
/* Effective hashrate (credited difficulty per second) windows: 1 m,
 * 10 m, 1 h, 12 h, 24 h. */
#define REGISTRY_EFF_WINDOWS 5
#define REGISTRY_ADDR_MAX 96		/* "ipv6:[...]:port" */

struct rpc_stream;	/* rpc_server.h: a worker's open StreamJobs call */

/* Why a worker went offline (or came back). */
enum registry_reason {
	REGISTRY_REGISTERED = 0,	/* -> online: Register */
	REGISTRY_HEARD,			/* -> online: heartbeat/stream after a timeout */
	REGISTRY_UNREGISTERED,		/* -> offline: Unregister */
	REGISTRY_STREAM_CLOSED,		/* -> offline: its job stream ended */
	REGISTRY_TIMED_OUT,		/* -> offline: REGISTRY_MISSED_BEATS intervals silent */
	REGISTRY_DENIED			/* -> offline: quarantined or revoked */
};

/* Why an identity is refused (registry_access). */
enum registry_deny {
	REGISTRY_ALLOWED = 0,
	REGISTRY_QUARANTINED,		/* too many invalid shares; the operator lifts it */
	REGISTRY_REVOKED		/* on the operator's deny list */
};

/* What a heartbeat reports (HeartbeatRequest). */
struct registry_beat {
	double hashrate;		/* 10 s average */
	double hashrate_60s, hashrate_15m;
	char rx_mode[16];		/* "full" | "light"; "" unknown */
	char huge_pages[32];		/* the worker's page kind; "" unknown */
	uint32_t huge_pages_used;
	uint32_t threads_running;	/* 0: not reported */
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
	int paused;			/* by the operator (dashboard, CLI) */
	enum registry_deny denied;	/* quarantined or revoked */
	char deny_reason[REGISTRY_TEXT_MAX];
	int64_t denied_at;
	uint64_t invalid_recent;	/* costly invalid shares in the window */
	char addr[REGISTRY_ADDR_MAX];	/* peer of its last Register; "" none */
	uint64_t by_reason[REGISTRY_REASONS];	/* verdicts: [0] accepted */
	uint64_t credited_difficulty;	/* sum over accepted shares, this run */
	uint64_t last_difficulty;	/* of its last verdict */
	/* credited difficulty per second over registry_eff_window_ms[] */
	double effective[REGISTRY_EFF_WINDOWS];
};

extern const int64_t registry_eff_window_ms[REGISTRY_EFF_WINDOWS];

/* The invalid-share budget of one identity: more than `max_invalid`
 * costly invalid shares (bad hash, low difficulty: each cost a RandomX
 * hash) within `window_ms` quarantine it.  Shares are admitted to
 * verification by a token bucket of `rate` per second (burst `burst`),
 * and at most `inflight_max` of one worker wait for a hash at once. */
struct registry_limits {
	unsigned max_invalid;		/* 0: never quarantine */
	int64_t window_ms;
	double rate, burst;
	unsigned inflight_max;
};

/* A change of an identity's access, for the ledger (revocations and
 * quarantines are events there, so they survive restarts). */
typedef void (*registry_access_fn)(void *arg, const char *worker_id,
    enum registry_deny state, const char *reason, int64_t at);

struct registry_totals {
	int workers_online, workers_total;
	int workers_peak;		/* most online at once, this run */
	double total_hashrate;		/* sum over online workers */
	uint64_t shares_valid, shares_invalid, blocks_found;
	int64_t started_at;		/* epoch ms the registry was created */
	int64_t last_block_time;	/* epoch ms, 0 none */
	double avg_block_time;		/* seconds between blocks, 0 < 2 blocks */
	double effective[REGISTRY_EFF_WINDOWS];	/* sum over all workers */
	double hashrate_60s, hashrate_15m;	/* reported, online workers */
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

/* Limits for every identity (defaults: 20 invalid in 10 minutes, 20
 * shares/s with a burst of 40, 32 in flight); SIGHUP may set them again
 * while workers mine (they apply from the next share on). */
void registry_set_limits(struct registry *r, const struct registry_limits *lim);
/* Called (no lock held) when a worker is quarantined by its shares. */
void registry_set_access_cb(struct registry *r, registry_access_fn fn,
    void *arg);

/* May this identity call at all?  REGISTRY_ALLOWED, or why not (with the
 * reason text in why).  Checked on every call. */
enum registry_deny registry_access(struct registry *r, const char *id,
    char *why, size_t len);
/* The operator's (or the ledger's) word on an identity: REGISTRY_REVOKED
 * or REGISTRY_QUARANTINED denies it (an online worker goes offline, its
 * stream is cancelled), REGISTRY_ALLOWED lifts either.  Creates the row of
 * an identity never seen.  0, -EINVAL, -ENOSPC. */
int registry_set_access(struct registry *r, const char *id,
    enum registry_deny state, const char *reason, int64_t now_ms);

/* A worker's claimed thread count, bounded: [1, REGISTRY_THREADS_MAX]. */
int registry_clamp_threads(int threads);

/* Creates or revives a worker and marks it online.  threads is clamped to
 * [1, REGISTRY_THREADS_MAX].  0, -ENOSPC (table full), -EINVAL (id empty
 * or too long) or -EACCES (quarantined or revoked). */
int registry_register(struct registry *r, const char *id, const char *name,
    int threads, const char *version, const char *os, const char *arch,
    int64_t now_ms);
/* The peer address it registered from (shown, never trusted). */
void registry_set_address(struct registry *r, const char *id,
    const char *addr);
/* Makes a reported beat safe to show and use: numbers finite, >= 0 and
 * capped, strings printable ASCII.  registry_heartbeat applies it. */
void registry_beat_bound(struct registry_beat *b);
/* Marks it offline (it keeps its row and counters).  0 or -ENOENT. */
int registry_unregister(struct registry *r, const char *id, int64_t now_ms);
/* Records a heartbeat; a worker offline for missed beats comes back online.
 * *cmd receives what the worker must be told now: SHUTDOWN once after
 * registry_kick(); otherwise PAUSE or RESUME when what it should be doing
 * (paused by the operator, or cluster_paused: no upstream work) differs
 * from what it was last told; else WORKER_CMD_NONE.  Level-triggered, so
 * no command is ever lost to another.  A hashrate that is not finite or
 * negative is stored as 0.  0; -ENOENT unknown; -ESRCH unregistered (it
 * must Register again). */
int registry_heartbeat(struct registry *r, const char *id,
    const struct registry_beat *beat, int64_t now_ms,
    enum worker_command *cmd);
/* Every worker should be paused (no upstream work) or not. */
void registry_set_cluster_paused(struct registry *r, int paused);
/* A StreamJobs call of this worker opened: it becomes the worker's one
 * live stream (the registry keeps a reference).  A stream it replaces is
 * returned in *replaced (with its reference: cancel it, then unref), else
 * NULL.  0, -ENOENT or -ESRCH as for a heartbeat, -EACCES denied. */
int registry_stream_open(struct registry *r, const char *id,
    struct rpc_stream *s, int64_t now_ms, struct rpc_stream **replaced);
/* A stream ended: when it is the worker's live one, the reference is
 * dropped and the worker goes offline.  Returns 1 then, else 0. */
int registry_stream_close(struct registry *r, const char *id,
    struct rpc_stream *s, int64_t now_ms);
/* The worker's live stream with a reference for the caller, or NULL. */
struct rpc_stream *registry_stream_get(struct registry *r, const char *id);
/* Drops every stream reference (shutdown). */
void registry_streams_drop(struct registry *r);
/* The verdict of one of its shares (counted by rpc_server from each
 * reply).  costly: an invalid share that took a RandomX hash; too many in
 * the window quarantine the identity. */
void registry_record_share(struct registry *r, const char *id, int accepted,
    int is_block, int costly, int64_t now_ms);
/* A committed verdict (share path, after the ledger): counts it by
 * reason (0: accepted, < REGISTRY_REASONS) and, when accepted, adds its
 * difficulty to the effective hashrate windows. */
void registry_credit(struct registry *r, const char *id, unsigned reason,
    uint64_t difficulty, int64_t now_ms);
/* Verification admission: 0 when one more share of this worker may be
 * hashed now (a token taken, one more in flight), -EAGAIN when its rate or
 * its fair part of the queue is used up.  registry_verify_done() when the
 * hash is done. */
int registry_verify_admit(struct registry *r, const char *id, int64_t now_ms);
void registry_verify_done(struct registry *r, const char *id);
/* The job last sent to it (rpc_server calls it from rpc_stream_send). */
void registry_set_job(struct registry *r, const char *id, const char *job_id);
/* Operator pause (level: told on its next heartbeat, and again after a
 * restart of the worker).  0, -ENOENT, -EALREADY. */
int registry_pause(struct registry *r, const char *id, int paused);
/* Tells it to shut down on its next heartbeat.  0, -ENOENT, -EALREADY
 * (offline). */
int registry_kick(struct registry *r, const char *id);
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
/* At start, from the ledger: difficulty credited to a worker within
 * [from_ms, to_ms), spread evenly over that span of the windows (the
 * ledger keeps hourly figures).  Needs the worker's row. */
void registry_restore_credit(struct registry *r, const char *id,
    int64_t from_ms, int64_t to_ms, double difficulty, int64_t now_ms);
/* At start: count verdicts of this reason from earlier runs. */
void registry_restore_verdicts(struct registry *r, const char *id,
    unsigned reason, uint64_t count);
/* The cluster counters of earlier runs. */
void registry_restore_totals(struct registry *r, uint64_t shares_valid,
    uint64_t shares_invalid, uint64_t blocks_found, int64_t last_block_time);

#endif
