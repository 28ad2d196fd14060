/*
 * loadgen.c: N distinct workers against one real coordinator, for the
 * scale figures of issue 16 (run by bench/scale.sh and, 100 workers for a
 * few seconds, by tests/system/loadgen_short.sh).
 *
 * Each simulated worker has its own identity: an EC P-256 client
 * certificate (CN = its id) signed by the test CA with the OpenSSL API,
 * made once and cached in --cert-dir, and its own channel (its own TCP +
 * TLS connection).  It registers, opens StreamJobs, heartbeats at the
 * interval the coordinator asks for (reporting --hashrate H/s) and submits
 * shares at its vardiff rate, hashrate / difficulty, on the lease of its
 * latest work.  Connections open spread over --connect-jitter, at most
 * --max-connecting handshakes at once per thread; a lost one
 * is reopened with the same jittered exponential backoff the real worker
 * uses (common/backoff.c).
 *
 * Shares: thousands of simulated workers cannot afford real RandomX
 * hashes, so the shares are made up: their claimed result is not the
 * hash of their nonce.  The coordinator still takes each through every
 * check, recomputes the RandomX hash (the costly part), writes a ledger row
 * with the verdict and only then answers; so the round trip measured is
 * the real one, except that the share is rejected ("bad hash") instead of
 * credited.  --invalid F sends that fraction with a malformed 3-byte nonce
 * instead, rejected by the cheap checks before verification (the
 * rejection path).  The valid-share rate is therefore 0: the credit path
 * (vardiff on credited shares, the upstream submit) is measured elsewhere
 * (bench/coordinator.sh, tests/system/coord_vardiff.py).
 *
 * Figures: job fan-out p50/p99 (the coordinator's work timestamp, taken
 * when the pool's job is turned into work, to its arrival on each stream),
 * share round trip p50/p99, the coordinator's CPU, RSS and descriptors
 * from /proc (--coord-pid), and with --restart-cmd the time from a kill -9
 * of the coordinator until every worker has work again from its successor.
 * With --metrics-url the coordinator's own fan-out histogram
 * (coopmine_fanout_seconds: job arrival until the last worker's work was
 * handed to its connection) is read at the end of the steady part, so the
 * coordinator's share of the fan-out can be told from the receivers'.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/support/time.h>

#include "common/backoff.h"
#include "common/clock.h"
#include "rpc/codec.h"
#include "rpc/tls.h"

#include "unary.h"

/* ---- options ------------------------------------------------------------ */

static const char *target, *cert_dir, *ca_cert, *ca_key, *prefix = "lg";
static const char *restart_cmd;
static const char *metrics_url;	/* the coordinator's /metrics */
static int nworkers = 100, nthreads = 2;
/* Connections being set up at once per thread: TLS handshakes on a busy
 * machine take long, and a client that starts thousands at once makes all
 * of them miss their deadline and start over (a collapse, not a load). */
static int max_connecting = 64;
static double seconds = 10, hashrate = 1000, invalid_frac = 0.1;
static int64_t connect_jitter_ms = 2000, backoff_min_ms = 1000,
    backoff_max_ms = 30000;
static double kill_at = -1;	/* seconds into the run; < 0: no restart */
static long coord_pid = -1;
static double report_every;	/* seconds; 0: no periodic report */

/* ---- latency samples: fixed rings, one per kind, shared by threads ------ */

#define SAMPLES_MAX (1 << 20)

struct samples {
	pthread_mutex_t lock;	/* guards v, n */
	double *v;
	size_t n;
};

static struct samples fanout_ms, share_ms;
/* The steady part began (0: not yet): a share sent or a job made before it
 * is not counted (sample_reset empties what came before). */
static _Atomic int64_t steady_mono_us, steady_wall_ms;

static void
sample_add(struct samples *s, double v)
{
	pthread_mutex_lock(&s->lock);
	if (s->n < SAMPLES_MAX)
		s->v[s->n++] = v;
	pthread_mutex_unlock(&s->lock);
}

