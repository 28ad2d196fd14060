/*
 * upstream.h: where the coordinator's jobs come from and its shares go.
 * The job manager talks to an opaque struct upstream; a backend (the Stratum
 * pool client in stratum.c today, a direct OpenSY node later) fills a table
 * of function pointers, so the caller never knows which one it talks to.
 *
 * Two backends: the Stratum pool client (stratum.c) and the cooperative's
 * own OpenSY node (node.c: getblocktemplate in, submitblock out).  A node
 * job carries extranonce_size > 0: every lease gets its own extranonce and
 * its own blob from make_blob(), so its work is the lease's alone.
 *
 * Threads: a backend runs its own I/O thread and calls the callbacks from
 * it (never with a lock held); upstream_submit() and upstream_get_stats()
 * may be called from any thread.
 */
#ifndef COOPMINE_UPSTREAM_H
#define COOPMINE_UPSTREAM_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>

#define UPSTREAM_JOB_ID_MAX	128	/* bytes incl. NUL; longer ids are refused */
#define UPSTREAM_BLOB_MAX	256	/* hashing blob bytes */
#define UPSTREAM_MSG_MAX	256	/* pool messages are truncated to this */
#define UPSTREAM_ALGO_MAX	32

enum upstream_coin {
	UPSTREAM_COIN_OPENSY = 0,	/* 80-byte header, nonce at 76 */
	UPSTREAM_COIN_MONERO = 1	/* Monero hashing blob, nonce at 39 */
};
#define UPSTREAM_NONCE_OFFSET_OPENSY	76
#define UPSTREAM_NONCE_OFFSET_MONERO	39

/* One pool of the ordered failover list; index 0 is the primary. */
struct upstream_pool {
	const char *url;	/* stratum+tcp:// | stratum+ssl:// | stratum+tls:// host:port */
	const char *login;	/* wallet[.worker] */
	const char *password;	/* secret: never logged; NULL = "x" */
	const char *rig_id;	/* NULL: none */
	enum upstream_coin coin;
	const char *tls_ca_file;	/* NULL: system CAs */
	const char *tls_fingerprint;	/* SHA-256 of the server certificate (hex,
					 * colons allowed); replaces CA checks */
	const char *tls_sni;	/* NULL: the host of the URL */
	int tls_insecure;	/* 1: no certificate check at all (logged loudly) */
	int nicehash;		/* -1: as the pool says; 0 no; 1 reserve a byte */
};

/* The node backend's settings ([node]); the strings are copied. */
struct upstream_node {
	const char *url;		/* http://host:port of the node's RPC */
	const char *cookie_file;	/* the node's .cookie (re-read on change) */
	const char *user, *password;	/* secret: never logged */
	const uint8_t *payout_script;	/* scriptPubKey for coinbasevalue */
	size_t payout_len;
	const char *tag;		/* text in the coinbase scriptSig */
	int64_t poll_ms;		/* template refresh (fees, time) */
	int64_t fee_threshold;		/* satoshis more in fees: fresh work */
	int64_t follow_ms;		/* how often found blocks are looked at */
	int64_t maturity;		/* confirmations that make a block mature */
	int network;			/* enum opensy_net of [node] network (the
					 * payout address's): the node's chain
					 * must be it */
};

/* Times in milliseconds; 0 picks the default: connect 10 s, response 30 s,
 * job 5 min, keepalive 60 s, backoff 1 s..60 s, primary probe 60 s. */
struct upstream_config {
	const struct upstream_node *node;	/* set: the node backend, no pools */
	const struct upstream_pool *pools;
	size_t npools;		/* >= 1 */
	const char *agent;	/* NULL: "coopmine/<version>" */
	int64_t connect_timeout_ms;	/* TCP + TLS + login answer */
	int64_t response_timeout_ms;	/* any request without an answer */
	int64_t job_timeout_ms;		/* no new job for this long: dead pool */
	int64_t keepalive_ms;		/* keepalived when idle this long (<0: off) */
	int64_t backoff_min_ms, backoff_max_ms;	/* between failed rounds */
	int64_t primary_retry_ms;	/* probe the primary this often when away */
};

