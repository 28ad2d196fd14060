/*
 * pool_conf.h: the [pool] section of the configuration (seed names:
 * [pool] address / wallet / password, COOPMINE_POOL_*, --pool-*) and its
 * translation into an upstream_config.  The coordinator and the upstream
 * test driver put POOL_CONF_OPTS() into their option tables, so both read
 * the same keys; etc/pool.ini.example documents them.
 */
#ifndef COOPMINE_POOL_CONF_H
#define COOPMINE_POOL_CONF_H

#include <stddef.h>
#include <stdint.h>

#include "common/conf.h"
#include "coordinator/upstream.h"

#define POOL_CONF_MAX	16	/* primary + backups */

struct pool_settings {
	char *address;			/* the primary */
	struct conf_list backup;	/* failover pools, in order */
	char *wallet, *password, *rig_id, *coin, *nicehash;
	char *tls_ca, *tls_sni;
	struct conf_list tls_fingerprint;	/* i-th pins the i-th pool; "-": none */
	int tls_insecure;
	int64_t connect_timeout, response_timeout, job_timeout, keepalive,
	    backoff_min, backoff_max, primary_retry;
};

#define POOL_CONF_OPTS(ps) \
	{ "pool", "address", "pool-address", "COOPMINE_POOL_ADDRESS", CONF_STR, \
	  &(ps).address, NULL, 0, 0, 0, \
	  "primary pool: stratum+tcp://host:port or stratum+ssl:// (tls)" }, \
	{ "pool", "backup", "pool-backup", "COOPMINE_POOL_BACKUP", CONF_LIST, \
	  &(ps).backup, NULL, 0, 0, 0, \
	  "failover pools in order (comma-separated or repeated)" }, \
	{ "pool", "wallet", "pool-wallet", "COOPMINE_POOL_WALLET", CONF_STR, \
	  &(ps).wallet, NULL, 0, 0, 0, "pool login: wallet[.worker]" }, \
	{ "pool", "password", "pool-password", "COOPMINE_POOL_PASSWORD", CONF_STR, \
	  &(ps).password, "x", 0, 0, 1, "pool password (never logged)" }, \
	{ "pool", "rig_id", "pool-rig-id", "COOPMINE_POOL_RIG_ID", CONF_STR, \
	  &(ps).rig_id, NULL, 0, 0, 0, "rig id sent at login" }, \
	{ "pool", "coin", "pool-coin", "COOPMINE_POOL_COIN", CONF_STR, \
	  &(ps).coin, "opensy", 0, 0, 0, \
	  "opensy (80-byte header, nonce at 76) or monero (nonce at 39)" }, \
	{ "pool", "nicehash", "pool-nicehash", NULL, CONF_STR, &(ps).nicehash, \
	  "auto", 0, 0, 0, "reserve the nonce's top byte: auto|yes|no" }, \
	{ "pool", "tls_ca", "pool-tls-ca", NULL, CONF_STR, &(ps).tls_ca, NULL, \
	  0, 0, 0, "CA file for stratum+ssl (default: system CAs)" }, \
	{ "pool", "tls_fingerprint", "pool-tls-fingerprint", NULL, CONF_LIST, \
	  &(ps).tls_fingerprint, NULL, 0, 0, 0, \
	  "SHA-256 certificate pins, one per pool in order (- for none)" }, \
	{ "pool", "tls_sni", "pool-tls-sni", NULL, CONF_STR, &(ps).tls_sni, NULL, \
	  0, 0, 0, "TLS server name (default: the URL's host)" }, \
	{ "pool", "tls_insecure", "pool-tls-insecure", NULL, CONF_BOOL, \
	  &(ps).tls_insecure, "false", 0, 0, 0, \
	  "do not check the pool's certificate at all" }, \
	{ "pool", "connect_timeout", "pool-connect-timeout", NULL, CONF_DURATION, \
	  &(ps).connect_timeout, "10s", 100, 600000, 0, \
	  "connect + TLS + login must finish within" }, \
	{ "pool", "response_timeout", "pool-response-timeout", NULL, \
	  CONF_DURATION, &(ps).response_timeout, "30s", 100, 600000, 0, \
	  "an unanswered request after this marks the pool stalled" }, \
	{ "pool", "job_timeout", "pool-job-timeout", NULL, CONF_DURATION, \
	  &(ps).job_timeout, "5m", 100, 86400000, 0, \
	  "no new job for this long: dead pool, fail over" }, \
	{ "pool", "keepalive", "pool-keepalive", NULL, CONF_DURATION, \
	  &(ps).keepalive, "60s", 100, 3600000, 0, "keepalived when idle" }, \
	{ "pool", "backoff_min", "pool-backoff-min", NULL, CONF_DURATION, \
	  &(ps).backoff_min, "1s", 10, 3600000, 0, \
	  "wait after every pool failed (doubles each round)" }, \
	{ "pool", "backoff_max", "pool-backoff-max", NULL, CONF_DURATION, \
	  &(ps).backoff_max, "60s", 10, 3600000, 0, "longest wait between rounds" }, \
	{ "pool", "primary_retry", "pool-primary-retry", NULL, CONF_DURATION, \
	  &(ps).primary_retry, "60s", 100, 3600000, 0, \
	  "on a backup, probe the primary this often" }

/* Fills cfg and pools[POOL_CONF_MAX] from ps (pointers into ps: keep ps
 * alive while cfg is used).  0, or -1 with what to fix in err. */
int pool_conf_build(const struct pool_settings *ps, struct upstream_config *cfg,
    struct upstream_pool pools[POOL_CONF_MAX], char *err, size_t errlen);

#endif
