/*
 * rpc_server.c: the CoopMine gRPC service on the gRPC C core API (see
 * rpc_server.h).  Generic calls are requested with grpc_server_request_call
 * and dispatched on the method path; every call is a struct call whose
 * batches complete on our completion queue.  Called by the coordinator's
 * main; hands jobs and shares to the core through struct rpc_hooks.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/support/alloc.h>
#include <grpc/support/time.h>

#include "common/clock.h"
#include "common/log.h"
#include "coordinator/rpc_server.h"
#include "rpc/codec.h"
#include "rpc/tls.h"

/* grpc_server_request_call slots kept armed: how many new calls can be
 * matched without waiting for us to re-arm. */
#define PENDING_REQUESTS 32
#define MAX_THREADS 16

enum method {
	M_UNKNOWN = 0, M_REGISTER, M_UNREGISTER, M_HEARTBEAT, M_STREAM_JOBS,
	M_SUBMIT_SHARE, M_CLUSTER_STATS, M_WORKER_STATS
};

static const struct {
	const char *path;
	const char *name;
	const ProtobufCMessageDescriptor *req;
} methods[] = {
	[M_UNKNOWN] = { "", "?", NULL },
	[M_REGISTER] = { RPC_METHOD_REGISTER, "Register",
	    &coopmine__register_request__descriptor },
	[M_UNREGISTER] = { RPC_METHOD_UNREGISTER, "Unregister",
	    &coopmine__unregister_request__descriptor },
	[M_HEARTBEAT] = { RPC_METHOD_HEARTBEAT, "Heartbeat",
	    &coopmine__heartbeat_request__descriptor },
	[M_STREAM_JOBS] = { RPC_METHOD_STREAM_JOBS, "StreamJobs",
	    &coopmine__stream_jobs_request__descriptor },
	[M_SUBMIT_SHARE] = { RPC_METHOD_SUBMIT_SHARE, "SubmitShare",
	    &coopmine__share_request__descriptor },
	[M_CLUSTER_STATS] = { RPC_METHOD_CLUSTER_STATS, "GetClusterStats",
	    &coopmine__cluster_stats_request__descriptor },
	[M_WORKER_STATS] = { RPC_METHOD_WORKER_STATS, "GetWorkerStats",
	    &coopmine__worker_stats_request__descriptor },
};

/* What a completion-queue tag stands for. */
enum tag_kind { T_NEW, T_RECV, T_CLOSE, T_SEND, T_FINAL, T_SHUTDOWN };

struct call;
struct tag {
	enum tag_kind kind;
	struct call *call;
};

/*
 * One RPC.  refs counts batches in flight plus holders outside the server
 * (the core's stream and share references); the last unref frees it.
 */
struct call {
	struct rpc_server *srv;
	grpc_call *call;
	grpc_call_details details;
	grpc_metadata_array req_md;
	grpc_byte_buffer *recv_buf;
	int cancelled;
	enum method m;
	char peer[96];
	char worker_id[REGISTRY_ID_MAX];	/* authenticated (CN) or claimed */
	struct tag t_new, t_recv, t_close, t_send, t_final;

	atomic_int refs;
	pthread_mutex_t lock;	/* guards the send queue and the flags */
	int md_sent;		/* initial metadata sent or in flight */
	int closed;		/* RECV_CLOSE seen, cancelled, or cut off */
	int final_started;
	grpc_byte_buffer *final_buf;	/* the response in the final batch */
	grpc_slice final_details;
	int has_final_details;

	/* StreamJobs only. */
	pthread_mutex_t hook_lock;	/* orders stream_open before stream_close */
	int opened;
	int sending;
	grpc_byte_buffer *in_flight;
	grpc_byte_buffer *queue[RPC_STREAM_QUEUE_MAX];
	size_t qhead, qlen;
	uint64_t last_order;	/* of the newest job taken (rpc_stream_send) */

	/* SubmitShare only: the request, and its plain view for the sink
	 * (pointing into it; both live until the call is freed). */
	Coopmine__ShareRequest *share_req;
	struct rpc_share_req share_plain;
};

struct rpc_stream { struct call c; };	/* the same object, typed for the core */
struct rpc_share { struct call c; };

struct rpc_server {
	grpc_server *server;
	grpc_completion_queue *cq;
	struct registry *reg;
	struct rpc_hooks hooks;
	void *hooks_arg;
	char cluster_id[REGISTRY_TEXT_MAX], cluster_name[REGISTRY_TEXT_MAX];
	int64_t heartbeat_ms, job_timeout_ms;
	int insecure, port, nthreads, started;
	pthread_t threads[MAX_THREADS];
	struct tag t_shutdown;
	atomic_llong next_sweep;

	pthread_mutex_t cq_lock;	/* guards the fields down to the cond */
	int cq_open;		/* batches may be started */
	long inflight;		/* batches started, completion not yet seen */
	int shutdown_seen, stopped;
	long live_calls;	/* struct call allocated and not yet freed */
	pthread_cond_t cq_cond;
};

static void call_unref(struct call *c);

/* ---- batches and the completion-queue gate --------------------------- */

/* Starts a batch unless the server is stopping.  The inflight count keeps
 * the queue open until every started batch has completed. */
static int
start_batch(struct call *c, const grpc_op *ops, size_t n, struct tag *t)
{
	struct rpc_server *srv = c->srv;
	grpc_call_error e;

	pthread_mutex_lock(&srv->cq_lock);
	if (!srv->cq_open) {
		pthread_mutex_unlock(&srv->cq_lock);
		return -EPIPE;
	}
	srv->inflight++;
	pthread_mutex_unlock(&srv->cq_lock);

	atomic_fetch_add(&c->refs, 1);
	if ((e = grpc_call_start_batch(c->call, ops, n, t, NULL)) != GRPC_CALL_OK) {
		log_error("grpc: start_batch on %s call from %s failed (%d)",
		    methods[c->m].name, c->peer, (int)e);
		pthread_mutex_lock(&srv->cq_lock);
		srv->inflight--;
		pthread_cond_broadcast(&srv->cq_cond);
		pthread_mutex_unlock(&srv->cq_lock);
		call_unref(c);
		return -EIO;
	}
	return 0;
}

static void
batch_done(struct rpc_server *srv)
{
	pthread_mutex_lock(&srv->cq_lock);
	srv->inflight--;
	pthread_cond_broadcast(&srv->cq_cond);
	pthread_mutex_unlock(&srv->cq_lock);
}

/* ---- call objects ----------------------------------------------------- */

