/*
 * client.c: the worker's gRPC client (client.h).  Registers with a
 * coordinator, holds StreamJobs open, heartbeats, submits shares, and
 * reconnects across the coordinator list.  Used by the mining engine.
 *
 * Two threads.  The completion-queue thread only turns gRPC completions
 * into messages on the control queue.  The control thread owns everything
 * else (channel, calls, the share queue, timers): it pops that queue with
 * a timeout set by the next timer, since the C core has none.  Mining
 * threads talk to it through the same queue.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/support/alloc.h>
#include <grpc/support/time.h>

#include "common/backoff.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/mpscq.h"
#include "common/target.h"
#include "rpc/codec.h"
#include "worker/client.h"

#define REGISTER_TIMEOUT_MS	5000
#define UNREGISTER_TIMEOUT_MS	1000
#define SHARE_TIMEOUT_MS	15000
#define HEARTBEAT_DEFAULT_MS	5000
#define HEARTBEAT_MIN_MS	100
/* After a reconnect, queued shares wait for the coordinator's current job
 * (to know whether theirs is still current), but not longer than this. */
#define FLUSH_GRACE_MS		2000
/* Keepalive pings notice a frozen coordinator even between heartbeats. */
#define KEEPALIVE_TIME_MS	10000
#define KEEPALIVE_TIMEOUT_MS	5000
#define PEM_MAX			(1024 * 1024)
#define VALID_JOBS		8	/* jobs a waiting share may belong to */
#define LEASE_HISTORY		16	/* leases remembered for ShareRequest */
#define MAX_WAIT_MS		1000
/* A share the coordinator keeps failing (UNAVAILABLE on a live connection)
 * is retried with backoff this many times, then dropped. */
#define SHARE_TRIES_MAX		8

enum msg_type {
	MSG_EVENT,		/* a gRPC completion (struct cq_event) */
	MSG_SHARE,		/* client_submit_share (struct share) */
	MSG_WAKE,		/* client_request_lease */
	MSG_STOP,		/* client_stop */
	MSG_CQ_DONE		/* the completion queue is shut down */
};

struct cq_event {
	struct mpscq_node node;
	void *tag;
	int ok;
};

struct share {
	struct mpscq_node node;
	struct share *next;
	uint64_t tag;
	char job_id[CLIENT_JOB_ID_MAX];
	uint32_t nonce;
	uint8_t result[32];
	int64_t timestamp;		/* wall ms when found */
	int64_t retry_at;		/* mono ms; 0: now */
	int waited;			/* check its job before sending */
	unsigned tries;			/* refused by a live coordinator */
};

enum rpc_kind { RPC_REGISTER, RPC_UNREGISTER, RPC_HEARTBEAT, RPC_SHARE,
	RPC_STREAM };
enum tag_what { TAG_DONE, TAG_RECV };

struct rpc;
struct rpc_tag {
	struct rpc *rpc;
	enum tag_what what;
};

struct rpc {
	struct rpc *next;
	enum rpc_kind kind;
	uint64_t conn;			/* connection generation */
	grpc_call *call;
	int pending;			/* batches not yet completed */
	struct rpc_tag done_tag, recv_tag;
	grpc_metadata_array md_initial, md_trailing;
	grpc_byte_buffer *send_buf, *recv_buf;
	grpc_status_code status;
	grpc_slice details;
	const char *error_string;
	struct share *share;		/* RPC_SHARE */
	int want_lease;			/* RPC_HEARTBEAT carried want_lease */
};

enum conn_state { ST_IDLE, ST_REGISTERING, ST_CONNECTED };
enum stop_phase { STOP_NONE, STOP_UNREGISTER, STOP_DRAIN, STOP_CQ, STOP_DONE };

struct lease_rec {
	char job_id[CLIENT_JOB_ID_MAX];
	uint64_t lease_id, start, end;
};

struct client {
	/* Set by client_new, read-only afterwards. */
	char **coord;
	size_t ncoord;
	char *worker_id, *worker_name;
	int threads, insecure;
	int64_t backoff_min, backoff_max;
	size_t share_queue_max;
	char *ca_pem, *cert_pem, *key_pem;
	char os[65], arch[65];
	struct client_callbacks cb;
	void *arg;

	grpc_channel_credentials *creds;
	grpc_completion_queue *cq;
	pthread_t cq_thread, ctl_thread;
	int inited, started, stopped;
	struct mpscq q;
	struct mpscq_node stop_node, wake_node, cq_done_node;

	pthread_mutex_t stats_lock;	/* guards stats, want_lease, wake_queued */
	struct client_stats stats;
	int want_lease, wake_queued;

	pthread_mutex_t held_lock;	/* guards held */
	size_t held;			/* shares waiting or in flight */

	/* Owned by the control thread. */
	enum conn_state state;
	enum stop_phase phase;
	grpc_channel *chan;
	uint64_t conn;
	size_t idx;
	struct backoff bo;		/* reconnect delays */
	int64_t reconnect_at, hb_interval, hb_due, hb_sent, connected_at;
	int64_t started_ms;
	int got_job;
	struct rpc *rpcs, *hb_rpc, *stream_rpc, *unreg_rpc;
	struct share *wait_head;
	char valid_jobs[VALID_JOBS][CLIENT_JOB_ID_MAX];
	int nvalid;
	struct lease_rec leases[LEASE_HISTORY];
	int nleases, lease_pos;
	struct lease_rec last_job;	/* the last job+lease delivered */
	int have_last_job;
};

static const char *
status_name(grpc_status_code s)
{
	static const char *const names[] = { "OK", "CANCELLED", "UNKNOWN",
	    "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND",
	    "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED",
	    "FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE", "UNIMPLEMENTED",
	    "INTERNAL", "UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED" };

	if ((unsigned)s < sizeof(names) / sizeof(names[0]))
		return names[s];
	return "?";
}

static const char *
coord_addr(const struct client *c)
{
	return c->coord[c->idx];
}

static char *
read_pem(const char *what, const char *path)
{
	FILE *f;
	char *buf;
	size_t n;

	if (path == NULL || *path == '\0') {
		log_warnx("client: no %s file configured (needed for mutual TLS)",
		    what);
		return NULL;
	}
	if ((f = fopen(path, "r")) == NULL) {
		log_warn("client: %s file %s", what, path);
		return NULL;
	}
	if ((buf = malloc(PEM_MAX + 1)) == NULL) {
		log_warn("client: %s file %s", what, path);
		fclose(f);
		return NULL;
	}
	n = fread(buf, 1, PEM_MAX, f);
	if (ferror(f) || n == 0 || n == PEM_MAX) {
		log_warnx("client: %s file %s: %s", what, path,
		    n == 0 ? "empty or unreadable" : "too large");
		free(buf);
		fclose(f);
		return NULL;
	}
	fclose(f);
	buf[n] = '\0';
	return buf;
}

