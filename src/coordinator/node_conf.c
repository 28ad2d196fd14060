/*
 * node_conf.c: turns the [node] settings (node_conf.h) into the node
 * backend's configuration, refusing at start what cannot work: both a node
 * and a pool, no credentials, a payout address of another network or with
 * a bad checksum.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "coordinator/node_conf.h"

int
node_conf_wanted(const struct node_settings *ns)
{
	return ns->url != NULL && *ns->url != '\0';
}

int
node_conf_build(struct node_settings *ns, const char *pool_address,
    struct upstream_node *node, char *err, size_t errlen)
{
	enum opensy_net net;
	char why[200];

	memset(node, 0, sizeof(*node));
	if (pool_address != NULL && *pool_address != '\0') {
		snprintf(err, errlen, "[node] url and [pool] address are both set: "
		    "the coordinator mines either on its own node or on a pool; "
		    "unset one of them");
		return -1;
	}
	if (strncmp(ns->url, "http://", 7) != 0 &&
	    strncmp(ns->url, "https://", 8) != 0) {
		snprintf(err, errlen, "[node] url: %s is not http://host:port",
		    ns->url);
		return -1;
	}
	if ((ns->cookie_file == NULL || *ns->cookie_file == '\0') &&
	    (ns->user == NULL || *ns->user == '\0')) {
		snprintf(err, errlen, "[node] needs cookie_file (--node-cookie) or "
		    "rpc_user and rpc_password (--node-user, --node-password)");
		return -1;
	}
	if (opensy_net_parse(ns->network, &net) != 0) {
		snprintf(err, errlen, "[node] network: %s is not main, test or "
		    "regtest", ns->network ? ns->network : "");
		return -1;
	}
	if (ns->payout_address == NULL || *ns->payout_address == '\0') {
		snprintf(err, errlen, "[node] payout_address is needed (--payout-"
		    "address): block rewards go there");
		return -1;
	}
	if (opensy_address_script(ns->payout_address, net, ns->script,
	    &ns->script_len, why, sizeof(why)) != 0) {
		snprintf(err, errlen, "[node] payout_address %s refused for %s: %s",
		    ns->payout_address, opensy_net_name(net), why);
		return -1;
	}
	if (ns->tag != NULL && strlen(ns->tag) > OPENSY_TAG_MAX) {
		snprintf(err, errlen, "[node] coinbase_tag: at most %d bytes",
		    OPENSY_TAG_MAX);
		return -1;
	}
	node->url = ns->url;
	node->cookie_file = ns->cookie_file != NULL && *ns->cookie_file ?
	    ns->cookie_file : NULL;
	node->user = ns->user;
	node->password = ns->password;
	node->payout_script = ns->script;
	node->payout_len = ns->script_len;
	node->tag = ns->tag;
	node->poll_ms = ns->poll;
	node->fee_threshold = ns->fee_threshold;
	node->follow_ms = ns->follow;
	node->maturity = ns->maturity;
	node->network = (int)net;
	return 0;
}
