/*
 * bench_rpc.c: load generator for the coordinator's gRPC server, on the
 * gRPC C core client API, against tests/system/rpc_testcore (run by
 * bench/rpc.sh).  Measures heartbeat RPCs/s over mTLS on loopback
 * (sequential, and with 64 in flight), and StreamJobs fan-out: the time
 * from a job being published to its arrival on each of N open streams.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/support/time.h>

#include "common/clock.h"
#include "rpc/codec.h"
#include "rpc/tls.h"

#include "unary.h"

static const char *target, *worker = "bench";
static grpc_channel_credentials *creds;
/* Against the real coordinator each stream must be its own worker (a
 * worker's second stream replaces its first); that needs --insecure, where
 * identities come from the requests. */
static int distinct;

static gpr_timespec
in_ms(int64_t ms)
{
	return gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC),
	    gpr_time_from_millis(ms, GPR_TIMESPAN));
}

static int64_t
wall_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* A channel with its own connection (no subchannel sharing). */
static grpc_channel *
channel_new(void)
{
	grpc_arg args[1] = {
		{ GRPC_ARG_INTEGER, GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, { .integer = 1 } },
	};
	grpc_channel_args ca = { 1, args };

	return grpc_channel_create(target, creds, &ca);
}

/* ---- unary calls -------------------------------------------------------- */

/* bench_unary with the request copied: the caller keeps its own. */
static int
unary_start(struct bench_unary *u, grpc_channel *ch, grpc_completion_queue *cq,
    const char *method, const grpc_byte_buffer *req)
{
	return bench_unary_start(u, ch, cq, method,
	    grpc_byte_buffer_copy((grpc_byte_buffer *)req),
	    gpr_time_add(gpr_now(GPR_CLOCK_REALTIME),
	    gpr_time_from_seconds(10, GPR_TIMESPAN)), u);
}

static grpc_status_code
unary_sync(grpc_channel *ch, grpc_completion_queue *cq, const char *method,
    const grpc_byte_buffer *req, grpc_byte_buffer **resp)
{
	struct bench_unary u;
	grpc_event ev;

	if (unary_start(&u, ch, cq, method, req) != 0)
		return GRPC_STATUS_INTERNAL;
	ev = grpc_completion_queue_next(cq, in_ms(15000), NULL);
	if (ev.type != GRPC_OP_COMPLETE || ev.tag != &u) {
		fprintf(stderr, "bench_rpc: unexpected completion\n");
		exit(1);
	}
	return bench_unary_end(&u, resp);
}

static int
register_as(grpc_channel *ch, grpc_completion_queue *cq, const char *id,
    Coopmine__JobMessage **job)
{
	Coopmine__RegisterRequest r = COOPMINE__REGISTER_REQUEST__INIT;
	grpc_byte_buffer *req, *resp = NULL;
	grpc_status_code st;

	r.worker_id = (char *)id;
	r.worker_name = "bench_rpc";
	r.threads = 1;
	req = rpc_pack(&r.base);
	st = unary_sync(ch, cq, RPC_METHOD_REGISTER, req, &resp);
	grpc_byte_buffer_destroy(req);
	if (job != NULL)
		*job = NULL;
	if (resp != NULL) {
		Coopmine__RegisterResponse *rr = (Coopmine__RegisterResponse *)rpc_unpack(
		    &coopmine__register_response__descriptor, resp);
		if (rr != NULL && job != NULL && rr->current_job != NULL) {
			*job = rr->current_job;
			rr->current_job = NULL;	/* kept: freed on its own */
		}
		if (rr != NULL)
			protobuf_c_message_free_unpacked(&rr->base, NULL);
		grpc_byte_buffer_destroy(resp);
	}
	if (st != GRPC_STATUS_OK)
		fprintf(stderr, "bench_rpc: Register failed with status %d\n", (int)st);
	return st == GRPC_STATUS_OK ? 0 : -1;
}

static int
register_worker(grpc_channel *ch, grpc_completion_queue *cq)
{
	return register_as(ch, cq, worker, NULL);
}

