/*
 * upstream_driver.c: runs the real upstream client (upstream.h) against a
 * pool and prints every event as one line ("t=<ms> <event> key=value...")
 * for the system tests to assert on.  A miner thread computes real shares
 * with RandomX (light mode) at the pool's (tiny) test difficulty, plus the
 * wrong ones the tests ask for.  Not installed.
 */
#include "config.h"

#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/conf.h"
#include "common/hex.h"
#include "common/log.h"
#include "common/rx.h"
#include "common/target.h"
#include "coordinator/pool_conf.h"
#include "coordinator/upstream.h"

static struct pool_settings ps;
static int64_t run_for, mine, low_diff, old_job_after, exit_after_results;
static int duplicate, bad_hash, submit_on_lost;
static char *log_level;

static const struct conf_opt opts[] = {
	POOL_CONF_OPTS(ps),
	{ NULL, NULL, "run-for", NULL, CONF_DURATION, &run_for, "10s", 0, 0, 0,
	  "exit after this long" },
	{ NULL, NULL, "mine", NULL, CONF_INT, &mine, "0", 0, 1000, 0,
	  "submit this many valid shares" },
	{ NULL, NULL, "low-diff", NULL, CONF_INT, &low_diff, "0", 0, 100, 0,
	  "submit this many shares that miss the target" },
	{ NULL, NULL, "duplicate", NULL, CONF_BOOL, &duplicate, "false", 0, 0, 0,
	  "submit the first valid share twice" },
	{ NULL, NULL, "bad-hash", NULL, CONF_BOOL, &bad_hash, "false", 0, 0, 0,
	  "submit a valid nonce with a wrong result" },
	{ NULL, NULL, "old-job-after", NULL, CONF_INT, &old_job_after, "0", 0,
	  1000, 0, "after this many jobs, submit for the first one" },
	{ NULL, NULL, "submit-on-lost", NULL, CONF_BOOL, &submit_on_lost, "false",
	  0, 0, 0, "try a submit when the pool is lost (expect ENOTCONN)" },
	{ NULL, NULL, "exit-after-results", NULL, CONF_INT, &exit_after_results,
	  "0", 0, 100000, 0, "exit once this many verdicts came back" },
	{ NULL, NULL, "log-level", NULL, CONF_STR, &log_level, "info", 0, 0, 0,
	  "error|warn|info|debug" },
};

static const struct conf_spec spec = { "upstream-driver",
	"runs the upstream client and prints its events", opts,
	sizeof(opts) / sizeof(opts[0]) };

static pthread_mutex_t out_lock = PTHREAD_MUTEX_INITIALIZER;	/* stdout */
static pthread_mutex_t job_lock = PTHREAD_MUTEX_INITIALIZER;	/* job, njobs */
static pthread_cond_t job_cond = PTHREAD_COND_INITIALIZER;
static struct upstream_job cur, first;
static int64_t njobs, nresults;
static volatile sig_atomic_t stop;
static int64_t t0;
static struct upstream *up;
static uint64_t share_ctr;

static void say(const char *fmt, ...) PRINTF_LIKE(1, 2);

static void
say(const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&out_lock);
	printf("t=%" PRId64 " ", clock_mono_ms() - t0);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
	pthread_mutex_unlock(&out_lock);
}

static void
on_job(void *arg, const struct upstream_job *j)
{
	(void)arg;
	say("job id=%s height=%" PRId64 " diff=%" PRIu64 " clean=%d pool=%u "
	    "session=%" PRIu64 " offset=%u blen=%zu nicehash=%d algo=%s",
	    j->job_id, j->height, j->difficulty, j->clean, j->pool_index,
	    j->session, j->nonce_offset, j->blob_len, j->nicehash, j->algo);
	pthread_mutex_lock(&job_lock);
	if (njobs == 0)
		first = *j;
	cur = *j;
	njobs++;
	pthread_cond_broadcast(&job_cond);
	pthread_mutex_unlock(&job_lock);
}

static void
on_result(void *arg, const struct upstream_submit_result *r)
{
	(void)arg;
	say("result share=%" PRIu64 " accepted=%d reason=%s latency=%" PRId64
	    " msg=\"%s\"", r->share_id, r->accepted,
	    upstream_reject_name(r->reason), r->latency_ms, r->message);
	pthread_mutex_lock(&job_lock);
	nresults++;
	pthread_mutex_unlock(&job_lock);
}

static void
try_submit(const char *what, const char *job_id, const uint8_t nonce[4],
    const uint8_t result[32])
{
	uint64_t id = ++share_ctr;
	int rc = upstream_submit(up, id, job_id, 0, nonce, result);

	say("submit share=%" PRIu64 " kind=%s job=%s rc=%d%s", id, what, job_id,
	    rc, rc == UPSTREAM_ENOTCONN ? " (not connected)" :
	    rc == UPSTREAM_ESTALE ? " (stale job)" : "");
}

static void
on_state(void *arg, const struct upstream_state_change *ch)
{
	static const uint8_t zero[32];
	const char *ev = ch->event == UPSTREAM_EV_CONNECTED ? "connected" :
	    ch->event == UPSTREAM_EV_LOST ? "lost" : "switched";

	(void)arg;
	say("%s pool=%u url=%s switches=%" PRIu64 " msg=\"%s\"", ev,
	    ch->pool_index, ch->url, ch->switches, ch->msg);
	if (ch->event == UPSTREAM_EV_LOST && submit_on_lost)
		try_submit("after-lost", cur.job_id, zero, zero);
}