static void
sample_reset(struct samples *s)
{
	pthread_mutex_lock(&s->lock);
	s->n = 0;
	pthread_mutex_unlock(&s->lock);
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void
sample_print(struct samples *s, const char *what)
{
	pthread_mutex_lock(&s->lock);
	if (s->n == 0) {
		printf("%s: no samples\n", what);
	} else {
		qsort(s->v, s->n, sizeof(double), cmp_double);
		printf("%s: p50 %.2f ms  p99 %.2f ms  max %.2f ms  (%zu samples)\n",
		    what, s->v[s->n / 2], s->v[(s->n * 99) / 100], s->v[s->n - 1],
		    s->n);
	}
	pthread_mutex_unlock(&s->lock);
}

/* ---- certificates --------------------------------------------------------- */

static EVP_PKEY *ca_pkey;
static X509 *ca_x509;

static int
load_ca(void)
{
	FILE *f;

	if ((f = fopen(ca_cert, "r")) == NULL)
		return -1;
	ca_x509 = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	if ((f = fopen(ca_key, "r")) == NULL)
		return -1;
	ca_pkey = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	return ca_x509 != NULL && ca_pkey != NULL ? 0 : -1;
}

/* DIR/ID.crt and DIR/ID.key, made unless both exist already. */
static int
cert_make(const char *id)
{
	char crt[512], key[512], tmp[600];
	struct stat sb;
	EVP_PKEY *pk = NULL;
	X509 *x = NULL;
	X509V3_CTX v3;
	X509_EXTENSION *ext;
	FILE *f;
	int rc = -1, fd;

	snprintf(crt, sizeof(crt), "%s/%s.crt", cert_dir, id);
	snprintf(key, sizeof(key), "%s/%s.key", cert_dir, id);
	if (stat(crt, &sb) == 0 && stat(key, &sb) == 0)
		return 0;
	if ((pk = EVP_EC_gen("P-256")) == NULL || (x = X509_new()) == NULL)
		goto out;
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x),
	    (long)(clock_wall_ms() & 0x7fffffff) ^ (long)random());
	X509_gmtime_adj(X509_getm_notBefore(x), -3600);
	X509_gmtime_adj(X509_getm_notAfter(x), 30L * 86400);
	X509_set_pubkey(x, pk);
	X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
	    (const unsigned char *)id, -1, -1, 0);
	X509_set_issuer_name(x, X509_get_subject_name(ca_x509));
	X509V3_set_ctx(&v3, ca_x509, x, NULL, NULL, 0);
	if ((ext = X509V3_EXT_conf_nid(NULL, &v3, NID_ext_key_usage,
	    "clientAuth")) == NULL)
		goto out;
	X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	if ((ext = X509V3_EXT_conf_nid(NULL, &v3, NID_basic_constraints,
	    "CA:FALSE")) == NULL)
		goto out;
	X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	if (X509_sign(x, ca_pkey, EVP_sha256()) == 0)
		goto out;
	/* The key first, 0600 (tls.c refuses readable keys), renamed into
	 * place so a crash leaves no half file for the cache to trust. */
	snprintf(tmp, sizeof(tmp), "%s.tmp", key);
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0600)) < 0 ||
	    (f = fdopen(fd, "w")) == NULL)
		goto out;
	PEM_write_PrivateKey(f, pk, NULL, NULL, 0, NULL, NULL);
	if (fclose(f) != 0 || rename(tmp, key) != 0)
		goto out;
	snprintf(tmp, sizeof(tmp), "%s.tmp", crt);
	if ((f = fopen(tmp, "w")) == NULL)
		goto out;
	PEM_write_X509(f, x);
	if (fclose(f) != 0 || rename(tmp, crt) != 0)
		goto out;
	rc = 0;
out:
	X509_free(x);
	EVP_PKEY_free(pk);
	return rc;
}

/* ---- one simulated worker --------------------------------------------------- */

enum tag_kind { TAG_REG, TAG_SSTART, TAG_SRECV, TAG_SSTATUS, TAG_HB, TAG_SHARE };

struct lw;

struct tag {
	enum tag_kind kind;
	struct lw *w;
};

/* A unary call of one worker, and whether it is under way. */
struct unary {
	struct bench_unary u;
	int busy;
	int64_t t0_us;
};

enum lw_state { LW_IDLE, LW_REGISTERING, LW_STREAMING };

struct lthread;

struct lw {
	char id[64];
	struct lthread *t;
	grpc_channel_credentials *creds;
	grpc_channel *ch;
	enum lw_state state;
	struct backoff bo;
	int64_t reconnect_at;		/* mono ms */
	struct unary reg, hb, share;
	struct tag t_reg, t_sstart, t_srecv, t_sstatus, t_hb, t_share;
	/* the StreamJobs call */
	grpc_call *scall;
	grpc_byte_buffer *sreq, *smsg;
	grpc_metadata_array smd, strailing;
	grpc_status_code sstatus;
	grpc_slice sdetails;
	int spending;			/* its batches not yet completed */
	/* its latest work */
	char job_id[64];
	uint64_t lease_id, nonce_start, nonce_end, next_nonce, diff;
	int has_work;
	int64_t hb_interval_ms, next_hb, next_share;	/* mono ms */
	int64_t work_wall_ms;		/* wall ms of the latest work */
	uint64_t rng;
};

struct lthread {
	pthread_t tid;
	grpc_completion_queue *cq;
	struct lw *ws;
	int n;
	int connecting;		/* its workers between connect and Register's end */
};

static struct lw *workers;
static struct lthread *threads;
static atomic_int stopping;
static atomic_long n_registered, n_streams_ended, n_shares_sent,
    n_shares_answered, n_shares_rejected, n_shares_retry, n_shares_error,
    n_hb_ok, n_hb_error, n_jobs, n_reg_failed;

static gpr_timespec
deadline_ms(int64_t ms)
{
	return gpr_time_add(gpr_now(GPR_CLOCK_REALTIME),
	    gpr_time_from_millis(ms, GPR_TIMESPAN));
}

static double
uniform(struct lw *w)
{
	w->rng ^= w->rng << 13;
	w->rng ^= w->rng >> 7;
	w->rng ^= w->rng << 17;
	return (double)(w->rng >> 11) / 9007199254740992.0;
}

static int
unary_start(struct unary *u, struct lw *w, grpc_completion_queue *cq,
    const char *method, grpc_byte_buffer *req, struct tag *t)
{
	/* Register includes the connection's TLS handshake. */
	int64_t deadline = t->kind == TAG_REG ? 60000 : 20000;

	u->busy = 1;
	u->t0_us = clock_mono_us();
	if (bench_unary_start(&u->u, w->ch, cq, method, req,
	    deadline_ms(deadline), t) != 0) {
		fprintf(stderr, "loadgen: %s: cannot start %s\n", w->id, method);
		abort();
	}
	return 0;
}

/* Frees the call; hands over the response (caller frees). */
static grpc_status_code
unary_end(struct unary *u, grpc_byte_buffer **resp)
{
	u->busy = 0;
	return bench_unary_end(&u->u, resp);
}

static void
lw_schedule_reconnect(struct lw *w)
{
	if (w->ch != NULL) {
		grpc_channel_destroy(w->ch);	/* calls keep what they need */
		w->ch = NULL;
	}
	w->state = LW_IDLE;
	w->has_work = 0;
	w->reconnect_at = clock_mono_ms() + backoff_next(&w->bo);
}