static struct call *
call_new(struct rpc_server *srv)
{
	struct call *c = calloc(1, sizeof(*c));

	if (c == NULL)
		return NULL;
	c->srv = srv;
	grpc_call_details_init(&c->details);
	grpc_metadata_array_init(&c->req_md);
	pthread_mutex_init(&c->lock, NULL);
	pthread_mutex_init(&c->hook_lock, NULL);
	c->t_new = (struct tag){ T_NEW, c };
	c->t_recv = (struct tag){ T_RECV, c };
	c->t_close = (struct tag){ T_CLOSE, c };
	c->t_send = (struct tag){ T_SEND, c };
	c->t_final = (struct tag){ T_FINAL, c };
	pthread_mutex_lock(&srv->cq_lock);
	srv->live_calls++;
	pthread_mutex_unlock(&srv->cq_lock);
	return c;
}

static void
call_free(struct call *c)
{
	struct rpc_server *srv = c->srv;

	if (c->call != NULL)
		grpc_call_unref(c->call);
	grpc_call_details_destroy(&c->details);
	grpc_metadata_array_destroy(&c->req_md);
	if (c->recv_buf != NULL)
		grpc_byte_buffer_destroy(c->recv_buf);
	if (c->final_buf != NULL)
		grpc_byte_buffer_destroy(c->final_buf);
	if (c->has_final_details)
		grpc_slice_unref(c->final_details);
	if (c->in_flight != NULL)
		grpc_byte_buffer_destroy(c->in_flight);
	for (size_t i = 0; i < c->qlen; i++)
		grpc_byte_buffer_destroy(c->queue[(c->qhead + i) % RPC_STREAM_QUEUE_MAX]);
	if (c->share_req != NULL)
		protobuf_c_message_free_unpacked(&c->share_req->base, NULL);
	pthread_mutex_destroy(&c->lock);
	pthread_mutex_destroy(&c->hook_lock);
	free(c);
	pthread_mutex_lock(&srv->cq_lock);
	srv->live_calls--;
	pthread_cond_broadcast(&srv->cq_cond);
	pthread_mutex_unlock(&srv->cq_lock);
}

static void
call_unref(struct call *c)
{
	if (atomic_fetch_sub(&c->refs, 1) == 1)
		call_free(c);
}

/* Arms one grpc_server_request_call slot. */
static void
request_call(struct rpc_server *srv)
{
	struct call *c;
	grpc_call_error e;

	pthread_mutex_lock(&srv->cq_lock);
	if (!srv->cq_open || srv->shutdown_seen || srv->stopped) {
		pthread_mutex_unlock(&srv->cq_lock);
		return;
	}
	pthread_mutex_unlock(&srv->cq_lock);
	if ((c = call_new(srv)) == NULL) {
		log_error("grpc: out of memory for a new call");
		return;
	}
	atomic_store(&c->refs, 1);
	pthread_mutex_lock(&srv->cq_lock);
	srv->inflight++;
	pthread_mutex_unlock(&srv->cq_lock);
	e = grpc_server_request_call(srv->server, &c->call, &c->details,
	    &c->req_md, srv->cq, srv->cq, &c->t_new);
	if (e != GRPC_CALL_OK) {
		log_error("grpc: request_call failed (%d)", (int)e);
		batch_done(srv);
		call_unref(c);
	}
}

/* Ends a call with a status and an optional response message.  Once per
 * call; later attempts (e.g. after a cancel) are ignored. */
static int
call_finish(struct call *c, grpc_status_code status, const char *details,
    const ProtobufCMessage *resp)
{
	grpc_op ops[3];
	size_t n = 0;
	int need_md;

	pthread_mutex_lock(&c->lock);
	if (c->final_started) {
		pthread_mutex_unlock(&c->lock);
		return -EALREADY;
	}
	c->final_started = 1;
	if (resp != NULL && (c->final_buf = rpc_pack(resp)) == NULL) {
		status = GRPC_STATUS_RESOURCE_EXHAUSTED;
		details = "out of memory";
	}
	if (details != NULL) {
		c->final_details = grpc_slice_from_copied_string(details);
		c->has_final_details = 1;
	}
	need_md = !c->md_sent;
	c->md_sent = 1;
	pthread_mutex_unlock(&c->lock);

	memset(ops, 0, sizeof(ops));
	if (need_md)
		ops[n++].op = GRPC_OP_SEND_INITIAL_METADATA;
	if (c->final_buf != NULL && status == GRPC_STATUS_OK) {
		ops[n].op = GRPC_OP_SEND_MESSAGE;
		ops[n].data.send_message.send_message = c->final_buf;
		n++;
	}
	ops[n].op = GRPC_OP_SEND_STATUS_FROM_SERVER;
	ops[n].data.send_status_from_server.status = status;
	ops[n].data.send_status_from_server.status_details =
	    c->has_final_details ? &c->final_details : NULL;
	n++;
	return start_batch(c, ops, n, &c->t_final);
}

/* Client-supplied text made safe for a log line (bounded, printable). */
static const char *
printable(char *buf, size_t len, const char *s)
{
	size_t i = 0;

	for (; s != NULL && *s != '\0' && i + 1 < len; s++)
		buf[i++] = (*s >= 0x20 && *s < 0x7f) ? *s : '?';
	buf[i] = '\0';
	return buf;
}

/* ---- identity --------------------------------------------------------- */

/* The CN of the client certificate into c->worker_id; -1 if none. */
static int
peer_cn(struct call *c)
{
	grpc_auth_context *ctx;
	grpc_auth_property_iterator it;
	const grpc_auth_property *p;
	int rc = -1;

	if ((ctx = grpc_call_auth_context(c->call)) == NULL)
		return -1;
	it = grpc_auth_context_find_properties_by_name(ctx,
	    GRPC_X509_CN_PROPERTY_NAME);
	if ((p = grpc_auth_property_iterator_next(&it)) != NULL &&
	    p->value_length > 0 && p->value_length < sizeof(c->worker_id) &&
	    memchr(p->value, '\0', p->value_length) == NULL) {
		memcpy(c->worker_id, p->value, p->value_length);
		c->worker_id[p->value_length] = '\0';
		rc = 0;
	}
	grpc_auth_context_release(ctx);
	return rc;
}

/* A quarantined or revoked identity is refused on every call, with why. */
static int
access_check(struct call *c)
{
	char why[160];

	if (registry_access(c->srv->reg, c->worker_id, why, sizeof(why)) ==
	    REGISTRY_ALLOWED)
		return 0;
	log_debug("%s from %s (%s): %s", methods[c->m].name, c->worker_id,
	    c->peer, why);
	call_finish(c, GRPC_STATUS_PERMISSION_DENIED, why, NULL);
	return -1;
}

