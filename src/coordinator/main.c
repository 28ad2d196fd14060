/*
 * main.c: coopmine-coordinator.  Reads the configuration (INI < COOPMINE_*
 * environment < flags, with the seed's names), builds the coordinator
 * (core.c) and waits for signals: SIGTERM/SIGINT stop it cleanly (the
 * ledger is flushed), SIGHUP reopens the log file and reloads the
 * configuration from the same file, environment and flags (reload_config).
 * Tells systemd when it is ready, alive and stopping (sdnotify.c); started
 * as root, it becomes --user once its ports and files are open
 * (privdrop.c).
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <grpc/grpc.h>

#include "common/conf.h"
#include "common/fdlimit.h"
#include "common/log.h"
#include "common/netaddr.h"
#include "common/privdrop.h"
#include "common/sdnotify.h"
#include "coordinator/core.h"
#include "coordinator/dash_json.h"
#include "coordinator/node_conf.h"
#include "coordinator/pool_conf.h"
#include "rpc/grpclog.h"

static char *cluster_id, *cluster_name, *grpc_listen;
static char *tls_cert, *tls_key, *tls_ca, *log_level, *log_file, *log_format;
static int insecure, insecure_public, use_syslog, allow_root;
static char *run_user;
static int64_t heartbeat_ms, job_timeout_ms, keepalive_ms, grpc_threads;
static struct pool_settings ps;
static struct node_settings ns;
static struct upstream_node node_cfg;
static char *ledger_path, *ledger_sync, *verify_mode;
static char *pplns_scheme, *pplns_fee_owner;
static int64_t max_workers;
static double verify_budget;
static int64_t batch_rows, batch_ms, hb_retention, verify_threads, verify_queue;
static int64_t share_retention;
static double window_factor;
static int64_t window_abs, fee_bps, block_reward;
static int64_t share_interval, retarget, min_diff, max_diff;
static int64_t lease_secs, renew_secs, lease_min, hashrate_guess, outbox_max;
static int64_t max_invalid, invalid_window;
static double share_rate, share_burst;
static int64_t sessions_max;
static char *dash_listen, *dash_ws_listen, *dash_static, *dash_token;
static char *dash_ws_url, *alerts_exec;
static int64_t alerts_debounce, alerts_timeout;
static int64_t dash_ws_max;
static int64_t metrics_retention;
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
	{ "coordinator", "user", "user", "COOPMINE_USER", CONF_STR, &run_user,
	  NULL, 0, 0, 0, "started as root: become this user once the ports, "
	  "the ledger and the log are open" },
	{ "coordinator", "allow_root", "allow-root", "COOPMINE_ALLOW_ROOT",
	  CONF_BOOL, &allow_root, "false", 0, 0, 0,
	  "run as root without a user to become (refused otherwise)" },
	POOL_CONF_OPTS(ps),
	NODE_CONF_OPTS(ns),
	{ "pool", "sessions_max", "pool-sessions-max", NULL, CONF_INT,
	  &sessions_max, "4", 1, JOBS_SOURCES_MAX, 0,
	  "pool sessions to open when the current jobs' nonce spaces are used up" },
	{ "ledger", "path", "ledger-path", "COOPMINE_LEDGER_PATH", CONF_STR,
	  &ledger_path, COOPMINE_STATEDIR "/ledger.db", 0, 0, 0,
	  "the SQLite ledger file" },
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
	{ "ledger", "retention", "ledger-retention", "COOPMINE_LEDGER_RETENTION",
	  CONF_DURATION, &share_retention, "90d", 0, 9e18, 0,
	  "shares older than this (and outside every PPLNS window still "
	  "needed) become per-worker hourly rollups (0: keep every share)" },
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
	{ "dashboard", "ws_url", "dashboard-ws-url", "COOPMINE_DASHBOARD_WS_URL",
	  CONF_STR, &dash_ws_url, NULL, 0, 0, 0,
	  "the live feed's public URL for the page (e.g. wss://host/ws behind a "
	  "reverse proxy; unset: the page's host and the feed's port)" },
	{ "dashboard", "ws_max_clients", "dashboard-ws-max-clients", NULL, CONF_INT,
	  &dash_ws_max, "64", 1, 10000, 0, "live feed clients at most" },
	{ "dashboard", "metrics_retention", "dashboard-metrics-retention",
	  "COOPMINE_DASHBOARD_METRICS_RETENTION", CONF_DURATION,
	  &metrics_retention, "24h", 1000, 31536000000LL, 0, "how long an "
	  "offline worker keeps its series in /metrics (bounds their number)" },
	{ "dashboard", "allowed_hosts", "dashboard-allowed-hosts",
	  "COOPMINE_DASHBOARD_ALLOWED_HOSTS", CONF_LIST, &dash_hosts, NULL, 0, 0, 0,
	  "Host headers the dashboard answers (name, name:port, [v6]:port, *; "
	  "unset: the listen address, localhost, 127.0.0.1, [::1] with its port)" },
	{ "dashboard", "allowed_origins", "dashboard-allowed-origins",
	  "COOPMINE_DASHBOARD_ALLOWED_ORIGINS", CONF_LIST, &dash_origins, NULL, 0, 0,
	  0, "Origins a browser may open the live feed from (http[s]://name[:port], "
	  "*; unset: http and https of the allowed hosts)" },
	{ "alerts", "exec", "alerts-exec", "COOPMINE_ALERTS_EXEC", CONF_STR,
	  &alerts_exec, NULL, 0, 0, 0, "run this command (through /bin/sh) for "
	  "each alert, one JSON event on its stdin (unset: no alerts)" },
	{ "alerts", "debounce", "alerts-debounce", "COOPMINE_ALERTS_DEBOUNCE",
	  CONF_DURATION, &alerts_debounce, "5m", 0, 86400000, 0,
	  "the same alert for the same subject at most once per this" },
	{ "alerts", "timeout", "alerts-timeout", "COOPMINE_ALERTS_TIMEOUT",
	  CONF_DURATION, &alerts_timeout, "10s", 100, 3600000, 0,
	  "a run of the alert command longer than this is killed" },
	{ "log", "level", "log-level", "COOPMINE_LOG_LEVEL", CONF_STR,
	  &log_level, "info", 0, 0, 0, "error | warn | info | debug" },
	{ "log", "format", "log-format", "COOPMINE_LOG_FORMAT", CONF_STR,
	  &log_format, "text", 0, 0, 0,
	  "text | json (one object per line: time, level, component, message)" },
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
	enum log_format fmt;
	int sync;

	if (log_level_parse(log_level, &level) != 0) {
		snprintf(err, errlen, "[log] level (--log-level): '%s' is not one of "
		    "error, warn, info, debug", log_level);
		return -1;
	}
	if (log_format_parse(log_format, &fmt) != 0) {
		snprintf(err, errlen, "[log] format (--log-format): '%s' is not "
		    "text or json", log_format);
		return -1;
	}
	if (node_conf_wanted(&ns)) {
		/* Solo mining on the cooperative's own node: no pool. */
		if (node_conf_build(&ns, ps.address, &node_cfg, err, errlen) != 0)
			return -1;
		memset(&cc->upstream, 0, sizeof(cc->upstream));
		cc->upstream.node = &node_cfg;
		cc->pool_url = ns.url;
	} else {
		if (ps.address == NULL || *ps.address == '\0') {
			snprintf(err, errlen, "[pool] address (--pool-address, "
			    "COOPMINE_POOL_ADDRESS) or [node] url (--node-url, "
			    "COOPMINE_NODE_URL) is required: the pool to mine for, "
			    "e.g. stratum+tcp://127.0.0.1:3333, or the OpenSY node "
			    "to mine on");
			return -1;
		}
		if (pool_conf_build(&ps, &cc->upstream, pools, err, errlen) != 0)
			return -1;
		cc->pool_url = ps.address;
	}
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
	cc->shares.node_maturity = ns.maturity;
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
	cc->ledger.share_retention_ms = share_retention;
	cc->ledger.retention_prop = cc->money.scheme == MONEY_PROP;
	cc->ledger.retention_window_factor_milli = cc->money.window_factor_milli;
	cc->ledger.retention_window_abs = cc->money.window_abs;
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
	cc->dash_ws_url = dash_ws_url;
	cc->dash_ws_max_clients = (size_t)dash_ws_max;
	cc->metrics_retention_ms = metrics_retention;
	cc->dash_allowed_hosts = dash_hosts.items;
	cc->ndash_allowed_hosts = dash_hosts.n;
	cc->dash_allowed_origins = dash_origins.items;
	cc->ndash_allowed_origins = dash_origins.n;
	cc->ledger_sync_name = ledger_sync;
	cc->alerts.exec = alerts_exec;
	cc->alerts.cluster_id = cluster_id;
	cc->alerts.debounce_ms = alerts_debounce;
	cc->alerts.timeout_ms = alerts_timeout;
	cc->alerts.queue_max = 64;
	return 0;
}