static void
lw_connect(struct lw *w, grpc_completion_queue *cq)
{
	grpc_arg args[] = {
		/* its own connection, as a real worker on its own machine */
		{ GRPC_ARG_INTEGER, GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, { .integer = 1 } },
		{ GRPC_ARG_INTEGER, GRPC_ARG_ENABLE_RETRIES, { .integer = 0 } },
		{ GRPC_ARG_INTEGER, GRPC_ARG_KEEPALIVE_TIME_MS, { .integer = 60000 } },
	};
	grpc_channel_args ca = { sizeof(args) / sizeof(args[0]), args };
	Coopmine__RegisterRequest r = COOPMINE__REGISTER_REQUEST__INIT;

	w->ch = grpc_channel_create(target, w->creds, &ca);
	w->t->connecting++;
	r.worker_id = w->id;
	r.worker_name = w->id;
	r.threads = 1;
	r.version = "loadgen";
	w->state = LW_REGISTERING;
	unary_start(&w->reg, w, cq, RPC_METHOD_REGISTER, rpc_pack(&r.base), &w->t_reg);
}

static void
lw_work(struct lw *w, const Coopmine__JobMessage *j, int count_fanout)
{
	int64_t now = clock_wall_ms();

	if (count_fanout && strcmp(j->job_id, w->job_id) != 0 && w->job_id[0] &&
	    j->timestamp > 0 && j->timestamp >= atomic_load(&steady_wall_ms))
		sample_add(&fanout_ms, (double)(now - j->timestamp));
	snprintf(w->job_id, sizeof(w->job_id), "%s", j->job_id);
	w->lease_id = j->lease_id;
	w->nonce_start = j->nonce_start;
	w->nonce_end = j->nonce_end;
	w->next_nonce = j->nonce_start;
	if ((j->difficulty ? j->difficulty : 1) != w->diff && w->diff != 0) {
		/* New target: the next share comes from it (memoryless). */
		w->diff = j->difficulty ? j->difficulty : 1;
		w->next_share = clock_mono_ms() + (int64_t)(-log(1 - uniform(w)) *
		    (double)w->diff / hashrate * 1000.0);
	}
	w->diff = j->difficulty ? j->difficulty : 1;
	w->has_work = 1;
	w->work_wall_ms = now;
	atomic_fetch_add(&n_jobs, 1);
}

static void
stream_recv(struct lw *w)
{
	grpc_op op;

	memset(&op, 0, sizeof(op));
	op.op = GRPC_OP_RECV_MESSAGE;
	op.data.recv_message.recv_message = &w->smsg;
	w->spending++;
	grpc_call_start_batch(w->scall, &op, 1, &w->t_srecv, NULL);
}

