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

struct rpc_stream;	/* one worker's open StreamJobs call */
struct rpc_share;	/* one SubmitShare call awaiting its verdict */

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

	/* Job source.  A registered worker opened StreamJobs.  The hook
	 * receives one reference to s (release with rpc_stream_unref(), at
	 * the latest after stream_close) and may rpc_stream_send() to it at
	 * once.  Return 0 to keep it, < 0 to refuse (the call ends
	 * UNAVAILABLE; the reference is then not handed over). */
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
	    const Coopmine__ShareRequest *req);

	/* A heartbeat from a registered worker (the registry has recorded it:
	 * hashrate, counters, last seen).  req carries lease progress
	 * (lease_id, lease_hashes_done, want_lease).  Returns the command for
	 * HeartbeatResponse; COMMAND_NONE lets a command queued with
	 * registry_set_command() through. */
	Coopmine__WorkerCommand (*heartbeat)(void *arg, const char *worker_id,
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
 * (superseded).  0; -EPIPE the stream has ended; -ENOBUFS the worker
 * could not keep up (RPC_STREAM_QUEUE_MAX queued): the stream is cancelled
 * with RESOURCE_EXHAUSTED and stream_close follows. */
int rpc_stream_send(struct rpc_stream *s, const Coopmine__JobMessage *job);
/* The authenticated worker id of the stream (valid while referenced). */
const char *rpc_stream_worker_id(const struct rpc_stream *s);
void rpc_stream_ref(struct rpc_stream *s);
void rpc_stream_unref(struct rpc_stream *s);

/* Answers a share (and frees sh).  accepted/is_block are counted in the
 * registry unless resp->retry_after_ms > 0.  0, or -EPIPE when the worker
 * has gone or the server stopped (the verdict still counts). */
int rpc_share_reply(struct rpc_share *sh, const Coopmine__ShareResponse *resp);
/* Ends the call with a gRPC status instead (e.g. GRPC_STATUS_UNAVAILABLE
 * while stopping) and frees sh. */
int rpc_share_fail(struct rpc_share *sh, int grpc_status, const char *message);

/* For register_worker: a deep copy of job becomes resp->current_job (the
 * server frees it).  0 or -ENOMEM. */
int rpc_register_set_job(Coopmine__RegisterResponse *resp,
    const Coopmine__JobMessage *job);

#endif
