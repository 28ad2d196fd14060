/* test_fanout: a new job's work is sent after jobs_lock is released (so
 * shares are checked meanwhile), in one batch with each streaming worker
 * once and every work numbered in issue order; workers are found by their
 * index after one leaves; the fan-out threads call every item exactly
 * once, really in parallel, and run after run. */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "coordinator/fanout.h"
#include "coordinator/jobs.h"
#include "jobs_fixture.h"
#include "tap.h"

#define NW 100

/* ---- the fan-out threads ------------------------------------------------ */

#define NITEMS 10000

static atomic_int visits[NITEMS];
static pthread_t who[NITEMS];

static void
visit(void *arg, size_t i)
{
	(void)arg;
	atomic_fetch_add(&visits[i], 1);
	who[i] = pthread_self();
}

static void
visit_slowly(void *arg, size_t i)
{
	struct timespec ts = { 0, 200000 };	/* 0.2 ms: a socket write */

	visit(arg, i);
	nanosleep(&ts, NULL);
}

static int
visited_once(size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (atomic_load(&visits[i]) != 1)
			return 0;
	return 1;
}

static size_t
threads_seen(size_t n)
{
	pthread_t seen[FANOUT_THREADS_MAX + 1];
	size_t k = 0;

	for (size_t i = 0; i < n; i++) {
		size_t m = 0;
		while (m < k && !pthread_equal(seen[m], who[i]))
			m++;
		if (m == k && k < FANOUT_THREADS_MAX + 1)
			seen[k++] = who[i];
	}
	return k;
}

static void
test_pool(void)
{
	struct fanout *f;

	ok(fanout_threads_for(1) == 0 && fanout_threads_for(2) == 1 &&
	    fanout_threads_for(4) == 3 && fanout_threads_for(64) ==
	    FANOUT_THREADS_MAX && fanout_threads_for(-1) == 0,
	    "helpers: one fewer than the cores, none on one core, at most %d",
	    FANOUT_THREADS_MAX);

	f = fanout_new(3);
	ok(f != NULL, "a pool of 3 helpers starts");
	{
		int runs_ok = 0;
		for (int run = 0; run < 5; run++) {
			memset(visits, 0, sizeof(visits));
			fanout_run(f, NITEMS, visit, NULL);
			runs_ok += visited_once(NITEMS);
		}
		ok(runs_ok == 5, "5 runs of %d items: each item exactly once "
		    "(%d of 5 runs)", NITEMS, runs_ok);
	}

	memset(visits, 0, sizeof(visits));
	fanout_run(f, 400, visit_slowly, NULL);
	ok(visited_once(400) && threads_seen(400) >= 2,
	    "slow items are spread over the helpers (%zu threads took part)",
	    threads_seen(400));

	memset(visits, 0, sizeof(visits));
	fanout_run(f, 3, visit, NULL);
	ok(visited_once(3) && atomic_load(&visits[3]) == 0 &&
	    pthread_equal(who[0], pthread_self()),
	    "a run too small to share stays on the caller");
	fanout_run(f, 0, visit, NULL);
	ok(atomic_load(&visits[0]) == 1, "an empty run calls nothing");
	fanout_free(f);

	f = fanout_new(0);
	memset(visits, 0, sizeof(visits));
	fanout_run(f, 500, visit, NULL);
	ok(f != NULL && visited_once(500) && threads_seen(500) == 1,
	    "with no helpers every item runs on the caller");
	fanout_free(f);
}

/* ---- jobs: the fan-out of a new job ------------------------------------- */

static struct jobs *J;
static struct jobs_outgoing batch[NW + 8];
static size_t nbatch;
static int nbatches, nsingle;
static struct work single[8];
static int checked_meanwhile;	/* a share check finished during the send */

/* The share checker started from inside the batch: joined once jobs_add
 * has returned (with jobs_lock held across the sends it would still be
 * waiting for the lock when the batch gives up on it). */
static struct checker {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int done;
	pthread_t th;
	int started;
} checker = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0, 0 };

static void *
check_share(void *arg)
{
	struct checker *c = arg;
	struct share_ctx ctx;
	uint8_t nonce[4] = { 0, 0, 0, 0 };

	/* any answer will do: what matters is that it comes */
	(void)jobs_check_share(J, "w000", "00000000000000ff", nonce, 4, &ctx);
	pthread_mutex_lock(&c->lock);
	c->done = 1;
	pthread_cond_signal(&c->cond);
	pthread_mutex_unlock(&c->lock);
	return NULL;
}

static void
ev_send(void *arg, const char *worker_id, const struct work *w)
{
	(void)arg;
	(void)worker_id;
	if (nsingle < 8)
		single[nsingle] = *w;
	nsingle++;
}