/* Hashes nonces of job j until want_meet says so; 0 when found. */
static int
find_nonce(struct rx_vm *vm, const struct upstream_job *j, int want_meet,
    uint32_t *nonce, uint8_t hash[32])
{
	uint8_t blob[UPSTREAM_BLOB_MAX];

	memcpy(blob, j->blob, j->blob_len);
	for (int i = 0; i < 100000 && !stop; i++) {
		le32_write(blob + j->nonce_offset, *nonce);
		if (j->nicehash)
			blob[j->nonce_offset + 3] = j->nicehash_byte;
		rx_hash(vm, blob, j->blob_len, hash);
		if (hash_meets_target64(hash, j->target) == want_meet) {
			*nonce = le32_read(blob + j->nonce_offset);
			return 0;
		}
		(*nonce)++;
	}
	return -1;
}

static void *
miner_main(void *arg)
{
	struct upstream_job j;
	struct rx_ctx *ctx = NULL;
	struct rx_vm *vm = NULL;
	uint8_t hash[32], nb[4];
	uint32_t nonce = (uint32_t)clock_mono_us();
	int64_t done = 0, lows = 0, seen;
	int dup_done = !duplicate, bad_done = !bad_hash, old_done = !old_job_after;

	(void)arg;
	while (!stop && (done < mine || lows < low_diff || !dup_done ||
	    !bad_done || !old_done)) {
		pthread_mutex_lock(&job_lock);
		while (njobs == 0 && !stop)
			pthread_cond_wait(&job_cond, &job_lock);
		j = cur;
		seen = njobs;
		pthread_mutex_unlock(&job_lock);
		if (stop)
			break;
		if (!old_done && seen >= old_job_after) {
			memset(hash, 0x11, sizeof(hash));
			le32_write(nb, nonce++);
			try_submit("old-job", first.job_id, nb, hash);
			old_done = 1;
			continue;
		}
		if (!old_done && done >= mine && lows >= low_diff && dup_done &&
		    bad_done) {
			usleep(50000);
			continue;
		}
		if (ctx == NULL || !rx_ctx_has_key(ctx, j.seed_hash, 32)) {
			if (vm != NULL)
				rx_vm_free(vm);
			if (ctx != NULL)
				rx_ctx_unref(ctx);
			ctx = rx_ctx_new(j.seed_hash, 32, RX_LIGHT, RX_PAGES_AUTO, 1);
			if (ctx == NULL)
				break;
			vm = rx_vm_new(ctx);
			continue;	/* building took a while: take the newest job */
		}
		if (lows < low_diff) {
			if (find_nonce(vm, &j, 0, &nonce, hash) == 0) {
				le32_write(nb, nonce++);
				try_submit("low-diff", j.job_id, nb, hash);
				lows++;
			}
			continue;
		}
		if (find_nonce(vm, &j, 1, &nonce, hash) != 0)
			continue;
		le32_write(nb, nonce++);
		if (done < mine) {
			try_submit("valid", j.job_id, nb, hash);
			done++;
			if (!dup_done) {
				try_submit("duplicate", j.job_id, nb, hash);
				dup_done = 1;
			}
		} else if (!bad_done) {
			hash[0] ^= 0x80;
			try_submit("bad-hash", j.job_id, nb, hash);
			bad_done = 1;
		}
	}
	if (vm != NULL)
		rx_vm_free(vm);
	if (ctx != NULL)
		rx_ctx_unref(ctx);
	say("miner done");
	return NULL;
}

static void
on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

int
main(int argc, char **argv)
{
	struct upstream_pool pools[POOL_CONF_MAX];
	struct upstream_config cfg;
	struct upstream_callbacks cb = { on_job, on_result, on_state, NULL, NULL };
	struct upstream_stats st;
	enum log_level lvl;
	pthread_t miner;
	char err[512];
	int rc;

	t0 = clock_mono_ms();
	log_init("upstream-driver", LOG_LVL_INFO, 0);
	if ((rc = conf_load(&spec, argc, argv, err, sizeof(err))) != 0) {
		if (rc < 0)
			fprintf(stderr, "upstream-driver: %s\n", err);
		conf_free(&spec);
		return rc < 0 ? 2 : 0;
	}
	if (log_level_parse(log_level, &lvl) == 0)
		log_set_level(lvl);
	conf_log(&spec);
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	signal(SIGPIPE, SIG_IGN);
	if (pool_conf_build(&ps, &cfg, pools, err, sizeof(err)) != 0 ||
	    (up = upstream_new(&cfg, &cb, err, sizeof(err))) == NULL) {
		fprintf(stderr, "upstream-driver: %s\n", err);
		say("config-error msg=\"%s\"", err);
		conf_free(&spec);
		return 2;
	}
	say("start backend=%s pools=%zu", upstream_backend_name(up), cfg.npools);
	upstream_start(up);
	pthread_create(&miner, NULL, miner_main, NULL);
	while (!stop && clock_mono_ms() - t0 < run_for) {
		usleep(20000);
		pthread_mutex_lock(&job_lock);
		if (exit_after_results > 0 && nresults >= exit_after_results)
			stop = 1;
		pthread_mutex_unlock(&job_lock);
	}
	stop = 1;
	pthread_mutex_lock(&job_lock);
	pthread_cond_broadcast(&job_cond);
	pthread_mutex_unlock(&job_lock);
	pthread_join(miner, NULL);
	upstream_get_stats(up, &st);
	say("stats state=%d pool=%u switches=%" PRIu64 " reconnects=%" PRIu64
	    " submitted=%" PRIu64 " accepted=%" PRIu64 " rejected=%" PRIu64
	    " lost=%" PRIu64 " latency=%" PRId64, (int)st.state, st.pool_index,
	    st.switches, st.reconnects, st.submitted, st.accepted, st.rejected,
	    st.lost, st.last_latency_ms);
	upstream_free(up);
	conf_free(&spec);
	say("exit");
	return 0;
}