/* A job as the pool gave it, decoded and checked. */
struct upstream_job {
	char job_id[UPSTREAM_JOB_ID_MAX];
	uint8_t blob[UPSTREAM_BLOB_MAX];
	size_t blob_len;
	uint64_t target;	/* 64-bit share target (4-byte form converted) */
	uint64_t difficulty;	/* 2^64 / target */
	uint8_t seed_hash[32];
	int has_seed;		/* always 1: jobs without a seed are refused */
	int64_t height;		/* -1 when the pool sent none */
	char algo[UPSTREAM_ALGO_MAX];	/* "rx/0" when the pool sent none */
	unsigned nonce_offset;	/* 76 (opensy) or 39 (monero) */
	int nicehash;		/* 1: blob[nonce_offset + 3] is fixed by the pool */
	uint8_t nicehash_byte;	/* its value */
	int clean;		/* new height / prev hash / seed / session: drop older jobs */
	unsigned pool_index;	/* which pool of the list */
	uint64_t session;	/* increases with every login; jobs of an older
				 * session cannot be submitted */
	size_t extranonce_size;	/* 0: pool work, one blob for all; > 0: the
				 * blob of each extranonce comes from
				 * upstream_make_blob() (node work) */
	int64_t reward;		/* node work: the block's coinbasevalue */
	uint8_t next_seed_hash[32];	/* node work: the key after the next
					 * boundary, when known ahead */
	int has_next_seed;
};

/* Why the pool refused a share (or why we could not learn its verdict). */
enum upstream_reject {
	UPSTREAM_OK = 0,
	UPSTREAM_REJ_LOW_DIFF,		/* "Low difficulty share" */
	UPSTREAM_REJ_DUPLICATE,		/* "Duplicate share" */
	UPSTREAM_REJ_INVALID_JOB,	/* "Invalid job id" */
	UPSTREAM_REJ_STALE,		/* "Block expired", stale job */
	UPSTREAM_REJ_UNAUTHENTICATED,	/* "Unauthenticated" */
	UPSTREAM_REJ_INVALID_NONCE,	/* nicehash / malformed nonce */
	UPSTREAM_REJ_BAD_HASH,		/* "Invalid share", wrong result */
	UPSTREAM_REJ_BANNED,		/* "IP Address currently banned" */
	UPSTREAM_REJ_OTHER,		/* anything else: see the message */
	UPSTREAM_REJ_TIMEOUT,		/* no answer in time (verdict unknown) */
	UPSTREAM_REJ_LOST		/* connection lost first (verdict unknown) */
};
const char *upstream_reject_name(enum upstream_reject r);

enum upstream_state {
	UPSTREAM_DISCONNECTED = 0,
	UPSTREAM_CONNECTING,
	UPSTREAM_CONNECTED	/* logged in, has a job */
};

enum upstream_event {
	UPSTREAM_EV_CONNECTED,	/* logged in to pool_index (first or again) */
	UPSTREAM_EV_LOST,	/* lost pool_index; reason in msg */
	UPSTREAM_EV_SWITCHED	/* now on another pool than before */
};

struct upstream_submit_result {
	uint64_t share_id;	/* the caller's id, as given to upstream_submit */
	int accepted;
	enum upstream_reject reason;
	char message[UPSTREAM_MSG_MAX];	/* the pool's words ("" when accepted) */
	int64_t latency_ms;
};

/* What became of a block found on node work (the node backend follows
 * each block it submitted). */
enum upstream_block_status {
	UPSTREAM_BLOCK_ACCEPTED = 0,	/* submitblock took it */
	UPSTREAM_BLOCK_REJECTED,	/* submitblock refused it: see msg */
	UPSTREAM_BLOCK_CONFIRMED,	/* in the best chain: confirmations */
	UPSTREAM_BLOCK_ORPHANED,	/* gone from the best chain */
	UPSTREAM_BLOCK_MATURE		/* confirmations >= maturity */
};

struct upstream_block_event {
	enum upstream_block_status status;
	char hash[65];			/* display hex */
	int64_t height;
	int64_t reward;			/* coinbasevalue, satoshis */
	int64_t confirmations;
	const char *msg;		/* the node's words, or "" */
};

struct upstream_state_change {
	enum upstream_event event;
	unsigned pool_index;
	const char *url;
	uint64_t switches;	/* total so far */
	const char *msg;	/* why (lost), or "" */
};

/* Called from the upstream I/O thread; must not block for long.  The
 * structs (and their strings) are valid only during the call: copy them. */
struct upstream_callbacks {
	void (*on_job)(void *arg, const struct upstream_job *job);
	void (*on_result)(void *arg, const struct upstream_submit_result *res);
	void (*on_state)(void *arg, const struct upstream_state_change *ch);
	/* node backend: a found block's fate changed (NULL: not wanted) */
	void (*on_block)(void *arg, const struct upstream_block_event *ev);
	void *arg;
};

