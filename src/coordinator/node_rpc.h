/*
 * node_rpc.h: a small JSON-RPC 1.0 client for the OpenSY node's HTTP RPC
 * (libcurl, one keep-alive connection per client).  Credentials come from
 * the node's cookie file (re-read whenever it changes: a restarted node
 * writes a new one) or from a user and password; they are never logged.
 * Called by the node backend (node.c); one client per thread, or callers
 * serialize (each client has its own lock).
 */
#ifndef COOPMINE_NODE_RPC_H
#define COOPMINE_NODE_RPC_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#define NODE_RPC_MSG_MAX 256

enum node_rpc_status {
	NODE_RPC_OK = 0,
	NODE_RPC_TRANSPORT,	/* no connection, timeout, HTTP error */
	NODE_RPC_UNAUTHORIZED,	/* HTTP 401: wrong user/password/cookie */
	NODE_RPC_ERROR,		/* the node answered with an error object */
	NODE_RPC_BAD_REPLY	/* not JSON-RPC */
};

struct node_rpc_error {
	enum node_rpc_status status;
	int64_t code;		/* the node's error code (NODE_RPC_ERROR) */
	char msg[NODE_RPC_MSG_MAX];
};

struct node_rpc_auth {
	const char *url;
	const char *cookie_file;	/* wins over user/password */
	const char *user, *password;
};

struct node_rpc;

/* Copies auth.  NULL on out of memory. */
struct node_rpc *node_rpc_new(const struct node_rpc_auth *auth);
void node_rpc_free(struct node_rpc *r);
/* Calls method with params (a JSON array; the reference is taken; NULL:
 * []) and waits at most timeout_ms.  0 with *result (the caller's
 * reference; JSON null is a result too), or -1 with *e filled. */
int node_rpc_call(struct node_rpc *r, const char *method, json_t *params,
    int64_t timeout_ms, json_t **result, struct node_rpc_error *e);
/* Makes a blocked node_rpc_call on another thread return soon (stop). */
void node_rpc_abort(struct node_rpc *r);

#endif
