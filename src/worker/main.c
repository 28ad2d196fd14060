/*
 * main.c: coopmine-worker.  Reads the configuration (INI < environment <
 * flags), then either runs the offline benchmark (--bench N) or mines for a
 * coordinator (worker.c) until SIGINT/SIGTERM or a SHUTDOWN command.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/conf.h"
#include "common/fdlimit.h"
#include "common/log.h"
#include "common/rx.h"
#include "common/sdnotify.h"
#include "worker/bench.h"
#include "worker/worker.h"

static char *worker_id, *worker_name;
static struct conf_list coordinators;
static char *tls_ca, *tls_cert, *tls_key;
static int insecure;
static int64_t backoff_min_ms, backoff_max_ms, share_queue;
static int64_t threads;
static char *huge_pages, *mode;
static int affinity, light;
static char *log_level;
static int use_syslog;
static int64_t print_interval_ms;
static int64_t bench_n;

static const struct conf_opt opts[] = {
	{ "worker", "id", "worker-id", "COOPMINE_WORKER_ID", CONF_STR, &worker_id,
	    NULL, 0, 0, 0, "worker id (must equal its certificate's CN)" },
	{ "worker", "name", "worker-name", "COOPMINE_WORKER_NAME", CONF_STR,
	    &worker_name, NULL, 0, 0, 0, "human-readable worker name" },
	{ "coordinator", "address", "coordinator", "COOPMINE_COORDINATOR",
	    CONF_LIST, &coordinators, NULL, 0, 0, 0,
	    "coordinator host:port; a list (or repeated) for failover" },
	{ "coordinator", "tls_ca", "tls-ca", "COOPMINE_TLS_CA", CONF_STR, &tls_ca,
	    NULL, 0, 0, 0, "CA certificate of the cluster (PEM)" },
	{ "coordinator", "tls_cert", "tls-cert", "COOPMINE_TLS_CERT", CONF_STR,
	    &tls_cert, NULL, 0, 0, 0, "this worker's certificate (PEM)" },
	{ "coordinator", "tls_key", "tls-key", "COOPMINE_TLS_KEY", CONF_STR,
	    &tls_key, NULL, 0, 0, 0, "this worker's private key (PEM)" },
	{ "coordinator", "insecure", "insecure", "COOPMINE_INSECURE", CONF_BOOL,
	    &insecure, "false", 0, 0, 0, "plaintext gRPC, no TLS (testing only)" },
	{ "coordinator", "reconnect_min", "reconnect-min", NULL, CONF_DURATION,
	    &backoff_min_ms, "1s", 10, 3600000, 0,
	    "first reconnect step (each delay: half to all of its step)" },
	{ "coordinator", "reconnect_max", "reconnect-max", NULL, CONF_DURATION,
	    &backoff_max_ms, "60s", 10, 3600000, 0, "longest reconnect delay" },
	{ "coordinator", "share_queue", "share-queue", NULL, CONF_INT,
	    &share_queue, "1024", 1, 1000000, 0,
	    "shares kept while the coordinator is away" },
	{ "mining", "threads", "threads", "COOPMINE_THREADS", CONF_INT, &threads,
	    "0", 0, 1024, 0, "hashing threads (0: one per online CPU)" },
	{ "mining", "huge_pages", "huge-pages", "COOPMINE_HUGE_PAGES", CONF_STR,
	    &huge_pages, "auto", 0, 0, 0,
	    "auto|reserved|thp|off (auto: reserved, else transparent, else 4 KiB)" },
	{ "mining", "mode", "mode", "COOPMINE_MODE", CONF_STR, &mode, "full", 0, 0,
	    0, "full (2080 MiB dataset, fast) or light (256 MiB, slow)" },
	{ "mining", "affinity", "affinity", "COOPMINE_AFFINITY", CONF_BOOL,
	    &affinity, "false", 0, 0, 0, "pin hashing thread i to CPU i" },
	{ "log", "level", "log-level", "COOPMINE_LOG_LEVEL", CONF_STR, &log_level,
	    "info", 0, 0, 0, "error|warn|info|debug" },
	{ "log", "syslog", "syslog", "COOPMINE_SYSLOG", CONF_BOOL, &use_syslog,
	    "false", 0, 0, 0, "also log to syslog" },
	{ "log", "print_interval", "print-interval", NULL, CONF_DURATION,
	    &print_interval_ms, "60s", 1000, 86400000, 0,
	    "how often the speed line is logged" },
	{ NULL, NULL, "bench", NULL, CONF_INT, &bench_n, NULL, 1, 4294967296.0, 0,
	    "offline benchmark over N nonces, checked against known checksums" },
	{ NULL, NULL, "light", NULL, CONF_BOOL, &light, "false", 0, 0, 0,
	    "light mode (same as --mode light)" },
};

static const struct conf_spec spec = {
	"coopmine-worker",
	"RandomX mining worker of a CoopMine cluster (or --bench N offline).",
	opts, sizeof(opts) / sizeof(opts[0])
};

/* Checks the values conf.c cannot (enumerations, what goes together). */
static int
check_config(struct miner_config *mc, enum log_level *lvl, char *err,
    size_t errlen)
{
	memset(mc, 0, sizeof(*mc));
	mc->threads = (int)threads;
	mc->affinity = affinity;
	if (rx_pages_parse(huge_pages, &mc->pages) != 0) {
		snprintf(err, errlen, "[mining] huge_pages (--huge-pages): '%s' is "
		    "not one of auto, reserved, thp, off", huge_pages);
		return -1;
	}
	if (strcmp(mode, "full") == 0)
		mc->mode = RX_FULL;
	else if (strcmp(mode, "light") == 0)
		mc->mode = RX_LIGHT;
	else {
		snprintf(err, errlen, "[mining] mode (--mode): '%s' is not full or "
		    "light", mode);
		return -1;
	}
	if (light)
		mc->mode = RX_LIGHT;
	if (log_level_parse(log_level, lvl) != 0) {
		snprintf(err, errlen, "[log] level (--log-level): '%s' is not one of "
		    "error, warn, info, debug", log_level);
		return -1;
	}
	if (bench_n > 0) {
		if (bench_known((uint64_t)bench_n) == NULL) {
			char list[256];
			bench_known_list(list, sizeof(list));
			snprintf(err, errlen, "--bench: no known checksum for N=%" PRId64
			    "; use one of %s", bench_n, list);
			return -1;
		}
		return 0;
	}
	if (backoff_max_ms < backoff_min_ms) {
		snprintf(err, errlen, "[coordinator] reconnect_max (--reconnect-max): "
		    "shorter than reconnect_min");
		return -1;
	}
	if (coordinators.n == 0) {
		snprintf(err, errlen, "[coordinator] address (--coordinator, env "
		    "COOPMINE_COORDINATOR): required to mine (or run --bench N)");
		return -1;
	}
	if (worker_id == NULL || *worker_id == '\0') {
		snprintf(err, errlen, "[worker] id (--worker-id, env "
		    "COOPMINE_WORKER_ID): required to mine");
		return -1;
	}
	if (!insecure) {
		const char *missing = tls_ca == NULL ? "[coordinator] tls_ca (--tls-ca)" :
		    tls_cert == NULL ? "[coordinator] tls_cert (--tls-cert)" :
		    tls_key == NULL ? "[coordinator] tls_key (--tls-key)" : NULL;
		if (missing != NULL) {
			snprintf(err, errlen, "%s: required with TLS (mutual TLS is "
			    "the default; --insecure for plaintext)", missing);
			return -1;
		}
	}
	return 0;
}

