/*
 * main.c: coopmine-coordinator.  Reads the configuration (INI < COOPMINE_*
 * environment < flags, with the seed's names), builds the coordinator
 * (core.c) and waits for signals: SIGTERM/SIGINT stop it cleanly (the
 * ledger is flushed), SIGHUP reopens the log file.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <grpc/grpc.h>

#include "common/conf.h"
#include "common/fdlimit.h"
#include "common/log.h"
#include "common/netaddr.h"
#include "coordinator/core.h"
#include "coordinator/dash_json.h"
#include "coordinator/pool_conf.h"
#include "rpc/grpclog.h"

static char *cluster_id, *cluster_name, *grpc_listen;
static char *tls_cert, *tls_key, *tls_ca, *log_level, *log_file;
static int insecure, insecure_public, use_syslog;
static int64_t heartbeat_ms, job_timeout_ms, keepalive_ms, grpc_threads;
static struct pool_settings ps;
static char *ledger_path, *ledger_sync, *verify_mode;
static char *pplns_scheme, *pplns_fee_owner;
static int64_t max_workers;
static double verify_budget;
static int64_t batch_rows, batch_ms, hb_retention, verify_threads, verify_queue;
static double window_factor;
static int64_t window_abs, fee_bps, block_reward;
static int64_t share_interval, retarget, min_diff, max_diff;
static int64_t lease_secs, renew_secs, lease_min, hashrate_guess, outbox_max;
static int64_t max_invalid, invalid_window;
static double share_rate, share_burst;
static int64_t sessions_max;
static char *dash_listen, *dash_ws_listen, *dash_static, *dash_token;
static int64_t dash_ws_max;
static struct conf_list dash_hosts, dash_origins;

static const struct conf_opt opts[] = {
	{ "cluster", "id", "cluster-id", "COOPMINE_CLUSTER_ID", CONF_STR,
	  &cluster_id, "coopmine", 0, 0, 0, "cluster id told to workers" },
	{ "cluster", "name", "cluster-name", "COOPMINE_CLUSTER_NAME", CONF_STR,
	  &cluster_name, "CoopMine cluster", 0, 0, 0, "cluster name told to workers" },
	{ "grpc", "listen", "grpc-listen", "COOPMINE_GRPC_LISTEN", CONF_STR,
	  &grpc_listen, ":50051", 0, 0, 0,
	  "gRPC address for workers (host:port; :port = all addresses)" },
	{ "grpc", "tls_cert", "tls-cert", "COOPMINE_TLS_CERT", CONF_STR,
	  &tls_cert, "certs/server.crt", 0, 0, 0, "coordinator certificate (PEM)" },
	{ "grpc", "tls_key", "tls-key", "COOPMINE_TLS_KEY", CONF_STR,
	  &tls_key, "certs/server.key", 0, 0, 0,
	  "coordinator private key (PEM, mode 0600)" },
	{ "grpc", "tls_ca", "tls-ca", "COOPMINE_TLS_CA", CONF_STR,
	  &tls_ca, "certs/ca.crt", 0, 0, 0,
	  "cluster CA: workers must present a certificate it signed" },
	{ "grpc", "insecure", "insecure", "COOPMINE_INSECURE", CONF_BOOL,
	  &insecure, "false", 0, 0, 0,
	  "plaintext gRPC, unauthenticated workers (testing only; loopback "
	  "listen addresses only unless insecure_public is set too)" },
	{ "grpc", "insecure_public", "insecure-public", "COOPMINE_INSECURE_PUBLIC",
	  CONF_BOOL, &insecure_public, "false", 0, 0, 0,
	  "with insecure: allow plaintext gRPC on a non-loopback address (anyone "
	  "who reaches it can register and submit as any worker)" },
	{ "grpc", "threads", "grpc-threads", "COOPMINE_GRPC_THREADS", CONF_INT,
	  &grpc_threads, "2", 1, 16, 0, "completion-queue threads" },
	{ "grpc", "keepalive", "grpc-keepalive", "COOPMINE_GRPC_KEEPALIVE",
	  CONF_DURATION, &keepalive_ms, "0", 0, 3600000, 0,
	  "transport keepalive ping interval (0: the heartbeat interval)" },
	{ "coordinator", "heartbeat_interval", "heartbeat-interval",
	  "COOPMINE_HEARTBEAT_INTERVAL", CONF_DURATION, &heartbeat_ms, "30s",
	  100, 3600000, 0, "how often workers report; offline after 3 missed" },
	{ "coordinator", "job_timeout", "job-timeout", "COOPMINE_JOB_TIMEOUT",
	  CONF_DURATION, &job_timeout_ms, "5m", 1000, 86400000, 0,
	  "with no pool for this long, workers pause instead of mining air" },
	POOL_CONF_OPTS(ps),
	{ "pool", "sessions_max", "pool-sessions-max", NULL, CONF_INT,
	  &sessions_max, "4", 1, JOBS_SOURCES_MAX, 0,
	  "pool sessions to open when the current jobs' nonce spaces are used up" },
	{ "ledger", "path", "ledger-path", "COOPMINE_LEDGER_PATH", CONF_STR,
	  &ledger_path, "ledger.db", 0, 0, 0, "the SQLite ledger file" },
	{ "ledger", "synchronous", "ledger-synchronous", "COOPMINE_LEDGER_SYNCHRONOUS",
	  CONF_STR, &ledger_sync, "full", 0, 0, 0,
	  "off | normal | full | extra (full: a share is on disk before it is "
	  "acknowledged)" },
	{ "ledger", "batch_rows", "ledger-batch-rows", NULL, CONF_INT, &batch_rows,
	  "256", 1, 100000, 0, "rows per group commit at most" },
	{ "ledger", "batch_ms", "ledger-batch-ms", NULL, CONF_INT, &batch_ms, "5",
	  0, 1000, 0, "how long a group commit may wait for more rows" },
	{ "ledger", "heartbeat_retention", "ledger-heartbeat-retention", NULL,
	  CONF_DURATION, &hb_retention, "7d", 0, 9e18, 0,
	  "heartbeat rows older than this become hourly aggregates (0: keep)" },
	{ "pplns", "window_factor", "pplns-window-factor", "COOPMINE_PPLNS_WINDOW_FACTOR",
	  CONF_DOUBLE, &window_factor, "2", 0.001, 1000, 0,
	  "PPLNS window N as a multiple of the block's network difficulty" },
	{ "pplns", "window", "pplns-window", "COOPMINE_PPLNS_WINDOW", CONF_INT,
	  &window_abs, "0", 0, 9e18, 0, "absolute PPLNS window N (wins when > 0)" },
	{ "pplns", "fee_bps", "pplns-fee-bps", "COOPMINE_PPLNS_FEE_BPS", CONF_INT,
	  &fee_bps, "0", 0, 10000, 0, "coordinator fee in basis points" },
	{ "pplns", "block_reward", "pplns-block-reward", "COOPMINE_PPLNS_BLOCK_REWARD",
	  CONF_INT, &block_reward, "0", 0, 9e18, 0,
	  "reward of a block in atomic units when known (0: give it at report time)" },
	{ "pplns", "scheme", "pplns-scheme", "COOPMINE_PPLNS_SCHEME", CONF_STR,
	  &pplns_scheme, "pplns", 0, 0, 0, "how income is split: pplns | prop" },
	{ "pplns", "fee_owner", "pplns-fee-owner", "COOPMINE_PPLNS_FEE_OWNER",
	  CONF_STR, &pplns_fee_owner, "operator", 0, 0, 0,
	  "the owner credited with the fee" },
	{ "verify", "mode", "verify", "COOPMINE_VERIFY", CONF_STR, &verify_mode,
	  "light", 0, 0, 0, "light | full | none: how shares are recomputed" },
	{ "verify", "threads", "verify-threads", "COOPMINE_VERIFY_THREADS", CONF_INT,
	  &verify_threads, "1", 1, 64, 0, "verification threads" },
	{ "verify", "queue", "verify-queue", NULL, CONF_INT, &verify_queue, "1024",
	  1, 1000000, 0, "shares waiting for verification before workers are "
	  "asked to retry" },
	{ "verify", "budget", "verify-budget", "COOPMINE_VERIFY_BUDGET",
	  CONF_DOUBLE, &verify_budget, "0", 0, 1e9, 0, "shares/s the cluster may "
	  "send to verification; share difficulties rise with the number of "
	  "workers to stay within it (0: half of what the verification threads "
	  "were measured to hash)" },
	{ "vardiff", "share_interval", "share-interval", "COOPMINE_SHARE_INTERVAL",
	  CONF_DURATION, &share_interval, "15s", 100, 3600000, 0,
	  "wanted time between one worker's shares" },
	{ "vardiff", "retarget", "vardiff-retarget", NULL, CONF_DURATION, &retarget,
	  "60s", 100, 3600000, 0, "how often a worker's difficulty may change" },
	{ "vardiff", "min_difficulty", "min-difficulty", NULL, CONF_INT, &min_diff,
	  "100", 1, 9e18, 0, "lowest share difficulty" },
	{ "vardiff", "max_difficulty", "max-difficulty", NULL, CONF_INT, &max_diff,
	  "1000000000000", 1, 9e18, 0, "highest share difficulty" },
	{ "leases", "seconds", "lease-seconds", NULL, CONF_INT, &lease_secs, "120",
	  1, 86400, 0, "a lease is this many seconds of a worker's hashing" },
	{ "leases", "renew", "lease-renew", NULL, CONF_INT, &renew_secs, "30", 1,
	  86400, 0, "renew a lease when fewer seconds of it are left" },
	{ "leases", "min", "lease-min", NULL, CONF_INT, &lease_min, "4096", 1,
	  16777216, 0, "smallest lease, in nonces" },
	{ "leases", "hashrate_guess", "hashrate-guess", NULL, CONF_INT,
	  &hashrate_guess, "200", 1, 1000000, 0,
	  "H/s per thread assumed for a new worker until it reports" },
	{ "workers", "max_invalid", "max-invalid", "COOPMINE_MAX_INVALID",
	  CONF_INT, &max_invalid, "20", 0, 1000000, 0, "invalid shares (bad "
	  "hash, low difficulty) within invalid_window that quarantine a worker "
	  "(0: never)" },
	{ "workers", "invalid_window", "invalid-window", NULL, CONF_DURATION,
	  &invalid_window, "10m", 1000, 86400000, 0,
	  "the window max_invalid counts in" },
	{ "workers", "max", "max-workers", "COOPMINE_MAX_WORKERS", CONF_INT,
	  &max_workers, "10000", 1, 10000000, 0, "worker identities the "
	  "coordinator keeps at once (a new one beyond this is refused)" },
	{ "workers", "share_rate", "worker-share-rate", NULL, CONF_DOUBLE,
	  &share_rate, "20", 0.01, 1000000, 0, "shares per second one worker may "
	  "send to verification (more are told to retry)" },
	{ "workers", "share_burst", "worker-share-burst", NULL, CONF_DOUBLE,
	  &share_burst, "40", 1, 1000000, 0,
	  "shares one worker may send at once above its rate" },
	{ "coordinator", "outbox_max", "outbox-max", NULL, CONF_INT, &outbox_max,
	  "100000", 1, 100000000, 0, "shares kept for a pool that is away" },
	{ "dashboard", "listen", "dashboard-listen", "COOPMINE_DASHBOARD_LISTEN",
	  CONF_STR, &dash_listen, "127.0.0.1:8080", 0, 0, 0,
	  "dashboard, REST API, /metrics, /health (empty: off)" },
	{ "dashboard", "ws_listen", "dashboard-ws-listen", "COOPMINE_DASHBOARD_WS_LISTEN",
	  CONF_STR, &dash_ws_listen, "127.0.0.1:8081", 0, 0, 0,
	  "live feed WebSocket listener (path /ws)" },
	{ "dashboard", "static_dir", "dashboard-static-dir", NULL, CONF_STR,
	  &dash_static, NULL, 0, 0, 0,
	  "serve the page from here instead of the installed www/" },
	{ "dashboard", "token", "dashboard-token", "COOPMINE_DASHBOARD_TOKEN",
	  CONF_STR, &dash_token, NULL, 0, 0, 1,
	  "bearer token for pause/resume/kick (unset: those are disabled)" },
	{ "dashboard", "ws_max_clients", "dashboard-ws-max-clients", NULL, CONF_INT,
	  &dash_ws_max, "64", 1, 10000, 0, "live feed clients at most" },
	{ "dashboard", "allowed_hosts", "dashboard-allowed-hosts",
	  "COOPMINE_DASHBOARD_ALLOWED_HOSTS", CONF_LIST, &dash_hosts, NULL, 0, 0, 0,
	  "Host headers the dashboard answers (name, name:port, [v6]:port, *; "
	  "unset: the listen address, localhost, 127.0.0.1, [::1] with its port)" },
	{ "dashboard", "allowed_origins", "dashboard-allowed-origins",
	  "COOPMINE_DASHBOARD_ALLOWED_ORIGINS", CONF_LIST, &dash_origins, NULL, 0, 0,
	  0, "Origins a browser may open the live feed from (http[s]://name[:port], "
	  "*; unset: http and https of the allowed hosts)" },
	{ "log", "level", "log-level", "COOPMINE_LOG_LEVEL", CONF_STR,
	  &log_level, "info", 0, 0, 0, "error | warn | info | debug" },
	{ "log", "file", "log-file", "COOPMINE_LOG_FILE", CONF_STR,
	  &log_file, NULL, 0, 0, 0, "append logs to this file (reopened on SIGHUP)" },
	{ "log", "syslog", "syslog", "COOPMINE_SYSLOG", CONF_BOOL,
	  &use_syslog, "false", 0, 0, 0, "also log to syslog" },
};
static const struct conf_spec spec = {
	"coopmine-coordinator",
	"the CoopMine coordinator: one pool connection, many workers, every share "
	"verified and recorded",
	opts, sizeof(opts) / sizeof(opts[0])
};

/* Plaintext gRPC lets anyone who reaches the port register and submit as
 * any worker: on a loopback address that is a test, anywhere else the
 * operator has to say so a second time. */
