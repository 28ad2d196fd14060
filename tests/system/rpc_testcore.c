/*
 * rpc_testcore.c: the real gRPC server (rpc_server.c + registry.c) with a
 * stand-in for the coordinator core, for the system tests and bench/rpc:
 * a job source that publishes a new job every --job-interval-ms to every
 * open stream (timestamp = wall clock in microseconds, so receivers can
 * measure fan-out latency), and a share sink that answers from its own
 * thread after --sink-delay-ms with a verdict computed from the request.
 *   SIGUSR1: publish a job now.  SIGUSR2: publish a burst of 20000 jobs
 *   to the streams of workers named "slow*" (to overflow them).  SIGTERM/SIGINT: stop cleanly.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <grpc/grpc.h>
#include <grpc/status.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/mpscq.h"
#include "coordinator/registry.h"
#include "coordinator/rpc_server.h"
#include "rpc/grpclog.h"

#define KEEP_JOBS 100	/* jobs still valid for shares */

static struct {
	pthread_mutex_t streams_lock;	/* guards streams, nstreams, seq */
	struct rpc_stream **streams;
	size_t nstreams, cap;
	long seq;			/* last published job */
	int64_t published_us;

	pthread_mutex_t pub_lock;	/* guards pub_now, pub_stop */
	pthread_cond_t pub_cond;
	int pub_now, pub_stop;
	int64_t job_interval_ms;

	struct mpscq shares;
	int64_t sink_delay_ms;
} tc = {
	.streams_lock = PTHREAD_MUTEX_INITIALIZER,
	.pub_lock = PTHREAD_MUTEX_INITIALIZER,
	.pub_cond = PTHREAD_COND_INITIALIZER,
};

struct share_msg {
	struct mpscq_node node;
	struct rpc_share *sh;
	const struct rpc_share_req *req;	/* valid until the reply */
	char worker_id[REGISTRY_ID_MAX];
};

/* Job number seq as a JobMessage over the caller's buffers. */
static void
make_job(Coopmine__JobMessage *j, long seq, int64_t ts_us, int clean,
    char *id, size_t idlen, uint8_t blob[80], uint8_t target[8],
    uint8_t seed[32])
{
	coopmine__job_message__init(j);
	snprintf(id, idlen, "job-%ld", seq);
	memset(blob, 0, 80);
	memcpy(blob, &seq, sizeof(seq));
	memset(target, 0xff, 8);
	target[7] = 0x00;
	memset(seed, 0x5e, 32);
	j->job_id = id;
	j->blob.data = blob;
	j->blob.len = 80;
	j->target.data = target;
	j->target.len = 8;
	j->seed_hash.data = seed;
	j->seed_hash.len = 32;
	j->height = 100 + seq;
	j->timestamp = ts_us;
	j->clean_jobs = clean;
	j->algo = "rx/0";
	j->nonce_offset = 76;
	j->nonce_start = 0;
	j->nonce_end = 1ULL << 32;
	j->lease_id = (uint64_t)seq;
	j->difficulty = 256;
}

/* Publishes one job to every stream (burst: only to "slow*" workers).
 * Locked: streams_lock. */
