/*
 * rpc_server.h: the coordinator's gRPC server (C core API) for the CoopMine
 * service.  It authenticates workers (mutual TLS, identity = certificate
 * CN), keeps the worker registry current, answers the stats RPCs itself, and
 * hands jobs and shares to the coordinator core through struct rpc_hooks.
 *
 * Threads: the server runs its own completion-queue threads; every hook is
 * called on one of them and must not block (queue the work, answer later).
 * rpc_stream_send(), rpc_share_reply() and rpc_share_fail() may be called
 * from any thread, hooks included, with the caller's own locks held (they
 * never call back into the core).  Never call rpc_server_stop()/_free()
 * from a hook.
 *
 * Shutdown order: rpc_server_stop() (streams end, stream_close hooks fire;
 * replies given after this are dropped), then stop the core (it must have
 * replied to every share and dropped every stream reference it holds), then
 * rpc_server_free() (it waits for those references).
 */
#ifndef COOPMINE_COORDINATOR_RPC_SERVER_H
#define COOPMINE_COORDINATOR_RPC_SERVER_H

#include <stddef.h>
#include <stdint.h>

#include "coopmine_messages.pb-c.h"
#include "coordinator/registry.h"

/* Jobs queued on one stream before the worker is cut off as too slow. */
#define RPC_STREAM_QUEUE_MAX 32

/* Concurrent calls (HTTP/2 streams) one connection may hold open: a
 * worker needs its job stream, a heartbeat and shares in flight. */
#define RPC_STREAMS_PER_CONNECTION 64

struct rpc_stream;	/* one worker's open StreamJobs call */
struct rpc_share;	/* one SubmitShare call awaiting its verdict */

/* A share as the worker sent it (SubmitShare), in plain types. */
struct rpc_share_req {
	const char *job_id;		/* never NULL */
	const uint8_t *nonce;		/* NULL when absent */
	size_t nonce_len;
	const uint8_t *result;
	size_t result_len;
	int64_t timestamp;
	uint64_t lease_id;
};

/* The request's fields as the share sink sees them; plain points into req
 * (pure: also the seam of tests/fuzz/fuzz_rpc_request.c). */
void rpc_share_req_from_msg(const Coopmine__ShareRequest *req,
    struct rpc_share_req *plain);
/* A worker_id claimed without a certificate (insecure mode) is taken only
 * when present, printable and shorter than REGISTRY_ID_MAX: 0 or -EINVAL. */
int rpc_claimed_id_ok(const char *claimed);

/* The answer to it (ShareResponse).  retry_after_ms > 0: not judged, the
 * worker resends later (counted nowhere).  costly: rejected after its
 * hash was recomputed (counts against the sender's invalid budget). */
struct rpc_share_verdict {
	int accepted;
	const char *reason;
	int is_block;
	const char *block_hash;		/* NULL: none */
	double difficulty;
	int32_t retry_after_ms;
	int costly;
};

/* Why a share call ends without a verdict (rpc_share_fail). */
enum rpc_fail {
	RPC_FAIL_EXHAUSTED,		/* out of memory */
	RPC_FAIL_UNAVAILABLE,		/* stopping, or no sink */
	RPC_FAIL_DENIED			/* quarantined or revoked */
};

/*
 * What the coordinator core plugs in.  Every member may be NULL.
 */
struct rpc_hooks {
	/* Register (after identity checks, before the worker is recorded).
	 * resp arrives filled (success, assigned_id, config with the cluster
	 * and intervals); the hook may set resp->config->target_difficulty,
	 * attach the current job with rpc_register_set_job(), or refuse by
	 * setting resp->success = 0 and resp->message to a static string. */
	void (*register_worker)(void *arg, const char *worker_id,
	    const Coopmine__RegisterRequest *req, Coopmine__RegisterResponse *resp);

	/* Job source.  A registered worker opened StreamJobs: it is now the
	 * worker's one live stream in the registry (registry_stream_get()
	 * finds it; a stream it replaced has been cancelled).  The hook may
	 * rpc_stream_send() to s at once, and keeps it only by taking its
	 * own reference (rpc_stream_ref()).  Return 0 to keep it, < 0 to
	 * refuse (the call ends UNAVAILABLE). */
	int (*stream_open)(void *arg, struct rpc_stream *s, const char *worker_id);
	/* The stream ended (worker gone, cancelled, too slow, server stop).
	 * Called once per accepted stream_open, never concurrently with it;
	 * later rpc_stream_send() calls return -EPIPE. */
	void (*stream_close)(void *arg, struct rpc_stream *s, const char *worker_id);

