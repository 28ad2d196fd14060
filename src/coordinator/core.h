/*
 * core.h: the coordinator assembled.  core.c owns every module (registry,
 * gRPC server, job manager, share path, ledger, upstream, dashboard) and
 * wires their hooks together: upstream jobs -> jobs -> worker streams;
 * SubmitShare -> shares -> ledger -> upstream.  main.c only reads the
 * configuration and waits for signals.
 */
#ifndef COOPMINE_CORE_H
#define COOPMINE_CORE_H

#include <stddef.h>
#include <stdint.h>

#include "coordinator/alerts.h"
#include "coordinator/jobs.h"
#include "coordinator/ledger.h"
#include "coordinator/money.h"
#include "coordinator/registry.h"
#include "coordinator/rpc_server.h"
#include "coordinator/shares.h"
#include "coordinator/upstream.h"

struct core_config {
	struct rpc_server_config rpc;	/* hooks are filled by the core */
	struct upstream_config upstream;
	const char *pool_url;		/* shown on the dashboard (no secrets) */
	struct ledger_opts ledger;
	struct jobs_config jobs;
	struct shares_config shares;
	struct money_rules money;	/* how income is split */
	struct registry_limits limits;	/* what one worker identity may cost */
	double hashrate_per_thread;	/* a new worker's guess until it reports */
	unsigned max_sessions;		/* pool sessions when nonce spaces run out */
	size_t max_workers;		/* worker identities known at once */
	double verify_budget;		/* shares/s verification may take (0:
					 * half the measured capacity) */
	/* the dashboard: empty listen disables it */
	const char *dash_listen, *dash_ws_listen, *dash_static_dir, *dash_token;
	const char *dash_ws_url;	/* the feed's public URL (proxies) */
	size_t dash_ws_max_clients;
	int64_t metrics_retention_ms;	/* offline workers leave /metrics */
	/* Host and Origin allow-lists (none: the defaults, see http.h) */
	char *const *dash_allowed_hosts, *const *dash_allowed_origins;
	size_t ndash_allowed_hosts, ndash_allowed_origins;
	const char *ledger_sync_name;	/* [ledger] synchronous, for /health */
	struct alerts_config alerts;	/* [alerts] exec: none when unset */
};

struct core;

/* Opens the ledger (refusing a bad one), rebuilds state from it, creates
 * the servers (binding their ports).  NULL with a message in err. */
struct core *core_new(const struct core_config *cfg, char *err, size_t errlen);
/* Starts serving workers, connects upstream, starts the dashboard. */
int core_start(struct core *c);
/* Stops everything in order and flushes the ledger.  Then free. */
void core_stop(struct core *c);
void core_free(struct core *c);
int core_grpc_port(const struct core *c);
#define CORE_POOLS_MAX	16

/* What a reload changes (main.c finds out which keys changed). */
#define CORE_RELOAD_POOLS	0x01	/* [pool] list, logins, timers */
#define CORE_RELOAD_VARDIFF	0x02	/* [vardiff] */
#define CORE_RELOAD_LIMITS	0x04	/* [workers] */
#define CORE_RELOAD_TOKEN	0x08	/* [dashboard] token */
#define CORE_RELOAD_ALLOW	0x10	/* [dashboard] allowed_hosts/_origins */

/* SIGHUP: applies the parts of n that `what` names, each through the
 * module that owns it; n's strings must outlive the core.  Everything is
 * checked before anything changes: -1 (nothing changed) with the reason
 * in err, or 0.  Other fields of n are ignored (they need a restart). */
int core_reload(struct core *c, const struct core_config *n, unsigned what,
    char *err, size_t errlen);

#endif