static void
free_secret(char *s)
{
	if (s != NULL) {
		explicit_bzero(s, strlen(s));
		free(s);
	}
}

/* ---- shares held (waiting or in flight) ---- */

static void
held_release(struct client *c)
{
	pthread_mutex_lock(&c->held_lock);
	c->held--;
	pthread_mutex_unlock(&c->held_lock);
}

static void
share_drop(struct client *c, struct share *s, const char *why)
{
	log_warnx("client: share %" PRIu64 " (job %s, nonce %08" PRIx32
	    ") dropped: %s", s->tag, s->job_id, s->nonce, why);
	free(s);
	held_release(c);
}

static void
share_wait(struct client *c, struct share *s)
{
	struct share **pp = &c->wait_head;

	while (*pp != NULL)
		pp = &(*pp)->next;
	s->next = NULL;
	*pp = s;
}

/* ---- jobs ---- */

static int
job_is_valid(const struct client *c, const char *job_id)
{
	for (int i = 0; i < c->nvalid; i++)
		if (strcmp(c->valid_jobs[i], job_id) == 0)
			return 1;
	return 0;
}

/* The last job received is current; a clean job supersedes all older. */
static void
job_note(struct client *c, const struct client_job *j)
{
	struct lease_rec *l;

	if (j->clean_jobs)
		c->nvalid = 0;
	if (!job_is_valid(c, j->job_id)) {
		if (c->nvalid == VALID_JOBS) {
			memmove(c->valid_jobs[0], c->valid_jobs[1],
			    sizeof(c->valid_jobs[0]) * (VALID_JOBS - 1));
			c->nvalid--;
		}
		snprintf(c->valid_jobs[c->nvalid++], CLIENT_JOB_ID_MAX, "%s",
		    j->job_id);
	}
	l = &c->leases[c->lease_pos];
	c->lease_pos = (c->lease_pos + 1) % LEASE_HISTORY;
	if (c->nleases < LEASE_HISTORY)
		c->nleases++;
	snprintf(l->job_id, sizeof(l->job_id), "%s", j->job_id);
	l->lease_id = j->lease_id;
	l->start = j->nonce_start;
	l->end = j->nonce_end;
}

static uint64_t
lease_of(const struct client *c, const char *job_id, uint32_t nonce)
{
	for (int i = 0; i < c->nleases; i++) {
		int k = (c->lease_pos - 1 - i + 2 * LEASE_HISTORY) % LEASE_HISTORY;
		const struct lease_rec *l = &c->leases[k];

		if (strcmp(l->job_id, job_id) == 0 && nonce >= l->start &&
		    nonce < l->end)
			return l->lease_id;
	}
	return 0;
}

int
client_job_from_msg(const Coopmine__JobMessage *m, struct client_job *j, char *why,
    size_t whysz)
{
	memset(j, 0, sizeof(*j));
	if (m->job_id == NULL || *m->job_id == '\0') {
		snprintf(why, whysz, "empty job id");
		return -1;
	}
	if (strlen(m->job_id) >= sizeof(j->job_id)) {
		snprintf(why, whysz, "job id longer than %zu bytes",
		    sizeof(j->job_id) - 1);
		return -1;
	}
	if (m->blob.len > sizeof(j->blob)) {
		snprintf(why, whysz, "blob of %zu bytes exceeds %zu",
		    m->blob.len, sizeof(j->blob));
		return -1;
	}
	if ((uint64_t)m->nonce_offset + 4 > m->blob.len) {
		snprintf(why, whysz, "blob of %zu bytes too short for the nonce "
		    "at offset %" PRIu32, m->blob.len, m->nonce_offset);
		return -1;
	}
	if (m->seed_hash.len < 1 || m->seed_hash.len > sizeof(j->seed)) {
		snprintf(why, whysz, "seed of %zu bytes (want 1..%zu)",
		    m->seed_hash.len, sizeof(j->seed));
		return -1;
	}
	if (m->target.len != 8) {
		snprintf(why, whysz, "share target of %zu bytes (want 8)",
		    m->target.len);
		return -1;
	}
	if (le64_read(m->target.data) == 0) {
		snprintf(why, whysz, "zero share target");
		return -1;
	}
	if (m->nonce_end <= m->nonce_start || m->nonce_end > (1ULL << 32)) {
		snprintf(why, whysz, "bad lease [%" PRIu64 ", %" PRIu64 ")",
		    m->nonce_start, m->nonce_end);
		return -1;
	}
	if (m->block_target.len != 0 && m->block_target.len != 32) {
		snprintf(why, whysz, "block target of %zu bytes (want 32)",
		    m->block_target.len);
		return -1;
	}
	if (m->next_seed_hash.len > sizeof(j->next_seed)) {
		snprintf(why, whysz, "next seed of %zu bytes (want 0..%zu)",
		    m->next_seed_hash.len, sizeof(j->next_seed));
		return -1;
	}
	if (m->algo != NULL && strlen(m->algo) >= sizeof(j->algo)) {
		snprintf(why, whysz, "algorithm name too long");
		return -1;
	}
	snprintf(j->job_id, sizeof(j->job_id), "%s", m->job_id);
	memcpy(j->blob, m->blob.data, m->blob.len);
	j->blob_len = m->blob.len;
	j->nonce_offset = m->nonce_offset;
	memcpy(j->seed, m->seed_hash.data, m->seed_hash.len);
	j->seed_len = m->seed_hash.len;
	j->height = m->height;
	snprintf(j->algo, sizeof(j->algo), "%s",
	    m->algo != NULL && *m->algo != '\0' ? m->algo : "rx/0");
	j->share_target = le64_read(m->target.data);
	if (m->block_target.len == 32) {
		memcpy(j->block_target, m->block_target.data, 32);
		j->has_block_target = 1;
	}
	j->lease_id = m->lease_id;
	j->nonce_start = m->nonce_start;
	j->nonce_end = m->nonce_end;
	j->clean_jobs = m->clean_jobs ? 1 : 0;
	if (m->next_seed_hash.len > 0) {
		memcpy(j->next_seed, m->next_seed_hash.data,
		    m->next_seed_hash.len);
		j->next_seed_len = m->next_seed_hash.len;
	}
	return 0;
}

static void pump_shares(struct client *c, int64_t now);

