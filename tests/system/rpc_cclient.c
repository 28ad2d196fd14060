/*
 * rpc_cclient.c: a worker-side client on the gRPC C core API (the API the
 * worker uses) against a running coordinator, printing TAP; started by
 * tests/system/rpc_c.sh.  Checks mTLS with rpc/tls.c's channel credentials,
 * Register/Heartbeat/GetClusterStats, the identity binding, StreamJobs and
 * SubmitShare (with --core: rpc_testcore's source and sink plugged in), and
 * that a worker key readable by others is refused before connecting.
 */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/support/time.h>

#include "rpc/codec.h"
#include "rpc/tls.h"
#include "tap.h"

static grpc_channel *ch;
static grpc_completion_queue *cq;

static gpr_timespec
deadline(int ms)
{
	return gpr_time_add(gpr_now(GPR_CLOCK_REALTIME),
	    gpr_time_from_millis(ms, GPR_TIMESPAN));
}

/* One unary call: status, and the response parsed as desc (or NULL). */
static grpc_status_code
call(const char *method, const ProtobufCMessage *req,
    const ProtobufCMessageDescriptor *desc, ProtobufCMessage **resp)
{
	grpc_slice m = grpc_slice_from_static_string(method);
	grpc_byte_buffer *in = rpc_pack(req), *out = NULL;
	grpc_metadata_array md, tr;
	grpc_status_code st = GRPC_STATUS_UNKNOWN;
	grpc_slice details = grpc_empty_slice();
	grpc_call *c;
	grpc_op ops[6];
	grpc_event ev;

	grpc_metadata_array_init(&md);
	grpc_metadata_array_init(&tr);
	c = grpc_channel_create_call(ch, NULL, GRPC_PROPAGATE_DEFAULTS, cq, m, NULL,
	    deadline(10000), NULL);
	memset(ops, 0, sizeof(ops));
	ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
	ops[1].op = GRPC_OP_SEND_MESSAGE;
	ops[1].data.send_message.send_message = in;
	ops[2].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
	ops[3].op = GRPC_OP_RECV_INITIAL_METADATA;
	ops[3].data.recv_initial_metadata.recv_initial_metadata = &md;
	ops[4].op = GRPC_OP_RECV_MESSAGE;
	ops[4].data.recv_message.recv_message = &out;
	ops[5].op = GRPC_OP_RECV_STATUS_ON_CLIENT;
	ops[5].data.recv_status_on_client.trailing_metadata = &tr;
	ops[5].data.recv_status_on_client.status = &st;
	ops[5].data.recv_status_on_client.status_details = &details;
	if (grpc_call_start_batch(c, ops, 6, c, NULL) != GRPC_CALL_OK) {
		st = GRPC_STATUS_INTERNAL;
	} else {
		ev = grpc_completion_queue_next(cq, deadline(15000), NULL);
		if (ev.type != GRPC_OP_COMPLETE)
			st = GRPC_STATUS_DEADLINE_EXCEEDED;
	}
	if (resp != NULL)
		*resp = st == GRPC_STATUS_OK && out != NULL ?
		    rpc_unpack(desc, out) : NULL;
	if (out != NULL)
		grpc_byte_buffer_destroy(out);
	grpc_byte_buffer_destroy(in);
	grpc_metadata_array_destroy(&md);
	grpc_metadata_array_destroy(&tr);
	grpc_slice_unref(details);
	grpc_call_unref(c);
	return st;
}