int
rpc_claimed_id_ok(const char *claimed)
{
	char safe[REGISTRY_ID_MAX];

	if (claimed == NULL || *claimed == '\0' ||
	    strlen(claimed) >= REGISTRY_ID_MAX ||
	    strcmp(printable(safe, sizeof(safe), claimed), claimed) != 0)
		return -EINVAL;
	return 0;
}

/* Settles the worker id a request acts for: the certificate's CN, which a
 * request may repeat but not contradict.  Insecure: the claimed id.
 * 0, or the call was finished with an error. */
static int
bind_worker(struct call *c, const char *claimed)
{
	if (claimed == NULL)
		claimed = "";
	if (c->srv->insecure) {
		if (rpc_claimed_id_ok(claimed) != 0) {
			log_warnx("%s from %s: worker_id missing or too long",
			    methods[c->m].name, c->peer);
			call_finish(c, GRPC_STATUS_INVALID_ARGUMENT,
			    "worker_id missing, not printable, or longer than 64 "
			    "bytes", NULL);
			return -1;
		}
		snprintf(c->worker_id, sizeof(c->worker_id), "%s", claimed);
		return access_check(c);
	}
	if (*claimed != '\0' && strcmp(claimed, c->worker_id) != 0) {
		char who[REGISTRY_ID_MAX];

		log_warnx("%s from %s: certificate CN '%s' asked to act as "
		    "worker '%s': refused", methods[c->m].name, c->peer,
		    c->worker_id, printable(who, sizeof(who), claimed));
		call_finish(c, GRPC_STATUS_PERMISSION_DENIED,
		    "worker_id does not match the client certificate", NULL);
		return -1;
	}
	return access_check(c);
}

/* ---- unary handlers ---------------------------------------------------- */

static void
handle_register(struct call *c, Coopmine__RegisterRequest *req)
{
	struct rpc_server *srv = c->srv;
	Coopmine__RegisterResponse resp = COOPMINE__REGISTER_RESPONSE__INIT;
	Coopmine__ClusterConfig cfg = COOPMINE__CLUSTER_CONFIG__INIT;
	int rc;

	if (bind_worker(c, req->worker_id) != 0)
		return;
	cfg.cluster_id = srv->cluster_id;
	cfg.cluster_name = srv->cluster_name;
	cfg.heartbeat_interval_ms = (int32_t)srv->heartbeat_ms;
	cfg.job_timeout_ms = (int32_t)srv->job_timeout_ms;
	resp.success = 1;
	resp.message = "registered";
	resp.assigned_id = c->worker_id;
	resp.config = &cfg;
	if (srv->hooks.register_worker != NULL)
		srv->hooks.register_worker(srv->hooks_arg, c->worker_id, req, &resp);
	if (resp.success) {
		rc = registry_register(srv->reg, c->worker_id, req->worker_name,
		    req->threads, req->version, req->os, req->arch, clock_wall_ms());
		if (rc != 0) {
			resp.success = 0;
			resp.message = rc == -ENOSPC ? "too many workers" :
			    rc == -EACCES ? "worker quarantined or revoked" :
			    "cannot register";
			log_warnx("register %s from %s: %s", c->worker_id, c->peer,
			    resp.message);
		} else {
			char nm[REGISTRY_TEXT_MAX], ver[REGISTRY_TEXT_MAX];
			char os[REGISTRY_TEXT_MAX], arch[REGISTRY_TEXT_MAX];

			registry_set_address(srv->reg, c->worker_id, c->peer);
			log_info("worker %s registered from %s (%s, %d threads, "
			    "%s %s/%s)", c->worker_id, c->peer,
			    printable(nm, sizeof(nm), req->worker_name),
			    req->threads, printable(ver, sizeof(ver), req->version),
			    printable(os, sizeof(os), req->os),
			    printable(arch, sizeof(arch), req->arch));
		}
	} else {
		log_info("register %s from %s refused: %s", c->worker_id, c->peer,
		    resp.message);
	}
	if (!resp.success && resp.current_job != NULL) {
		protobuf_c_message_free_unpacked(&resp.current_job->base, NULL);
		resp.current_job = NULL;
	}
	call_finish(c, GRPC_STATUS_OK, NULL, &resp.base);
	if (resp.current_job != NULL)
		protobuf_c_message_free_unpacked(&resp.current_job->base, NULL);
}

static void
handle_unregister(struct call *c, Coopmine__UnregisterRequest *req)
{
	Coopmine__UnregisterResponse resp = COOPMINE__UNREGISTER_RESPONSE__INIT;

	if (bind_worker(c, req->worker_id) != 0)
		return;
	if (registry_unregister(c->srv->reg, c->worker_id, clock_wall_ms()) == 0) {
		resp.success = 1;
		resp.message = "unregistered";
	} else {
		resp.message = "unknown worker";
	}
	call_finish(c, GRPC_STATUS_OK, NULL, &resp.base);
}

static void
handle_heartbeat(struct call *c, Coopmine__HeartbeatRequest *req)
{
	struct rpc_server *srv = c->srv;
	Coopmine__HeartbeatResponse resp = COOPMINE__HEARTBEAT_RESPONSE__INIT;
	struct registry_beat beat = {
		.hashrate = req->hashrate, .shares_valid = req->shares_valid,
		.shares_invalid = req->shares_invalid,
		.hashes_total = req->hashes_total, .uptime_ms = req->uptime_ms,
		.cpu_usage = req->cpu_usage, .memory_usage = req->memory_usage,
		.temperature = req->temperature,
		.hashrate_60s = req->hashrate_60s,
		.hashrate_15m = req->hashrate_15m,
		.huge_pages_used = req->huge_pages_used,
		.threads_running = req->threads,
	};
	enum worker_command queued, cmd = WORKER_CMD_NONE;
	int rc;

	if (bind_worker(c, req->worker_id) != 0)
		return;
	snprintf(beat.rx_mode, sizeof(beat.rx_mode), "%s",
	    req->randomx_mode != NULL ? req->randomx_mode : "");
	snprintf(beat.huge_pages, sizeof(beat.huge_pages), "%s",
	    req->huge_pages != NULL ? req->huge_pages : "");
	rc = registry_heartbeat(srv->reg, c->worker_id, &beat, clock_wall_ms(),
	    &queued);
	if (rc != 0) {
		resp.message = "not registered: register first";
		log_info("heartbeat from %s (%s): not registered", c->worker_id,
		    c->peer);
	} else {
		resp.success = 1;
		if (srv->hooks.heartbeat != NULL)
			cmd = srv->hooks.heartbeat(srv->hooks_arg, c->worker_id, req);
		if (cmd == WORKER_CMD_NONE)
			cmd = queued;
		resp.command = (Coopmine__WorkerCommand)cmd;
	}
	call_finish(c, GRPC_STATUS_OK, NULL, &resp.base);
}