static void
publish_locked(int clean, int burst)
{
	Coopmine__JobMessage j;
	uint8_t blob[80], target[8], seed[32];
	struct timespec ts;
	char id[32];
	size_t sent = 0;

	tc.seq++;
	clock_gettime(CLOCK_REALTIME, &ts);
	tc.published_us = (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
	make_job(&j, tc.seq, tc.published_us, clean, id, sizeof(id), blob, target,
	    seed);
	for (size_t i = 0; i < tc.nstreams; i++) {
		if (burst && strncmp(rpc_stream_worker_id(tc.streams[i]), "slow",
		    4) != 0)
			continue;
		if (rpc_stream_send(tc.streams[i], &j, 0) == 0)
			sent++;
	}
	if (clean)
		log_debug("testcore: published %s to %zu streams", id, sent);
}

static void *
publisher(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&tc.pub_lock);
	while (!tc.pub_stop) {
		struct timespec ts;
		int burst;

		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += tc.job_interval_ms / 1000;
		ts.tv_nsec += (tc.job_interval_ms % 1000) * 1000000;
		if (ts.tv_nsec >= 1000000000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
		if (!tc.pub_now)
			pthread_cond_timedwait(&tc.pub_cond, &tc.pub_lock, &ts);
		if (tc.pub_stop)
			break;
		burst = tc.pub_now == 2;
		tc.pub_now = 0;
		pthread_mutex_unlock(&tc.pub_lock);
		pthread_mutex_lock(&tc.streams_lock);
		if (burst) {
			log_info("testcore: publishing a burst of 20000 jobs");
			for (int i = 0; i < 20000; i++)
				publish_locked(0, 1);
		} else {
			publish_locked(1, 0);
		}
		pthread_mutex_unlock(&tc.streams_lock);
		pthread_mutex_lock(&tc.pub_lock);
	}
	pthread_mutex_unlock(&tc.pub_lock);
	return NULL;
}

static void
tc_register(void *arg, const char *worker_id, const Coopmine__RegisterRequest *req,
    Coopmine__RegisterResponse *resp)
{
	Coopmine__JobMessage j;
	uint8_t blob[80], target[8], seed[32];
	char id[32];

	(void)arg;
	(void)req;
	resp->config->target_difficulty = 256;
	pthread_mutex_lock(&tc.streams_lock);
	if (tc.seq > 0) {
		make_job(&j, tc.seq, tc.published_us, 1, id, sizeof(id), blob,
		    target, seed);
		if (rpc_register_set_job(resp, &j) != 0)
			log_warnx("testcore: no memory for the current job");
	}
	pthread_mutex_unlock(&tc.streams_lock);
	log_info("testcore: register %s", worker_id);
}

static int
tc_stream_open(void *arg, struct rpc_stream *s, const char *worker_id)
{
	Coopmine__JobMessage j;
	uint8_t blob[80], target[8], seed[32];
	char id[32];

	(void)arg;
	pthread_mutex_lock(&tc.streams_lock);
	if (tc.nstreams == tc.cap) {
		size_t cap = tc.cap ? tc.cap * 2 : 64;
		struct rpc_stream **ns = realloc(tc.streams, cap * sizeof(*ns));
		if (ns == NULL) {
			pthread_mutex_unlock(&tc.streams_lock);
			return -1;
		}
		tc.streams = ns;
		tc.cap = cap;
	}
	rpc_stream_ref(s);	/* ours until stream_close */
	tc.streams[tc.nstreams++] = s;
	if (tc.seq > 0) {
		/* The current job, as work numbered 2; then the one before it
		 * numbered 1, as a fan-out sent late would: the stream must
		 * drop it (rpc_stream_send's order), not deliver it after. */
		make_job(&j, tc.seq, tc.published_us, 1, id, sizeof(id), blob,
		    target, seed);
		rpc_stream_send(s, &j, 2);
		make_job(&j, tc.seq - 1, tc.published_us, 1, id, sizeof(id), blob,
		    target, seed);
		rpc_stream_send(s, &j, 1);
	}
	pthread_mutex_unlock(&tc.streams_lock);
	log_info("testcore: stream_open %s", worker_id);
	return 0;
}

static void
tc_stream_close(void *arg, struct rpc_stream *s, const char *worker_id)
{
	(void)arg;
	pthread_mutex_lock(&tc.streams_lock);
	for (size_t i = 0; i < tc.nstreams; i++) {
		if (tc.streams[i] == s) {
			tc.streams[i] = tc.streams[--tc.nstreams];
			break;
		}
	}
	pthread_mutex_unlock(&tc.streams_lock);
	log_info("testcore: stream_close %s", worker_id);
	rpc_stream_unref(s);
}

static void
tc_submit(void *arg, struct rpc_share *sh, const char *worker_id,
    const struct rpc_share_req *req)
{
	struct share_msg *m = calloc(1, sizeof(*m));

	(void)arg;
	if (m == NULL) {
		rpc_share_fail(sh, RPC_FAIL_EXHAUSTED, "out of memory");
		return;
	}
	m->sh = sh;
	m->req = req;
	snprintf(m->worker_id, sizeof(m->worker_id), "%s", worker_id);
	if (mpscq_try_push(&tc.shares, &m->node) != 0) {
		rpc_share_fail(sh, RPC_FAIL_UNAVAILABLE, "sink stopped or full");
		free(m);
	}
}

static enum worker_command
tc_heartbeat(void *arg, const char *worker_id, const Coopmine__HeartbeatRequest *req)
{
	(void)arg;
	if (req->want_lease)
		log_info("testcore: %s wants a lease (lease %llu, %llu done)",
		    worker_id, (unsigned long long)req->lease_id,
		    (unsigned long long)req->lease_hashes_done);
	/* The stand-in's rule: an overheating worker is told to pause. */
	return req->temperature > 90 ? WORKER_CMD_PAUSE : WORKER_CMD_NONE;
}

static void
tc_status(void *arg, const char *worker_id, int online, enum registry_reason why)
{
	(void)arg;
	log_info("testcore: status %s %s (%d)", worker_id, online ? "online" :
	    "offline", (int)why);
}

/* The verdict of the stand-in sink, from the request alone. */
static void
verdict(const struct rpc_share_req *req, struct rpc_share_verdict *resp)
{
	long seq = -1;

	memset(resp, 0, sizeof(*resp));
	sscanf(req->job_id, "job-%ld", &seq);
	pthread_mutex_lock(&tc.streams_lock);
	if (seq <= 0 || seq > tc.seq)
		resp->reason = "unknown job";
	else if (seq <= tc.seq - KEEP_JOBS)
		resp->reason = "stale job";
	pthread_mutex_unlock(&tc.streams_lock);
	if (resp->reason != NULL && *resp->reason != '\0')
		return;
	if (req->nonce_len != 4)
		resp->reason = "nonce must be 4 bytes";
	else if (req->result_len != 32)
		resp->reason = "result must be 32 bytes";
	else {
		resp->accepted = 1;
		resp->reason = "";
		resp->difficulty = 256;
		resp->is_block = memcmp(req->result, "\0\0\0\0", 4) == 0;
		if (resp->is_block)
			resp->block_hash = "00000000test";
	}
}

static void *
sink(void *arg)
{
	struct mpscq_node *n;

	(void)arg;
	while ((n = mpscq_pop(&tc.shares, -1)) != NULL) {
		struct share_msg *m = (struct share_msg *)n;
		struct rpc_share_verdict resp;

		if (tc.sink_delay_ms > 0)
			usleep((useconds_t)tc.sink_delay_ms * 1000);
		verdict(m->req, &resp);
		log_info("testcore: share from %s for %s: %s%s", m->worker_id,
		    m->req->job_id, resp.accepted ? "accepted" : "rejected: ",
		    resp.accepted ? "" : resp.reason);
		rpc_share_reply(m->sh, &resp);
		free(m);
	}
	return NULL;
}

static void
usage(void)
{
	fprintf(stderr, "usage: rpc_testcore [--listen ADDR] [--certs DIR | "
	    "--insecure] [--heartbeat-ms N] [--job-interval-ms N] "
	    "[--sink-delay-ms N] [--threads N]\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "listen", required_argument, NULL, 'l' },
		{ "certs", required_argument, NULL, 'c' },
		{ "insecure", no_argument, NULL, 'i' },
		{ "heartbeat-ms", required_argument, NULL, 'h' },
		{ "job-interval-ms", required_argument, NULL, 'j' },
		{ "sink-delay-ms", required_argument, NULL, 'd' },
		{ "threads", required_argument, NULL, 't' },
		{ NULL, 0, NULL, 0 }
	};
	static const struct rpc_hooks hooks = {
		.register_worker = tc_register,
		.stream_open = tc_stream_open,
		.stream_close = tc_stream_close,
		.submit_share = tc_submit,
		.heartbeat = tc_heartbeat,
		.worker_status = tc_status,
	};
	struct rpc_server_config cfg = {
		.listen = "127.0.0.1:0", .cluster_id = "testcore",
		.cluster_name = "rpc test core", .heartbeat_ms = 1000,
		.job_timeout_ms = 60000, .threads = 2, .hooks = &hooks,
	};
	char ca[512], cert[512], key[512];
	struct rpc_server *srv;
	struct registry *reg;
	pthread_t pub, snk;
	struct rlimit rl;
	sigset_t sigs;
	int ch, sig;

	tc.job_interval_ms = 500;
	while ((ch = getopt_long(argc, argv, "", lopts, NULL)) != -1) {
		switch (ch) {
		case 'l': cfg.listen = optarg; break;
		case 'c':
			snprintf(ca, sizeof(ca), "%s/ca.crt", optarg);
			snprintf(cert, sizeof(cert), "%s/server.crt", optarg);
			snprintf(key, sizeof(key), "%s/server.key", optarg);
			cfg.tls_ca = ca;
			cfg.tls_cert = cert;
			cfg.tls_key = key;
			break;
		case 'i': cfg.insecure = 1; break;
		case 'h': cfg.heartbeat_ms = atoll(optarg); break;
		case 'j': tc.job_interval_ms = atoll(optarg); break;
		case 'd': tc.sink_delay_ms = atoll(optarg); break;
		case 't': cfg.threads = atoi(optarg); break;
		default: usage();
		}
	}
	if (optind != argc || (!cfg.insecure && cfg.tls_ca == NULL) ||
	    cfg.heartbeat_ms <= 0 || tc.job_interval_ms <= 0)
		usage();
	log_init("rpc_testcore", getenv("TESTCORE_DEBUG") ? LOG_LVL_DEBUG :
	    LOG_LVL_INFO, 0);
	/* The fan-out benchmark holds a thousand connections. */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGUSR1);
	sigaddset(&sigs, SIGUSR2);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);

	grpc_init();
	rpc_grpclog_init();
	mpscq_init(&tc.shares, 4096);
	reg = registry_new(cfg.heartbeat_ms, 0);
	if ((srv = rpc_server_new(&cfg, reg)) == NULL) {
		registry_free(reg);
		grpc_shutdown();
		return 1;
	}
	pthread_create(&snk, NULL, sink, NULL);
	pthread_create(&pub, NULL, publisher, NULL);
	if (rpc_server_start(srv) != 0)
		return 1;
	pthread_mutex_lock(&tc.pub_lock);
	tc.pub_now = 1;		/* the first job at once */
	pthread_cond_signal(&tc.pub_cond);
	pthread_mutex_unlock(&tc.pub_lock);

	while (sigwait(&sigs, &sig) == 0 && (sig == SIGUSR1 || sig == SIGUSR2)) {
		pthread_mutex_lock(&tc.pub_lock);
		tc.pub_now = sig == SIGUSR2 ? 2 : 1;
		pthread_cond_signal(&tc.pub_cond);
		pthread_mutex_unlock(&tc.pub_lock);
	}
	log_info("testcore: stopping");
	pthread_mutex_lock(&tc.pub_lock);
	tc.pub_stop = 1;
	pthread_cond_signal(&tc.pub_cond);
	pthread_mutex_unlock(&tc.pub_lock);
	pthread_join(pub, NULL);
	rpc_server_stop(srv);	/* streams close: their references come back */
	mpscq_close(&tc.shares);	/* the sink answers what it holds, then ends */
	pthread_join(snk, NULL);
	rpc_server_free(srv);
	registry_free(reg);
	mpscq_destroy(&tc.shares);
	free(tc.streams);
	grpc_shutdown();
	log_info("testcore: stopped");
	return 0;
}