/* Waits for a signal; with systemd's watchdog, wakes every wd_ms to say
 * the main loop is alive.  Returns the signal. */
static int
wait_signal(const sigset_t *sigs, int64_t wd_ms)
{
	struct timespec ts;
	int sig;

	for (;;) {
		if (wd_ms <= 0) {
			if (sigwait(sigs, &sig) == 0)
				return sig;
			continue;
		}
		ts.tv_sec = (time_t)(wd_ms / 1000);
		ts.tv_nsec = (long)(wd_ms % 1000) * 1000000L;
		if ((sig = sigtimedwait(sigs, NULL, &ts)) > 0)
			return sig;
		if (errno == EAGAIN)
			sdnotify_send("WATCHDOG=1");
	}
}

/* After the ports, the ledger and the log are open: hand the coordinator's
 * own files to the user it becomes, then become it. */
static int
drop_privileges(const struct privdrop *pd, char *err, size_t errlen)
{
	static const char *const suffix[] = { "", "-wal", "-shm" };
	char path[4096];

	if (!pd->active)
		return 0;
	for (size_t i = 0; i < 3; i++) {
		snprintf(path, sizeof(path), "%s%s", ledger_path, suffix[i]);
		if (privdrop_chown(pd, path, err, errlen) != 0)
			return -1;
	}
	if (privdrop_chown(pd, log_file, err, errlen) != 0 ||
	    privdrop_drop(pd, err, errlen) != 0)
		return -1;
	log_info("running as user %s (uid %lu)", pd->name,
	    (unsigned long)pd->uid);
	return 0;
}