static void
handle_cluster_stats(struct call *c)
{
	struct rpc_server *srv = c->srv;
	Coopmine__ClusterStatsResponse resp = COOPMINE__CLUSTER_STATS_RESPONSE__INIT;
	Coopmine__WorkerSummary *sums = NULL, **ptrs = NULL;
	struct registry_worker *ws = NULL;
	struct registry_totals t;
	size_t n = 0;

	registry_totals(srv->reg, &t);
	if (registry_list(srv->reg, &ws, &n) != 0 ||
	    (n > 0 && ((sums = calloc(n, sizeof(*sums))) == NULL ||
	    (ptrs = calloc(n, sizeof(*ptrs))) == NULL))) {
		call_finish(c, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory", NULL);
		goto out;
	}
	resp.cluster_id = srv->cluster_id;
	resp.cluster_name = srv->cluster_name;
	resp.workers_online = t.workers_online;
	resp.workers_total = t.workers_total;
	resp.total_hashrate = t.total_hashrate;
	resp.shares_valid = t.shares_valid;
	resp.shares_invalid = t.shares_invalid;
	resp.blocks_found = t.blocks_found;
	resp.uptime_ms = clock_wall_ms() - t.started_at;
	resp.last_block_time = t.last_block_time;
	resp.avg_block_time = t.avg_block_time;
	for (size_t i = 0; i < n; i++) {
		coopmine__worker_summary__init(&sums[i]);
		sums[i].worker_id = ws[i].id;
		sums[i].worker_name = ws[i].name;
		sums[i].status = (char *)ws[i].status;
		sums[i].hashrate = ws[i].hashrate;
		sums[i].shares = ws[i].shares_valid;
		sums[i].last_seen = ws[i].last_seen;
		ptrs[i] = &sums[i];
	}
	resp.n_workers = n;
	resp.workers = ptrs;
	call_finish(c, GRPC_STATUS_OK, NULL, &resp.base);
out:
	free(ptrs);
	free(sums);
	free(ws);
}

static void
handle_worker_stats(struct call *c, Coopmine__WorkerStatsRequest *req)
{
	Coopmine__WorkerStatsResponse resp = COOPMINE__WORKER_STATS_RESPONSE__INIT;
	struct registry_worker w;
	const char *id = req->worker_id;

	/* Any cluster member may read any worker's figures; default: its own. */
	if (id == NULL || *id == '\0')
		id = c->worker_id;
	if (registry_get(c->srv->reg, id, &w) != 0) {
		call_finish(c, GRPC_STATUS_NOT_FOUND, "unknown worker", NULL);
		return;
	}
	resp.worker_id = w.id;
	resp.worker_name = w.name;
	resp.status = (char *)w.status;
	resp.hashrate = w.hashrate;
	resp.shares_valid = w.shares_valid;
	resp.shares_invalid = w.shares_invalid;
	resp.hashes_total = w.reported.hashes_total;
	resp.uptime_ms = w.reported.uptime_ms;
	resp.threads = w.threads;
	resp.connected_at = w.connected_at;
	resp.last_share_at = w.last_share_at;
	resp.current_job_id = w.current_job_id;
	call_finish(c, GRPC_STATUS_OK, NULL, &resp.base);
}

/* ---- StreamJobs --------------------------------------------------------- */

/* Sends the next queued job if none is in flight.  c->lock held. */
static void
stream_pump(struct call *c)
{
	grpc_op op;

	if (c->sending || c->closed || c->qlen == 0)
		return;
	c->in_flight = c->queue[c->qhead];
	c->qhead = (c->qhead + 1) % RPC_STREAM_QUEUE_MAX;
	c->qlen--;
	c->sending = 1;
	memset(&op, 0, sizeof(op));
	op.op = GRPC_OP_SEND_MESSAGE;
	op.data.send_message.send_message = c->in_flight;
	/* Completions go to the queue, never back into this thread, so
	 * c->lock may be held here. */
	if (start_batch(c, &op, 1, &c->t_send) != 0) {
		c->sending = 0;
		c->closed = 1;
	}
}

int
rpc_stream_send(struct rpc_stream *s, const Coopmine__JobMessage *job,
    uint64_t order)
{
	struct call *c = &s->c;
	grpc_byte_buffer *bb;

	if ((bb = rpc_pack(&job->base)) == NULL)
		return -ENOMEM;
	pthread_mutex_lock(&c->lock);
	if (c->closed) {
		pthread_mutex_unlock(&c->lock);
		grpc_byte_buffer_destroy(bb);
		return -EPIPE;
	}
	if (order > 0 && order <= c->last_order) {
		/* issued before work this stream has already taken */
		pthread_mutex_unlock(&c->lock);
		grpc_byte_buffer_destroy(bb);
		return 0;
	}
	if (order > 0)
		c->last_order = order;
	if (job->clean_jobs) {
		/* Superseded: a worker must not start on them. */
		for (; c->qlen > 0; c->qlen--) {
			grpc_byte_buffer_destroy(c->queue[c->qhead]);
			c->qhead = (c->qhead + 1) % RPC_STREAM_QUEUE_MAX;
		}
	}
	if (c->qlen == RPC_STREAM_QUEUE_MAX) {
		c->closed = 1;
		pthread_mutex_unlock(&c->lock);
		grpc_byte_buffer_destroy(bb);
		log_warnx("worker %s (%s): job stream cannot keep up (%d jobs "
		    "queued); closing it", c->worker_id, c->peer,
		    RPC_STREAM_QUEUE_MAX);
		grpc_call_cancel_with_status(c->call, GRPC_STATUS_RESOURCE_EXHAUSTED,
		    "job stream queue overflow: worker too slow", NULL);
		return -ENOBUFS;
	}
	c->queue[(c->qhead + c->qlen) % RPC_STREAM_QUEUE_MAX] = bb;
	c->qlen++;
	stream_pump(c);
	pthread_mutex_unlock(&c->lock);
	registry_set_job(c->srv->reg, c->worker_id,
	    job->job_id != NULL ? job->job_id : "");
	return 0;
}

const char *
rpc_stream_worker_id(const struct rpc_stream *s)
{
	return s->c.worker_id;
}

void
rpc_stream_ref(struct rpc_stream *s)
{
	atomic_fetch_add(&s->c.refs, 1);
}

void
rpc_stream_unref(struct rpc_stream *s)
{
	call_unref(&s->c);
}

static void
send_done(struct call *c, int ok)
{
	pthread_mutex_lock(&c->lock);
	c->sending = 0;
	if (c->in_flight != NULL) {
		grpc_byte_buffer_destroy(c->in_flight);
		c->in_flight = NULL;
	}
	if (!ok)
		c->closed = 1;
	else
		stream_pump(c);
	pthread_mutex_unlock(&c->lock);
}

static void
handle_stream_jobs(struct call *c, Coopmine__StreamJobsRequest *req)
{
	struct rpc_server *srv = c->srv;
	struct rpc_stream *replaced = NULL;
	int rc, refused = 0;

	if (bind_worker(c, req->worker_id) != 0)
		return;
	pthread_mutex_lock(&c->hook_lock);
	pthread_mutex_lock(&c->lock);
	if (c->closed) {
		pthread_mutex_unlock(&c->lock);
		pthread_mutex_unlock(&c->hook_lock);
		return;
	}
	pthread_mutex_unlock(&c->lock);
	/* The registry keeps its own reference: the worker's one stream. */
	rc = registry_stream_open(srv->reg, c->worker_id, (struct rpc_stream *)c,
	    clock_wall_ms(), &replaced);
	if (rc != 0) {
		pthread_mutex_unlock(&c->hook_lock);
		log_info("StreamJobs from %s (%s): %s", c->worker_id, c->peer,
		    rc == -EACCES ? "access denied" : "not registered");
		call_finish(c, rc == -EACCES ? GRPC_STATUS_PERMISSION_DENIED :
		    GRPC_STATUS_FAILED_PRECONDITION, rc == -EACCES ?
		    "worker quarantined or revoked" :
		    "not registered: register first", NULL);
		return;
	}
	if (replaced != NULL) {
		log_info("worker %s: a new job stream (%s) replaces the old one",
		    c->worker_id, c->peer);
		rpc_stream_cancel(replaced, "replaced by a newer job stream of "
		    "this worker");
		rpc_stream_unref(replaced);
	}
	pthread_mutex_lock(&c->lock);
	c->opened = 1;
	pthread_mutex_unlock(&c->lock);
	if (srv->hooks.stream_open != NULL) {
		if (srv->hooks.stream_open(srv->hooks_arg, (struct rpc_stream *)c,
		    c->worker_id) != 0)
			refused = 1;
	} else {
		/* The stream stays open and idle: the worker sees no job
		 * rather than a made-up one. */
		log_info("worker %s: job stream open, but no job source yet",
		    c->worker_id);
	}
	if (refused) {
		pthread_mutex_lock(&c->lock);
		c->opened = 0;
		c->closed = 1;
		pthread_mutex_unlock(&c->lock);
		registry_stream_close(srv->reg, c->worker_id, (struct rpc_stream *)c,
		    clock_wall_ms());
	}
	pthread_mutex_unlock(&c->hook_lock);
	if (refused)
		call_finish(c, GRPC_STATUS_UNAVAILABLE, "job source refused the stream",
		    NULL);
	else
		log_debug("worker %s: job stream open (%s)", c->worker_id, c->peer);
}

void
rpc_stream_cancel(struct rpc_stream *s, const char *why)
{
	struct call *c = &s->c;

	pthread_mutex_lock(&c->lock);
	c->closed = 1;
	pthread_mutex_unlock(&c->lock);
	grpc_call_cancel_with_status(c->call, GRPC_STATUS_CANCELLED, why, NULL);
}

/* RECV_CLOSE_ON_SERVER completed: the call is over on the wire. */
static void
close_done(struct call *c)
{
	struct rpc_server *srv = c->srv;
	int was_open;

	pthread_mutex_lock(&c->hook_lock);
	pthread_mutex_lock(&c->lock);
	c->closed = 1;
	was_open = c->opened;
	c->opened = 0;
	pthread_mutex_unlock(&c->lock);
	if (was_open) {
		log_info("worker %s: job stream %s (%s)", c->worker_id,
		    c->cancelled ? "lost" : "ended", c->peer);
		registry_stream_close(srv->reg, c->worker_id, (struct rpc_stream *)c,
		    clock_wall_ms());
		if (srv->hooks.stream_close != NULL)
			srv->hooks.stream_close(srv->hooks_arg,
			    (struct rpc_stream *)c, c->worker_id);
	} else if (c->cancelled && c->m != M_UNKNOWN) {
		log_debug("%s call from %s cancelled", methods[c->m].name, c->peer);
	}
	pthread_mutex_unlock(&c->hook_lock);
}

/* ---- SubmitShare ---------------------------------------------------- */

void
rpc_share_req_from_msg(const Coopmine__ShareRequest *req,
    struct rpc_share_req *plain)
{
	plain->job_id = req->job_id != NULL ? req->job_id : "";
	plain->nonce = req->nonce.len > 0 ? req->nonce.data : NULL;
	plain->nonce_len = req->nonce.len;
	plain->result = req->result.len > 0 ? req->result.data : NULL;
	plain->result_len = req->result.len;
	plain->timestamp = req->timestamp;
	plain->lease_id = req->lease_id;
}

static void
handle_submit_share(struct call *c, Coopmine__ShareRequest *req)
{
	struct rpc_server *srv = c->srv;
	struct rpc_share_req *plain = &c->share_plain;

	if (bind_worker(c, req->worker_id) != 0) {
		protobuf_c_message_free_unpacked(&req->base, NULL);
		return;
	}
	if (srv->hooks.submit_share == NULL) {
		char job[REGISTRY_TEXT_MAX];

		log_warnx("share from %s for job %s: no share sink",
		    c->worker_id, printable(job, sizeof(job), req->job_id));
		protobuf_c_message_free_unpacked(&req->base, NULL);
		call_finish(c, GRPC_STATUS_UNAVAILABLE, "no share sink", NULL);
		return;
	}
	c->share_req = req;	/* freed with the call: plain points into it */
	rpc_share_req_from_msg(req, plain);
	atomic_fetch_add(&c->refs, 1);	/* the sink's, until it answers */
	srv->hooks.submit_share(srv->hooks_arg, (struct rpc_share *)c,
	    c->worker_id, plain);
}

int
rpc_share_reply(struct rpc_share *sh, const struct rpc_share_verdict *v)
{
	struct call *c = &sh->c;
	Coopmine__ShareResponse resp = COOPMINE__SHARE_RESPONSE__INIT;
	int rc;

	resp.accepted = v->accepted;
	resp.reason = (char *)(v->reason != NULL ? v->reason : "");
	resp.is_block = v->is_block;
	resp.block_hash = (char *)(v->block_hash != NULL ? v->block_hash : "");
	resp.difficulty = v->difficulty;
	resp.retry_after_ms = v->retry_after_ms;
	if (v->retry_after_ms <= 0)
		registry_record_share(c->srv->reg, c->worker_id, v->accepted,
		    v->is_block, v->costly, clock_wall_ms());
	rc = call_finish(c, GRPC_STATUS_OK, NULL, &resp.base);
	call_unref(c);
	return rc == 0 ? 0 : -EPIPE;
}

int
rpc_share_fail(struct rpc_share *sh, enum rpc_fail why, const char *message)
{
	struct call *c = &sh->c;
	grpc_status_code st = why == RPC_FAIL_EXHAUSTED ?
	    GRPC_STATUS_RESOURCE_EXHAUSTED : why == RPC_FAIL_DENIED ?
	    GRPC_STATUS_PERMISSION_DENIED : GRPC_STATUS_UNAVAILABLE;
	int rc;

	rc = call_finish(c, st, message, NULL);
	call_unref(c);
	return rc == 0 ? 0 : -EPIPE;
}

int
rpc_register_set_job(Coopmine__RegisterResponse *resp,
    const Coopmine__JobMessage *job)
{
	size_t len = protobuf_c_message_get_packed_size(&job->base);
	uint8_t *buf = malloc(len ? len : 1);
	ProtobufCMessage *copy;

	if (buf == NULL)
		return -ENOMEM;
	protobuf_c_message_pack(&job->base, buf);
	copy = protobuf_c_message_unpack(&coopmine__job_message__descriptor,
	    NULL, len, buf);
	free(buf);
	if (copy == NULL)
		return -ENOMEM;
	if (resp->current_job != NULL)
		protobuf_c_message_free_unpacked(&resp->current_job->base, NULL);
	resp->current_job = (Coopmine__JobMessage *)copy;
	return 0;
}

/* ---- dispatch ---------------------------------------------------------- */

static enum method
method_of(const grpc_slice *path)
{
	size_t len = GRPC_SLICE_LENGTH(*path);

	for (int m = M_REGISTER; m <= M_WORKER_STATS; m++)
		if (strlen(methods[m].path) == len &&
		    memcmp(GRPC_SLICE_START_PTR(*path), methods[m].path, len) == 0)
			return (enum method)m;
	return M_UNKNOWN;
}

/* A new call matched one of our request slots. */
static void
new_done(struct call *c, int ok)
{
	struct rpc_server *srv = c->srv;
	grpc_op ops[2];
	char *peer;

	request_call(srv);		/* re-arm first */
	if (!ok)
		return;			/* shutting down */
	if ((peer = grpc_call_get_peer(c->call)) != NULL) {
		snprintf(c->peer, sizeof(c->peer), "%s", peer);
		gpr_free(peer);
	}
	c->m = method_of(&c->details.method);

	memset(ops, 0, sizeof(ops));
	ops[0].op = GRPC_OP_RECV_CLOSE_ON_SERVER;
	ops[0].data.recv_close_on_server.cancelled = &c->cancelled;
	if (start_batch(c, ops, 1, &c->t_close) != 0)
		return;

	if (c->m == M_UNKNOWN) {
		char path[128];
		size_t len = GRPC_SLICE_LENGTH(c->details.method);

		snprintf(path, sizeof(path), "%.*s", (int)(len < 100 ? len : 100),
		    (const char *)GRPC_SLICE_START_PTR(c->details.method));
		log_warnx("call from %s to unknown method %s", c->peer, path);
		call_finish(c, GRPC_STATUS_UNIMPLEMENTED, "unknown method", NULL);
		return;
	}
	if (!srv->insecure && peer_cn(c) != 0) {
		/* The handshake verified a certificate; one without a CN
		 * names no worker. */
		log_warnx("%s from %s: client certificate has no CN",
		    methods[c->m].name, c->peer);
		call_finish(c, GRPC_STATUS_UNAUTHENTICATED,
		    "client certificate has no common name", NULL);
		return;
	}
	c->md_sent = 1;
	memset(ops, 0, sizeof(ops));
	ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
	ops[0].data.send_initial_metadata.count = 0;
	ops[1].op = GRPC_OP_RECV_MESSAGE;
	ops[1].data.recv_message.recv_message = &c->recv_buf;
	start_batch(c, ops, 2, &c->t_recv);
}

/* The request message arrived (or the call died first). */
static void
recv_done(struct call *c, int ok)
{
	ProtobufCMessage *msg;
	grpc_byte_buffer *bb = c->recv_buf;

	c->recv_buf = NULL;
	if (!ok || bb == NULL) {
		log_warnx("%s from %s: no request message (cancelled, or larger "
		    "than %d bytes)", methods[c->m].name, c->peer, RPC_MAX_MESSAGE);
		if (bb != NULL)
			grpc_byte_buffer_destroy(bb);
		call_finish(c, GRPC_STATUS_INVALID_ARGUMENT, "no request message",
		    NULL);
		return;
	}
	msg = rpc_unpack(methods[c->m].req, bb);
	grpc_byte_buffer_destroy(bb);
	if (msg == NULL) {
		log_warnx("%s from %s: malformed request", methods[c->m].name,
		    c->peer);
		call_finish(c, GRPC_STATUS_INVALID_ARGUMENT,
		    "malformed request message", NULL);
		return;
	}
	switch (c->m) {
	case M_REGISTER:
		handle_register(c, (Coopmine__RegisterRequest *)msg);
		break;
	case M_UNREGISTER:
		handle_unregister(c, (Coopmine__UnregisterRequest *)msg);
		break;
	case M_HEARTBEAT:
		handle_heartbeat(c, (Coopmine__HeartbeatRequest *)msg);
		break;
	case M_STREAM_JOBS:
		handle_stream_jobs(c, (Coopmine__StreamJobsRequest *)msg);
		break;
	case M_SUBMIT_SHARE:
		handle_submit_share(c, (Coopmine__ShareRequest *)msg);
		msg = NULL;	/* owned by the call now */
		break;
	case M_CLUSTER_STATS:
		handle_cluster_stats(c);
		break;
	case M_WORKER_STATS:
		handle_worker_stats(c, (Coopmine__WorkerStatsRequest *)msg);
		break;
	default:
		fatalx("rpc: unexpected method %d", (int)c->m);
	}
	if (msg != NULL)
		protobuf_c_message_free_unpacked(msg, NULL);
}

static void
on_event(struct rpc_server *srv, struct tag *t, int ok)
{
	struct call *c = t->call;

	switch (t->kind) {
	case T_SHUTDOWN:
		pthread_mutex_lock(&srv->cq_lock);
		srv->shutdown_seen = 1;
		pthread_mutex_unlock(&srv->cq_lock);
		break;
	case T_NEW:
		new_done(c, ok);
		break;
	case T_RECV:
		recv_done(c, ok);
		break;
	case T_CLOSE:
		close_done(c);
		break;
	case T_SEND:
		send_done(c, ok);
		break;
	case T_FINAL:
		break;
	default:
		fatalx("rpc: unexpected tag kind %d", (int)t->kind);
	}
	if (c != NULL)
		call_unref(c);
	batch_done(srv);
}

static void
status_relay(void *arg, const char *worker_id, int online, enum registry_reason why)
{
	struct rpc_server *srv = arg;

	srv->hooks.worker_status(srv->hooks_arg, worker_id, online, why);
}

static void
maybe_sweep(struct rpc_server *srv)
{
	long long now = clock_mono_ms(), due = atomic_load(&srv->next_sweep);
	long long period = srv->heartbeat_ms / 4;

	if (now < due)
		return;
	if (period < 50)
		period = 50;
	if (period > 1000)
		period = 1000;
	if (atomic_compare_exchange_strong(&srv->next_sweep, &due, now + period))
		registry_sweep(srv->reg, clock_wall_ms());
}

static void *
cq_thread(void *arg)
{
	struct rpc_server *srv = arg;

	for (;;) {
		gpr_timespec deadline = gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC),
		    gpr_time_from_millis(100, GPR_TIMESPAN));
		grpc_event ev = grpc_completion_queue_next(srv->cq, deadline, NULL);

		if (ev.type == GRPC_QUEUE_SHUTDOWN)
			break;
		if (ev.type == GRPC_OP_COMPLETE)
			on_event(srv, ev.tag, ev.success);
		maybe_sweep(srv);
	}
	return NULL;
}

