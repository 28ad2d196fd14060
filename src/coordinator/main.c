/*
 * main.c: coopmine-coordinator.  Reads the configuration (INI < COOPMINE_*
 * environment < flags, the seed's names), starts the worker registry and the
 * gRPC server, and waits for signals: SIGTERM/SIGINT stop it cleanly,
 * SIGHUP reopens the log file.
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
#include "common/log.h"
#include "coordinator/registry.h"
#include "coordinator/rpc_server.h"
#include "rpc/grpclog.h"

static char *cluster_id, *cluster_name, *grpc_listen;
static char *tls_cert, *tls_key, *tls_ca, *log_level, *log_file;
static int insecure, use_syslog;
static int64_t heartbeat_ms, job_timeout_ms, keepalive_ms, grpc_threads;

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
	  "plaintext gRPC, unauthenticated workers (testing only)" },
	{ "grpc", "threads", "grpc-threads", "COOPMINE_GRPC_THREADS", CONF_INT,
	  &grpc_threads, "2", 1, 16, 0, "completion-queue threads" },
	{ "grpc", "keepalive", "grpc-keepalive", "COOPMINE_GRPC_KEEPALIVE",
	  CONF_DURATION, &keepalive_ms, "0", 0, 3600000, 0,
	  "transport keepalive ping interval (0: the heartbeat interval)" },
	{ "coordinator", "heartbeat_interval", "heartbeat-interval",
	  "COOPMINE_HEARTBEAT_INTERVAL", CONF_DURATION, &heartbeat_ms, "30s",
	  100, 3600000, 0,
	  "how often workers report; offline after 3 missed" },
	{ "coordinator", "job_timeout", "job-timeout", "COOPMINE_JOB_TIMEOUT",
	  CONF_DURATION, &job_timeout_ms, "5m", 1000, 86400000, 0,
	  "how long a worker may work on a job without a new one" },
	{ "log", "level", "log-level", "COOPMINE_LOG_LEVEL", CONF_STR,
	  &log_level, "info", 0, 0, 0, "error | warn | info | debug" },
	{ "log", "file", "log-file", "COOPMINE_LOG_FILE", CONF_STR,
	  &log_file, NULL, 0, 0, 0, "append logs to this file (reopened on SIGHUP)" },
	{ "log", "syslog", "syslog", "COOPMINE_SYSLOG", CONF_BOOL,
	  &use_syslog, "false", 0, 0, 0, "also log to syslog" },
};
static const struct conf_spec spec = {
	"coopmine-coordinator",
	"the CoopMine coordinator: registers workers and serves them jobs over gRPC",
	opts, sizeof(opts) / sizeof(opts[0])
};

int
main(int argc, char **argv)
{
	struct rpc_server_config rcfg = { 0 };
	struct rpc_server *srv;
	struct registry *reg;
	enum log_level level;
	sigset_t sigs;
	char err[512];
	int rc, sig, status = 0;

	log_init("coopmine-coordinator", LOG_LVL_INFO, 0);
	if ((rc = conf_load(&spec, argc, argv, err, sizeof(err))) != 0) {
		if (rc < 0)
			fprintf(stderr, "coopmine-coordinator: %s\n", err);
		conf_free(&spec);
		return rc < 0 ? 2 : 0;
	}
	if (log_level_parse(log_level, &level) != 0) {
		fprintf(stderr, "coopmine-coordinator: [log] level (--log-level): "
		    "'%s' is not one of error, warn, info, debug\n", log_level);
		conf_free(&spec);
		return 2;
	}
	log_init("coopmine-coordinator", level, use_syslog);
	if (log_file != NULL && log_reopen(log_file) != 0) {
		fprintf(stderr, "coopmine-coordinator: cannot open log file %s: %s\n",
		    log_file, strerror(errno));
		conf_free(&spec);
		return 2;
	}
	conf_log(&spec);

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
	if ((reg = registry_new(heartbeat_ms, 0)) == NULL)
		fatalx("out of memory");
	rcfg.listen = grpc_listen;
	rcfg.cluster_id = cluster_id;
	rcfg.cluster_name = cluster_name;
	rcfg.heartbeat_ms = heartbeat_ms;
	rcfg.job_timeout_ms = job_timeout_ms;
	rcfg.keepalive_ms = keepalive_ms;
	rcfg.threads = (int)grpc_threads;
	rcfg.insecure = insecure;
	rcfg.tls_ca = tls_ca;
	rcfg.tls_cert = tls_cert;
	rcfg.tls_key = tls_key;
	if ((srv = rpc_server_new(&rcfg, reg)) == NULL) {
		log_error("cannot start the gRPC server; see above");
		status = 1;
		goto out;
	}
	if (rpc_server_start(srv) != 0) {
		status = 1;
		goto out;
	}
	log_info("coordinator up: cluster %s, gRPC port %d, heartbeat %lld ms "
	    "(no job source yet: workers connect and report, no jobs are served)",
	    cluster_id, rpc_server_port(srv), (long long)heartbeat_ms);

	for (;;) {
		if (sigwait(&sigs, &sig) != 0)
			continue;
		if (sig == SIGHUP) {
			log_info("SIGHUP: reopening the log");
			if (log_file != NULL && log_reopen(log_file) != 0)
				log_warn("cannot reopen %s", log_file);
			continue;
		}
		log_info("%s: stopping", sig == SIGTERM ? "SIGTERM" : "SIGINT");
		break;
	}
out:
	rpc_server_free(srv);
	registry_free(reg);
	grpc_shutdown();
	conf_free(&spec);
	if (status == 0)
		log_info("stopped");
	return status;
}
