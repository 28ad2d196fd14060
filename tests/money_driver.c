/*
 * money_driver.c: writes a scripted history of shares through the real
 * ledger writer (ledger.h), for tests/system/money.py and bench/income.
 * Reads a plan on stdin, one line each:
 *   job AT NETDIFF               a job (OpenSY-style block target of
 *                                that network difficulty, 0: none)
 *   share WORKER DIFF AT         an accepted share of the last job
 *   block WORKER DIFF AT NETDIFF a block-candidate share and its block
 *                                row (status accepted, reward unknown)
 *   many N NWORKERS DIFF AT      N shares round-robin over w0..w(NW-1)
 *   retain MS BATCH              reopens the ledger (which closes the
 *                                leases and jobs left open) with [ledger]
 *                                retention = MS, ranges of BATCH shares,
 *                                and waits until retention finds nothing
 *                                more to roll; prints "rolled SHARES RANGES"
 * and prints "ok SHARES BLOCKS" once everything has committed.
 *
 * usage: money_driver DB < PLAN
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/target.h"
#include "coordinator/ledger.h"

#define WORKERS_MAX 64

struct state {
	struct ledger *l;
	int64_t session, job;
	char ids[WORKERS_MAX][LEDGER_ID_MAX];
	int64_t lease[WORKERS_MAX];
	uint32_t nonce[WORKERS_MAX];
	int nworkers;
	int64_t shares, blocks, failed;
};

static void
ack(void *arg, int64_t id, int status)
{
	struct state *s = arg;

	(void)id;
	if (status != LEDGER_COMMITTED)
		s->failed++;
}

static int
worker(struct state *s, const char *id, int64_t at)
{
	struct ledger_worker w = { id, id, 2, "money_driver", at };
	int i;

	for (i = 0; i < s->nworkers; i++)
		if (strcmp(s->ids[i], id) == 0)
			return i;
	if (s->nworkers == WORKERS_MAX || s->job == 0)
		return -1;
	snprintf(s->ids[i], sizeof(s->ids[i]), "%s", id);
	ledger_worker_seen(s->l, &w);
	s->lease[i] = ledger_lease_add(s->l, s->job, id, (uint64_t)i << 26,
	    (uint64_t)(i + 1) << 26, 0, 0, 0, at);
	s->nonce[i] = (uint32_t)i << 26;
	return s->nworkers++;
}

static void
job(struct state *s, int64_t at, uint64_t netdiff)
{
	struct ledger_job j = { 0 };
	uint8_t blob[80] = { 0 }, seed[32] = { 0 }, bt[32];
	uint64_t t64 = netdiff > 1 ? UINT64_MAX / netdiff : UINT64_MAX;
	int i;

	/* a 256-bit target whose top 64 bits give netdiff */
	memset(bt, 0xff, sizeof(bt));
	for (i = 0; i < 8; i++)
		bt[24 + i] = (uint8_t)(t64 >> (8 * i));
	/* distinct work per job, as a pool gives */
	memcpy(blob, &at, sizeof(at));
	j.session_id = s->session;
	j.upstream_job_id = "money";
	j.blob = blob;
	j.blob_len = sizeof(blob);
	j.seed = seed;
	j.seed_len = sizeof(seed);
	j.height = 100;
	j.target64 = UINT64_MAX / 1000;
	j.difficulty = 1000;
	j.block_target = netdiff ? bt : NULL;
	j.received_at = at;
	j.clean = 1;
	if (s->job != 0)
		ledger_job_supersede(s->l, s->job, at);
	s->job = ledger_job_add(s->l, &j);
	s->nworkers = 0;	/* new leases on the new job */
}

static int64_t
share(struct state *s, const char *id, uint64_t diff, int64_t at, int cand)
{
	struct ledger_share sh = { 0 };
	uint8_t result[32];
	int w = worker(s, id, at);

	if (w < 0)
		return -1;
	memset(result, 0x5a, sizeof(result));
	sh.job_id = s->job;
	sh.lease_id = s->lease[w];
	sh.worker_id = s->ids[w];
	sh.nonce = s->nonce[w]++;
	sh.result = result;
	sh.difficulty = diff;
	sh.hash_difficulty = diff;
	sh.reason = LEDGER_REASON_OK;
	sh.block_candidate = cand;
	sh.upstream = LEDGER_FATE_NOT_NEEDED;
	sh.created_at = at;
	s->shares++;
	return ledger_append_share(s->l, &sh, ack, s);
}

static void
block(struct state *s, int64_t share_id, int64_t at, uint64_t netdiff)
{
	struct ledger_block b = { 0 };
	uint8_t hash[32];
	int64_t id;

	memset(hash, 0, sizeof(hash));
	memcpy(hash, &share_id, sizeof(share_id));
	b.share_id = share_id;
	b.height = 100;
	b.hash = hash;
	b.hash_len = sizeof(hash);
	b.network_difficulty = netdiff;
	b.window_n = pplns_window_n(netdiff, 2000, 0);
	b.status = LEDGER_BLOCK_CANDIDATE;
	b.found_at = at;
	id = ledger_block_add(s->l, &b);
	ledger_block_update(s->l, id, LEDGER_BLOCK_ACCEPTED, 0, 0, at);
	s->blocks++;
}

