/*
 * dash_source.h: what the dashboard (http.c, live.c, metrics.c) reads from
 * the coordinator.  The coordinator fills one struct dash_source with its
 * functions at start-up; the dashboard never sees the registry or ledger.
 * Every function may be called from the HTTP and WebSocket service threads
 * at any time, so each must take its own locks and return quickly.
 */
#ifndef COOPMINE_DASH_SOURCE_H
#define COOPMINE_DASH_SOURCE_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "coordinator/money.h"
#include "rpc/worker.h"

#define DASH_ID_MAX		WORKER_ID_MAX	/* rpc/worker.h */
#define DASH_NAME_MAX		128
#define DASH_URL_MAX		256
#define DASH_REASON_MAX		32
#define DASH_REJECT_REASONS	16
#define DASH_HISTORY_MAX	720	/* one hour at 5 s steps */
#define DASH_SESSIONS_MAX	8	/* JOBS_SOURCES_MAX */
#define DASH_EFF_WINDOWS	5	/* 1 m, 10 m, 1 h, 12 h, 24 h */
#define DASH_LATENCY_BUCKETS	12	/* LEDGER_LATENCY_BUCKETS */
#define DASH_TEXT_MAX		65	/* version, os, ... as the registry */
#define DASH_ERROR_MAX		256

/* The windows of dash_worker.effective, in seconds, and their names. */
extern const int dash_eff_seconds[DASH_EFF_WINDOWS];
extern const char *const dash_eff_names[DASH_EFF_WINDOWS];

/* One upstream (pool) session. */
struct dash_session {
	unsigned	index;			/* the jobs' source number */
	char		url[DASH_URL_MAX];	/* may carry user:pass@ */
	int		connected;
	int64_t		since;			/* epoch ms connected; 0 */
	uint64_t	difficulty;		/* the pool's, current job */
	uint64_t	jobs;			/* jobs received */
	uint64_t	submitted, accepted, rejected, stale, lost;
	uint64_t	switches, reconnects;
	double		latency_ms;
	char		upstream_job[DASH_NAME_MAX];	/* pool's job id */
	char		job_id[24];		/* ours; "" none */
	uint64_t	nonce_space, nonces_left;	/* of its current job */
	char		last_error[DASH_ERROR_MAX];	/* "" none */
	int64_t		last_error_at;
};

struct dash_reject {
	char		reason[DASH_REASON_MAX];	/* "stale", "duplicate", ... */
	uint64_t	count;
};

/* One snapshot of the whole cluster (also the inputs of /health). */
struct dash_stats {
	char		cluster_id[DASH_ID_MAX];
	char		cluster_name[DASH_NAME_MAX];
	int		workers_online;
	int		workers_total;
	int		workers_peak;		/* most online at once */
	double		total_hashrate;		/* H/s */
	uint64_t	shares_valid;		/* since the ledger began */
	uint64_t	shares_invalid;
	uint64_t	blocks_found;
	int64_t		uptime_ms;
	int64_t		last_block_time;	/* epoch ms; 0: none yet */
	double		avg_block_time;		/* seconds; 0: unknown */
	struct dash_reject rejections[DASH_REJECT_REASONS];
	size_t		nrejections;
	/* upstream; pool_url may carry user:pass@, the dashboard strips it */
	char		pool_url[DASH_URL_MAX];
	int		pool_connected;
	double		pool_latency_ms;
	uint64_t	pool_switches;
	/* the node backend (node = 1): solo mining on our own node */
	int		node;
	int64_t		node_height;		/* of the current template */
	int64_t		node_tip_age_ms;	/* -1: unknown */
	int64_t		node_template_age_ms;	/* -1: none yet */
	int64_t		node_connections;	/* -1: unknown */
	int		node_ibd;
	char		node_wait[256];		/* why it does not mine; "" */
	/* share verification and the ledger */
	uint64_t	verify_queue_depth;
	double		verify_latency_ms;	/* recent mean */
	int		ledger_writable;
	double		ledger_commit_ms;	/* recent mean */
	/* reported 60 s / 15 min sums, and credited difficulty per second */
	double		hashrate_60s, hashrate_15m;
	double		effective[DASH_EFF_WINDOWS];
	struct dash_session sessions[DASH_SESSIONS_MAX];
	size_t		nsessions;
	uint64_t	outbox;			/* shares waiting for the pool */
	int64_t		outbox_oldest_at;	/* epoch ms; 0: empty */
	uint64_t	upstream_accepted, upstream_rejected;
	double		verify_latency_p99_ms;
	uint64_t	ledger_commits;		/* the commit latency histogram */
	double		ledger_commit_sum_s;
	uint64_t	ledger_commit_bucket[DASH_LATENCY_BUCKETS];
	double		ledger_commit_bound[DASH_LATENCY_BUCKETS];	/* s */
	uint64_t	ledger_queued;
	uint64_t	fanouts;		/* the fan-out histogram */
	double		fanout_sum_s;
	uint64_t	fanout_bucket[DASH_LATENCY_BUCKETS];
	double		fanout_bound[DASH_LATENCY_BUCKETS];	/* s */
	unsigned	fanout_last_workers;
	unsigned	pool_index;		/* 0: the primary; > 0 a backup */
	/* the filesystem of the ledger (statvfs); both 0 when unknown */
	uint64_t	ledger_disk_free;	/* bytes an unprivileged writer
						 * may still use */
	uint64_t	ledger_disk_size;
};