/* Opens StreamJobs and reads one job; the job id into id. */
static grpc_status_code
first_job(const char *worker, char *id, size_t idlen)
{
	Coopmine__StreamJobsRequest r = COOPMINE__STREAM_JOBS_REQUEST__INIT;
	grpc_slice m = grpc_slice_from_static_string(RPC_METHOD_STREAM_JOBS);
	grpc_byte_buffer *in, *out = NULL;
	grpc_metadata_array md, tr;
	grpc_status_code st = GRPC_STATUS_OK;
	grpc_slice details = grpc_empty_slice();
	grpc_call *c;
	grpc_op ops[5];
	grpc_event ev;
	int got = 0, done = 0;

	r.worker_id = (char *)worker;
	in = rpc_pack(&r.base);
	grpc_metadata_array_init(&md);
	grpc_metadata_array_init(&tr);
	c = grpc_channel_create_call(ch, NULL, GRPC_PROPAGATE_DEFAULTS, cq, m, NULL,
	    gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
	memset(ops, 0, sizeof(ops));
	ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
	ops[1].op = GRPC_OP_SEND_MESSAGE;
	ops[1].data.send_message.send_message = in;
	ops[2].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
	ops[3].op = GRPC_OP_RECV_INITIAL_METADATA;
	ops[3].data.recv_initial_metadata.recv_initial_metadata = &md;
	ops[4].op = GRPC_OP_RECV_MESSAGE;
	ops[4].data.recv_message.recv_message = &out;
	if (grpc_call_start_batch(c, ops, 5, &got, NULL) != GRPC_CALL_OK)
		got = -1;
	memset(ops, 0, sizeof(ops));
	ops[0].op = GRPC_OP_RECV_STATUS_ON_CLIENT;
	ops[0].data.recv_status_on_client.trailing_metadata = &tr;
	ops[0].data.recv_status_on_client.status = &st;
	ops[0].data.recv_status_on_client.status_details = &details;
	if (grpc_call_start_batch(c, ops, 1, &done, NULL) != GRPC_CALL_OK)
		done = -1;
	/* The first message, or the end of the call, whichever comes. */
	while (!got && !done) {
		ev = grpc_completion_queue_next(cq, deadline(10000), NULL);
		if (ev.type != GRPC_OP_COMPLETE)
			break;
		if (ev.tag == &got)
			got = 1;
		else
			done = 1;
	}
	id[0] = '\0';
	if (out != NULL) {
		Coopmine__JobMessage *j = (Coopmine__JobMessage *)rpc_unpack(
		    &coopmine__job_message__descriptor, out);
		if (j != NULL) {
			snprintf(id, idlen, "%s", j->job_id);
			protobuf_c_message_free_unpacked(&j->base, NULL);
		}
		grpc_byte_buffer_destroy(out);
	}
	grpc_call_cancel(c, NULL);
	while (!got || !done) {
		ev = grpc_completion_queue_next(cq, deadline(10000), NULL);
		if (ev.type != GRPC_OP_COMPLETE)
			break;
		if (ev.tag == &got)
			got = 1;
		else
			done = 1;
	}
	grpc_byte_buffer_destroy(in);
	grpc_metadata_array_destroy(&md);
	grpc_metadata_array_destroy(&tr);
	grpc_slice_unref(details);
	grpc_call_unref(c);
	return id[0] != '\0' ? GRPC_STATUS_OK : st;
}

int
main(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "target", required_argument, NULL, 't' },
		{ "certs", required_argument, NULL, 'c' },
		{ "core", no_argument, NULL, 'k' },
		{ NULL, 0, NULL, 0 }
	};
	Coopmine__RegisterRequest rr = COOPMINE__REGISTER_REQUEST__INIT;
	Coopmine__HeartbeatRequest hb = COOPMINE__HEARTBEAT_REQUEST__INIT;
	Coopmine__ClusterStatsRequest csr = COOPMINE__CLUSTER_STATS_REQUEST__INIT;
	Coopmine__ShareRequest sr = COOPMINE__SHARE_REQUEST__INIT;
	Coopmine__RegisterResponse *reg = NULL;
	Coopmine__HeartbeatResponse *hbr = NULL;
	Coopmine__ClusterStatsResponse *cs = NULL;
	Coopmine__ShareResponse *shr = NULL;
	grpc_channel_credentials *creds;
	char ca[512], cert[512], key[512], err[512], job[64], copy[600];
	const char *target = NULL, *dir = NULL;
	uint8_t nonce[4] = { 1, 2, 3, 4 }, result[32];
	int with_core = 0, o;
	grpc_status_code st;

	while ((o = getopt_long(argc, argv, "", lopts, NULL)) != -1) {
		switch (o) {
		case 't': target = optarg; break;
		case 'c': dir = optarg; break;
		case 'k': with_core = 1; break;
		default: return 2;
		}
	}
	if (target == NULL || dir == NULL)
		return 2;
	snprintf(ca, sizeof(ca), "%s/ca.crt", dir);
	snprintf(cert, sizeof(cert), "%s/w1.crt", dir);
	snprintf(key, sizeof(key), "%s/w1.key", dir);
	grpc_init();
	cq = grpc_completion_queue_create_for_next(NULL);

	/* A key others can read is refused before any connection. */
	snprintf(copy, sizeof(copy), "%s/open.key", dir);
	{
		FILE *a = fopen(key, "rb"), *b = fopen(copy, "wb");
		int chr;

		while (a != NULL && b != NULL && (chr = fgetc(a)) != EOF)
			fputc(chr, b);
		if (a != NULL)
			fclose(a);
		if (b != NULL)
			fclose(b);
		chmod(copy, 0644);
	}
	creds = rpc_tls_channel_credentials(ca, cert, copy, err, sizeof(err));
	ok(creds == NULL && strstr(err, "chmod 600") != NULL,
	    "a worker key with mode 0644 is refused: %s", err);
	remove(copy);

	creds = rpc_tls_channel_credentials(ca, cert, key, err, sizeof(err));
	ok(creds != NULL, "channel credentials from the worker's PEM files");
	if (creds == NULL)
		return tap_done();
	ch = grpc_channel_create(target, creds, NULL);

	rr.worker_id = "w1";
	rr.worker_name = "c client";
	rr.threads = 3;
	st = call(RPC_METHOD_REGISTER, &rr.base, &coopmine__register_response__descriptor,
	    (ProtobufCMessage **)&reg);
	ok(st == GRPC_STATUS_OK && reg != NULL && reg->success &&
	    strcmp(reg->assigned_id, "w1") == 0 && reg->config != NULL &&
	    reg->config->heartbeat_interval_ms > 0,
	    "Register over mTLS (status %d)", (int)st);

	hb.worker_id = "w1";
	hb.hashrate = 42.0;
	st = call(RPC_METHOD_HEARTBEAT, &hb.base, &coopmine__heartbeat_response__descriptor,
	    (ProtobufCMessage **)&hbr);
	ok(st == GRPC_STATUS_OK && hbr != NULL && hbr->success, "Heartbeat");

	st = call(RPC_METHOD_CLUSTER_STATS, &csr.base,
	    &coopmine__cluster_stats_response__descriptor, (ProtobufCMessage **)&cs);
	ok(st == GRPC_STATUS_OK && cs != NULL && cs->workers_online >= 1 &&
	    cs->total_hashrate >= 42.0, "GetClusterStats sees the worker and its hashrate");

	hb.worker_id = "w2";
	st = call(RPC_METHOD_HEARTBEAT, &hb.base, &coopmine__heartbeat_response__descriptor,
	    NULL);
	ok(st == GRPC_STATUS_PERMISSION_DENIED, "Heartbeat as another worker: PERMISSION_DENIED");

	memset(result, 0x33, sizeof(result));
	sr.worker_id = "w1";
	sr.nonce.data = nonce;
	sr.nonce.len = 4;
	sr.result.data = result;
	sr.result.len = 32;
	if (with_core) {
		st = first_job("w1", job, sizeof(job));
		ok(st == GRPC_STATUS_OK && strncmp(job, "job-", 4) == 0,
		    "StreamJobs delivers a job (%s)", job);
		sr.job_id = job;
		st = call(RPC_METHOD_SUBMIT_SHARE, &sr.base,
		    &coopmine__share_response__descriptor, (ProtobufCMessage **)&shr);
		ok(st == GRPC_STATUS_OK && shr != NULL && shr->accepted,
		    "SubmitShare gets the sink's verdict");
	} else {
		/* The coordinator's share path answers with a real verdict. */
		sr.job_id = "job-1";
		st = call(RPC_METHOD_SUBMIT_SHARE, &sr.base,
		    &coopmine__share_response__descriptor, (ProtobufCMessage **)&shr);
		ok(st == GRPC_STATUS_OK && shr != NULL && !shr->accepted &&
		    strcmp(shr->reason, "unknown job") == 0,
		    "SubmitShare of a job never issued: rejected, unknown job");
	}

	if (reg != NULL)
		protobuf_c_message_free_unpacked(&reg->base, NULL);
	if (hbr != NULL)
		protobuf_c_message_free_unpacked(&hbr->base, NULL);
	if (cs != NULL)
		protobuf_c_message_free_unpacked(&cs->base, NULL);
	if (shr != NULL)
		protobuf_c_message_free_unpacked(&shr->base, NULL);
	grpc_channel_destroy(ch);
	grpc_channel_credentials_release(creds);
	grpc_completion_queue_shutdown(cq);
	while (grpc_completion_queue_next(cq, gpr_inf_future(GPR_CLOCK_REALTIME),
	    NULL).type != GRPC_QUEUE_SHUTDOWN)
		;
	grpc_completion_queue_destroy(cq);
	grpc_shutdown();
	return tap_done();
}