static void
job_received(struct client *c, const Coopmine__JobMessage *m)
{
	struct client_job j;
	char why[160];

	if (c->phase != STOP_NONE)
		return;
	if (client_job_from_msg(m, &j, why, sizeof(why)) == -1) {
		log_warnx("client: bad job %s from %s dropped: %s",
		    m->job_id != NULL ? m->job_id : "", coord_addr(c), why);
		return;
	}
	c->got_job = 1;
	if (c->have_last_job && strcmp(c->last_job.job_id, j.job_id) == 0 &&
	    c->last_job.lease_id == j.lease_id &&
	    c->last_job.start == j.nonce_start &&
	    c->last_job.end == j.nonce_end) {
		log_debug("client: job %s lease %" PRIu64 " again, not redelivered",
		    j.job_id, j.lease_id);
		pump_shares(c, clock_mono_ms());
		return;
	}
	job_note(c, &j);
	snprintf(c->last_job.job_id, sizeof(c->last_job.job_id), "%s", j.job_id);
	c->last_job.lease_id = j.lease_id;
	c->last_job.start = j.nonce_start;
	c->last_job.end = j.nonce_end;
	c->have_last_job = 1;
	log_debug("client: job %s height %" PRId64 " lease %" PRIu64
	    " [%" PRIu64 ", %" PRIu64 ")%s", j.job_id, j.height, j.lease_id,
	    j.nonce_start, j.nonce_end, j.clean_jobs ? " clean" : "");
	if (c->cb.on_job != NULL)
		c->cb.on_job(c->arg, &j);
	pump_shares(c, clock_mono_ms());
}

/* ---- calls ---- */

static struct rpc *
rpc_new(struct client *c, enum rpc_kind kind, const char *method,
    int64_t timeout_ms)
{
	struct rpc *r;
	gpr_timespec deadline;

	if ((r = calloc(1, sizeof(*r))) == NULL) {
		log_warn("client: %s", method);
		return NULL;
	}
	r->kind = kind;
	r->conn = c->conn;
	r->done_tag.rpc = r;
	r->done_tag.what = TAG_DONE;
	r->recv_tag.rpc = r;
	r->recv_tag.what = TAG_RECV;
	grpc_metadata_array_init(&r->md_initial);
	grpc_metadata_array_init(&r->md_trailing);
	r->details = grpc_empty_slice();
	if (timeout_ms < 0)
		deadline = gpr_inf_future(GPR_CLOCK_REALTIME);
	else
		deadline = gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC),
		    gpr_time_from_millis(timeout_ms, GPR_TIMESPAN));
	r->call = grpc_channel_create_call(c->chan, NULL,
	    GRPC_PROPAGATE_DEFAULTS, c->cq, grpc_slice_from_static_string(method),
	    NULL, deadline, NULL);
	r->next = c->rpcs;
	c->rpcs = r;
	return r;
}

static void
rpc_free(struct client *c, struct rpc *r)
{
	struct rpc **pp;

	for (pp = &c->rpcs; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == r) {
			*pp = r->next;
			break;
		}
	}
	if (r->call != NULL)
		grpc_call_unref(r->call);
	grpc_metadata_array_destroy(&r->md_initial);
	grpc_metadata_array_destroy(&r->md_trailing);
	if (r->send_buf != NULL)
		grpc_byte_buffer_destroy(r->send_buf);
	if (r->recv_buf != NULL)
		grpc_byte_buffer_destroy(r->recv_buf);
	grpc_slice_unref(r->details);
	gpr_free((void *)r->error_string);
	free(r);
}

/* A unary call: one batch that sends the request and receives the reply
 * and the status.  0, or -1 (logged, rpc freed). */
static int
rpc_start_unary(struct client *c, struct rpc *r, const ProtobufCMessage *msg)
{
	grpc_op ops[6];
	grpc_call_error e;

	memset(ops, 0, sizeof(ops));
	if ((r->send_buf = rpc_pack(msg)) == NULL) {
		log_warnx("client: cannot encode %s", msg->descriptor->name);
		rpc_free(c, r);
		return -1;
	}
	ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
	ops[1].op = GRPC_OP_SEND_MESSAGE;
	ops[1].data.send_message.send_message = r->send_buf;
	ops[2].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
	ops[3].op = GRPC_OP_RECV_INITIAL_METADATA;
	ops[3].data.recv_initial_metadata.recv_initial_metadata = &r->md_initial;
	ops[4].op = GRPC_OP_RECV_MESSAGE;
	ops[4].data.recv_message.recv_message = &r->recv_buf;
	ops[5].op = GRPC_OP_RECV_STATUS_ON_CLIENT;
	ops[5].data.recv_status_on_client.trailing_metadata = &r->md_trailing;
	ops[5].data.recv_status_on_client.status = &r->status;
	ops[5].data.recv_status_on_client.status_details = &r->details;
	ops[5].data.recv_status_on_client.error_string = &r->error_string;
	e = grpc_call_start_batch(r->call, ops, 6, &r->done_tag, NULL);
	if (e != GRPC_CALL_OK) {
		log_warnx("client: %s: cannot start call (error %d)",
		    msg->descriptor->name, (int)e);
		rpc_free(c, r);
		return -1;
	}
	r->pending = 1;
	return 0;
}

static int
stream_recv(struct rpc *r)
{
	grpc_op op;

	memset(&op, 0, sizeof(op));
	op.op = GRPC_OP_RECV_MESSAGE;
	op.data.recv_message.recv_message = &r->recv_buf;
	if (grpc_call_start_batch(r->call, &op, 1, &r->recv_tag, NULL) !=
	    GRPC_CALL_OK)
		return -1;
	r->pending++;
	return 0;
}

/* StreamJobs: the request and the final status in one batch, messages
 * read one at a time in another. */
static int
stream_start(struct client *c)
{
	Coopmine__StreamJobsRequest req = COOPMINE__STREAM_JOBS_REQUEST__INIT;
	struct rpc *r;
	grpc_op ops[4], rops[2];

	if ((r = rpc_new(c, RPC_STREAM, RPC_METHOD_STREAM_JOBS, -1)) == NULL)
		return -1;
	req.worker_id = c->worker_id;
	if ((r->send_buf = rpc_pack(&req.base)) == NULL) {
		rpc_free(c, r);
		return -1;
	}
	memset(ops, 0, sizeof(ops));
	ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
	ops[1].op = GRPC_OP_SEND_MESSAGE;
	ops[1].data.send_message.send_message = r->send_buf;
	ops[2].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
	ops[3].op = GRPC_OP_RECV_STATUS_ON_CLIENT;
	ops[3].data.recv_status_on_client.trailing_metadata = &r->md_trailing;
	ops[3].data.recv_status_on_client.status = &r->status;
	ops[3].data.recv_status_on_client.status_details = &r->details;
	ops[3].data.recv_status_on_client.error_string = &r->error_string;
	if (grpc_call_start_batch(r->call, ops, 4, &r->done_tag, NULL) !=
	    GRPC_CALL_OK) {
		log_warnx("client: StreamJobs: cannot start call");
		rpc_free(c, r);
		return -1;
	}
	r->pending = 1;
	memset(rops, 0, sizeof(rops));
	rops[0].op = GRPC_OP_RECV_INITIAL_METADATA;
	rops[0].data.recv_initial_metadata.recv_initial_metadata =
	    &r->md_initial;
	rops[1].op = GRPC_OP_RECV_MESSAGE;
	rops[1].data.recv_message.recv_message = &r->recv_buf;
	if (grpc_call_start_batch(r->call, rops, 2, &r->recv_tag, NULL) !=
	    GRPC_CALL_OK) {
		log_warnx("client: StreamJobs: cannot start reading");
		grpc_call_cancel(r->call, NULL);
		return -1;
	}
	r->pending++;
	c->stream_rpc = r;
	return 0;
}