/* ---- life cycle -------------------------------------------------------- */

/* ":50051" means every address; gRPC wants a host. */
static void
listen_address(const char *listen, char *buf, size_t len)
{
	if (listen[0] == ':')
		snprintf(buf, len, "[::]%s", listen);
	else
		snprintf(buf, len, "%s", listen);
}

struct rpc_server *
rpc_server_new(const struct rpc_server_config *cfg, struct registry *reg)
{
	struct rpc_server *srv;
	grpc_server_credentials *creds;
	char addr[256], err[512];
	int64_t keepalive = cfg->keepalive_ms > 0 ? cfg->keepalive_ms :
	    cfg->heartbeat_ms;
	grpc_arg args[12];
	grpc_channel_args chargs = { 0, args };

	if (cfg->listen == NULL || *cfg->listen == '\0') {
		log_warnx("grpc: no listen address");
		return NULL;
	}
	if (keepalive < 1000)
		keepalive = 1000;
	if ((srv = calloc(1, sizeof(*srv))) == NULL)
		return NULL;
	srv->reg = reg;
	if (cfg->hooks != NULL)
		srv->hooks = *cfg->hooks;
	srv->hooks_arg = cfg->hooks_arg;
	if (srv->hooks.worker_status != NULL)
		registry_set_status_cb(reg, status_relay, srv);
	snprintf(srv->cluster_id, sizeof(srv->cluster_id), "%s",
	    cfg->cluster_id ? cfg->cluster_id : "");
	snprintf(srv->cluster_name, sizeof(srv->cluster_name), "%s",
	    cfg->cluster_name ? cfg->cluster_name : "");
	srv->heartbeat_ms = cfg->heartbeat_ms;
	srv->job_timeout_ms = cfg->job_timeout_ms;
	srv->insecure = cfg->insecure;
	srv->nthreads = cfg->threads > 0 ? cfg->threads : 2;
	if (srv->nthreads > MAX_THREADS)
		srv->nthreads = MAX_THREADS;
	pthread_mutex_init(&srv->cq_lock, NULL);
	pthread_cond_init(&srv->cq_cond, NULL);
	srv->t_shutdown = (struct tag){ T_SHUTDOWN, NULL };

	if (srv->insecure) {
		creds = grpc_insecure_server_credentials_create();
	} else if ((creds = rpc_tls_server_credentials(cfg->tls_ca, cfg->tls_cert,
	    cfg->tls_key, err, sizeof(err))) == NULL) {
		log_warnx("grpc: TLS: %s", err);
		goto fail;
	}

	/* Keepalive both ways: we ping idle workers (a busy machine may take
	 * seconds to answer: the timeout is at least 5 s), and accept their
	 * pings (even with no call open) as often as every 5 s without
	 * calling them abusive. */
	args[0] = (grpc_arg){ GRPC_ARG_INTEGER, GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH,
	    { .integer = RPC_MAX_MESSAGE } };
	args[1] = (grpc_arg){ GRPC_ARG_INTEGER, GRPC_ARG_KEEPALIVE_TIME_MS,
	    { .integer = (int)keepalive } };
	args[2] = (grpc_arg){ GRPC_ARG_INTEGER, GRPC_ARG_KEEPALIVE_TIMEOUT_MS,
	    { .integer = (int)(keepalive > 5000 ? keepalive : 5000) } };
	args[3] = (grpc_arg){ GRPC_ARG_INTEGER,
	    GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, { .integer = 1 } };
	args[4] = (grpc_arg){ GRPC_ARG_INTEGER,
	    GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS,
	    { .integer = 5000 } };
	args[5] = (grpc_arg){ GRPC_ARG_INTEGER, GRPC_ARG_HTTP2_MAX_PING_STRIKES,
	    { .integer = 0 } };
	args[6] = (grpc_arg){ GRPC_ARG_INTEGER, GRPC_ARG_HTTP2_MAX_PINGS_WITHOUT_DATA,
	    { .integer = 0 } };
	/* gRPC sets SO_REUSEPORT by default: a second coordinator on the same
	 * port would silently share the workers.  Refuse instead. */
	args[7] = (grpc_arg){ GRPC_ARG_INTEGER, GRPC_ARG_ALLOW_REUSEPORT,
	    { .integer = 0 } };
	/* One connection cannot open calls without bound. */
	args[8] = (grpc_arg){ GRPC_ARG_INTEGER, GRPC_ARG_MAX_CONCURRENT_STREAMS,
	    { .integer = RPC_STREAMS_PER_CONNECTION } };
	/* Replies are small (a JobMessage is well under 1 KiB): anything
	 * near the cap is a bug, not a reason to buffer megabytes per call. */
	args[9] = (grpc_arg){ GRPC_ARG_INTEGER, GRPC_ARG_MAX_SEND_MESSAGE_LENGTH,
	    { .integer = RPC_MAX_MESSAGE } };
	/* Workers send no metadata of their own; 8 KiB of headers is plenty
	 * and bounds what one peer can make us hold before a call starts. */
	args[10] = (grpc_arg){ GRPC_ARG_INTEGER, GRPC_ARG_MAX_METADATA_SIZE,
	    { .integer = 8192 } };
	/* A peer that sends nothing for a long while holds a descriptor and
	 * transport buffers: close connections idle (no call open) for an
	 * hour.  A live worker always has its StreamJobs call open. */
	args[11] = (grpc_arg){ GRPC_ARG_INTEGER, GRPC_ARG_MAX_CONNECTION_IDLE_MS,
	    { .integer = 3600 * 1000 } };
	/* gRPC 1.51 (Debian 12) has no bound on incoming connections
	 * (GRPC_ARG_MAX_ALLOWED_INCOMING_CONNECTIONS came later): the number
	 * of workers is bounded by the registry (registry_new's max_workers)
	 * and the descriptors by RLIMIT_NOFILE (fdlimit_raise at start). */
	chargs.num_args = 12;

	srv->cq = grpc_completion_queue_create_for_next(NULL);
	srv->server = grpc_server_create(&chargs, NULL);
	grpc_server_register_completion_queue(srv->server, srv->cq, NULL);
	listen_address(cfg->listen, addr, sizeof(addr));
	srv->port = grpc_server_add_http2_port(srv->server, addr, creds);
	grpc_server_credentials_release(creds);
	if (srv->port == 0) {
		log_warnx("grpc: cannot listen on %s (address in use or invalid)",
		    addr);
		grpc_server_destroy(srv->server);
		grpc_completion_queue_shutdown(srv->cq);
		while (grpc_completion_queue_next(srv->cq,
		    gpr_inf_future(GPR_CLOCK_REALTIME), NULL).type != GRPC_QUEUE_SHUTDOWN)
			;
		grpc_completion_queue_destroy(srv->cq);
		goto fail;
	}
	if (srv->insecure)
		log_warnx("grpc: INSECURE: listening on %s (port %d) in plaintext; "
		    "worker ids are not authenticated and shares can be forged",
		    addr, srv->port);
	else
		log_info("grpc: listening on %s (port %d, mutual TLS, CA %s)", addr,
		    srv->port, cfg->tls_ca);
	return srv;
fail:
	pthread_mutex_destroy(&srv->cq_lock);
	pthread_cond_destroy(&srv->cq_cond);
	free(srv);
	return NULL;
}