/* The retain step: reopen with retention on, wait for it to finish. */
static int
retain(struct state *s, struct ledger_opts *o, int64_t ms, int batch)
{
	struct ledger_stats st;
	char err[512];
	int64_t deadline;

	if (ledger_flush(s->l, 600000) != LEDGER_COMMITTED)
		return -1;
	ledger_close(s->l);
	o->share_retention_ms = ms;
	o->retention_batch = batch;
	if ((s->l = ledger_open(o, err, sizeof(err))) == NULL) {
		fprintf(stderr, "%s\n", err);
		return -1;
	}
	s->session = s->job = 0;
	s->nworkers = 0;
	deadline = clock_mono_ms() + 120000;
	do {
		ledger_stats_get(s->l, &st);
		if (st.retention_idle)
			break;
		nanosleep(&(struct timespec){ 0, 20000000L }, NULL);
	} while (clock_mono_ms() < deadline);
	if (!st.retention_idle) {
		fprintf(stderr, "money_driver: retention still rolling after "
		    "120 s\n");
		return -1;
	}
	printf("rolled %" PRIu64 " %" PRIu64 "\n", st.shares_rolled,
	    st.ranges_rolled);
	fflush(stdout);
	return 0;
}

/* The history step: every worker's accepted shares and credited
 * difficulty per hour since ms, as ledger_worker_history() reads them
 * (the dashboard's charts): "history WORKER HOUR SHARES DIFFICULTY". */
static int
history(struct state *s, const char *path, int64_t ms)
{
	struct ledger_reader *r;
	struct ledger_history_row *rows = NULL;
	size_t n = 0;
	char err[512];
	int rc;

	if (ledger_flush(s->l, 600000) != LEDGER_COMMITTED)
		return -1;
	if ((r = ledger_reader_open(path, err, sizeof(err))) == NULL) {
		fprintf(stderr, "%s\n", err);
		return -1;
	}
	rc = ledger_worker_history(r, NULL, ms, &rows, &n);
	for (size_t i = 0; rc == 0 && i < n; i++)
		if (rows[i].reason == LEDGER_REASON_OK)
			printf("history %s %" PRId64 " %" PRIu64 " %" PRIu64 "\n",
			    rows[i].worker_id, rows[i].hour, rows[i].shares,
			    rows[i].difficulty);
	fflush(stdout);
	free(rows);
	ledger_reader_close(r);
	return rc;
}

int
main(int argc, char **argv)
{
	struct ledger_opts o;
	struct state s = { 0 };
	char line[256], w[LEDGER_ID_MAX], err[512];
	unsigned long long d, nd, n, nw, i;
	long long at;

	if (argc != 2) {
		fprintf(stderr, "usage: %s DB < PLAN\n", argv[0]);
		return 2;
	}
	log_init("money_driver", LOG_LVL_WARN, 0);
	ledger_opts_default(&o);
	o.path = argv[1];
	o.batch_rows = 4096;
	o.synchronous = 1;
	if ((s.l = ledger_open(&o, err, sizeof(err))) == NULL) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	while (fgets(line, sizeof(line), stdin) != NULL) {
		if (sscanf(line, "job %lld %llu", &at, &nd) == 2) {
			if (s.session == 0)
				s.session = ledger_session_begin(s.l,
				    "stratum+tcp://127.0.0.1:9", at);
			job(&s, at, nd);
		} else if (sscanf(line, "share %127s %llu %lld", w, &d, &at) == 3) {
			if (share(&s, w, d, at, 0) < 0)
				goto bad;
		} else if (sscanf(line, "block %127s %llu %lld %llu", w, &d, &at,
		    &nd) == 4) {
			int64_t id = share(&s, w, d, at, 1);

			if (id < 0 || ledger_flush(s.l, 60000) != LEDGER_COMMITTED)
				goto bad;
			block(&s, id, at, nd);
		} else if (sscanf(line, "many %llu %llu %llu %lld", &n, &nw, &d,
		    &at) == 4 && nw > 0) {
			for (i = 0; i < n; i++) {
				snprintf(w, sizeof(w), "w%llu", i % nw);
				if (share(&s, w, d + i % 7, at, 0) < 0)
					goto bad;
			}
		} else if (sscanf(line, "retain %lld %llu", &at, &n) == 2) {
			if (retain(&s, &o, at, (int)n) != 0) {
				ledger_close(s.l);
				return 1;
			}
		} else if (sscanf(line, "history %lld", &at) == 1) {
			if (history(&s, argv[1], at) != 0)
				goto bad;
		} else if (line[0] != '\n' && line[0] != '#')
			goto bad;
	}
	if (ledger_flush(s.l, 600000) != LEDGER_COMMITTED || s.failed) {
		fprintf(stderr, "money_driver: %" PRId64 " shares not written\n",
		    s.failed);
		ledger_close(s.l);
		return 1;
	}
	ledger_close(s.l);
	printf("ok %" PRId64 " %" PRId64 "\n", s.shares, s.blocks);
	return 0;
bad:
	fprintf(stderr, "money_driver: bad plan line (or no job yet): %s", line);
	ledger_close(s.l);
	return 2;
}