static void
stream_open(struct lw *w, grpc_completion_queue *cq)
{
	Coopmine__StreamJobsRequest r = COOPMINE__STREAM_JOBS_REQUEST__INIT;
	grpc_op ops[4];

	r.worker_id = w->id;
	w->scall = grpc_channel_create_call(w->ch, NULL, GRPC_PROPAGATE_DEFAULTS, cq,
	    grpc_slice_from_static_string(RPC_METHOD_STREAM_JOBS), NULL,
	    gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
	w->sreq = rpc_pack(&r.base);
	grpc_metadata_array_init(&w->smd);
	grpc_metadata_array_init(&w->strailing);
	w->sdetails = grpc_empty_slice();
	memset(ops, 0, sizeof(ops));
	ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
	ops[1].op = GRPC_OP_SEND_MESSAGE;
	ops[1].data.send_message.send_message = w->sreq;
	ops[2].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
	ops[3].op = GRPC_OP_RECV_INITIAL_METADATA;
	ops[3].data.recv_initial_metadata.recv_initial_metadata = &w->smd;
	w->spending = 2;
	grpc_call_start_batch(w->scall, ops, 4, &w->t_sstart, NULL);
	memset(ops, 0, sizeof(ops));
	ops[0].op = GRPC_OP_RECV_STATUS_ON_CLIENT;
	ops[0].data.recv_status_on_client.trailing_metadata = &w->strailing;
	ops[0].data.recv_status_on_client.status = &w->sstatus;
	ops[0].data.recv_status_on_client.status_details = &w->sdetails;
	grpc_call_start_batch(w->scall, ops, 1, &w->t_sstatus, NULL);
	stream_recv(w);
	w->state = LW_STREAMING;
}

static void
stream_release(struct lw *w)
{
	if (w->scall == NULL || w->spending > 0)
		return;
	grpc_byte_buffer_destroy(w->sreq);
	grpc_metadata_array_destroy(&w->smd);
	grpc_metadata_array_destroy(&w->strailing);
	grpc_slice_unref(w->sdetails);
	grpc_call_unref(w->scall);
	w->scall = NULL;
}

static void
on_register(struct lw *w, grpc_completion_queue *cq)
{
	grpc_byte_buffer *resp;
	grpc_status_code st = unary_end(&w->reg, &resp);
	Coopmine__RegisterResponse *rr = NULL;

	w->t->connecting--;
	if (st == GRPC_STATUS_OK && resp != NULL)
		rr = (Coopmine__RegisterResponse *)rpc_unpack(
		    &coopmine__register_response__descriptor, resp);
	if (resp != NULL)
		grpc_byte_buffer_destroy(resp);
	if (rr == NULL || !rr->success || atomic_load(&stopping)) {
		if (rr != NULL)
			protobuf_c_message_free_unpacked(&rr->base, NULL);
		atomic_fetch_add(&n_reg_failed, 1);
		lw_schedule_reconnect(w);
		return;
	}
	atomic_fetch_add(&n_registered, 1);
	backoff_reset(&w->bo);
	w->hb_interval_ms = rr->config != NULL && rr->config->heartbeat_interval_ms > 0 ?
	    rr->config->heartbeat_interval_ms : 30000;
	if (rr->current_job != NULL)
		lw_work(w, rr->current_job, 0);
	protobuf_c_message_free_unpacked(&rr->base, NULL);
	/* The first report within a second (the worker's client waits one
	 * interval): until it comes the coordinator sizes difficulty from its
	 * guess, and a short run would measure mostly that warm-up. */
	w->next_hb = clock_mono_ms() + (int64_t)(uniform(w) * 1000.0);
	w->next_share = clock_mono_ms() + (int64_t)(-log(1 - uniform(w)) *
	    (double)w->diff / hashrate * 1000.0);
	stream_open(w, cq);
}

static void
on_stream_msg(struct lw *w, int success)
{
	Coopmine__JobMessage *j;

	w->spending--;
	if (!success || w->smsg == NULL)
		return;	/* the stream ended: its status follows */
	j = (Coopmine__JobMessage *)rpc_unpack(&coopmine__job_message__descriptor,
	    w->smsg);
	grpc_byte_buffer_destroy(w->smsg);
	w->smsg = NULL;
	if (j != NULL) {
		lw_work(w, j, 1);
		protobuf_c_message_free_unpacked(&j->base, NULL);
	}
	stream_recv(w);
}

static void
on_stream_status(struct lw *w)
{
	w->spending--;
	atomic_fetch_add(&n_streams_ended, 1);
	stream_release(w);
	if (w->state == LW_STREAMING)
		lw_schedule_reconnect(w);
}

static void
send_heartbeat(struct lw *w, grpc_completion_queue *cq)
{
	Coopmine__HeartbeatRequest h = COOPMINE__HEARTBEAT_REQUEST__INIT;

	h.worker_id = w->id;
	h.hashrate = hashrate;
	unary_start(&w->hb, w, cq, RPC_METHOD_HEARTBEAT, rpc_pack(&h.base), &w->t_hb);
}

static void
on_heartbeat(struct lw *w)
{
	grpc_byte_buffer *resp;

	if (unary_end(&w->hb, &resp) == GRPC_STATUS_OK)
		atomic_fetch_add(&n_hb_ok, 1);
	else
		atomic_fetch_add(&n_hb_error, 1);
	if (resp != NULL)
		grpc_byte_buffer_destroy(resp);
}

static void
send_share(struct lw *w, grpc_completion_queue *cq)
{
	Coopmine__ShareRequest r = COOPMINE__SHARE_REQUEST__INIT;
	uint8_t nonce[4], result[32];
	uint64_t n = w->next_nonce;

	if (w->next_nonce + 1 < w->nonce_end)
		w->next_nonce++;
	for (int i = 0; i < 32; i++)
		result[i] = (uint8_t)(uniform(w) * 256);
	nonce[0] = (uint8_t)n;
	nonce[1] = (uint8_t)(n >> 8);
	nonce[2] = (uint8_t)(n >> 16);
	nonce[3] = (uint8_t)(n >> 24);
	r.worker_id = w->id;
	r.job_id = w->job_id;
	r.nonce.data = nonce;
	/* the cheap rejection: a malformed nonce never reaches verification */
	r.nonce.len = uniform(w) < invalid_frac ? 3 : 4;
	r.result.data = result;
	r.result.len = 32;
	r.lease_id = w->lease_id;
	r.timestamp = clock_wall_ms();
	atomic_fetch_add(&n_shares_sent, 1);
	unary_start(&w->share, w, cq, RPC_METHOD_SUBMIT_SHARE, rpc_pack(&r.base),
	    &w->t_share);
}

static void
on_share(struct lw *w)
{
	grpc_byte_buffer *resp;
	double ms = (double)(clock_mono_us() - w->share.t0_us) / 1000.0;
	grpc_status_code st = unary_end(&w->share, &resp);
	Coopmine__ShareResponse *r = NULL;

	if (st == GRPC_STATUS_OK && resp != NULL)
		r = (Coopmine__ShareResponse *)rpc_unpack(
		    &coopmine__share_response__descriptor, resp);
	if (resp != NULL)
		grpc_byte_buffer_destroy(resp);
	if (r == NULL) {
		atomic_fetch_add(&n_shares_error, 1);
		return;
	}
	if (r->retry_after_ms > 0) {
		atomic_fetch_add(&n_shares_retry, 1);
	} else {
		atomic_fetch_add(&n_shares_answered, 1);
		if (!r->accepted)
			atomic_fetch_add(&n_shares_rejected, 1);
		if (w->share.t0_us >= atomic_load(&steady_mono_us))
			sample_add(&share_ms, ms);
	}
	protobuf_c_message_free_unpacked(&r->base, NULL);
}

/* Periodic work of one worker; returns when it next wants the thread. */
static int64_t
lw_poll(struct lw *w, grpc_completion_queue *cq, int64_t now)
{
	int64_t next = now + 1000;

	if (atomic_load(&stopping))
		return next;
	if (w->state == LW_IDLE && w->scall == NULL && !w->reg.busy) {
		if (now < w->reconnect_at)
			next = w->reconnect_at;
		else if (w->t->connecting < max_connecting)
			lw_connect(w, cq);
		else
			next = now + 50;	/* a slot frees soon */
		return next;
	}
	if (w->state != LW_STREAMING)
		return next;
	if (now >= w->next_hb && !w->hb.busy) {
		send_heartbeat(w, cq);
		w->next_hb = now + w->hb_interval_ms;
	}
	if (w->next_hb < next)
		next = w->next_hb;
	if (w->has_work && now >= w->next_share && !w->share.busy) {
		send_share(w, cq);
		/* a Poisson process of rate hashrate / difficulty */
		w->next_share = now + (int64_t)(-log(1 - uniform(w)) *
		    (double)w->diff / hashrate * 1000.0);
	}
	if (w->next_share < next)
		next = w->next_share;
	return next;
}

static void *
thread_main(void *arg)
{
	struct lthread *t = arg;
	int64_t next = 0;

	while (!atomic_load(&stopping)) {
		int64_t now = clock_mono_ms(), wait;
		grpc_event ev;

		if (now >= next) {
			next = now + 1000;
			for (int i = 0; i < t->n; i++) {
				int64_t n = lw_poll(&t->ws[i], t->cq, now);
				if (n < next)
					next = n;
			}
		}
		wait = next - clock_mono_ms();
		if (wait < 1)
			wait = 1;
		if (wait > 50)
			wait = 50;
		ev = grpc_completion_queue_next(t->cq, deadline_ms(wait), NULL);
		if (ev.type != GRPC_OP_COMPLETE)
			continue;
		{
			struct tag *tg = ev.tag;
			struct lw *w = tg->w;

			switch (tg->kind) {
			case TAG_REG: on_register(w, t->cq); break;
			case TAG_SSTART: w->spending--; stream_release(w); break;
			case TAG_SRECV: on_stream_msg(w, ev.success); stream_release(w); break;
			case TAG_SSTATUS: on_stream_status(w); break;
			case TAG_HB: on_heartbeat(w); break;
			case TAG_SHARE: on_share(w); break;
			}
			/* a reply may have made this worker due now: poll it
			 * alone (a scan of all per event would be O(N^2)) */
			{
				int64_t n = lw_poll(w, t->cq, clock_mono_ms());
				if (n < next)
					next = n;
			}
		}
	}
	return NULL;
}

/* Cancels everything and drains the queue. */
static void
thread_drain(struct lthread *t)
{
	int busy;

	for (int i = 0; i < t->n; i++) {
		struct lw *w = &t->ws[i];
		if (w->scall != NULL)
			grpc_call_cancel(w->scall, NULL);
		if (w->reg.busy)
			grpc_call_cancel(w->reg.u.call, NULL);
		if (w->hb.busy)
			grpc_call_cancel(w->hb.u.call, NULL);
		if (w->share.busy)
			grpc_call_cancel(w->share.u.call, NULL);
	}
	do {
		grpc_event ev = grpc_completion_queue_next(t->cq, deadline_ms(200), NULL);
		if (ev.type == GRPC_OP_COMPLETE) {
			struct tag *tg = ev.tag;
			struct lw *w = tg->w;
			grpc_byte_buffer *resp = NULL;

			switch (tg->kind) {
			case TAG_REG: unary_end(&w->reg, &resp); break;
			case TAG_HB: unary_end(&w->hb, &resp); break;
			case TAG_SHARE: unary_end(&w->share, &resp); break;
			case TAG_SRECV:
				if (w->smsg != NULL)
					grpc_byte_buffer_destroy(w->smsg);
				w->smsg = NULL;
				/* FALLTHROUGH */
			case TAG_SSTART:
			case TAG_SSTATUS:
				w->spending--;
				stream_release(w);
				break;
			}
			if (resp != NULL)
				grpc_byte_buffer_destroy(resp);
		}
		busy = 0;
		for (int i = 0; i < t->n; i++) {
			struct lw *w = &t->ws[i];
			busy += w->scall != NULL || w->reg.busy || w->hb.busy ||
			    w->share.busy;
		}
	} while (busy > 0);
	for (int i = 0; i < t->n; i++)
		if (t->ws[i].ch != NULL) {
			grpc_channel_destroy(t->ws[i].ch);
			t->ws[i].ch = NULL;
		}
	grpc_completion_queue_shutdown(t->cq);
	while (grpc_completion_queue_next(t->cq, gpr_inf_future(GPR_CLOCK_REALTIME),
	    NULL).type != GRPC_QUEUE_SHUTDOWN)
		;
	grpc_completion_queue_destroy(t->cq);
}

/* ---- the coordinator from /proc ------------------------------------------ */

struct pstat {
	double cpu_s, rss_mib;
	long fds;
};

static int
proc_stat(long pid, struct pstat *ps)
{
	char path[64], buf[4096], *p;
	FILE *f;
	unsigned long ut = 0, st = 0;
	DIR *d;

	memset(ps, 0, sizeof(*ps));
	if (pid <= 0)
		return -1;
	snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	if (fgets(buf, sizeof(buf), f) != NULL && (p = strrchr(buf, ')')) != NULL)
		sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu",
		    &ut, &st);
	fclose(f);
	ps->cpu_s = (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
	snprintf(path, sizeof(path), "/proc/%ld/status", pid);
	if ((f = fopen(path, "r")) != NULL) {
		while (fgets(buf, sizeof(buf), f) != NULL)
			if (strncmp(buf, "VmRSS:", 6) == 0)
				ps->rss_mib = atof(buf + 6) / 1024.0;
		fclose(f);
	}
	snprintf(path, sizeof(path), "/proc/%ld/fd", pid);
	if ((d = opendir(path)) != NULL) {
		struct dirent *de;
		while ((de = readdir(d)) != NULL)
			if (de->d_name[0] != '.')
				ps->fds++;
		closedir(d);
	}
	return 0;
}

/* ---- main ---------------------------------------------------------------- */

static long
count_with_work(int64_t since_wall_ms)
{
	long n = 0;

	for (int i = 0; i < nworkers; i++)
		n += workers[i].state == LW_STREAMING && workers[i].has_work &&
		    workers[i].work_wall_ms >= since_wall_ms;
	return n;
}

static long
restart_coordinator(void)
{
	FILE *p;
	long pid = -1;

	if ((p = popen(restart_cmd, "r")) == NULL)
		return -1;
	if (fscanf(p, "%ld", &pid) != 1)
		pid = -1;
	pclose(p);
	return pid;
}

/* ---- the coordinator's own fan-out figure ------------------------------ */

/* The coordinator's fan-out histogram as /metrics shows it. */
struct fan_hist {
	int n, ok;
	double le[32], sum, count;
	unsigned long long cnt[32];
	char line[512];		/* the line being received */
	size_t len;
};

static void
fan_line(struct fan_hist *fh, const char *line)
{
	double b;
	unsigned long long c;

	if (strncmp(line, "coopmine_fanout_seconds", 23) != 0)
		return;
	if (fh->n < 32 && sscanf(line, "coopmine_fanout_seconds_bucket"
	    "{le=\"%lf\"} %llu", &b, &c) == 2) {
		fh->le[fh->n] = b;
		fh->cnt[fh->n++] = c;
	}
	sscanf(line, "coopmine_fanout_seconds_sum %lf", &fh->sum);
	sscanf(line, "coopmine_fanout_seconds_count %lf", &fh->count);
}

/* curl's writer: /metrics line by line (at 10,000 workers it is tens of
 * megabytes; only the fan-out lines are kept). */
static size_t
fan_put(char *p, size_t sz, size_t n, void *arg)
{
	struct fan_hist *fh = arg;

	for (size_t i = 0; i < sz * n; i++) {
		if (p[i] != '\n') {
			if (fh->len < sizeof(fh->line) - 1)
				fh->line[fh->len++] = p[i];
			continue;
		}
		fh->line[fh->len] = '\0';
		fan_line(fh, fh->line);
		fh->len = 0;
	}
	return sz * n;
}

static void
scrape_fanout(struct fan_hist *fh)
{
	CURL *h;

	memset(fh, 0, sizeof(*fh));
	if (metrics_url == NULL || (h = curl_easy_init()) == NULL)
		return;
	curl_easy_setopt(h, CURLOPT_URL, metrics_url);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, fan_put);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, fh);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, 30L);
	fh->ok = curl_easy_perform(h) == CURLE_OK;
	curl_easy_cleanup(h);
}

