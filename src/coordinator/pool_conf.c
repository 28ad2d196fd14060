/*
 * pool_conf.c: turns the [pool] settings (pool_conf.h) into the ordered
 * pool list of an upstream_config, refusing what cannot work before any
 * connection is tried.  Called by the coordinator at start.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "coordinator/pool_conf.h"
#include "coordinator/stratum_proto.h"

int
pool_conf_build(const struct pool_settings *ps, struct upstream_config *cfg,
    struct upstream_pool pools[POOL_CONF_MAX], char *err, size_t errlen)
{
	enum upstream_coin coin;
	struct stratum_url u;
	uint8_t pin[32];
	int nicehash;
	size_t i, n;

	memset(cfg, 0, sizeof(*cfg));
	if (ps->address == NULL || *ps->address == '\0') {
		snprintf(err, errlen, "no pool: set [pool] address, "
		    "COOPMINE_POOL_ADDRESS or --pool-address");
		return -1;
	}
	if (ps->wallet == NULL || *ps->wallet == '\0') {
		snprintf(err, errlen, "no wallet: set [pool] wallet, "
		    "COOPMINE_POOL_WALLET or --pool-wallet");
		return -1;
	}
	if (stratum_coin_parse(ps->coin, &coin) != 0) {
		snprintf(err, errlen, "[pool] coin: %s is neither opensy nor monero",
		    ps->coin);
		return -1;
	}
	if (ps->nicehash == NULL || strcasecmp(ps->nicehash, "auto") == 0)
		nicehash = -1;
	else if (strcasecmp(ps->nicehash, "yes") == 0 ||
	    strcasecmp(ps->nicehash, "true") == 0)
		nicehash = 1;
	else if (strcasecmp(ps->nicehash, "no") == 0 ||
	    strcasecmp(ps->nicehash, "false") == 0)
		nicehash = 0;
	else {
		snprintf(err, errlen, "[pool] nicehash: use auto, yes or no");
		return -1;
	}
	n = 1 + ps->backup.n;
	if (n > POOL_CONF_MAX) {
		snprintf(err, errlen, "[pool] backup: at most %d pools in all",
		    POOL_CONF_MAX);
		return -1;
	}
	if (ps->tls_fingerprint.n > n) {
		snprintf(err, errlen, "[pool] tls_fingerprint: %zu pins for %zu pools",
		    ps->tls_fingerprint.n, n);
		return -1;
	}
	for (i = 0; i < n; i++) {
		struct upstream_pool *p = &pools[i];
		const char *fp = i < ps->tls_fingerprint.n ?
		    ps->tls_fingerprint.items[i] : NULL;

		memset(p, 0, sizeof(*p));
		p->url = i == 0 ? ps->address : ps->backup.items[i - 1];
		if (stratum_url_parse(p->url, &u, err, errlen) != 0)
			return -1;
		if (fp != NULL && strcmp(fp, "-") == 0)
			fp = NULL;
		if (fp != NULL && stratum_fingerprint_parse(fp, pin) != 0) {
			snprintf(err, errlen, "[pool] tls_fingerprint #%zu: expected "
			    "64 hex digits (SHA-256)", i + 1);
			return -1;
		}
		p->login = ps->wallet;
		p->password = ps->password;
		p->rig_id = ps->rig_id;
		p->coin = coin;
		p->tls_ca_file = ps->tls_ca;
		p->tls_fingerprint = fp;
		p->tls_sni = ps->tls_sni;
		p->tls_insecure = ps->tls_insecure;
		p->nicehash = nicehash;
	}
	cfg->pools = pools;
	cfg->npools = n;
	cfg->connect_timeout_ms = ps->connect_timeout;
	cfg->response_timeout_ms = ps->response_timeout;
	cfg->job_timeout_ms = ps->job_timeout;
	cfg->keepalive_ms = ps->keepalive;
	cfg->backoff_min_ms = ps->backoff_min;
	cfg->backoff_max_ms = ps->backoff_max;
	cfg->primary_retry_ms = ps->primary_retry;
	return 0;
}
