/*
 * grpclog.h: gRPC's own log lines (failed TLS handshakes: a worker without
 * a certificate, or with one from another CA) routed into common/log.h, so
 * an operator sees them in the coordinator's log.  Called once after
 * grpc_init() by the coordinator and the worker.
 */
#ifndef COOPMINE_RPC_GRPCLOG_H
#define COOPMINE_RPC_GRPCLOG_H

/* gRPC errors become warnings; its info/debug lines become debug lines.
 * GRPC_VERBOSITY, when set, still chooses what gRPC emits. */
void rpc_grpclog_init(void);

#endif