int
rpc_server_port(const struct rpc_server *srv)
{
	return srv->port;
}

int
rpc_server_start(struct rpc_server *srv)
{
	int e = 0, n;

	/* Threads first: if none can start, the server never serves and
	 * rpc_server_free() tears it down unstarted. */
	srv->cq_open = 1;
	for (n = 0; n < srv->nthreads; n++) {
		if ((e = pthread_create(&srv->threads[n], NULL, cq_thread, srv)) != 0)
			break;
	}
	if (n == 0) {
		errno = e;
		log_warn("grpc: cannot start a completion-queue thread");
		srv->cq_open = 0;
		return -e;
	}
	if (n < srv->nthreads)
		log_warnx("grpc: only %d of %d completion-queue threads started",
		    n, srv->nthreads);
	srv->nthreads = n;
	grpc_server_start(srv->server);
	srv->started = 1;
	atomic_store(&srv->next_sweep, clock_mono_ms());
	for (int i = 0; i < PENDING_REQUESTS; i++)
		request_call(srv);
	return 0;
}

void
rpc_server_stop(struct rpc_server *srv)
{
	pthread_mutex_lock(&srv->cq_lock);
	if (srv->stopped || !srv->started) {
		pthread_mutex_unlock(&srv->cq_lock);
		return;
	}
	srv->stopped = 1;
	srv->inflight++;	/* the shutdown notification */
	pthread_mutex_unlock(&srv->cq_lock);

	grpc_server_shutdown_and_notify(srv->server, srv->cq, &srv->t_shutdown);
	grpc_server_cancel_all_calls(srv->server);

	/* Every call is cancelled now; once the notification is in, let the
	 * last completions drain and refuse new batches. */
	pthread_mutex_lock(&srv->cq_lock);
	while (!srv->shutdown_seen)
		pthread_cond_wait(&srv->cq_cond, &srv->cq_lock);
	srv->cq_open = 0;
	while (srv->inflight > 0)
		pthread_cond_wait(&srv->cq_cond, &srv->cq_lock);
	pthread_mutex_unlock(&srv->cq_lock);

	grpc_completion_queue_shutdown(srv->cq);
	for (int i = 0; i < srv->nthreads; i++)
		pthread_join(srv->threads[i], NULL);
	grpc_server_destroy(srv->server);
	srv->server = NULL;
	log_info("grpc: server stopped");
}

