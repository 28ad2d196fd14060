/*
 * node_conf.h: the [node] section of the configuration (solo mining on the
 * cooperative's own OpenSY node, issue 14): [node] url, cookie_file or
 * rpc_user / rpc_password, payout_address (checked here, at start, for its
 * network and checksum), network, coinbase_tag, poll, fee_threshold,
 * follow, maturity.  The coordinator puts NODE_CONF_OPTS() into its
 * option table; etc/coordinator.ini.example documents them.
 */
#ifndef COOPMINE_NODE_CONF_H
#define COOPMINE_NODE_CONF_H

#include <stddef.h>
#include <stdint.h>

#include "common/conf.h"
#include "common/opensy.h"
#include "coordinator/upstream.h"

struct node_settings {
	char *url, *cookie_file, *user, *password;
	char *payout_address, *network, *tag;
	int64_t poll, fee_threshold, follow, maturity;
	/* filled by node_conf_build */
	uint8_t script[OPENSY_SCRIPT_MAX];
	size_t script_len;
};

#define NODE_CONF_OPTS(ns) \
	{ "node", "url", "node-url", "COOPMINE_NODE_URL", CONF_STR, &(ns).url, \
	  NULL, 0, 0, 0, "solo mining: the OpenSY node's RPC, e.g. " \
	  "http://127.0.0.1:19642 (excludes [pool] address)" }, \
	{ "node", "cookie_file", "node-cookie", "COOPMINE_NODE_COOKIE", CONF_STR, \
	  &(ns).cookie_file, NULL, 0, 0, 0, \
	  "the node's .cookie (re-read when it changes)" }, \
	{ "node", "rpc_user", "node-user", "COOPMINE_NODE_USER", CONF_STR, \
	  &(ns).user, NULL, 0, 0, 0, "RPC user (without cookie_file)" }, \
	{ "node", "rpc_password", "node-password", "COOPMINE_NODE_PASSWORD", \
	  CONF_STR, &(ns).password, NULL, 0, 0, 1, \
	  "RPC password (never logged)" }, \
	{ "node", "payout_address", "payout-address", "COOPMINE_PAYOUT_ADDRESS", \
	  CONF_STR, &(ns).payout_address, NULL, 0, 0, 0, \
	  "where block rewards go (checked against [node] network)" }, \
	{ "node", "network", "node-network", "COOPMINE_NODE_NETWORK", CONF_STR, \
	  &(ns).network, "main", 0, 0, 0, "main | test | regtest" }, \
	{ "node", "coinbase_tag", "coinbase-tag", NULL, CONF_STR, &(ns).tag, \
	  "/coopmine/", 0, 0, 0, "text in the coinbase (at most 20 bytes)" }, \
	{ "node", "poll", "node-poll", NULL, CONF_DURATION, &(ns).poll, "5s", \
	  100, 3600000, 0, "template refresh (fees, time) besides long-poll" }, \
	{ "node", "fee_threshold", "node-fee-threshold", NULL, CONF_INT, \
	  &(ns).fee_threshold, "10000", 0, 9e18, 0, \
	  "satoshis of new fees that make fresh (not clean) work" }, \
	{ "node", "follow", "node-follow", NULL, CONF_DURATION, &(ns).follow, \
	  "10s", 100, 3600000, 0, "how often found blocks are looked at" }, \
	{ "node", "maturity", "node-maturity", NULL, CONF_INT, &(ns).maturity, \
	  "100", 1, 100000, 0, "confirmations that make a block's reward mature" }

/* 1 when [node] url is set. */
int node_conf_wanted(const struct node_settings *ns);
/* Checks ns (and that [pool] address pool_address is not set too) and
 * fills node (pointers into ns: keep it alive).  0, or -1 with what to fix
 * in err. */
int node_conf_build(struct node_settings *ns, const char *pool_address,
    struct upstream_node *node, char *err, size_t errlen);

#endif
