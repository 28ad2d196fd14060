/* test_worker: online mode against a fake coordinator client (light mode):
 * a job from the client is mined and every share goes back with the job id,
 * the nonce and the right hash; a bad job is refused; the lease runs out
 * and a new one is asked for; verdicts are counted; heartbeat figures are
 * set; PAUSE, RESUME and SHUTDOWN are obeyed; stopping stops the client. */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/hex.h"
#include "common/log.h"
#include "common/target.h"
#include "worker/bench.h"
#include "worker/worker.h"
#include "fake_client.h"
#include "tap.h"

static struct fake_share got[FAKE_SHARES_MAX];

static void
make_job(struct client_job *j, const char *id, uint64_t start, uint64_t end)
{
	memset(j, 0, sizeof(*j));
	snprintf(j->job_id, sizeof(j->job_id), "%s", id);
	hex_decode_exact(BENCH_HEADER_HEX, j->blob, 80);
	j->blob_len = 80;
	j->nonce_offset = 76;
	hex_decode_exact(BENCH_SEED_HEX, j->seed, 32);
	j->seed_len = 32;
	j->share_target = UINT64_MAX;	/* every hash is a share */
	j->lease_id = 7;
	j->nonce_start = start;
	j->nonce_end = end;
}

int
main(void)
{
	static const char *coords[] = { "127.0.0.1:1" };
	struct worker_opts o;
	struct worker *w;
	struct worker_counts wc;
	struct client_job j;
	struct client_stats cs;
	struct miner_stats st;
	struct rx_ctx *ctx;
	struct rx_vm *vm;
	uint8_t blob[80], want[32];
	size_t n;
	int seen[8] = { 0 }, good = 1;

	log_init("test_worker", LOG_LVL_WARN, 0);
	memset(&o, 0, sizeof(o));
	o.client.coordinators = coords;
	o.client.ncoordinators = 1;
	o.client.worker_id = "w1";
	o.client.insecure = 1;
	o.miner = (struct miner_config){ 2, RX_LIGHT, RX_PAGES_AUTO, 0 };
	o.print_interval_ms = 1000;
	w = worker_new(&o);
	ok(w != NULL && worker_start(w) == 0 && fake_client_started(),
	    "worker up, client started");
	if (w == NULL)
		return tap_done();

	make_job(&j, "bad", 0, 8);
	j.blob_len = 60;
	fake_client_job(&j);
	make_job(&j, "job-1", 100, 108);
	fake_client_job(&j);
	ok(miner_wait_idle(worker_miner(w), 120000) == 0, "lease of 8 mined");
	n = fake_client_shares(got, FAKE_SHARES_MAX);
	for (size_t i = 0; i < n; i++) {
		good = good && strcmp(got[i].job_id, "job-1") == 0 &&
		    got[i].nonce >= 100 && got[i].nonce < 108 && got[i].tag > 0;
		if (got[i].nonce >= 100 && got[i].nonce < 108)
			seen[got[i].nonce - 100]++;
	}
	for (int i = 0; i < 8; i++)
		good = good && seen[i] == 1;
	ok(n == 8 && good, "8 shares of job-1, one per nonce, none of the bad job "
	    "(%zu)", n);
	ctx = rx_ctx_new(j.seed, 32, RX_LIGHT, RX_PAGES_AUTO, 1);
	vm = rx_vm_new(ctx);
	memcpy(blob, j.blob, 80);
	le32_write(blob + 76, got[0].nonce);
	rx_hash(vm, blob, 80, want);
	ok(memcmp(want, got[0].result, 32) == 0, "a share's result is the hash "
	    "of the blob with its nonce");
	rx_vm_free(vm);
	rx_ctx_unref(ctx);
	ok(fake_client_lease_requests() >= 1, "used-up lease asked for the next");

	fake_client_verdict(got[0].tag, 1, NULL);
	fake_client_verdict(got[1].tag, 0, "low difficulty");
	worker_get_counts(w, &wc);
	ok(wc.shares_sent == 8 && wc.shares_accepted == 1 &&
	    wc.shares_rejected == 1, "verdicts counted: 1 accepted, 1 rejected");

	ok(worker_tick(w, clock_mono_ms()) == 0, "tick");
	fake_client_last_stats(&cs);
	miner_get_stats(worker_miner(w), &st);
	ok(cs.hashes_total == 8 && cs.shares_valid == 1 && cs.shares_invalid == 1 &&
	    cs.lease_id == 7 && cs.lease_hashes_done == 8,
	    "heartbeat figures: hashes, shares, lease");

	fake_client_command(WORKER_CMD_PAUSE);
	make_job(&j, "job-2", 0, 4);
	fake_client_job(&j);
	/* Paused within 10 s (a busy machine), then 300 ms to see that
	 * nothing gets mined. */
	for (int i = 0; i < 1000 && !miner_paused(worker_miner(w)); i++)
		usleep(10000);
	usleep(300 * 1000);
	ok(miner_paused(worker_miner(w)) &&
	    fake_client_shares(got, FAKE_SHARES_MAX) == 8, "PAUSE: nothing mined");
	fake_client_command(WORKER_CMD_RESUME);
	ok(miner_wait_idle(worker_miner(w), 120000) == 0 &&
	    fake_client_shares(got, FAKE_SHARES_MAX) == 12, "RESUME: job-2 mined");
	fake_client_command((enum worker_command)99);
	ok(worker_tick(w, clock_mono_ms()) == 0, "unknown command ignored");
	fake_client_command(WORKER_CMD_SHUTDOWN);
	ok(worker_tick(w, clock_mono_ms()) == 1, "SHUTDOWN: the tick says stop");
	worker_free(w);
	ok(fake_client_stopped(), "the client was stopped");
	return tap_done();
}