/* Registers id on ch through a private completion queue (the caller's
 * queue may have streams on it already). */
static int
register_on(grpc_channel *ch, const char *id)
{
	grpc_completion_queue *cq = grpc_completion_queue_create_for_next(NULL);
	int rc = register_as(ch, cq, id, NULL);

	grpc_completion_queue_shutdown(cq);
	while (grpc_completion_queue_next(cq, gpr_inf_future(GPR_CLOCK_REALTIME),
	    NULL).type != GRPC_QUEUE_SHUTDOWN)
		;
	grpc_completion_queue_destroy(cq);
	return rc;
}

static void
bench_heartbeats(double seconds)
{
	Coopmine__HeartbeatRequest h = COOPMINE__HEARTBEAT_REQUEST__INIT;
	grpc_completion_queue *cq = grpc_completion_queue_create_for_next(NULL);
	grpc_channel *ch = channel_new();
	struct bench_unary *slots;
	grpc_byte_buffer *req;
	int64_t t0, t1;
	long n, errors = 0;
	int inflight = 64;

	if (register_worker(ch, cq) != 0)
		exit(1);
	h.worker_id = (char *)worker;
	h.hashrate = 1000;
	req = rpc_pack(&h.base);

	/* Sequential. */
	for (int i = 0; i < 200; i++)		/* warm-up */
		unary_sync(ch, cq, RPC_METHOD_HEARTBEAT, req, NULL);
	t0 = clock_mono_us();
	for (n = 0; (t1 = clock_mono_us()) - t0 < (int64_t)(seconds * 1e6); n++)
		if (unary_sync(ch, cq, RPC_METHOD_HEARTBEAT, req, NULL) != GRPC_STATUS_OK)
			errors++;
	printf("heartbeat, sequential:   %8.0f RPC/s  (%ld calls, %.1f us each, %ld errors)\n",
	    n / ((t1 - t0) / 1e6), n, (double)(t1 - t0) / n, errors);

	/* 64 in flight on the same connection. */
	slots = calloc((size_t)inflight, sizeof(*slots));
	errors = 0;
	n = 0;
	t0 = clock_mono_us();
	for (int i = 0; i < inflight; i++)
		unary_start(&slots[i], ch, cq, RPC_METHOD_HEARTBEAT, req);
	for (int live = inflight; live > 0;) {
		grpc_event ev = grpc_completion_queue_next(cq, in_ms(15000), NULL);
		struct bench_unary *u = ev.tag;

		if (ev.type != GRPC_OP_COMPLETE) {
			fprintf(stderr, "bench_rpc: timeout with %d in flight\n", live);
			exit(1);
		}
		if (bench_unary_end(u, NULL) != GRPC_STATUS_OK)
			errors++;
		n++;
		if (clock_mono_us() - t0 < (int64_t)(seconds * 1e6))
			unary_start(u, ch, cq, RPC_METHOD_HEARTBEAT, req);
		else
			live--;
	}
	t1 = clock_mono_us();
	printf("heartbeat, 64 in flight: %8.0f RPC/s  (%ld calls, %ld errors)\n",
	    n / ((t1 - t0) / 1e6), n, errors);
	free(slots);
	grpc_byte_buffer_destroy(req);
	grpc_channel_destroy(ch);
	grpc_completion_queue_shutdown(cq);
	while (grpc_completion_queue_next(cq, gpr_inf_future(GPR_CLOCK_REALTIME),
	    NULL).type != GRPC_QUEUE_SHUTDOWN)
		;
	grpc_completion_queue_destroy(cq);
}

/* ---- StreamJobs fan-out -------------------------------------------------- */

struct stream {
	grpc_channel *ch;
	grpc_call *call;
	grpc_byte_buffer *req, *msg;
	grpc_metadata_array md, trailing;
	grpc_status_code status;
	grpc_slice details;
	int ended, got_first;
	char tag_recv, tag_status, tag_start;
};

static void
stream_recv(struct stream *s)
{
	grpc_op op;

	memset(&op, 0, sizeof(op));
	op.op = GRPC_OP_RECV_MESSAGE;
	op.data.recv_message.recv_message = &s->msg;
	grpc_call_start_batch(s->call, &op, 1, &s->tag_recv, NULL);
}