/* Keys SIGHUP applies ("section" alone: all of its keys); every other key
 * that changed keeps its running value until a restart. */
static const struct {
	const char *section, *key;
	unsigned what;
} live_keys[] = {
	{ "pool", NULL, CORE_RELOAD_POOLS },
	{ "vardiff", NULL, CORE_RELOAD_VARDIFF },
	{ "workers", NULL, CORE_RELOAD_LIMITS },
	{ "dashboard", "token", CORE_RELOAD_TOKEN },
	{ "dashboard", "allowed_hosts", CORE_RELOAD_ALLOW },
	{ "dashboard", "allowed_origins", CORE_RELOAD_ALLOW },
	{ "log", "level", 0 },
	{ "log", "format", 0 },
	{ "log", "file", 0 },
};

/* The CORE_RELOAD_ part of option o, or -1 when it needs a restart. */
static int
live_key(const struct conf_opt *o)
{
	if (o->section == NULL)
		return -1;
	if (strcmp(o->section, "pool") == 0 && strcmp(o->key, "sessions_max") == 0)
		return -1;
	for (size_t i = 0; i < sizeof(live_keys) / sizeof(live_keys[0]); i++)
		if (strcmp(o->section, live_keys[i].section) == 0 &&
		    (live_keys[i].key == NULL || strcmp(o->key, live_keys[i].key)
		    == 0))
			return (int)live_keys[i].what;
	return -1;
}

/* Values replaced by reloads: the running modules may still point into
 * them, so they live until exit. */
static struct conf_values *retired[64];
static size_t nretired;

static void
list_append(char *buf, size_t len, const char *item)
{
	size_t n = strlen(buf);

	if (n + 3 < len)
		snprintf(buf + n, len - n, "%s%s", n > 0 ? ", " : "", item);
}

/*
 * SIGHUP: the configuration again from the same file, environment and
 * flags.  One log line says what changed and what needs a restart; a
 * configuration that does not load (or that the modules refuse) is
 * refused with the reason and the running one stays, values included.
 */
