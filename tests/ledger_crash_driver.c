/*
 * ledger_crash_driver.c: appends shares through the ledger API at a steady
 * rate and prints "ack ID" for each share once its completion says it is
 * committed.  tests/system/ledger_crash.sh kill -9s it and checks that
 * every printed id is in the database; ledger_cli.sh uses it to fill a
 * ledger.  Every 200th share is a block candidate, written with its block
 * row in one transaction.  SIGTERM closes the ledger cleanly and exits 0.
 *
 * With -c MS the ledger runs on the power-cut VFS (tests/powercut_vfs.c)
 * and the power goes MS milliseconds after the start: everything written
 * since each file's last sync is undone, "powercut ..." is printed and the
 * process exits 0 at once (tests/system/ledger_powercut.sh); with -w N the
 * power goes during the N-th write instead (mid-transaction).  -s N sets
 * PRAGMA synchronous (default: the ledger's, FULL).
 *
 * usage: ledger_crash_driver [-c MS | -w N] [-s N] DB [SHARES_PER_SECOND]
 *            [MAX_SHARES]
 */
#include "config.h"

#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/target.h"
#include "coordinator/ledger.h"
#include "powercut_vfs.h"

#define NWORKERS 3

static volatile sig_atomic_t stop;
static atomic_llong acked;

static void
on_term(int sig)
{
	(void)sig;
	stop = 1;
}

static void
say(const char *line)
{
	size_t n = strlen(line);

	/* one write per line: a kill never leaves half a line behind */
	if (write(STDOUT_FILENO, line, n) != (ssize_t)n)
		_exit(3);
}

static void
ack(void *arg, int64_t id, int status)
{
	char line[64];

	if (status != LEDGER_COMMITTED) {
		snprintf(line, sizeof(line), "fail %" PRId64 " %d\n", id, status);
		say(line);
		return;
	}
	snprintf(line, sizeof(line), "ack %" PRId64 "\n", id);
	say(line);
	(void)arg;
	atomic_fetch_add(&acked, 1);
}

/* The power cut: MS after the start, from its own thread. */
static void *
cutter(void *arg)
{
	long ms = *(long *)arg, lost;
	char line[96];

	usleep((useconds_t)ms * 1000);
	lost = powercut_now();
	snprintf(line, sizeof(line), "powercut after %ld ms: %ld unsynced "
	    "writes undone\n", ms, lost);
	say(line);
	_exit(0);
}

static void
cut_at_write(long lost)
{
	char line[96];

	snprintf(line, sizeof(line), "powercut after a write: %ld unsynced "
	    "writes undone\n", lost);
	say(line);
	_exit(0);
}