void
rpc_server_free(struct rpc_server *srv)
{
	struct timespec ts;
	int waited = 0;

	if (srv == NULL)
		return;
	rpc_server_stop(srv);
	pthread_mutex_lock(&srv->cq_lock);
	while (srv->live_calls > 0) {
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += 5;
		if (pthread_cond_timedwait(&srv->cq_cond, &srv->cq_lock, &ts) != 0)
			log_warnx("grpc: still waiting for the core to release %ld "
			    "calls (%d s)", srv->live_calls, waited += 5);
	}
	pthread_mutex_unlock(&srv->cq_lock);
	if (srv->server != NULL) {
		/* Created and bound, never started: gRPC still wants a
		 * shutdown before the listener can go. */
		grpc_server_shutdown_and_notify(srv->server, srv->cq,
		    &srv->t_shutdown);
		while (grpc_completion_queue_next(srv->cq,
		    gpr_inf_future(GPR_CLOCK_REALTIME), NULL).tag !=
		    &srv->t_shutdown)
			;
		grpc_server_destroy(srv->server);
		grpc_completion_queue_shutdown(srv->cq);
		while (grpc_completion_queue_next(srv->cq,
		    gpr_inf_future(GPR_CLOCK_REALTIME), NULL).type !=
		    GRPC_QUEUE_SHUTDOWN)
			;
	}
	grpc_completion_queue_destroy(srv->cq);
	pthread_mutex_destroy(&srv->cq_lock);
	pthread_cond_destroy(&srv->cq_cond);
	free(srv);
}