/* "STATUS: details" for a log line; gRPC's full error chain only at debug
 * level (it runs to kilobytes). */
static void
rpc_describe(const struct rpc *r, char *buf, size_t sz)
{
	snprintf(buf, sz, "%s: %.*s", status_name(r->status),
	    (int)GRPC_SLICE_LENGTH(r->details),
	    (const char *)GRPC_SLICE_START_PTR(r->details));
	if (r->error_string != NULL && r->status != GRPC_STATUS_OK)
		log_debug("client: %s", r->error_string);
}

/* ---- connection ---- */

/* Cancels every call (their completions still arrive and free them) and
 * drops the channel; calls keep what they need of it alive. */
static void
conn_close(struct client *c)
{
	for (struct rpc *r = c->rpcs; r != NULL; r = r->next)
		grpc_call_cancel(r->call, NULL);
	if (c->chan != NULL) {
		grpc_channel_destroy(c->chan);
		c->chan = NULL;
	}
	c->hb_rpc = c->stream_rpc = NULL;
	c->state = ST_IDLE;
	c->got_job = 0;
	c->conn++;
}

static void
conn_retry(struct client *c)
{
	int64_t delay;

	c->idx = (c->idx + 1) % c->ncoord;
	delay = backoff_next(&c->bo);
	c->reconnect_at = clock_mono_ms() + delay;
	log_info("client: connecting to %s in %" PRId64 " ms (attempt %u)",
	    coord_addr(c), delay, c->bo.attempt);
}

static void
conn_lost(struct client *c, const char *why)
{
	int was = c->state == ST_CONNECTED;
	char addr[256];

	snprintf(addr, sizeof(addr), "%s", coord_addr(c));
	if (was)
		log_warnx("client: lost coordinator %s: %s", addr, why);
	else
		log_warnx("client: coordinator %s: %s", addr, why);
	conn_close(c);
	if (was && c->cb.on_connection != NULL)
		c->cb.on_connection(c->arg, 0, addr);
	conn_retry(c);
}

static void
conn_start(struct client *c)
{
	Coopmine__RegisterRequest req = COOPMINE__REGISTER_REQUEST__INIT;
	char *caps[] = { "rx/0", "lease" };
	grpc_arg args[] = {
		{ GRPC_ARG_INTEGER, GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH,
		    { .integer = RPC_MAX_MESSAGE } },
		{ GRPC_ARG_INTEGER, GRPC_ARG_KEEPALIVE_TIME_MS,
		    { .integer = KEEPALIVE_TIME_MS } },
		{ GRPC_ARG_INTEGER, GRPC_ARG_KEEPALIVE_TIMEOUT_MS,
		    { .integer = KEEPALIVE_TIMEOUT_MS } },
		{ GRPC_ARG_INTEGER, GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS,
		    { .integer = 1 } },
		{ GRPC_ARG_INTEGER, GRPC_ARG_HTTP2_MAX_PINGS_WITHOUT_DATA,
		    { .integer = 0 } },
		/* We retry and fail over ourselves. */
		{ GRPC_ARG_INTEGER, GRPC_ARG_ENABLE_RETRIES, { .integer = 0 } },
		/* A fresh channel must not inherit a shared subchannel that
		 * is still backing off from the last failure. */
		{ GRPC_ARG_INTEGER, GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL,
		    { .integer = 1 } },
	};
	grpc_channel_args chargs = { sizeof(args) / sizeof(args[0]), args };
	struct rpc *r;

	log_info("client: connecting to %s%s", coord_addr(c),
	    c->insecure ? " (plaintext)" : "");
	c->chan = grpc_channel_create(coord_addr(c), c->creds, &chargs);
	c->conn++;
	c->state = ST_REGISTERING;
	req.worker_id = c->worker_id;
	req.worker_name = c->worker_name;
	req.threads = c->threads;
	req.version = PACKAGE_VERSION;
	req.os = c->os;
	req.arch = c->arch;
	req.n_capabilities = 2;
	req.capabilities = caps;
	r = rpc_new(c, RPC_REGISTER, RPC_METHOD_REGISTER, REGISTER_TIMEOUT_MS);
	if (r == NULL || rpc_start_unary(c, r, &req.base) == -1)
		conn_lost(c, "cannot start Register");
}

static void
registered(struct client *c, const Coopmine__RegisterResponse *resp)
{
	int32_t hb = 0;

	if (resp->config != NULL)
		hb = resp->config->heartbeat_interval_ms;
	c->hb_interval = hb > 0 ? hb : HEARTBEAT_DEFAULT_MS;
	if (c->hb_interval < HEARTBEAT_MIN_MS)
		c->hb_interval = HEARTBEAT_MIN_MS;
	if (stream_start(c) == -1) {
		conn_lost(c, "cannot open the job stream");
		return;
	}
	c->state = ST_CONNECTED;
	backoff_reset(&c->bo);
	c->connected_at = clock_mono_ms();
	c->hb_due = c->connected_at + c->hb_interval;
	log_info("client: registered with %s as %s (cluster %s), heartbeat "
	    "every %" PRId64 " ms", coord_addr(c), c->worker_id,
	    resp->config != NULL && resp->config->cluster_name != NULL ?
	    resp->config->cluster_name : "?", c->hb_interval);
	if (resp->assigned_id != NULL && *resp->assigned_id != '\0' &&
	    strcmp(resp->assigned_id, c->worker_id) != 0)
		log_warnx("client: coordinator %s assigned id %s, keeping %s",
		    coord_addr(c), resp->assigned_id, c->worker_id);
	if (c->cb.on_connection != NULL)
		c->cb.on_connection(c->arg, 1, coord_addr(c));
	if (resp->current_job != NULL)
		job_received(c, resp->current_job);
	pump_shares(c, clock_mono_ms());
}