int
main(int argc, char **argv)
{
	struct ledger_opts o;
	struct ledger_recovery rec;
	struct ledger *l;
	struct ledger_job j = { 0 };
	int64_t session, job, lease[NWORKERS], now, max = 0, n = 0;
	uint32_t nonce[NWORKERS];
	uint8_t blob[80] = { 0 }, seed[32] = { 0 }, result[32];
	char err[512], line[160], id[16];
	int rate = 500, i, opt, sync = -1;
	long cut_ms = -1, cut_writes = -1;
	pthread_t cut_thread;

	while ((opt = getopt(argc, argv, "c:s:w:")) != -1)
		switch (opt) {
		case 'c': cut_ms = atol(optarg); break;
		case 's': sync = atoi(optarg); break;
		case 'w': cut_writes = atol(optarg); break;
		default: return 2;
		}
	argc -= optind - 1;
	argv += optind - 1;
	if (argc < 2) {
		fprintf(stderr, "usage: %s [-c MS | -w N] [-s N] DB [SHARES_PER_SECOND] "
		    "[MAX_SHARES]\n", argv[0]);
		return 2;
	}
	if (argc > 2)
		rate = atoi(argv[2]);
	if (argc > 3)
		max = atoll(argv[3]);
	if ((cut_ms >= 0 || cut_writes > 0) && powercut_vfs_register() != 0) {
		fprintf(stderr, "cannot register the power-cut VFS\n");
		return 1;
	}
	if (cut_writes > 0)
		powercut_vfs_arm(cut_writes, cut_at_write);
	if (rate < 1)
		rate = 1;
	log_init("ledger_crash_driver", LOG_LVL_WARN, 0);
	signal(SIGTERM, on_term);
	signal(SIGINT, on_term);
	ledger_opts_default(&o);
	o.path = argv[1];
	if (sync >= 0)
		o.synchronous = sync;
	if (cut_ms >= 0 && pthread_create(&cut_thread, NULL, cutter, &cut_ms) != 0)
		return 1;
	if ((l = ledger_open(&o, err, sizeof(err))) == NULL) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	if (ledger_recover(l, 1000, 0, &rec, err, sizeof(err)) != 0) {
		fprintf(stderr, "%s\n", err);
		ledger_close(l);
		return 1;
	}
	snprintf(line, sizeof(line), "recovered next_share_id %" PRId64
	    " valid %" PRIu64 " invalid %" PRIu64 " blocks %zu\n",
	    rec.next_share_id, rec.totals.shares_valid,
	    rec.totals.shares_invalid, rec.nblocks);
	say(line);
	ledger_recovery_free(&rec);

	now = clock_wall_ms();
	/* Each run mines work of its own (as a pool's new job would be): the
	 * audit proves no (blob, seed, nonce) is leased twice across runs. */
	le64_write(blob + 4, (uint64_t)now);
	le64_write(blob + 12, (uint64_t)getpid());
	session = ledger_session_begin(l, "stratum+tcp://127.0.0.1:9", now);
	j.session_id = session;
	j.upstream_job_id = "crash-job";
	j.blob = blob;
	j.blob_len = sizeof(blob);
	j.seed = seed;
	j.seed_len = sizeof(seed);
	j.height = 100;
	j.target64 = UINT64_MAX / 1000;
	j.difficulty = 1000;
	j.received_at = now;
	j.clean = 1;
	job = ledger_job_add(l, &j);
	for (i = 0; i < NWORKERS; i++) {
		struct ledger_worker w = { id, "crash worker", 2, "test", now };

		snprintf(id, sizeof(id), "w%d", i);
		ledger_worker_seen(l, &w);
		lease[i] = ledger_lease_add(l, job, id, (uint64_t)i << 24,
		    (uint64_t)(i + 1) << 24, 0, 0, 0, now);
		nonce[i] = (uint32_t)i << 24;
	}
	memset(result, 0x5a, sizeof(result));
	while (!stop && (max == 0 || n < max)) {
		struct ledger_share s = { 0 };
		int w = (int)(n % NWORKERS), cand = n % 200 == 199;

		snprintf(id, sizeof(id), "w%d", w);
		s.job_id = job;
		s.lease_id = lease[w];
		s.worker_id = id;
		s.nonce = nonce[w]++;
		s.result = result;
		s.reason = n % 17 == 16 ? LEDGER_REASON_LOW_DIFFICULTY :
		    LEDGER_REASON_OK;
		s.difficulty = s.reason == LEDGER_REASON_OK ? 1000 + (n % 7) : 0;
		s.hash_difficulty = 2000;
		s.block_candidate = cand && s.reason == LEDGER_REASON_OK;
		s.upstream = s.reason != LEDGER_REASON_OK ?
		    LEDGER_FATE_NOT_NEEDED : n % 5 == 0 ? LEDGER_FATE_PENDING :
		    LEDGER_FATE_NOT_NEEDED;
		s.created_at = clock_wall_ms();
		if (s.block_candidate) {
			/* the block row commits with its share, or neither */
			struct ledger_block b = { 0 };
			uint8_t hash[32] = { 1 };
			int64_t bid;

			b.height = 100;
			b.hash = hash;
			b.hash_len = sizeof(hash);
			b.network_difficulty = 5000;
			b.window_n = pplns_window_n(5000, 2000, 0);
			b.fee_bps = 50;
			b.status = LEDGER_BLOCK_CANDIDATE;
			b.has_reward = 1;
			b.reward = 3000000000000ULL + (uint64_t)n;
			b.found_at = s.created_at;
			ledger_append_block_share(l, &s, &b, ack, l, &bid);
		} else {
			ledger_append_share(l, &s, ack, NULL);
		}
		n++;
		if (n % 50 == 0) {
			struct ledger_heartbeat h = { id, clock_wall_ms(), 800.0,
			    (uint64_t)n, 0, (uint64_t)n * 100, 1000, 0.5, 0.1, 50 };

			ledger_heartbeat(l, &h);
		}
		usleep((useconds_t)(1000000 / rate));
	}
	ledger_close(l);
	snprintf(line, sizeof(line), "closed after %" PRId64 " shares, %lld "
	    "acknowledged\n", n, (long long)atomic_load(&acked));
	say(line);
	return 0;
}