static int
check_insecure(char *err, size_t errlen)
{
	char host[256];
	int port;

	if (!insecure || insecure_public)
		return 0;
	if (strncmp(grpc_listen, "unix:", 5) == 0 ||
	    strncmp(grpc_listen, "unix-abstract:", 14) == 0)
		return 0;
	if (dash_listen_parse(grpc_listen, host, sizeof(host), &port) == 0 &&
	    netaddr_is_loopback(host))
		return 0;
	snprintf(err, errlen, "[grpc] insecure (--insecure) on %s, which is not a "
	    "loopback address: anyone who reaches it could register and submit as "
	    "any worker.  Use mutual TLS, listen on 127.0.0.1, or also set [grpc] "
	    "insecure_public = true (--insecure-public, COOPMINE_INSECURE_PUBLIC) "
	    "if this network is really yours alone", grpc_listen);
	return -1;
}

/* Everything the table cannot check alone; 0 or -1 with err set. */
static int
build_config(struct core_config *cc, struct upstream_pool *pools, char *err,
    size_t errlen)
{
	enum log_level level;
	int sync;

	if (log_level_parse(log_level, &level) != 0) {
		snprintf(err, errlen, "[log] level (--log-level): '%s' is not one of "
		    "error, warn, info, debug", log_level);
		return -1;
	}
	log_set_level(level);
	if (ps.address == NULL || *ps.address == '\0') {
		snprintf(err, errlen, "[pool] address (--pool-address, "
		    "COOPMINE_POOL_ADDRESS) is required: the pool to mine for, e.g. "
		    "stratum+tcp://127.0.0.1:3333");
		return -1;
	}
	if (pool_conf_build(&ps, &cc->upstream, pools, err, errlen) != 0)
		return -1;
	cc->pool_url = ps.address;
	if ((sync = ledger_synchronous_parse(ledger_sync)) < 0) {
		snprintf(err, errlen, "[ledger] synchronous: '%s' is not one of off, "
		    "normal, full, extra", ledger_sync);
		return -1;
	}
	if (money_scheme_parse(pplns_scheme) < 0) {
		snprintf(err, errlen, "[pplns] scheme: '%s' is not pplns or prop",
		    pplns_scheme);
		return -1;
	}
	if (verify_mode_parse(verify_mode, &cc->shares.verify) != 0) {
		snprintf(err, errlen, "[verify] mode (--verify): '%s' is not one of "
		    "light, full, none", verify_mode);
		return -1;
	}
	if (min_diff > max_diff) {
		snprintf(err, errlen, "[vardiff] min_difficulty %lld is above "
		    "max_difficulty %lld", (long long)min_diff, (long long)max_diff);
		return -1;
	}
	if (renew_secs >= lease_secs) {
		snprintf(err, errlen, "[leases] renew (%lld s) must be shorter than "
		    "seconds (%lld s)", (long long)renew_secs, (long long)lease_secs);
		return -1;
	}
	if (check_insecure(err, errlen) != 0)
		return -1;
	cc->rpc.listen = grpc_listen;
	cc->rpc.cluster_id = cluster_id;
	cc->rpc.cluster_name = cluster_name;
	cc->rpc.heartbeat_ms = heartbeat_ms;
	cc->rpc.job_timeout_ms = job_timeout_ms;
	cc->rpc.keepalive_ms = keepalive_ms;
	cc->rpc.threads = (int)grpc_threads;
	cc->rpc.insecure = insecure;
	cc->rpc.tls_ca = tls_ca;
	cc->rpc.tls_cert = tls_cert;
	cc->rpc.tls_key = tls_key;

	ledger_opts_default(&cc->ledger);
	cc->ledger.path = ledger_path;
	cc->ledger.synchronous = sync;
	cc->ledger.batch_rows = (int)batch_rows;
	cc->ledger.batch_ms = (int)batch_ms;
	cc->ledger.heartbeat_retention_ms = hb_retention;

	cc->jobs.vardiff.target_ms = share_interval;
	cc->jobs.vardiff.retarget_ms = retarget;
	cc->jobs.vardiff.min_diff = (uint64_t)min_diff;
	cc->jobs.vardiff.max_diff = (uint64_t)max_diff;
	cc->jobs.vardiff.tolerance = 0.3;
	cc->jobs.lease_seconds = (double)lease_secs;
	cc->jobs.renew_seconds = (double)renew_secs;
	cc->jobs.lease_min = (uint64_t)lease_min;
	cc->jobs.lease_max = (uint64_t)1 << 32;
	cc->jobs.job_timeout_ms = job_timeout_ms;
	cc->jobs.keep_jobs = 16;

	cc->max_workers = (size_t)max_workers;
	cc->verify_budget = verify_budget;
	cc->shares.verify_threads = (int)verify_threads;
	cc->shares.verify_queue = (size_t)verify_queue;
	cc->shares.retry_ms = 1000;
	cc->shares.window_factor_milli = (uint64_t)(window_factor * 1000.0 + 0.5);
	cc->shares.window_abs = (uint64_t)window_abs;
	cc->shares.fee_bps = (unsigned)fee_bps;
	cc->shares.block_reward = (uint64_t)block_reward;
	cc->money.scheme = (enum money_scheme)money_scheme_parse(pplns_scheme);
	cc->money.window_factor_milli = cc->shares.window_factor_milli;
	cc->money.window_abs = cc->shares.window_abs;
	cc->money.fee_bps = cc->shares.fee_bps;
	cc->money.fee_owner = pplns_fee_owner;
	cc->shares.outbox_max = (size_t)outbox_max;
	cc->limits.max_invalid = (unsigned)max_invalid;
	cc->limits.window_ms = invalid_window;
	cc->limits.rate = share_rate;
	cc->limits.burst = share_burst;
	cc->limits.inflight_max = (unsigned)verify_queue;
	cc->hashrate_per_thread = (double)hashrate_guess;
	cc->max_sessions = (unsigned)sessions_max;

	cc->dash_listen = dash_listen;
	cc->dash_ws_listen = dash_ws_listen;
	cc->dash_static_dir = dash_static;
	cc->dash_token = dash_token;
	cc->dash_ws_max_clients = (size_t)dash_ws_max;
	cc->dash_allowed_hosts = dash_hosts.items;
	cc->ndash_allowed_hosts = dash_hosts.n;
	cc->dash_allowed_origins = dash_origins.items;
	cc->ndash_allowed_origins = dash_origins.n;
	cc->ledger_sync_name = ledger_sync;
	return 0;
}