struct dash_worker {
	char		id[DASH_ID_MAX];
	char		name[DASH_NAME_MAX];
	char		status[16];		/* "online", "paused", "offline" */
	double		hashrate;		/* H/s */
	uint64_t	shares_valid;
	uint64_t	shares_invalid;
	int64_t		last_seen;		/* epoch ms */
	int64_t		connected_at;		/* epoch ms */
	int		threads;
	char		job_id[DASH_ID_MAX];	/* current lease's job; "" none */
	uint64_t	lease_done;		/* nonces hashed of the lease */
	uint64_t	lease_size;		/* nonces in the lease; 0 none */
	int		quarantined, revoked;
	char		deny_reason[DASH_NAME_MAX];	/* why; "" when allowed */
	/* what it reports (bounded by the registry) */
	double		hashrate_60s, hashrate_15m;
	char		version[DASH_TEXT_MAX], os[DASH_TEXT_MAX];
	char		arch[DASH_TEXT_MAX];
	char		rx_mode[16];		/* "" not reported yet */
	char		huge_pages[32];
	uint32_t	huge_pages_used;
	int		threads_running;	/* 0: not reported */
	double		cpu_usage;
	int64_t		uptime_ms;
	/* what the coordinator saw */
	char		addr[96];		/* peer of its Register */
	uint64_t	difficulty;		/* its share difficulty now */
	int64_t		last_share_at;		/* epoch ms; 0 none */
	int64_t		registered_at;
	double		effective[DASH_EFF_WINDOWS];	/* H/s credited */
	uint64_t	credited;		/* difficulty credited, this run */
	int		streams;		/* open job streams */
	uint64_t	accepted;		/* verdicts since the ledger began */
	struct dash_reject rejections[DASH_REJECT_REASONS];
	size_t		nrejections;
};

/* One hour of a worker's (or the cluster's) shares in the ledger. */
struct dash_hour {
	int64_t		t;			/* epoch ms, start of the hour */
	uint64_t	accepted, rejected;
	uint64_t	difficulty;		/* credited */
};

struct dash_point {
	int64_t		t;			/* epoch ms */
	double		hashrate;		/* H/s */
};

/* Operator commands: pause/resume/kick a worker; release lifts a
 * quarantine; revoke/unrevoke put a certificate name on the deny list or
 * take it off (both survive restarts: they are ledger rows). */
enum dash_cmd {
	DASH_CMD_PAUSE, DASH_CMD_RESUME, DASH_CMD_KICK, DASH_CMD_RELEASE,
	DASH_CMD_REVOKE, DASH_CMD_UNREVOKE
};

struct dash_source {
	void	*ctx;	/* handed back as the first argument of each */

	/* Fills *out.  0, or -errno when no snapshot can be made. */
	int	(*stats)(void *ctx, struct dash_stats *out);
	/* Copies at most max workers into out (oldest registration first);
	 * returns how many there are in all (may exceed max: call again with
	 * room for that many), or -errno. */
	int	(*workers)(void *ctx, struct dash_worker *out, size_t max);
	/* One worker by id: 0, or -ENOENT. */
	int	(*worker)(void *ctx, const char *id, struct dash_worker *out);
	/* Hashrate samples of the last hour, oldest first, at most max;
	 * id NULL: the cluster total.  Returns the count, or -ENOENT. */
	int	(*history)(void *ctx, const char *id, struct dash_point *out,
		    size_t max);
	/* Hourly history from the ledger since since_ms (id NULL: the
	 * cluster), oldest first, at most max hours.  Returns the count, or
	 * -ENOENT (unknown worker) or another -errno. */
	int	(*hours)(void *ctx, const char *id, int64_t since_ms,
		    struct dash_hour *out, size_t max);
	/* Lists, newest first: a new reference to a JSON array of at most
	 * limit objects after skipping offset, and *total set to the size of
	 * the whole list; NULL on failure.  Row fields: docs/dashboard.md. */
	json_t	*(*jobs)(void *ctx, size_t limit, size_t offset, size_t *total);
	json_t	*(*shares)(void *ctx, size_t limit, size_t offset,
		    size_t *total);
	json_t	*(*blocks)(void *ctx, size_t limit, size_t offset,
		    size_t *total);
	/* The PPLNS split of one block: a new reference to a JSON object, or
	 * NULL with *err = -ENOENT (unknown block) or another -errno. */
	json_t	*(*payouts)(void *ctx, int64_t block_id, int *err);
	/* Pause, resume or kick a worker: 0, -ENOENT (unknown worker),
	 * -EALREADY (already in that state), or another -errno. */
	int	(*command)(void *ctx, const char *id, enum dash_cmd cmd);

	/* Money (money.h's typed rows, dash_money.c); NULL functions: the
	 * endpoints answer 404.  Each returns 0 or a money_err. */
	void	*money_ctx;
	int	(*balances)(void *money_ctx, struct money_owner_row **out,
		    size_t *n);
	int	(*income)(void *money_ctx, size_t limit, size_t offset,
		    struct money_income_row **out, size_t *n);
	int	(*explain)(void *money_ctx, int64_t id,
		    struct money_explain *out);
	/* Records and splits one income event (err names the bad field). */
	int	(*income_add)(void *money_ctx, const struct money_income *in,
		    int64_t *id, char *err, size_t errlen);
};

#endif