struct upstream_stats {
	enum upstream_state state;
	unsigned pool_index;	/* current (or last) pool */
	uint64_t session;
	uint64_t switches;	/* times the active pool changed */
	uint64_t reconnects;	/* logins, all pools */
	uint64_t submitted, accepted, rejected, lost;
	int64_t last_latency_ms;	/* of the last submit answered; -1: none */
	int64_t connected_since_ms;	/* wall clock; 0 when not connected */
	char job_id[UPSTREAM_JOB_ID_MAX];	/* current job */
	uint64_t jobs;		/* jobs received, all pools */
	uint64_t difficulty;	/* of the current job */
	uint64_t stale;		/* of rejected: stale or unknown job */
	char last_error[UPSTREAM_MSG_MAX];	/* "" none yet */
	int64_t last_error_at;	/* epoch ms; 0 none */
	/* the node backend's view (node = 1) */
	int node;
	int64_t node_height;		/* of the current template */
	int64_t node_tip_time_ms;	/* the tip's header time; 0: unknown */
	int64_t node_template_ms;	/* when the current template came */
	int64_t node_connections;	/* the node's peers; -1: unknown */
	int node_ibd;			/* the node says it is still syncing */
	char node_wait[UPSTREAM_MSG_MAX];	/* why it does not mine, or "" */
	uint64_t blocks_submitted, blocks_accepted;
};

/* Return codes of upstream_submit (negative errno values). */
#define UPSTREAM_ENOTCONN	(-ENOTCONN)	/* keep the share in the outbox */
#define UPSTREAM_ESTALE		(-ESTALE)	/* job unknown to the current pool */
#define UPSTREAM_EINVAL		(-EINVAL)	/* malformed arguments */

struct upstream;

/* The backend's table; a backend's create function fills it. */
struct upstream_ops {
	const char *name;
	int (*start)(void *impl);
	void (*stop)(void *impl);
	int (*submit)(void *impl, uint64_t share_id, const char *job_id,
	    uint64_t extranonce, const uint8_t nonce[4], const uint8_t result[32]);
	/* node work: the blob of one extranonce (NULL for pools). */
	int (*make_blob)(void *impl, const char *job_id, uint64_t extranonce,
	    uint8_t *blob, size_t *len);
	/* A hash at or below the block target: hand it over at once, before
	 * anything is written (NULL: the outbox's submit does). */
	void (*block_found)(void *impl, const char *job_id, uint64_t extranonce,
	    const uint8_t nonce[4], const uint8_t result[32]);
	/* node: follow a block found before a restart (NULL for pools). */
	void (*follow_block)(void *impl, const char *hash, int64_t height,
	    int64_t reward);
	void (*get_stats)(void *impl, struct upstream_stats *st);
	void (*free)(void *impl);
	int (*reconfigure)(void *impl, const struct upstream_config *cfg,
	    char *err, size_t errlen);
};

/* Creates the backend the configuration calls for: the node when
 * cfg->node is set, else Stratum for the pool URLs.  Copies
 * the configuration.  NULL on a bad configuration (the reason in err). */
struct upstream *upstream_new(const struct upstream_config *cfg,
    const struct upstream_callbacks *cb, char *err, size_t errlen);
/* Starts the I/O thread; it connects on its own.  0 or -errno. */
int upstream_start(struct upstream *u);
/* Stops and joins the I/O thread; pending submits are reported lost. */
void upstream_stop(struct upstream *u);
/* Queues a share for the pool.  Returns 0 (the verdict comes through
 * on_result with this share_id), UPSTREAM_ENOTCONN when not connected,
 * UPSTREAM_ESTALE when job_id is not one of the recent jobs of the pool
 * connected now (kept across reconnects to the same pool: it judges),
 * UPSTREAM_EINVAL.  Never blocks on the network. */
int upstream_submit(struct upstream *u, uint64_t share_id, const char *job_id,
    uint64_t extranonce, const uint8_t nonce[4], const uint8_t result[32]);
/* The blob (hashing input, nonce zero) of node job job_id with this
 * extranonce: 0, or -1 when the backend has no such job (or is a pool).
 * Called under the job manager's lock: it computes, never does I/O. */
int upstream_make_blob(struct upstream *u, const char *job_id,
    uint64_t extranonce, uint8_t *blob, size_t *len);
/* A block on node work: submitted at once from the backend (no-op for
 * pools, whose outbox submit carries it). */
void upstream_block_found(struct upstream *u, const char *job_id,
    uint64_t extranonce, const uint8_t nonce[4], const uint8_t result[32]);
/* A block accepted before a restart and not yet mature or orphaned: the
 * node backend follows it again (no-op for pools). */
void upstream_follow_block(struct upstream *u, const char *hash,
    int64_t height, int64_t reward);
void upstream_get_stats(struct upstream *u, struct upstream_stats *st);
const char *upstream_backend_name(const struct upstream *u);
/* A new pool list and timers (SIGHUP), checked here (the reason in err,
 * -1) and applied by the backend's own thread: a connection to a pool
 * still listed stays, one to a pool no longer listed moves to the new
 * primary.  Never blocks on the network.  0 or -1. */
int upstream_reconfigure(struct upstream *u, const struct upstream_config *cfg,
    char *err, size_t errlen);
/* Stops if needed and frees. */
void upstream_free(struct upstream *u);

#endif