static void
register_done(struct client *c, struct rpc *r)
{
	Coopmine__RegisterResponse *resp = NULL;
	char why[512];

	if (r->conn != c->conn || c->phase != STOP_NONE)
		return;
	if (r->status != GRPC_STATUS_OK) {
		rpc_describe(r, why, sizeof(why));
		conn_lost(c, why);
		return;
	}
	resp = (Coopmine__RegisterResponse *)rpc_unpack(
	    &coopmine__register_response__descriptor, r->recv_buf);
	if (resp == NULL) {
		conn_lost(c, "malformed RegisterResponse");
		return;
	}
	if (!resp->success) {
		snprintf(why, sizeof(why), "registration refused: %s",
		    resp->message != NULL ? resp->message : "");
		conn_lost(c, why);
	} else
		registered(c, resp);
	protobuf_c_message_free_unpacked(&resp->base, NULL);
}

/* ---- heartbeats ---- */

static void
heartbeat_send(struct client *c, int64_t now)
{
	Coopmine__HeartbeatRequest req = COOPMINE__HEARTBEAT_REQUEST__INIT;
	struct client_stats st;
	struct rpc *r;
	int want;
	int64_t timeout;

	pthread_mutex_lock(&c->stats_lock);
	st = c->stats;
	want = c->want_lease;
	c->want_lease = 0;
	pthread_mutex_unlock(&c->stats_lock);

	req.worker_id = c->worker_id;
	req.hashrate = st.hashrate;
	req.hashrate_60s = st.hashrate_60s;
	req.hashrate_15m = st.hashrate_15m;
	req.randomx_mode = st.rx_mode;
	req.huge_pages = st.huge_pages;
	req.huge_pages_used = st.huge_pages_used;
	req.threads = st.threads;
	req.shares_valid = st.shares_valid;
	req.shares_invalid = st.shares_invalid;
	req.hashes_total = st.hashes_total;
	req.uptime_ms = st.uptime_ms > 0 ? st.uptime_ms : now - c->started_ms;
	req.cpu_usage = st.cpu_usage;
	req.memory_usage = st.memory_usage;
	req.temperature = st.temperature;
	req.lease_id = st.lease_id;
	req.lease_hashes_done = st.lease_hashes_done;
	req.want_lease = want;
	c->hb_due = now + c->hb_interval;
	c->hb_sent = now;
	timeout = 3 * c->hb_interval;
	if (timeout < 3000)
		timeout = 3000;
	if (timeout > 15000)
		timeout = 15000;
	r = rpc_new(c, RPC_HEARTBEAT, RPC_METHOD_HEARTBEAT, timeout);
	if (r == NULL)
		goto fail;
	r->want_lease = want;
	if (rpc_start_unary(c, r, &req.base) == -1)
		goto fail;
	c->hb_rpc = r;
	return;
fail:
	if (want) {
		pthread_mutex_lock(&c->stats_lock);
		c->want_lease = 1;
		pthread_mutex_unlock(&c->stats_lock);
	}
}

static void
heartbeat_done(struct client *c, struct rpc *r)
{
	Coopmine__HeartbeatResponse *resp = NULL;
	char why[512];

	if (r == c->hb_rpc)
		c->hb_rpc = NULL;
	if (r->conn != c->conn || c->phase != STOP_NONE)
		return;
	if (r->status == GRPC_STATUS_OK)
		resp = (Coopmine__HeartbeatResponse *)rpc_unpack(
		    &coopmine__heartbeat_response__descriptor, r->recv_buf);
	if (resp == NULL || !resp->success) {
		if (r->want_lease) {
			pthread_mutex_lock(&c->stats_lock);
			c->want_lease = 1;
			pthread_mutex_unlock(&c->stats_lock);
		}
		if (resp == NULL && r->status == GRPC_STATUS_OK)
			snprintf(why, sizeof(why), "malformed HeartbeatResponse");
		else if (resp != NULL)
			snprintf(why, sizeof(why), "heartbeat refused: %s",
			    resp->message != NULL ? resp->message : "");
		else {
			char d[400];

			rpc_describe(r, d, sizeof(d));
			snprintf(why, sizeof(why), "heartbeat failed: %s", d);
		}
		if (resp != NULL)
			protobuf_c_message_free_unpacked(&resp->base, NULL);
		conn_lost(c, why);
		return;
	}
	if (resp->command != COOPMINE__WORKER_COMMAND__COMMAND_NONE) {
		log_info("client: coordinator %s sends command %d",
		    coord_addr(c), (int)resp->command);
		if (c->cb.on_command != NULL)
			c->cb.on_command(c->arg,
			    (enum worker_command)resp->command);
	}
	protobuf_c_message_free_unpacked(&resp->base, NULL);
}

/* ---- shares ---- */

static void
share_send(struct client *c, struct share *s)
{
	Coopmine__ShareRequest req = COOPMINE__SHARE_REQUEST__INIT;
	uint8_t nonce[4];
	struct rpc *r;

	le32_write(nonce, s->nonce);
	req.worker_id = c->worker_id;
	req.job_id = s->job_id;
	req.nonce.data = nonce;
	req.nonce.len = sizeof(nonce);
	req.result.data = s->result;
	req.result.len = sizeof(s->result);
	req.timestamp = s->timestamp;
	req.lease_id = lease_of(c, s->job_id, s->nonce);
	r = rpc_new(c, RPC_SHARE, RPC_METHOD_SUBMIT_SHARE, SHARE_TIMEOUT_MS);
	if (r != NULL)
		r->share = s;
	if (r == NULL || rpc_start_unary(c, r, &req.base) == -1) {
		/* rpc_start_unary freed the call, not the share. */
		s->waited = 1;
		s->retry_at = clock_mono_ms() + c->backoff_min;
		share_wait(c, s);
		return;
	}
	log_debug("client: share %" PRIu64 " (job %s, nonce %08" PRIx32
	    ") sent", s->tag, s->job_id, s->nonce);
}

/* Sends what may go now.  Shares that waited (coordinator away, or told
 * to retry later) go only if their job is still current. */
static void
pump_shares(struct client *c, int64_t now)
{
	struct share **pp = &c->wait_head, *s;
	int flush_ok;

	if (c->state != ST_CONNECTED || c->phase != STOP_NONE)
		return;
	flush_ok = c->got_job || now >= c->connected_at + FLUSH_GRACE_MS;
	while ((s = *pp) != NULL) {
		if ((s->waited && !flush_ok) || s->retry_at > now) {
			pp = &s->next;
			continue;
		}
		*pp = s->next;
		if (s->waited && !job_is_valid(c, s->job_id))
			share_drop(c, s, "its job is no longer current");
		else
			share_send(c, s);
	}
}