static void
ev_send_batch(void *arg, const struct jobs_outgoing *o, size_t n)
{
	struct checker *c = &checker;
	struct timespec until;

	(void)arg;
	nbatches++;
	nbatch = n < NW + 8 ? n : NW + 8;
	memcpy(batch, o, nbatch * sizeof(*o));
	/* A share arrives while the work is being sent: it must be checked
	 * now, not after the last worker's send (2 s is forever here). */
	if (c->started)
		return;
	c->started = pthread_create(&c->th, NULL, check_share, c) == 0;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 2;
	pthread_mutex_lock(&c->lock);
	while (!c->done &&
	    pthread_cond_timedwait(&c->cond, &c->lock, &until) != ETIMEDOUT)
		;
	checked_meanwhile = c->done;
	pthread_mutex_unlock(&c->lock);
}

static void ev_job(void *arg, const struct job_info *j) { (void)arg; (void)j; }
static void ev_lease(void *arg, uint64_t seq, const struct lease *l)
{ (void)arg; (void)seq; (void)l; }
static void ev_release(void *arg, uint64_t id, int64_t now)
{ (void)arg; (void)id; (void)now; }


static void
test_jobs_batch(void)
{
	struct jobs_events ev = { ev_send, ev_job, ev_lease, ev_release, NULL,
		NULL, NULL, ev_send_batch };
	struct job_template t;
	struct work w;
	int64_t now = 1000000;
	char id[16];
	int distinct = 1, ordered = 1, fresh = 1;
	uint64_t max_order = 0;

	J = jobs_new(&fixture_jobs_config, &ev, NULL);
	t = fixture_job("up-1", 1, 0xaa);
	ok(jobs_add(J, &t, now) != 0, "a first job");
	for (int i = 0; i < NW; i++) {
		snprintf(id, sizeof(id), "w%03d", i);
		jobs_worker_join(J, id, 1000, now, &w);
		if (i < NW - 10)	/* ten of them never open a stream */
			jobs_worker_stream(J, id, 1, now);
	}
	ok(nsingle == NW - 10 && nbatches == 0,
	    "a stream opening gets its work alone (%d sends, %d batches)",
	    nsingle, nbatches);

	t = fixture_job("up-2", 1, 0xbb);
	ok(jobs_add(J, &t, now + 1000) != 0 && nbatches == 1 &&
	    nbatch == NW - 10, "a new job: one batch with the %d streaming "
	    "workers' work (%zu in it)", NW - 10, nbatch);
	if (checker.started)
		pthread_join(checker.th, NULL);
	ok(checker.started && checked_meanwhile, "a share is checked while the "
	    "batch is being sent (jobs_lock is not held across the sends)");
	for (size_t i = 0; i < nbatch; i++) {
		if (strcmp(batch[i].wk.job_id, batch[0].wk.job_id) != 0)
			fresh = 0;
		if (batch[i].wk.order <= max_order)
			ordered = 0;
		max_order = batch[i].wk.order;
		for (size_t k = 0; k < i; k++)
			if (strcmp(batch[i].worker_id, batch[k].worker_id) == 0 ||
			    batch[i].wk.lease_id == batch[k].wk.lease_id)
				distinct = 0;
	}
	ok(distinct && fresh, "each worker once, each with a lease of its own on "
	    "the new job");
	ok(ordered && batch[0].wk.order > single[0].order,
	    "work is numbered in the order it was issued");

	nsingle = 0;
	jobs_worker_stream(J, "w000", 1, now + 2000);
	ok(nsingle == 1 && single[0].order > max_order,
	    "work sent after the batch (a stream reopening) has a later number, "
	    "so a late batch send cannot overtake it");

	/* Workers are found by an index: when one leaves, the row that takes
	 * its place is still found, and the leaver is not. */
	{
		const struct jobs_outgoing *last = NULL;
		struct share_ctx ctx;
		uint8_t nonce[4];
		int found = 1;

		for (size_t i = 0; i < nbatch; i++) {
			if (strcmp(batch[i].worker_id, "w089") == 0)
				last = &batch[i];
		}
		jobs_worker_leave(J, "w000", now + 3000);
		/* a newcomer takes the row the moved worker left */
		snprintf(id, sizeof(id), "w%03d", NW);
		jobs_worker_join(J, id, 1000, now + 3000, &w);
		for (int i = 1; i <= NW; i++) {
			uint64_t d, lid, ls, le, hd;
			snprintf(id, sizeof(id), "w%03d", i);
			if (jobs_worker_info(J, id, &d, &lid, &ls, &le, &hd) != 0)
				found = 0;
		}
		ok(found, "after w000 left and w%03d joined, the other %d workers "
		    "and the newcomer are all found", NW, NW - 1);
		le32_write(nonce, last != NULL ? (uint32_t)last->wk.nonce_start : 0);
		ok(last != NULL && jobs_check_share(J, "w089", last->wk.job_id,
		    nonce, 4, &ctx) == LEDGER_REASON_OK,
		    "the last streaming worker's share on its lease is taken");
		{
			uint64_t d, lid, ls, le, hd;
			ok(jobs_worker_info(J, "w000", &d, &lid, &ls, &le, &hd) != 0,
			    "the worker that left is not found");
		}
	}
	jobs_free(J);
}

int
main(void)
{
	test_pool();
	test_jobs_batch();
	return tap_done();
}