int
main(int argc, char **argv)
{
	struct core_config cc;
	struct upstream_pool pools[POOL_CONF_MAX];
	struct core *core = NULL;
	sigset_t sigs;
	char err[1024];
	int rc, sig, status = 0;

	log_init("coopmine-coordinator", LOG_LVL_INFO, 0);
	memset(&cc, 0, sizeof(cc));
	if ((rc = conf_load(&spec, argc, argv, err, sizeof(err))) != 0) {
		if (rc < 0)
			fprintf(stderr, "coopmine-coordinator: %s\n", err);
		conf_free(&spec);
		return rc < 0 ? 2 : 0;
	}
	if (build_config(&cc, pools, err, sizeof(err)) != 0) {
		fprintf(stderr, "coopmine-coordinator: %s\n", err);
		conf_free(&spec);
		return 2;
	}
	log_init("coopmine-coordinator", log_get_level(), use_syslog);
	if (log_file != NULL && log_reopen(log_file) != 0) {
		fprintf(stderr, "coopmine-coordinator: cannot open log file %s: %s\n",
		    log_file, strerror(errno));
		conf_free(&spec);
		return 2;
	}
	conf_log(&spec);
	/* One descriptor per worker connection: the soft default (1024)
	 * would cap the cluster long before anything else does. */
	fdlimit_raise("coordinator");

	/* Signals are taken synchronously by this thread; every other thread
	 * (gRPC's included) inherits the blocked mask. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);

	grpc_init();
	rpc_grpclog_init();
	if ((core = core_new(&cc, err, sizeof(err))) == NULL) {
		log_error("%s", err);
		status = 1;
		goto out;
	}
	if ((rc = core_start(core)) != 0) {
		log_error("cannot start: %s", strerror(-rc));
		status = 1;
		goto out;
	}
	log_info("coordinator up: cluster %s, gRPC port %d, pool %s, verify %s, "
	    "ledger %s", cluster_id, core_grpc_port(core), cc.pool_url,
	    verify_mode, ledger_path);

	for (;;) {
		if (sigwait(&sigs, &sig) != 0)
			continue;
		if (sig == SIGHUP) {
			log_info("SIGHUP: reopening the log");
			if (log_file != NULL && log_reopen(log_file) != 0)
				log_warn("cannot reopen %s", log_file);
			core_reload(core);
			continue;
		}
		log_info("%s: stopping", sig == SIGTERM ? "SIGTERM" : "SIGINT");
		break;
	}
out:
	core_free(core);
	grpc_shutdown();
	conf_free(&spec);
	if (status == 0)
		log_info("stopped; the ledger is flushed");
	return status;
}