static void
stream_open(struct stream *s, grpc_completion_queue *cq, const grpc_byte_buffer *req)
{
	grpc_slice m = grpc_slice_from_static_string(RPC_METHOD_STREAM_JOBS);
	grpc_op ops[4];

	if (s->ch == NULL)
		s->ch = channel_new();
	s->call = grpc_channel_create_call(s->ch, NULL, GRPC_PROPAGATE_DEFAULTS, cq, m,
	    NULL, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
	s->req = grpc_byte_buffer_copy((grpc_byte_buffer *)req);
	grpc_metadata_array_init(&s->md);
	grpc_metadata_array_init(&s->trailing);
	memset(ops, 0, sizeof(ops));
	ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
	ops[1].op = GRPC_OP_SEND_MESSAGE;
	ops[1].data.send_message.send_message = s->req;
	ops[2].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
	ops[3].op = GRPC_OP_RECV_INITIAL_METADATA;
	ops[3].data.recv_initial_metadata.recv_initial_metadata = &s->md;
	grpc_call_start_batch(s->call, ops, 4, &s->tag_start, NULL);
	memset(ops, 0, sizeof(ops));
	ops[0].op = GRPC_OP_RECV_STATUS_ON_CLIENT;
	ops[0].data.recv_status_on_client.trailing_metadata = &s->trailing;
	ops[0].data.recv_status_on_client.status = &s->status;
	ops[0].data.recv_status_on_client.status_details = &s->details;
	grpc_call_start_batch(s->call, ops, 1, &s->tag_status, NULL);
	stream_recv(s);
}

static int
cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

/* Which stream and which of its tags an event is for: the tags are bytes
 * inside the stream structs of one array. */
static struct stream *
owner(struct stream *ss, int n, void *tag, int *kind)
{
	size_t off = (size_t)((char *)tag - (char *)ss), i = off / sizeof(*ss);
	struct stream *s;

	if ((char *)tag < (char *)ss || i >= (size_t)n)
		return NULL;
	s = &ss[i];
	*kind = tag == &s->tag_recv ? 0 : tag == &s->tag_status ? 1 : 2;
	return s;
}

/* Opens n streams, waits until each has its first (current) job, then
 * collects the arrival latency of the next `jobs` published jobs. */
static void
bench_fanout(int n, int jobs)
{
	Coopmine__StreamJobsRequest r = COOPMINE__STREAM_JOBS_REQUEST__INIT;
	grpc_completion_queue *cq = grpc_completion_queue_create_for_next(NULL);
	struct stream *ss = calloc((size_t)n, sizeof(*ss));
	int64_t *lat = calloc((size_t)n * (size_t)jobs + 1, sizeof(*lat));
	size_t nlat = 0;
	grpc_byte_buffer *req;
	int ready = 0, ended = 0;
	long base_seq = -1, max_seq = 0;
	int64_t t0 = clock_mono_ms();

	r.worker_id = (char *)worker;
	req = rpc_pack(&r.base);
	for (int i = 0; i < n; i++) {
		char id[96];
		grpc_byte_buffer *own;

		if (!distinct) {
			stream_open(&ss[i], cq, req);
			continue;
		}
		snprintf(id, sizeof(id), "%s-%d", worker, i);
		ss[i].ch = channel_new();
		if (register_on(ss[i].ch, id) != 0)
			exit(1);
		r.worker_id = id;
		own = rpc_pack(&r.base);
		stream_open(&ss[i], cq, own);
		grpc_byte_buffer_destroy(own);
	}
	grpc_byte_buffer_destroy(req);

	while (nlat < (size_t)n * (size_t)jobs && ended < n) {
		grpc_event ev = grpc_completion_queue_next(cq, in_ms(20000), NULL);
		struct stream *s;
		int kind;

		if (ev.type != GRPC_OP_COMPLETE) {
			fprintf(stderr, "bench_rpc: fan-out stalled (%d/%d ready, %zu samples)\n",
			    ready, n, nlat);
			break;
		}
		if ((s = owner(ss, n, ev.tag, &kind)) == NULL)
			continue;
		if (kind == 1) {
			s->ended = 1;
			ended++;
			if (s->status != GRPC_STATUS_OK)
				fprintf(stderr, "bench_rpc: stream ended with status %d\n",
				    (int)s->status);
			continue;
		}
		if (kind == 2)
			continue;
		if (!ev.success || s->msg == NULL)
			continue;
		{
			int64_t now = wall_us();
			Coopmine__JobMessage *j = (Coopmine__JobMessage *)rpc_unpack(
			    &coopmine__job_message__descriptor, s->msg);
			long seq = -1;

			grpc_byte_buffer_destroy(s->msg);
			s->msg = NULL;
			if (j != NULL) {
				/* rpc_testcore: "job-N", timestamps in us; the
				 * coordinator: 16 hex digits, timestamps in ms. */
				int64_t ts = j->timestamp < 100000000000000LL ?
				    j->timestamp * 1000 : j->timestamp;
				if (sscanf(j->job_id, "job-%ld", &seq) != 1)
					seq = strtol(j->job_id, NULL, 16);
				j->timestamp = ts;
				if (!s->got_first) {
					s->got_first = 1;
					if (++ready == n) {
						base_seq = max_seq > seq ? max_seq : seq;
						printf("  %d streams open in %lld ms\n", n,
						    (long long)(clock_mono_ms() - t0));
					}
				}
				if (seq > max_seq)
					max_seq = seq;
				if (base_seq >= 0 && seq > base_seq &&
				    seq <= base_seq + jobs)
					lat[nlat++] = now - j->timestamp;
				protobuf_c_message_free_unpacked(&j->base, NULL);
			}
			stream_recv(s);
		}
	}
	qsort(lat, nlat, sizeof(*lat), cmp_i64);
	if (nlat > 0)
		printf("fan-out to %4d streams:  p50 %7.2f ms  p99 %7.2f ms  max %7.2f ms  "
		    "(%zu arrivals of %d jobs)\n", n, lat[nlat / 2] / 1000.0,
		    lat[(nlat * 99) / 100 < nlat ? (nlat * 99) / 100 : nlat - 1] / 1000.0,
		    lat[nlat - 1] / 1000.0, nlat, jobs);
	else
		printf("fan-out to %4d streams: no samples\n", n);

	for (int i = 0; i < n; i++)
		grpc_call_cancel(ss[i].call, NULL);
	while (ended < n) {
		grpc_event ev = grpc_completion_queue_next(cq, in_ms(10000), NULL);
		struct stream *s;
		int kind;

		if (ev.type != GRPC_OP_COMPLETE)
			break;
		if ((s = owner(ss, n, ev.tag, &kind)) != NULL && kind == 1) {
			s->ended = 1;
			ended++;
		} else if (s != NULL && kind == 0 && s->msg != NULL) {
			grpc_byte_buffer_destroy(s->msg);
			s->msg = NULL;
		}
	}
	for (int i = 0; i < n; i++) {
		grpc_call_unref(ss[i].call);
		grpc_byte_buffer_destroy(ss[i].req);
		grpc_metadata_array_destroy(&ss[i].md);
		grpc_metadata_array_destroy(&ss[i].trailing);
		grpc_slice_unref(ss[i].details);
		grpc_channel_destroy(ss[i].ch);
	}
	grpc_completion_queue_shutdown(cq);
	while (grpc_completion_queue_next(cq, gpr_inf_future(GPR_CLOCK_REALTIME),
	    NULL).type != GRPC_QUEUE_SHUTDOWN)
		;
	grpc_completion_queue_destroy(cq);
	free(lat);
	free(ss);
}

/* ---- SubmitShare through the coordinator's share path ------------------- */

struct bench_worker {
	char id[96];
	Coopmine__JobMessage *job;
	uint64_t next;
};

static grpc_byte_buffer *
share_request(struct bench_worker *w)
{
	Coopmine__ShareRequest r = COOPMINE__SHARE_REQUEST__INIT;
	uint8_t nonce[4], result[32];
	uint64_t n = w->job->nonce_start + w->next++;

	if (n >= w->job->nonce_end)
		n = w->job->nonce_end - 1;	/* a duplicate: still answered */
	/* All ones: meets a difficulty-1 share target, not the pool's target
	 * and not a block, so only the share path is measured. */
	memset(result, 0xff, sizeof(result));
	nonce[0] = (uint8_t)n;
	nonce[1] = (uint8_t)(n >> 8);
	nonce[2] = (uint8_t)(n >> 16);
	nonce[3] = (uint8_t)(n >> 24);
	r.worker_id = w->id;
	r.job_id = w->job->job_id;
	r.nonce.data = nonce;
	r.nonce.len = 4;
	r.result.data = result;
	r.result.len = 32;
	return rpc_pack(&r.base);
}

/* nworkers distinct workers (--insecure: identities from the requests),
 * each on the lease its RegisterResponse carried, 64 shares in flight on
 * one connection.  The results are made up: with verify = none they are
 * credited (the ledger's commit is the cost); with light or full the
 * coordinator hashes each and rejects it as not its hash (the
 * verification is the cost). */
static void
bench_shares(int nworkers, double seconds)
{
	grpc_completion_queue *cq = grpc_completion_queue_create_for_next(NULL);
	grpc_channel *ch = channel_new();
	struct bench_worker *ws = calloc((size_t)nworkers, sizeof(*ws));
	struct bench_unary *slots;
	long accepted = 0, rejected = 0, retry = 0, errors = 0, k = 0;
	int inflight = 64, live;
	int64_t t0, t1;

	for (int i = 0; i < nworkers; i++) {
		snprintf(ws[i].id, sizeof(ws[i].id), "%s-s%d", worker, i);
		if (register_as(ch, cq, ws[i].id, &ws[i].job) != 0 || ws[i].job == NULL) {
			fprintf(stderr, "bench_rpc: %s got no job at Register\n", ws[i].id);
			exit(1);
		}
	}
	slots = calloc((size_t)inflight, sizeof(*slots));
	t0 = clock_mono_us();
	for (live = 0; live < inflight; live++) {
		grpc_byte_buffer *req = share_request(&ws[k++ % nworkers]);
		unary_start(&slots[live], ch, cq, RPC_METHOD_SUBMIT_SHARE, req);
		grpc_byte_buffer_destroy(req);
	}
	while (live > 0) {
		grpc_event ev = grpc_completion_queue_next(cq, in_ms(30000), NULL);
		struct bench_unary *u = ev.tag;
		grpc_byte_buffer *resp = NULL;

		if (ev.type != GRPC_OP_COMPLETE) {
			fprintf(stderr, "bench_rpc: shares timed out with %d in flight\n", live);
			exit(1);
		}
		if (bench_unary_end(u, &resp) != GRPC_STATUS_OK) {
			errors++;
		} else {
			Coopmine__ShareResponse *r = (Coopmine__ShareResponse *)rpc_unpack(
			    &coopmine__share_response__descriptor, resp);
			if (r == NULL)
				errors++;
			else if (r->retry_after_ms > 0)
				retry++;
			else if (r->accepted)
				accepted++;
			else
				rejected++;
			if (r != NULL)
				protobuf_c_message_free_unpacked(&r->base, NULL);
		}
		if (resp != NULL)
			grpc_byte_buffer_destroy(resp);
		if (clock_mono_us() - t0 < (int64_t)(seconds * 1e6)) {
			grpc_byte_buffer *req = share_request(&ws[k++ % nworkers]);
			unary_start(u, ch, cq, RPC_METHOD_SUBMIT_SHARE, req);
			grpc_byte_buffer_destroy(req);
		} else {
			live--;
		}
	}
	t1 = clock_mono_us();
	printf("shares, %d workers, %d in flight: %8.0f answered/s  (%ld credited, "
	    "%ld rejected, %ld asked to retry, %ld errors)\n", nworkers, inflight,
	    (accepted + rejected) / ((t1 - t0) / 1e6), accepted, rejected, retry,
	    errors);
	for (int i = 0; i < nworkers; i++)
		protobuf_c_message_free_unpacked(&ws[i].job->base, NULL);
	free(ws);
	free(slots);
	grpc_channel_destroy(ch);
	grpc_completion_queue_shutdown(cq);
	while (grpc_completion_queue_next(cq, gpr_inf_future(GPR_CLOCK_REALTIME),
	    NULL).type != GRPC_QUEUE_SHUTDOWN)
		;
	grpc_completion_queue_destroy(cq);
}

int
main(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "target", required_argument, NULL, 't' },
		{ "certs", required_argument, NULL, 'c' },
		{ "worker", required_argument, NULL, 'w' },
		{ "seconds", required_argument, NULL, 's' },
		{ "jobs", required_argument, NULL, 'j' },
		{ "insecure", no_argument, NULL, 'i' },
		{ NULL, 0, NULL, 0 }
	};
	char ca[512], cert[512], key[512], err[512];
	const char *dir = NULL;
	double seconds = 3;
	int jobs = 5, ch;
	struct rlimit rl;

	while ((ch = getopt_long(argc, argv, "", lopts, NULL)) != -1) {
		switch (ch) {
		case 't': target = optarg; break;
		case 'c': dir = optarg; break;
		case 'w': worker = optarg; break;
		case 's': seconds = atof(optarg); break;
		case 'j': jobs = atoi(optarg); break;
		case 'i': distinct = 1; break;
		default: goto usage;
		}
	}
	if (target == NULL || (dir == NULL && !distinct) || optind == argc) {
usage:
		fprintf(stderr, "usage: bench_rpc --target HOST:PORT (--certs DIR | "
		    "--insecure) [--worker ID] [--seconds S] [--jobs N] heartbeat | "
		    "fanout N | shares N...\n");
		return 2;
	}
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	if (dir != NULL) {
		snprintf(ca, sizeof(ca), "%s/ca.crt", dir);
		snprintf(cert, sizeof(cert), "%s/%s.crt", dir, worker);
		snprintf(key, sizeof(key), "%s/%s.key", dir, worker);
	}
	grpc_init();
	if (distinct)
		creds = grpc_insecure_credentials_create();
	else if ((creds = rpc_tls_channel_credentials(ca, cert, key, err,
	    sizeof(err))) == NULL) {
		fprintf(stderr, "bench_rpc: %s\n", err);
		return 1;
	}
	{
		grpc_channel *c0 = channel_new();
		grpc_completion_queue *cq = grpc_completion_queue_create_for_next(NULL);

		if (register_worker(c0, cq) != 0)
			return 1;
		grpc_channel_destroy(c0);
		grpc_completion_queue_shutdown(cq);
		while (grpc_completion_queue_next(cq, gpr_inf_future(GPR_CLOCK_REALTIME),
		    NULL).type != GRPC_QUEUE_SHUTDOWN)
			;
		grpc_completion_queue_destroy(cq);
	}
	for (int i = optind; i < argc; i++) {
		if (strcmp(argv[i], "heartbeat") == 0) {
			bench_heartbeats(seconds);
		} else if (strcmp(argv[i], "fanout") == 0 && i + 1 < argc) {
			int n = atoi(argv[++i]);

			if (n < 1 || (rlim_t)n * 2 + 64 > rl.rlim_max) {
				fprintf(stderr, "bench_rpc: fan-out %d needs more file "
				    "descriptors than RLIMIT_NOFILE allows\n", n);
				return 1;
			}
			bench_fanout(n, jobs);
		} else if (strcmp(argv[i], "shares") == 0 && i + 1 < argc) {
			int n = atoi(argv[++i]);

			if (!distinct || n < 1) {
				fprintf(stderr, "bench_rpc: shares needs --insecure and N >= 1\n");
				return 1;
			}
			bench_shares(n, seconds);
		} else {
			goto usage;
		}
		fflush(stdout);
	}
	grpc_channel_credentials_release(creds);
	grpc_shutdown();
	return 0;
}