static void
reload_config(struct core *core, int argc, char **argv)
{
	struct core_config ncc;
	struct upstream_pool npools[POOL_CONF_MAX];
	struct conf_values *old;
	char err[1024], changed[1024] = "", restart[1024] = "", name[128];
	enum log_level level;
	enum log_format fmt;
	unsigned char kept[sizeof(opts) / sizeof(opts[0])] = { 0 };
	unsigned what = 0;
	int rc, log_changed = 0;

	if (nretired == sizeof(retired) / sizeof(retired[0])) {
		log_warnx("SIGHUP: configuration not reloaded: %zu reloads since "
		    "the start; restart to reload again", nretired);
		return;
	}
	if ((old = conf_values_take(&spec)) == NULL) {
		log_warnx("SIGHUP: configuration not reloaded: out of memory");
		return;
	}
	memset(&ncc, 0, sizeof(ncc));
	rc = conf_load(&spec, argc, argv, err, sizeof(err));
	if (rc == 0)
		rc = build_config(&ncc, npools, err, sizeof(err));
	if (rc == 0) {
		for (size_t i = 0; i < spec.nopts; i++) {
			int w;
			if (conf_values_equal(&spec, old, i))
				continue;
			conf_opt_name(&spec.opts[i], name, sizeof(name));
			if ((w = live_key(&spec.opts[i])) < 0) {
				list_append(restart, sizeof(restart), name);
				/* the running value stays, and so does the
				 * table's: the modules point into it */
				conf_values_swap(&spec, old, i);
				kept[i] = 1;
				continue;
			}
			list_append(changed, sizeof(changed), name);
			what |= (unsigned)w;
			if (spec.opts[i].section != NULL &&
			    strcmp(spec.opts[i].section, "log") == 0)
				log_changed = 1;
		}
		/* build again: the restart-only keys are the running ones now */
		memset(&ncc, 0, sizeof(ncc));
		rc = build_config(&ncc, npools, err, sizeof(err));
	}
	if (rc == 0 && what != 0)
		rc = core_reload(core, &ncc, what, err, sizeof(err));
	if (rc != 0) {
		/* The whole table goes back: old holds the running values. */
		for (size_t i = 0; i < spec.nopts; i++)
			if (!kept[i])
				conf_values_swap(&spec, old, i);
		conf_values_free(&spec, old);
		log_error("SIGHUP: configuration refused, the running one stays: %s",
		    rc > 0 ? "--help or --version on the command line" : err);
		return;
	}
	if (changed[0] == '\0') {
		/* Nothing live changed (a logrotate's SIGHUP): the table
		 * gets its running values back and the copies go, so such
		 * reloads never count against retired[]. */
		for (size_t i = 0; i < spec.nopts; i++)
			if (!kept[i])
				conf_values_swap(&spec, old, i);
		conf_values_free(&spec, old);
	} else
		retired[nretired++] = old;
	if (log_changed) {
		if (log_level_parse(log_level, &level) == 0)
			log_set_level(level);
		if (log_format_parse(log_format, &fmt) == 0)
			log_set_format(fmt);
		if (log_file != NULL && log_reopen(log_file) != 0)
			log_warn("cannot open the log file %s", log_file);
	}
	log_info("SIGHUP: configuration reloaded: changed: %s; needs a restart: "
	    "%s", changed[0] ? changed : "nothing", restart[0] ? restart :
	    "nothing");
}

int
main(int argc, char **argv)
{
	struct privdrop pd;
	int64_t wd_ms;
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
	if (privdrop_check(&pd, run_user, allow_root, "--allow-root ([coordinator] "
	    "allow_root, COOPMINE_ALLOW_ROOT)", err, sizeof(err)) != 0) {
		fprintf(stderr, "coopmine-coordinator: %s\n", err);
		conf_free(&spec);
		return 2;
	}
	{
		enum log_level level = LOG_LVL_INFO;
		enum log_format fmt = LOG_FMT_TEXT;
		(void)log_level_parse(log_level, &level);
		(void)log_format_parse(log_format, &fmt);
		log_init("coopmine-coordinator", level, use_syslog);
		log_set_format(fmt);
	}
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
	if (drop_privileges(&pd, err, sizeof(err)) != 0) {
		log_error("%s", err);
		status = 1;
		goto out;
	}
	log_info("coordinator up: cluster %s, gRPC port %d, pool %s, verify %s, "
	    "ledger %s", cluster_id, core_grpc_port(core), cc.pool_url,
	    verify_mode, ledger_path);
	sdnotify_send("READY=1");
	if ((wd_ms = sdnotify_watchdog_ms()) > 0)
		log_info("systemd watchdog: alive every %lld ms", (long long)wd_ms);

	for (;;) {
		sig = wait_signal(&sigs, wd_ms);
		if (sig == SIGHUP) {
			/* The old file ends with this line, the new begins
			 * with the next. */
			log_info("SIGHUP: reopening the log");
			if (log_file != NULL && log_reopen(log_file) != 0)
				log_warn("cannot reopen %s", log_file);
			log_info("SIGHUP: log reopened; reloading the configuration");
			reload_config(core, argc, argv);
			continue;
		}
		log_info("%s: stopping", sig == SIGTERM ? "SIGTERM" : "SIGINT");
		sdnotify_send("STOPPING=1");
		break;
	}
out:
	core_free(core);
	grpc_shutdown();
	conf_free(&spec);
	for (size_t i = 0; i < nretired; i++)
		conf_values_free(&spec, retired[i]);
	if (status == 0)
		log_info("stopped; the ledger is flushed");
	return status;
}