/* Prints the fan-outs between two scrapes: the share within each bound,
 * and their mean. */
static void
print_coordinator_fanout(const struct fan_hist *a, const struct fan_hist *b)
{
	double count = b->count - a->count;

	if (metrics_url == NULL)
		return;
	if (!a->ok || !b->ok || a->n != b->n) {
		printf("coordinator fan-out: %s did not answer\n", metrics_url);
		return;
	}
	if (count <= 0) {
		printf("coordinator fan-out: none in the steady part\n");
		return;
	}
	printf("coordinator fan-out (job arrival -> all work handed to the "
	    "connections): %.0f fan-outs, mean %.1f ms;", count,
	    (b->sum - a->sum) / count * 1000.0);
	/* cumulative, up to the first bound that holds them all */
	for (int i = 0; i < b->n && isfinite(b->le[i]); i++) {
		double within = (double)(b->cnt[i] - a->cnt[i]);
		if (within <= 0)
			continue;
		printf(" <= %g ms: %.0f %%", b->le[i] * 1000.0,
		    100.0 * within / count);
		if (within >= count)
			break;
	}
	printf("\n");
}

static void
usage(void)
{
	fprintf(stderr, "usage: loadgen --target HOST:PORT --ca-cert CA.crt --ca-key "
	    "CA.key --cert-dir DIR [--workers N] [--threads T] [--seconds S] "
	    "[--hashrate H] [--invalid F] [--connect-jitter MS] [--max-connecting N] "
	    "[--prefix ID] "
	    "[--coord-pid PID [--report-every S]] [--kill-at S --restart-cmd CMD] "
	    "[--metrics-url URL]\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "target", required_argument, NULL, 't' },
		{ "ca-cert", required_argument, NULL, 'C' },
		{ "ca-key", required_argument, NULL, 'K' },
		{ "cert-dir", required_argument, NULL, 'd' },
		{ "workers", required_argument, NULL, 'n' },
		{ "threads", required_argument, NULL, 'T' },
		{ "seconds", required_argument, NULL, 's' },
		{ "hashrate", required_argument, NULL, 'h' },
		{ "invalid", required_argument, NULL, 'i' },
		{ "connect-jitter", required_argument, NULL, 'j' },
		{ "prefix", required_argument, NULL, 'p' },
		{ "coord-pid", required_argument, NULL, 'P' },
		{ "kill-at", required_argument, NULL, 'k' },
		{ "restart-cmd", required_argument, NULL, 'r' },
		{ "report-every", required_argument, NULL, 'R' },
		{ "max-connecting", required_argument, NULL, 'M' },
		{ "metrics-url", required_argument, NULL, 'm' },
		{ NULL, 0, NULL, 0 }
	};
	struct rlimit rl;
	struct pstat p0, p1, pe;
	struct fan_hist fh0, fh1;
	int64_t t_start, t_all = -1, t_end, t_p0, wait_all_ms;
	int ch, killed = 0;
	char err[512];

	while ((ch = getopt_long(argc, argv, "", lopts, NULL)) != -1) {
		switch (ch) {
		case 't': target = optarg; break;
		case 'C': ca_cert = optarg; break;
		case 'K': ca_key = optarg; break;
		case 'd': cert_dir = optarg; break;
		case 'n': nworkers = atoi(optarg); break;
		case 'T': nthreads = atoi(optarg); break;
		case 's': seconds = atof(optarg); break;
		case 'h': hashrate = atof(optarg); break;
		case 'i': invalid_frac = atof(optarg); break;
		case 'j': connect_jitter_ms = atoll(optarg); break;
		case 'p': prefix = optarg; break;
		case 'P': coord_pid = atol(optarg); break;
		case 'k': kill_at = atof(optarg); break;
		case 'r': restart_cmd = optarg; break;
		case 'R': report_every = atof(optarg); break;
		case 'M': max_connecting = atoi(optarg); break;
		case 'm': metrics_url = optarg; break;
		default: usage();
		}
	}
	if (target == NULL || ca_cert == NULL || ca_key == NULL || cert_dir == NULL ||
	    nworkers < 1 || nthreads < 1 || !(hashrate > 0) ||
	    (kill_at >= 0 && (restart_cmd == NULL || coord_pid <= 0)))
		usage();
	if (nthreads > nworkers)
		nthreads = nworkers;
	/* Each worker: its connection, plus gRPC's own descriptors. */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
		if (rl.rlim_cur != RLIM_INFINITY &&
		    rl.rlim_cur < (rlim_t)nworkers + 1024) {
			fprintf(stderr, "loadgen: %d workers need about %d descriptors; "
			    "the limit is %lu (raise ulimit -Hn)\n", nworkers,
			    nworkers + 1024, (unsigned long)rl.rlim_cur);
			return 1;
		}
	}
	signal(SIGPIPE, SIG_IGN);
	setvbuf(stdout, NULL, _IOLBF, 0);	/* progress shows in a log file */
	fanout_ms.v = calloc(SAMPLES_MAX, sizeof(double));
	share_ms.v = calloc(SAMPLES_MAX, sizeof(double));
	pthread_mutex_init(&fanout_ms.lock, NULL);
	pthread_mutex_init(&share_ms.lock, NULL);
	workers = calloc((size_t)nworkers, sizeof(*workers));
	threads = calloc((size_t)nthreads, sizeof(*threads));
	if (workers == NULL || threads == NULL || fanout_ms.v == NULL ||
	    share_ms.v == NULL)
		return 1;

	/* Identities: made once, cached. */
	mkdir(cert_dir, 0700);
	if (load_ca() != 0) {
		fprintf(stderr, "loadgen: cannot read the CA %s / %s\n", ca_cert, ca_key);
		return 1;
	}
	{
		int64_t t0 = clock_mono_ms();
		for (int i = 0; i < nworkers; i++) {
			snprintf(workers[i].id, sizeof(workers[i].id), "%s-%05d", prefix, i);
			if (cert_make(workers[i].id) != 0) {
				fprintf(stderr, "loadgen: cannot make a certificate for %s "
				    "in %s\n", workers[i].id, cert_dir);
				return 1;
			}
		}
		printf("identities: %d certificates ready in %s (%lld ms)\n", nworkers,
		    cert_dir, (long long)(clock_mono_ms() - t0));
	}
	grpc_init();
	t_start = clock_mono_ms();
	for (int i = 0; i < nworkers; i++) {
		struct lw *w = &workers[i];
		char crt[512], key[512];

		snprintf(crt, sizeof(crt), "%s/%s.crt", cert_dir, w->id);
		snprintf(key, sizeof(key), "%s/%s.key", cert_dir, w->id);
		if ((w->creds = rpc_tls_channel_credentials(ca_cert, crt, key, err,
		    sizeof(err))) == NULL) {
			fprintf(stderr, "loadgen: %s: %s\n", w->id, err);
			return 1;
		}
		w->rng = 0x9e3779b97f4a7c15ULL * (uint64_t)(i + 1) ^ (uint64_t)getpid();
		backoff_init(&w->bo, backoff_min_ms, backoff_max_ms, w->rng);
		w->reconnect_at = t_start + (int64_t)(uniform(w) * (double)connect_jitter_ms);
		w->t_reg = (struct tag){ TAG_REG, w };
		w->t_sstart = (struct tag){ TAG_SSTART, w };
		w->t_srecv = (struct tag){ TAG_SRECV, w };
		w->t_sstatus = (struct tag){ TAG_SSTATUS, w };
		w->t_hb = (struct tag){ TAG_HB, w };
		w->t_share = (struct tag){ TAG_SHARE, w };
	}
	proc_stat(coord_pid, &pe);
	for (int t = 0; t < nthreads; t++) {
		threads[t].ws = &workers[(size_t)nworkers * t / nthreads];
		threads[t].n = nworkers * (t + 1) / nthreads - nworkers * t / nthreads;
		threads[t].cq = grpc_completion_queue_create_for_next(NULL);
		for (int i = 0; i < threads[t].n; i++)
			threads[t].ws[i].t = &threads[t];
		pthread_create(&threads[t].tid, NULL, thread_main, &threads[t]);
	}

	/* Everyone connected and working; then the steady part.  TLS
	 * handshakes cost the coordinator a few ms each: give a large
	 * cluster time in proportion. */
	wait_all_ms = 60000 + (int64_t)nworkers * 40;
	{
		int64_t progress = t_start + 10000;

		while (clock_mono_ms() - t_start < wait_all_ms) {
			if (count_with_work(0) == nworkers) {
				t_all = clock_mono_ms() - t_start;
				break;
			}
			if (clock_mono_ms() >= progress) {
				progress += 10000;
				printf("  %3.0f s: %ld with work, %ld registrations, %ld "
				    "refused or failed, %ld streams ended\n",
				    (double)(clock_mono_ms() - t_start) / 1000.0,
				    count_with_work(0), atomic_load(&n_registered),
				    atomic_load(&n_reg_failed),
				    atomic_load(&n_streams_ended));
			}
			usleep(20000);
		}
	}
	if (t_all < 0)
		printf("connect: only %ld of %d workers got work within %lld s\n",
		    count_with_work(0), nworkers, (long long)wait_all_ms / 1000);
	else
		printf("connect: all %d workers registered and got work in %lld ms "
		    "(connections opened over %lld ms)\n", nworkers,
		    (long long)t_all, (long long)connect_jitter_ms);
	fflush(stdout);
	/* The figures are the steady part's: the connect phase's TLS
	 * handshakes (and the first RandomX cache) are not what a running
	 * cluster sees on a new job. */
	atomic_store(&steady_mono_us, clock_mono_us());
	atomic_store(&steady_wall_ms, clock_wall_ms());
	sample_reset(&fanout_ms);
	sample_reset(&share_ms);
	scrape_fanout(&fh0);
	proc_stat(coord_pid, &p0);
	t_p0 = clock_mono_ms();
	{
		int64_t t0 = clock_mono_ms(), next_report = t0;
		double rss_first = -1, rss_min = 0, rss_max = 0;

		while (clock_mono_ms() - t0 < (int64_t)(seconds * 1000)) {
			if (kill_at >= 0 && !killed &&
			    clock_mono_ms() - t0 >= (int64_t)(kill_at * 1000)) {
				proc_stat(coord_pid, &p1);
				killed = 1;
				break;
			}
			if (report_every > 0 && coord_pid > 0 &&
			    clock_mono_ms() >= next_report) {
				struct pstat pr;
				proc_stat(coord_pid, &pr);
				/* The first report (t = 0) comes before the
				 * verification cache is built: the flat line is
				 * judged from the second on. */
				if (rss_first < 0 && clock_mono_ms() > t0 + 1000)
					rss_first = rss_min = rss_max = pr.rss_mib;
				if (rss_first > 0) {
					rss_min = pr.rss_mib < rss_min ? pr.rss_mib : rss_min;
					rss_max = pr.rss_mib > rss_max ? pr.rss_mib : rss_max;
				}
				printf("t=%5.0f s  coordinator RSS %.1f MiB  fds %ld  CPU "
				    "%.1f s  workers with work %ld\n",
				    (double)(clock_mono_ms() - t0) / 1000.0, pr.rss_mib,
				    pr.fds, pr.cpu_s, count_with_work(0));
				fflush(stdout);
				next_report += (int64_t)(report_every * 1000);
			}
			usleep(50000);
		}
		if (report_every > 0 && rss_first > 0)
			printf("RSS over the run after its first report: first %.1f MiB, "
			    "min %.1f, max %.1f: %s within 5 %% of the first\n",
			    rss_first, rss_min, rss_max,
			    rss_max <= rss_first * 1.05 && rss_min >= rss_first * 0.95 ?
			    "stayed" : "did NOT stay");
	}
	t_end = clock_mono_ms();
	if (!killed)
		proc_stat(coord_pid, &p1);
	printf("workers: %d, %d threads, hashrate %.0f H/s each, invalid (malformed) "
	    "fraction %.2f\n", nworkers, nthreads, hashrate, invalid_frac);
	sample_print(&fanout_ms, "job fan-out (work timestamp -> stream)");
	scrape_fanout(&fh1);
	print_coordinator_fanout(&fh0, &fh1);
	sample_print(&share_ms, "share round trip");
	printf("shares: %ld sent, %ld answered (%ld rejected), %ld asked to retry, "
	    "%ld errors; heartbeats %ld ok, %ld failed; work messages %ld\n",
	    atomic_load(&n_shares_sent), atomic_load(&n_shares_answered),
	    atomic_load(&n_shares_rejected), atomic_load(&n_shares_retry),
	    atomic_load(&n_shares_error), atomic_load(&n_hb_ok),
	    atomic_load(&n_hb_error), atomic_load(&n_jobs));
	if (coord_pid > 0) {
		double wall = (double)(t_end - t_p0) / 1000.0;

		printf("coordinator: CPU %.2f s over %.1f s steady (%.0f %% of a core), "
		    "RSS %.1f MiB, fds %ld (%ld before the workers)\n",
		    p1.cpu_s - p0.cpu_s, wall, 100.0 * (p1.cpu_s - p0.cpu_s) /
		    (wall > 0 ? wall : 1), p1.rss_mib, p1.fds, pe.fds);
	}
	fflush(stdout);

	if (killed) {
		int64_t tk = clock_mono_ms(), wk = clock_wall_ms(), back = -1;
		long pid;

		kill((pid_t)coord_pid, SIGKILL);
		pid = restart_coordinator();
		printf("restart: coordinator %ld killed with SIGKILL, new pid %ld\n",
		    coord_pid, pid);
		while (clock_mono_ms() - tk < wait_all_ms) {
			if (count_with_work(wk) == nworkers) {
				back = clock_mono_ms() - tk;
				break;
			}
			usleep(20000);
		}
		if (back >= 0)
			printf("restart: all %d workers mining again %lld ms after kill -9\n",
			    nworkers, (long long)back);
		else
			printf("restart: only %ld of %d workers mining again after %lld s\n",
			    count_with_work(wk), nworkers, (long long)wait_all_ms / 1000);
		coord_pid = pid;
		proc_stat(coord_pid, &p1);
		printf("coordinator after restart: RSS %.1f MiB, fds %ld\n", p1.rss_mib,
		    p1.fds);
		fflush(stdout);
	}

	atomic_store(&stopping, 1);
	for (int t = 0; t < nthreads; t++)
		pthread_join(threads[t].tid, NULL);
	for (int t = 0; t < nthreads; t++)
		thread_drain(&threads[t]);
	for (int i = 0; i < nworkers; i++)
		grpc_channel_credentials_release(workers[i].creds);
	grpc_shutdown();
	/* The coordinator must let go of every connection. */
	if (coord_pid > 0) {
		int64_t t0 = clock_mono_ms();
		do {
			usleep(100000);
			proc_stat(coord_pid, &p1);
		} while (p1.fds > pe.fds + 16 && clock_mono_ms() - t0 < 20000);
		printf("coordinator after the workers left: fds %ld (%ld before), RSS "
		    "%.1f MiB\n", p1.fds, pe.fds, p1.rss_mib);
	}
	printf("loadgen: done\n");
	X509_free(ca_x509);
	EVP_PKEY_free(ca_pkey);
	free(workers);
	free(threads);
	free(fanout_ms.v);
	free(share_ms.v);
	return 0;
}