/* The share did not get through.  Connection gone: it waits for the next
 * one.  Connection alive (the coordinator said UNAVAILABLE itself): back
 * off, so that a struggling coordinator is not hammered, then give up. */
static void
share_transient(struct client *c, struct rpc *r, struct share *s)
{
	char why[600], d[400];
	int64_t delay;

	s->waited = 1;
	s->retry_at = 0;
	if (r->conn == c->conn && c->state == ST_CONNECTED) {
		rpc_describe(r, d, sizeof(d));
		if (++s->tries > SHARE_TRIES_MAX) {
			snprintf(why, sizeof(why), "failed %u times, last: %s",
			    s->tries, d);
			share_drop(c, s, why);
			return;
		}
		delay = c->backoff_min;
		for (unsigned i = 1; i < s->tries && delay < c->backoff_max; i++)
			delay *= 2;
		if (delay > c->backoff_max)
			delay = c->backoff_max;
		s->retry_at = clock_mono_ms() + delay;
		log_warnx("client: share %" PRIu64 " (job %s) failed: %s; retry "
		    "in %" PRId64 " ms", s->tag, s->job_id, d, delay);
	}
	share_wait(c, s);
}

static void
share_done(struct client *c, struct rpc *r)
{
	Coopmine__ShareResponse *resp = NULL;
	struct share *s = r->share;
	char why[512];

	r->share = NULL;
	if (c->phase != STOP_NONE) {
		share_drop(c, s, "client stopping");
		return;
	}
	if (r->status == GRPC_STATUS_OK)
		resp = (Coopmine__ShareResponse *)rpc_unpack(
		    &coopmine__share_response__descriptor, r->recv_buf);
	if (resp != NULL && resp->retry_after_ms > 0) {
		log_info("client: coordinator %s busy, share %" PRIu64
		    " retried in %" PRId32 " ms", coord_addr(c), s->tag,
		    resp->retry_after_ms);
		s->waited = 1;
		s->retry_at = clock_mono_ms() + resp->retry_after_ms;
		share_wait(c, s);
	} else if (resp != NULL) {
		log_debug("client: share %" PRIu64 " %s%s%s", s->tag,
		    resp->accepted ? "accepted" : "rejected: ",
		    resp->accepted ? "" : resp->reason,
		    resp->is_block ? " (block)" : "");
		if (c->cb.on_share_result != NULL)
			c->cb.on_share_result(c->arg, s->tag, resp->accepted,
			    resp->reason != NULL ? resp->reason : "",
			    resp->is_block, resp->difficulty);
		free(s);
		held_release(c);
	} else if (r->status == GRPC_STATUS_UNAVAILABLE ||
	    r->status == GRPC_STATUS_CANCELLED ||
	    r->status == GRPC_STATUS_DEADLINE_EXCEEDED) {
		share_transient(c, r, s);
	} else {
		if (r->status == GRPC_STATUS_OK)
			snprintf(why, sizeof(why), "malformed ShareResponse");
		else
			rpc_describe(r, why, sizeof(why));
		log_warnx("client: share %" PRIu64 " (job %s) failed: %s",
		    s->tag, s->job_id, why);
		if (c->cb.on_share_result != NULL)
			c->cb.on_share_result(c->arg, s->tag, 0, why, 0, 0);
		free(s);
		held_release(c);
	}
	if (resp != NULL)
		protobuf_c_message_free_unpacked(&resp->base, NULL);
	pump_shares(c, clock_mono_ms());
}

/* ---- the job stream ---- */

static void
stream_message(struct client *c, struct rpc *r, int ok)
{
	Coopmine__JobMessage *m;
	grpc_byte_buffer *bb = r->recv_buf;

	r->recv_buf = NULL;
	if (!ok || bb == NULL) {
		/* The stream ended; its status follows. */
		if (bb != NULL)
			grpc_byte_buffer_destroy(bb);
		return;
	}
	if (r->conn == c->conn && c->phase == STOP_NONE) {
		m = (Coopmine__JobMessage *)rpc_unpack(
		    &coopmine__job_message__descriptor, bb);
		if (m == NULL)
			log_warnx("client: malformed job message from %s "
			    "dropped", coord_addr(c));
		else {
			job_received(c, m);
			protobuf_c_message_free_unpacked(&m->base, NULL);
		}
	}
	grpc_byte_buffer_destroy(bb);
	if (r->conn == c->conn && c->phase == STOP_NONE && stream_recv(r) == -1)
		grpc_call_cancel(r->call, NULL);
}

static void
stream_done(struct client *c, struct rpc *r)
{
	char why[512], d[400];

	if (r == c->stream_rpc)
		c->stream_rpc = NULL;
	if (r->conn != c->conn || c->phase != STOP_NONE)
		return;
	rpc_describe(r, d, sizeof(d));
	snprintf(why, sizeof(why), "job stream ended: %s", d);
	conn_lost(c, why);
}

/* ---- stop ---- */

static void
unregister_start(struct client *c)
{
	Coopmine__UnregisterRequest req = COOPMINE__UNREGISTER_REQUEST__INIT;
	struct rpc *r;

	req.worker_id = c->worker_id;
	r = rpc_new(c, RPC_UNREGISTER, RPC_METHOD_UNREGISTER,
	    UNREGISTER_TIMEOUT_MS);
	if (r != NULL && rpc_start_unary(c, r, &req.base) == 0)
		c->unreg_rpc = r;
}

static void
unregister_done(struct client *c, struct rpc *r)
{
	Coopmine__UnregisterResponse *resp = NULL;
	char why[512];

	if (r == c->unreg_rpc)
		c->unreg_rpc = NULL;
	if (r->status == GRPC_STATUS_OK)
		resp = (Coopmine__UnregisterResponse *)rpc_unpack(
		    &coopmine__unregister_response__descriptor, r->recv_buf);
	if (resp != NULL && resp->success)
		log_info("client: unregistered from %s", coord_addr(c));
	else {
		if (resp != NULL)
			snprintf(why, sizeof(why), "%s", resp->message);
		else
			rpc_describe(r, why, sizeof(why));
		log_warnx("client: unregister from %s failed: %s",
		    coord_addr(c), why);
	}
	if (resp != NULL)
		protobuf_c_message_free_unpacked(&resp->base, NULL);
}

static void
stop_begin(struct client *c)
{
	size_t n = 0;
	struct share *s;

	while ((s = c->wait_head) != NULL) {
		c->wait_head = s->next;
		free(s);
		held_release(c);
		n++;
	}
	if (n > 0)
		log_warnx("client: stopping with %zu unsent shares; dropped", n);
	c->phase = STOP_UNREGISTER;
	if (c->state == ST_CONNECTED)
		unregister_start(c);
}

