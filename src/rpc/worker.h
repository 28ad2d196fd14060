/*
 * worker.h: what both ends of the wire agree on about a worker: how long
 * its identity (the certificate CN) may be, and the commands a coordinator
 * sends it in a HeartbeatResponse.  Included by the coordinator (registry,
 * jobs, dashboard) and by the worker binary (client, worker), so a limit
 * or a command value is written down once.
 */
#ifndef COOPMINE_RPC_WORKER_H
#define COOPMINE_RPC_WORKER_H

/* A worker id (its certificate CN): up to 64 bytes, plus the NUL. */
#define WORKER_ID_MAX 65

/* WorkerCommand of proto/coopmine_messages.proto, value for value. */
enum worker_command {
	WORKER_CMD_NONE = 0,
	WORKER_CMD_PAUSE = 1,
	WORKER_CMD_RESUME = 2,
	WORKER_CMD_UPDATE_CONFIG = 3,
	WORKER_CMD_SHUTDOWN = 4
};

#endif
