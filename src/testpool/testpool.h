/*
 * testpool.h: the parts of coopmine-testpool, a real Stratum (XMRig
 * flavour) server for tests and demos: tp_chain.c makes the jobs,
 * tp_verify.c checks shares with RandomX, tp_server.c speaks to miners,
 * testpool.c reads the configuration and keeps the summary.
 */
#ifndef COOPMINE_TESTPOOL_H
#define COOPMINE_TESTPOOL_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#define TP_BLOB_MAX	128
#define TP_TEMPLATES	8	/* jobs kept; older ids get "Invalid job id" */

struct tp_options {
	char *listen;			/* host:port; port 0 picks one */
	char *tls_cert, *tls_key;
	char *coin;			/* opensy | monero */
	int64_t difficulty;
	int compact_target;		/* send the 4-byte target form */
	int64_t height;
	char *nbits;			/* hex, e.g. "1f00ffff" */
	char *chain_seed;		/* makes the simulated block hashes */
	int64_t job_interval, block_interval;	/* ms */
	int64_t verify_threads;
	int nicehash;
	char *password;			/* required when set (secret) */
	char *summary_file;
	char *log_level;
	/* fault switches */
	int64_t drop_after;		/* ms after login; 0 off */
	double reject_fraction;
	int64_t stall_after;		/* ms after start; 0 off */
	int garbage, oversize_line, refuse_login;
	int64_t max_clients;
};

/* One job template: the same blob for every session (nicehash sessions get
 * their own byte at nonce_offset + 3). */
struct tp_template {
	uint64_t id;
	int64_t height;
	uint8_t blob[TP_BLOB_MAX];
	size_t blob_len;
	uint8_t seed[32];
	int clean;			/* first job of its height */
	/* (nonce) seen, for duplicates: a small open array */
	uint32_t *nonces;
	size_t nnonces, capnonces;
};

struct tp_chain {
	int monero;
	unsigned nonce_offset;
	int64_t height;
	uint32_t nbits;
	uint8_t block_target[32];
	uint8_t salt[32];
	uint64_t next_id;
	struct tp_template tpl[TP_TEMPLATES];	/* ring, newest at cur */
	unsigned cur, count;
};

void tp_chain_init(struct tp_chain *c, int monero, int64_t height,
    uint32_t nbits, const char *seed);
void tp_chain_free(struct tp_chain *c);
/* A new template; advance_height: a new block (clean job). */
struct tp_template *tp_chain_next(struct tp_chain *c, int advance_height);
struct tp_template *tp_chain_current(struct tp_chain *c);
/* A template still kept, or NULL. */
struct tp_template *tp_chain_find(struct tp_chain *c, uint64_t id);
/* 1 when nonce was already seen on t (records it otherwise). */
int tp_template_seen(struct tp_template *t, uint32_t nonce);

/* Share verification off the network thread. */
struct tp_verify;
struct tp_verify_job {
	uint64_t client_id;		/* connection generation */
	int64_t req_id;
	char login[128];
	char job_id[24];
	char nonce_hex[9];
	uint64_t tpl_id;
	uint8_t blob[TP_BLOB_MAX];
	size_t blob_len;
	uint8_t seed[32];
	uint8_t result[32];		/* what the miner claims */
	/* filled by the verifier */
	uint8_t hash[32];
	int match;			/* hash == result */
	struct tp_verify_job *next;
};

/* notify_fd gets a byte whenever results are ready. */
struct tp_verify *tp_verify_new(int threads, int notify_fd);
void tp_verify_push(struct tp_verify *v, struct tp_verify_job *j);
/* Finished jobs (a list, oldest first), or NULL. */
struct tp_verify_job *tp_verify_take(struct tp_verify *v);
/* Verifies what is queued, then stops the threads (a clean stop). */
void tp_verify_finish(struct tp_verify *v);
void tp_verify_free(struct tp_verify *v);

/* The tallies the summary prints. */
struct tp_stats;
struct tp_stats *tp_stats_new(void);
void tp_stats_free(struct tp_stats *st);
void tp_stats_share(struct tp_stats *st, const char *login, const char *job_id,
    const char *nonce_hex, const char *verdict, int is_block);
void tp_stats_login(struct tp_stats *st, const char *login, int ok);
void tp_stats_connection(struct tp_stats *st);
void tp_stats_job(struct tp_stats *st, int64_t height);
/* Writes the JSON summary to path (atomically) or stderr when NULL. */
void tp_stats_dump(struct tp_stats *st, const char *path);

/* The server loop; returns when *stop is set.  *dump writes the summary,
 * *stall_toggle stalls or resumes, *new_block finds a block now (a new
 * height: a clean job). */
int tp_server_run(const struct tp_options *o, struct tp_stats *st,
    volatile sig_atomic_t *stop, volatile sig_atomic_t *dump,
    volatile sig_atomic_t *stall_toggle, volatile sig_atomic_t *new_block);

#endif