	/* Share sink.  Ownership of sh passes to the sink, which must answer
	 * exactly once with rpc_share_reply() or rpc_share_fail(), from any
	 * thread, later.  req stays valid until then.  With no sink the
	 * server answers UNAVAILABLE "no share sink". */
	void (*submit_share)(void *arg, struct rpc_share *sh, const char *worker_id,
	    const struct rpc_share_req *req);

	/* A heartbeat from a registered worker (the registry has recorded it:
	 * hashrate, counters, last seen).  req carries lease progress
	 * (lease_id, lease_hashes_done, want_lease).  Returns a command that
	 * overrides the registry's (see registry_heartbeat); WORKER_CMD_NONE
	 * lets the registry's through. */
	enum worker_command (*heartbeat)(void *arg, const char *worker_id,
	    const Coopmine__HeartbeatRequest *req);

	/* A worker went online/offline (registry_reason says why). */
	void (*worker_status)(void *arg, const char *worker_id, int online,
	    enum registry_reason why);
};

struct rpc_server_config {
	const char *listen;		/* "host:port", ":port" = all addresses */
	const char *cluster_id, *cluster_name;
	int64_t heartbeat_ms;		/* told to workers; offline after 3 missed */
	int64_t job_timeout_ms;		/* told to workers */
	int64_t keepalive_ms;		/* ping idle workers this often (>= 1 s;
					 * 0: heartbeat_ms); answer within
					 * max(keepalive_ms, 5 s).  Workers may
					 * ping every >= 5 s. */
	int threads;			/* completion-queue threads; 0: 2 */
	int insecure;			/* plaintext, identity from requests */
	const char *tls_ca, *tls_cert, *tls_key;	/* PEM files (mTLS) */
	const struct rpc_hooks *hooks;	/* NULL: none (copied) */
	void *hooks_arg;
};

struct rpc_server;

/* Creates the server and binds the listener (but serves nothing yet).
 * NULL on failure, after logging why (bad address, port in use, missing
 * or readable-by-others key, unreadable certificates). */
struct rpc_server *rpc_server_new(const struct rpc_server_config *cfg,
    struct registry *reg);
/* The port actually bound (useful with port 0). */
int rpc_server_port(const struct rpc_server *srv);
/* Starts the completion-queue threads.  0 or -errno. */
int rpc_server_start(struct rpc_server *srv);
/* Stops serving: no new calls, open calls cancelled, threads joined.
 * Idempotent. */
void rpc_server_stop(struct rpc_server *srv);
/* Stops if needed, waits until the core released every stream and share
 * it holds, frees.  Call before grpc_shutdown(). */
void rpc_server_free(struct rpc_server *srv);

/* Pushes a job to the worker of s (packed on the calling thread, queued,
 * sent in order).  With clean_jobs set, jobs still queued are dropped
 * (superseded).  order > 0: a job whose order is not above the last one
 * this stream took is dropped as superseded (0 is returned: the worker
 * has newer work); 0 takes any.  0; -EPIPE the stream has ended; -ENOBUFS
 * the worker could not keep up (RPC_STREAM_QUEUE_MAX queued): the stream
 * is cancelled with RESOURCE_EXHAUSTED and stream_close follows. */
int rpc_stream_send(struct rpc_stream *s, const Coopmine__JobMessage *job,
    uint64_t order);
/* The authenticated worker id of the stream (valid while referenced). */
const char *rpc_stream_worker_id(const struct rpc_stream *s);
void rpc_stream_ref(struct rpc_stream *s);
void rpc_stream_unref(struct rpc_stream *s);
/* Ends the stream (CANCELLED with why, e.g. replaced by a newer stream
 * of the same worker); stream_close follows. */
void rpc_stream_cancel(struct rpc_stream *s, const char *why);

/* Answers a share (and frees sh).  The verdict is counted in the
 * registry unless v->retry_after_ms > 0.  0, or -EPIPE when the worker
 * has gone or the server stopped (the verdict still counts). */
int rpc_share_reply(struct rpc_share *sh, const struct rpc_share_verdict *v);
/* Ends the call without a verdict (a gRPC status chosen for why) and
 * frees sh. */
int rpc_share_fail(struct rpc_share *sh, enum rpc_fail why,
    const char *message);

/* For register_worker: a deep copy of job becomes resp->current_job (the
 * server frees it).  0 or -ENOMEM. */
int rpc_register_set_job(Coopmine__RegisterResponse *resp,
    const Coopmine__JobMessage *job);

#endif