static int
run_online(const struct miner_config *mc)
{
	struct worker_opts wo;
	struct worker *w;
	sigset_t set;
	int64_t wd_ms, wd_next;
	int rc = 0;

	memset(&wo, 0, sizeof(wo));
	wo.client.coordinators = (const char *const *)coordinators.items;
	wo.client.ncoordinators = coordinators.n;
	wo.client.worker_id = worker_id;
	wo.client.worker_name = worker_name != NULL ? worker_name : worker_id;
	wo.client.threads = mc->threads;
	if (wo.client.threads <= 0) {
		long n = sysconf(_SC_NPROCESSORS_ONLN);
		wo.client.threads = n > 0 ? (int)n : 1;
	}
	wo.client.ca_file = tls_ca;
	wo.client.cert_file = tls_cert;
	wo.client.key_file = tls_key;
	wo.client.insecure = insecure;
	wo.client.backoff_min_ms = backoff_min_ms;
	wo.client.backoff_max_ms = backoff_max_ms;
	wo.client.share_queue_max = (size_t)share_queue;
	wo.miner = *mc;
	wo.print_interval_ms = print_interval_ms;

	/* Signals are taken by this thread only (sigtimedwait below). */
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);

	if ((w = worker_new(&wo)) == NULL)
		return 1;
	if (insecure)
		log_warnx("worker: --insecure: talking to the coordinator in "
		    "plaintext, without authentication");
	if (worker_start(w) != 0) {
		log_error("worker: cannot start the coordinator client");
		worker_free(w);
		return 1;
	}
	sdnotify_send("READY=1");
	wd_ms = sdnotify_watchdog_ms();
	wd_next = clock_mono_ms();
	for (;;) {
		struct timespec ts = { 1, 0 };
		int sig = sigtimedwait(&set, NULL, &ts);

		if (sig == SIGINT || sig == SIGTERM) {
			log_info("worker: %s, stopping", strsignal(sig));
			sdnotify_send("STOPPING=1");
			break;
		}
		/* The loop wakes at least every second; systemd's watchdog
		 * wants a sign of life every wd_ms. */
		if (wd_ms > 0 && clock_mono_ms() >= wd_next) {
			sdnotify_send("WATCHDOG=1");
			wd_next = clock_mono_ms() + (wd_ms < 1000 ? wd_ms : 1000);
		}
		if (sig == SIGHUP)
			log_info("worker: SIGHUP: nothing to reload");
		if (worker_tick(w, clock_mono_ms()) != 0) {
			log_info("worker: stopping on the coordinator's request");
			break;
		}
	}
	worker_free(w);
	log_info("worker: stopped");
	return rc;
}

int
main(int argc, char **argv)
{
	struct miner_config mc;
	enum log_level lvl = LOG_LVL_INFO;
	char err[512];
	int rc;

	log_init("coopmine-worker", LOG_LVL_INFO, 0);
	rc = conf_load(&spec, argc, argv, err, sizeof(err));
	if (rc == 1) {
		conf_free(&spec);
		return 0;
	}
	if (rc != 0 || check_config(&mc, &lvl, err, sizeof(err)) != 0) {
		fprintf(stderr, "coopmine-worker: %s\n", err);
		conf_free(&spec);
		return 2;
	}
	log_init("coopmine-worker", lvl, use_syslog);
	if (bench_n > 0) {
		rc = bench_run(&mc, (uint64_t)bench_n);
	} else {
		conf_log(&spec);
		fdlimit_raise("worker");
		rc = run_online(&mc);
	}
	conf_free(&spec);
	return rc;
}