/* Moves the shutdown along: unregister, cancel, drain, close the queue. */
static void
stop_advance(struct client *c)
{
	if (c->phase == STOP_UNREGISTER && c->unreg_rpc == NULL) {
		int was = c->state == ST_CONNECTED;

		conn_close(c);
		if (was && c->cb.on_connection != NULL)
			c->cb.on_connection(c->arg, 0, coord_addr(c));
		c->phase = STOP_DRAIN;
	}
	if (c->phase == STOP_DRAIN && c->rpcs == NULL) {
		grpc_completion_queue_shutdown(c->cq);
		c->phase = STOP_CQ;
	}
}

/* ---- the two threads ---- */

static void *
cq_thread_main(void *arg)
{
	struct client *c = arg;
	grpc_event ev;
	struct cq_event *e;

	for (;;) {
		ev = grpc_completion_queue_next(c->cq,
		    gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
		if (ev.type == GRPC_QUEUE_SHUTDOWN)
			break;
		if (ev.type != GRPC_OP_COMPLETE)
			continue;
		if ((e = malloc(sizeof(*e))) == NULL)
			fatal("client: completion event");
		e->node.type = MSG_EVENT;
		e->tag = ev.tag;
		e->ok = ev.success;
		mpscq_push(&c->q, &e->node);
	}
	c->cq_done_node.type = MSG_CQ_DONE;
	mpscq_push(&c->q, &c->cq_done_node);
	return NULL;
}

static void
ctl_event(struct client *c, struct cq_event *e)
{
	struct rpc_tag *t = e->tag;
	struct rpc *r = t->rpc;

	r->pending--;
	if (t->what == TAG_RECV)
		stream_message(c, r, e->ok);
	else {
		switch (r->kind) {
		case RPC_REGISTER:
			register_done(c, r);
			break;
		case RPC_UNREGISTER:
			unregister_done(c, r);
			break;
		case RPC_HEARTBEAT:
			heartbeat_done(c, r);
			break;
		case RPC_SHARE:
			share_done(c, r);
			break;
		case RPC_STREAM:
			stream_done(c, r);
			break;
		default:
			fatalx("client: unexpected call kind %d", (int)r->kind);
		}
	}
	if (r->pending == 0)
		rpc_free(c, r);
	free(e);
}

static void
ctl_dispatch(struct client *c, struct mpscq_node *n)
{
	struct share *s;

	switch (n->type) {
	case MSG_EVENT:
		ctl_event(c, (struct cq_event *)n);
		break;
	case MSG_SHARE:
		s = (struct share *)n;
		if (c->phase != STOP_NONE) {
			share_drop(c, s, "client stopping");
			break;
		}
		s->waited = c->state != ST_CONNECTED;
		share_wait(c, s);
		pump_shares(c, clock_mono_ms());
		break;
	case MSG_WAKE:
		pthread_mutex_lock(&c->stats_lock);
		c->wake_queued = 0;
		pthread_mutex_unlock(&c->stats_lock);
		break;
	case MSG_STOP:
		if (c->phase == STOP_NONE)
			stop_begin(c);
		break;
	case MSG_CQ_DONE:
		c->phase = STOP_DONE;
		break;
	default:
		fatalx("client: unexpected message %d", n->type);
	}
}

/* Runs what is due; returns how long the loop may sleep. */
static int64_t
ctl_timers(struct client *c)
{
	int64_t now = clock_mono_ms(), next = now + MAX_WAIT_MS;
	int want;

	if (c->phase != STOP_NONE)
		return MAX_WAIT_MS;
	if (c->state == ST_IDLE) {
		if (now >= c->reconnect_at)
			conn_start(c);
		else if (c->reconnect_at < next)
			next = c->reconnect_at;
	}
	if (c->state != ST_CONNECTED)
		return next - now;
	pthread_mutex_lock(&c->stats_lock);
	want = c->want_lease;
	pthread_mutex_unlock(&c->stats_lock);
	/* An early heartbeat asks for a lease, at most every HEARTBEAT_MIN_MS. */
	if (c->hb_rpc == NULL && (now >= c->hb_due ||
	    (want && now >= c->hb_sent + HEARTBEAT_MIN_MS)))
		heartbeat_send(c, now);
	if (c->hb_rpc == NULL && c->hb_due < next)
		next = c->hb_due;
	if (c->hb_rpc == NULL && want && c->hb_sent + HEARTBEAT_MIN_MS < next)
		next = c->hb_sent + HEARTBEAT_MIN_MS;
	pump_shares(c, now);
	for (struct share *s = c->wait_head; s != NULL; s = s->next) {
		int64_t at = s->retry_at;

		if (s->waited && !c->got_job &&
		    at < c->connected_at + FLUSH_GRACE_MS)
			at = c->connected_at + FLUSH_GRACE_MS;
		if (at < next)
			next = at;
	}
	return next > now ? next - now : 0;
}

static void *
ctl_thread_main(void *arg)
{
	struct client *c = arg;
	struct mpscq_node *n;
	int64_t wait;

	while (c->phase != STOP_DONE) {
		wait = ctl_timers(c);
		if ((n = mpscq_pop(&c->q, (int)wait)) != NULL)
			ctl_dispatch(c, n);
		stop_advance(c);
	}
	return NULL;
}

/* ---- the public verbs ---- */

struct client *
client_new(const struct client_config *cfg, const struct client_callbacks *cb,
    void *arg)
{
	struct client *c;
	struct utsname u;

	if (cfg->ncoordinators == 0 || cfg->coordinators == NULL) {
		log_warnx("client: no coordinator address configured");
		return NULL;
	}
	if (cfg->worker_id == NULL || *cfg->worker_id == '\0') {
		log_warnx("client: no worker id configured");
		return NULL;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		log_warn("client");
		return NULL;
	}
	if ((c->coord = calloc(cfg->ncoordinators, sizeof(char *))) == NULL)
		goto oom;
	c->ncoord = cfg->ncoordinators;
	for (size_t i = 0; i < c->ncoord; i++)
		if ((c->coord[i] = strdup(cfg->coordinators[i])) == NULL)
			goto oom;
	c->worker_id = strdup(cfg->worker_id);
	c->worker_name = strdup(cfg->worker_name != NULL ? cfg->worker_name :
	    cfg->worker_id);
	if (c->worker_id == NULL || c->worker_name == NULL)
		goto oom;
	c->threads = cfg->threads;
	c->insecure = cfg->insecure;
	c->backoff_min = cfg->backoff_min_ms > 0 ? cfg->backoff_min_ms : 500;
	c->backoff_max = cfg->backoff_max_ms > 0 ? cfg->backoff_max_ms : 30000;
	if (c->backoff_max < c->backoff_min)
		c->backoff_max = c->backoff_min;
	c->share_queue_max = cfg->share_queue_max > 0 ? cfg->share_queue_max :
	    256;
	if (!c->insecure) {
		if ((c->ca_pem = read_pem("CA", cfg->ca_file)) == NULL ||
		    (c->cert_pem = read_pem("certificate", cfg->cert_file)) ==
		    NULL ||
		    (c->key_pem = read_pem("key", cfg->key_file)) == NULL) {
			client_free(c);
			return NULL;
		}
	}
	if (uname(&u) == 0) {
		snprintf(c->os, sizeof(c->os), "%s", u.sysname);
		snprintf(c->arch, sizeof(c->arch), "%s", u.machine);
	}
	if (cb != NULL)
		c->cb = *cb;
	c->arg = arg;
	/* A different jitter sequence in every process, so that workers
	 * restarted together do not reconnect in step. */
	backoff_init(&c->bo, c->backoff_min, c->backoff_max,
	    (uint64_t)clock_mono_us() ^ ((uint64_t)getpid() << 32) ^
	    (uint64_t)(uintptr_t)c);
	mpscq_init(&c->q, 0);
	pthread_mutex_init(&c->stats_lock, NULL);
	pthread_mutex_init(&c->held_lock, NULL);
	grpc_init();
	c->inited = 1;
	return c;
oom:
	log_warn("client");
	client_free(c);
	return NULL;
}

int
client_start(struct client *c)
{
	if (c->started)
		return -1;
	if (c->insecure) {
		log_warnx("client: INSECURE: talking to the coordinator in "
		    "plaintext, without certificates");
		c->creds = grpc_insecure_credentials_create();
	} else {
		grpc_ssl_pem_key_cert_pair pair = { c->key_pem, c->cert_pem };

		c->creds = grpc_ssl_credentials_create_ex(c->ca_pem, &pair,
		    NULL, NULL);
		/* The credentials keep their own copy. */
		free_secret(c->key_pem);
		c->key_pem = NULL;
	}
	if (c->creds == NULL) {
		log_warnx("client: cannot create channel credentials");
		return -1;
	}
	c->cq = grpc_completion_queue_create_for_next(NULL);
	c->started_ms = clock_mono_ms();
	c->reconnect_at = c->started_ms;
	c->stop_node.type = MSG_STOP;
	c->wake_node.type = MSG_WAKE;
	if (pthread_create(&c->cq_thread, NULL, cq_thread_main, c) != 0) {
		log_warnx("client: cannot start the completion-queue thread");
		grpc_completion_queue_shutdown(c->cq);
		grpc_completion_queue_destroy(c->cq);
		c->cq = NULL;
		return -1;
	}
	if (pthread_create(&c->ctl_thread, NULL, ctl_thread_main, c) != 0) {
		log_warnx("client: cannot start the client thread");
		grpc_completion_queue_shutdown(c->cq);
		pthread_join(c->cq_thread, NULL);
		grpc_completion_queue_destroy(c->cq);
		c->cq = NULL;
		return -1;
	}
	c->started = 1;
	return 0;
}

int
client_submit_share(struct client *c, uint64_t share_tag, const char *job_id,
    uint32_t nonce, const uint8_t result[32])
{
	struct share *s;
	int full = 0;

	pthread_mutex_lock(&c->held_lock);
	if (c->held >= c->share_queue_max)
		full = 1;
	else
		c->held++;
	pthread_mutex_unlock(&c->held_lock);
	if (full) {
		log_warnx("client: share %" PRIu64 " (job %s, nonce %08" PRIx32
		    ") dropped: share queue full (%zu)", share_tag, job_id,
		    nonce, c->share_queue_max);
		return -1;
	}
	if ((s = calloc(1, sizeof(*s))) == NULL) {
		log_warn("client: share %" PRIu64, share_tag);
		held_release(c);
		return -1;
	}
	s->node.type = MSG_SHARE;
	s->tag = share_tag;
	snprintf(s->job_id, sizeof(s->job_id), "%s", job_id);
	s->nonce = nonce;
	memcpy(s->result, result, sizeof(s->result));
	s->timestamp = clock_wall_ms();
	if (mpscq_push(&c->q, &s->node) == -1) {
		log_warnx("client: share %" PRIu64 " dropped: client stopped",
		    share_tag);
		free(s);
		held_release(c);
		return -1;
	}
	return 0;
}

void
client_set_stats(struct client *c, const struct client_stats *st)
{
	pthread_mutex_lock(&c->stats_lock);
	c->stats = *st;
	pthread_mutex_unlock(&c->stats_lock);
}

void
client_request_lease(struct client *c)
{
	int wake;

	pthread_mutex_lock(&c->stats_lock);
	c->want_lease = 1;
	wake = !c->wake_queued;
	c->wake_queued = 1;
	pthread_mutex_unlock(&c->stats_lock);
	if (wake)
		mpscq_push(&c->q, &c->wake_node);
}

void
client_stop(struct client *c)
{
	struct mpscq_node *n;

	if (!c->started || c->stopped)
		return;
	if (pthread_equal(pthread_self(), c->ctl_thread))
		fatalx("client_stop called from a client callback");
	c->stopped = 1;
	mpscq_push(&c->q, &c->stop_node);
	pthread_join(c->ctl_thread, NULL);
	pthread_join(c->cq_thread, NULL);
	mpscq_close(&c->q);
	/* Shares that arrived after the control thread ended. */
	while ((n = mpscq_pop(&c->q, 0)) != NULL) {
		if (n->type == MSG_SHARE)
			share_drop(c, (struct share *)n, "client stopped");
	}
	grpc_completion_queue_destroy(c->cq);
	c->cq = NULL;
}

void
client_free(struct client *c)
{
	if (c == NULL)
		return;
	client_stop(c);
	if (c->creds != NULL)
		grpc_channel_credentials_release(c->creds);
	if (c->coord != NULL) {
		for (size_t i = 0; i < c->ncoord; i++)
			free(c->coord[i]);
		free(c->coord);
	}
	free(c->worker_id);
	free(c->worker_name);
	free(c->ca_pem);
	free(c->cert_pem);
	free_secret(c->key_pem);
	if (c->inited) {
		mpscq_destroy(&c->q);
		pthread_mutex_destroy(&c->stats_lock);
		pthread_mutex_destroy(&c->held_lock);
		grpc_shutdown();
	}
	free(c);
}
