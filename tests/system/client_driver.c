/*
 * client_driver: drives src/worker/client.c for tests/system/test_client.py.
 * Reads commands on stdin (share, stats, lease, stop) and prints every
 * callback as one line on stdout, so the test can script a coordinator
 * and check what the client does.
 */
#include "config.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/hex.h"
#include "common/log.h"
#include "worker/client.h"

static pthread_mutex_t out_lock = PTHREAD_MUTEX_INITIALIZER;

static void out(const char *fmt, ...) PRINTF_LIKE(1, 2);

static void
out(const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&out_lock);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
	pthread_mutex_unlock(&out_lock);
}

static void
on_job(void *arg, const struct client_job *j)
{
	char blob[2 * CLIENT_BLOB_MAX + 1], seed[65], bt[65];

	hex_encode(j->blob, j->blob_len, blob, sizeof(blob));
	hex_encode(j->seed, j->seed_len, seed, sizeof(seed));
	if (j->has_block_target)
		hex_encode(j->block_target, 32, bt, sizeof(bt));
	else
		snprintf(bt, sizeof(bt), "-");
	out("JOB id=%s blob=%s off=%" PRIu32 " seed=%s height=%" PRId64
	    " algo=%s target=%016" PRIx64 " lease=%" PRIu64 " start=%" PRIu64
	    " end=%" PRIu64 " clean=%d block=%s", j->job_id, blob,
	    j->nonce_offset, seed, j->height, j->algo, j->share_target,
	    j->lease_id, j->nonce_start, j->nonce_end, j->clean_jobs, bt);
}

static void
on_command(void *arg, enum worker_command cmd)
{
	out("CMD %d", (int)cmd);
}

static void
on_share_result(void *arg, uint64_t tag, int accepted, const char *reason,
    int is_block, double difficulty)
{
	out("SHARE %" PRIu64 " %d %d %.1f %s", tag, accepted, is_block,
	    difficulty, reason);
}

static void
on_connection(void *arg, int connected, const char *coordinator)
{
	out("CONN %d %s", connected, coordinator);
}

static void
command(struct client *c, char *line)
{
	char *argv[8], *save = NULL, *tok;
	int argc = 0;

	for (tok = strtok_r(line, " \t\r\n", &save); tok != NULL && argc < 8;
	    tok = strtok_r(NULL, " \t\r\n", &save))
		argv[argc++] = tok;
	if (argc == 0)
		return;
	if (strcmp(argv[0], "share") == 0 && argc == 5) {
		uint8_t result[32];
		uint64_t tag = strtoull(argv[1], NULL, 10);
		uint32_t nonce = (uint32_t)strtoul(argv[3], NULL, 16);

		if (hex_decode_exact(argv[4], result, sizeof(result)) == -1) {
			out("ERROR bad result hex");
			return;
		}
		out("SUBMIT %" PRIu64 " %d", tag,
		    client_submit_share(c, tag, argv[2], nonce, result));
	} else if (strcmp(argv[0], "stats") == 0 && argc == 7) {
		struct client_stats st;

		memset(&st, 0, sizeof(st));
		st.hashrate = strtod(argv[1], NULL);
		st.shares_valid = strtoull(argv[2], NULL, 10);
		st.shares_invalid = strtoull(argv[3], NULL, 10);
		st.hashes_total = strtoull(argv[4], NULL, 10);
		st.lease_id = strtoull(argv[5], NULL, 10);
		st.lease_hashes_done = strtoull(argv[6], NULL, 10);
		client_set_stats(c, &st);
		out("STATS");
	} else if (strcmp(argv[0], "lease") == 0) {
		client_request_lease(c);
		out("LEASE");
	} else
		out("ERROR unknown command %s", argv[0]);
}

static void
usage(void)
{
	fprintf(stderr, "usage: client_driver [--insecure] [--ca F --cert F "
	    "--key F] [--id ID] [--name N] [--threads N] [--backoff-min MS] "
	    "[--backoff-max MS] [--queue-max N] [--debug] ADDR...\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	struct client_config cfg;
	struct client_callbacks cb = { on_job, on_command, on_share_result,
	    on_connection };
	struct client *c;
	char line[1024];
	int i, debug = 0;

	memset(&cfg, 0, sizeof(cfg));
	cfg.worker_id = "worker-1";
	cfg.threads = 2;
	for (i = 1; i < argc && strncmp(argv[i], "--", 2) == 0; i++) {
		const char *o = argv[i];

		if (strcmp(o, "--insecure") == 0)
			cfg.insecure = 1;
		else if (strcmp(o, "--debug") == 0)
			debug = 1;
		else if (i + 1 >= argc)
			usage();
		else if (strcmp(o, "--ca") == 0)
			cfg.ca_file = argv[++i];
		else if (strcmp(o, "--cert") == 0)
			cfg.cert_file = argv[++i];
		else if (strcmp(o, "--key") == 0)
			cfg.key_file = argv[++i];
		else if (strcmp(o, "--id") == 0)
			cfg.worker_id = argv[++i];
		else if (strcmp(o, "--name") == 0)
			cfg.worker_name = argv[++i];
		else if (strcmp(o, "--threads") == 0)
			cfg.threads = atoi(argv[++i]);
		else if (strcmp(o, "--backoff-min") == 0)
			cfg.backoff_min_ms = atoll(argv[++i]);
		else if (strcmp(o, "--backoff-max") == 0)
			cfg.backoff_max_ms = atoll(argv[++i]);
		else if (strcmp(o, "--queue-max") == 0)
			cfg.share_queue_max = (size_t)atol(argv[++i]);
		else
			usage();
	}
	if (i >= argc)
		usage();
	cfg.coordinators = (const char *const *)&argv[i];
	cfg.ncoordinators = (size_t)(argc - i);
	log_init("client_driver", debug ? LOG_LVL_DEBUG : LOG_LVL_INFO, 0);

	if ((c = client_new(&cfg, &cb, NULL)) == NULL) {
		out("ERROR client_new");
		return 1;
	}
	if (client_start(c) == -1) {
		out("ERROR client_start");
		client_free(c);
		return 1;
	}
	out("STARTED");
	while (fgets(line, sizeof(line), stdin) != NULL) {
		if (strncmp(line, "stop", 4) == 0)
			break;
		command(c, line);
	}
	client_stop(c);
	out("STOPPED");
	client_free(c);
	return 0;
}
