/*
 * fuzz_rpc_request.c: libFuzzer harness for the coordinator's gRPC request
 * path without a server: the first byte picks the method, the rest is the
 * request message, unpacked by rpc_unpack (codec.c, as recv_done does) and
 * then validated as the handlers do: the claimed worker_id
 * (rpc_claimed_id_ok), registry_register / registry_heartbeat /
 * registry_unregister, the ShareRequest's plain form
 * (rpc_share_req_from_msg) and jobs_check_share against a live job.  A
 * first byte with its top bit set is the other direction: a JobMessage
 * as the worker takes it (client_job_from_msg, worker/client.c).
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <grpc/byte_buffer.h>
#include <grpc/slice.h>

#include "common/log.h"
#include "common/target.h"
#include "coordinator/jobs.h"
#include "coordinator/registry.h"
#include "coordinator/rpc_server.h"
#include "rpc/codec.h"
#include "unit/jobs_fixture.h"
#include "worker/client.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct registry *reg;
static struct jobs *jobs;
static const int64_t now = 1000000;

static void ev_send(void *arg, const char *w, const struct work *wk) { }
static void ev_job(void *arg, const struct job_info *j) { }
static void ev_lease(void *arg, uint64_t seq, const struct lease *l) { }
static void ev_release(void *arg, uint64_t id, int64_t t) { }
static void ev_exhausted(void *arg, unsigned sources) { }
static void ev_paused(void *arg, int paused) { }

/* One OpenSY job and one worker "w1" holding a lease on it (job id "1"). */
static int
setup(void)
{
	static const struct jobs_events ev = { ev_send, ev_job, ev_lease,
		ev_release, ev_exhausted, ev_paused, NULL, NULL };
	static struct job_template t;
	static struct work w;

	/* a line per fuzzed request would only slow the run down */
	log_set_level(LOG_LVL_ERROR);
	if ((reg = registry_new(15000, 16)) == NULL ||
	    (jobs = jobs_new(&fixture_jobs_config, &ev, NULL)) == NULL)
		return -1;
	t = fixture_job("up1", 1, 0x5a);
	if (jobs_add(jobs, &t, now) == 0 ||
	    jobs_worker_join(jobs, "w1", 1000, now, &w) != 0)
		return -1;
	return 0;
}

static ProtobufCMessage *
unpack(const ProtobufCMessageDescriptor *desc, const uint8_t *data, size_t size)
{
	grpc_slice s = grpc_slice_from_copied_buffer((const char *)data, size);
	grpc_byte_buffer *bb = grpc_raw_byte_buffer_create(&s, 1);
	ProtobufCMessage *m = rpc_unpack(desc, bb);

	grpc_byte_buffer_destroy(bb);
	grpc_slice_unref(s);
	return m;
}

static void
share(const Coopmine__ShareRequest *req)
{
	struct rpc_share_req plain;
	struct share_ctx ctx;

	if (rpc_claimed_id_ok(req->worker_id) != 0)
		return;
	rpc_share_req_from_msg(req, &plain);
	if (plain.job_id == NULL)
		abort();
	/* shares_submit's order: malformed first, then the job checks */
	if (plain.result_len != 32 || plain.nonce_len != 4)
		return;
	if (jobs_check_share(jobs, req->worker_id, plain.job_id, plain.nonce,
	    plain.nonce_len, &ctx) == LEDGER_REASON_OK)
		jobs_unreserve(jobs, ctx.job_seq, ctx.nonce);
}

/* What the worker may mine from must be within its own buffers. */
static void
job(const Coopmine__JobMessage *m)
{
	struct client_job j;
	char why[160];

	if (client_job_from_msg(m, &j, why, sizeof(why)) != 0) {
		if (memchr(why, '\0', sizeof(why)) == NULL)
			abort();
		return;
	}
	if (j.blob_len > sizeof(j.blob) || j.nonce_offset + 4ULL > j.blob_len ||
	    j.seed_len < 1 || j.seed_len > sizeof(j.seed) ||
	    j.share_target == 0 || j.nonce_end <= j.nonce_start ||
	    j.nonce_end > (1ULL << 32))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	ProtobufCMessage *m;
	enum worker_command cmd;

	if (reg == NULL && setup() != 0)
		abort();
	if (size < 1)
		return 0;
	if (data[0] & 0x80) {
		m = unpack(&coopmine__job_message__descriptor, data + 1, size - 1);
		if (m != NULL) {
			job((Coopmine__JobMessage *)m);
			protobuf_c_message_free_unpacked(m, NULL);
		}
		return 0;
	}
	switch (data[0] % 4) {
	case 0: {
		Coopmine__RegisterRequest *r;

		m = unpack(&coopmine__register_request__descriptor, data + 1,
		    size - 1);
		if (m == NULL)
			return 0;
		r = (Coopmine__RegisterRequest *)m;
		if (rpc_claimed_id_ok(r->worker_id) == 0 &&
		    registry_register(reg, r->worker_id, r->worker_name,
		    r->threads, r->version, r->os, r->arch, now) == 0)
			registry_unregister(reg, r->worker_id, now);
		break;
	}
	case 1: {
		Coopmine__HeartbeatRequest *h;
		struct registry_beat beat;

		m = unpack(&coopmine__heartbeat_request__descriptor, data + 1,
		    size - 1);
		if (m == NULL)
			return 0;
		h = (Coopmine__HeartbeatRequest *)m;
		beat = (struct registry_beat){ .hashrate = h->hashrate,
			.shares_valid = h->shares_valid,
			.shares_invalid = h->shares_invalid,
			.hashes_total = h->hashes_total, .uptime_ms = h->uptime_ms,
			.cpu_usage = h->cpu_usage, .memory_usage = h->memory_usage,
			.temperature = h->temperature };
		if (rpc_claimed_id_ok(h->worker_id) == 0) {
			registry_heartbeat(reg, h->worker_id, &beat, now, &cmd);
			jobs_worker_heartbeat(jobs, h->worker_id, h->hashrate,
			    h->lease_id, h->lease_hashes_done, h->want_lease, now);
		}
		break;
	}
	case 2:
		m = unpack(&coopmine__share_request__descriptor, data + 1,
		    size - 1);
		if (m == NULL)
			return 0;
		share((Coopmine__ShareRequest *)m);
		break;
	default:
		/* the rest carry a worker_id at most */
		m = unpack(data[0] % 8 == 3 ?
		    &coopmine__unregister_request__descriptor :
		    data[0] % 8 == 7 ? &coopmine__stream_jobs_request__descriptor :
		    &coopmine__worker_stats_request__descriptor, data + 1, size - 1);
		if (m == NULL)
			return 0;
		break;
	}
	protobuf_c_message_free_unpacked(m, NULL);
	return 0;
}
