/*
 * tls.h: gRPC credentials from PEM files for mutual TLS, shared by the
 * coordinator's server, the worker's client and the RPC benchmark.  Key
 * files readable by group or others are refused: a leaked worker key lets
 * anyone mine (and be credited) as that worker.
 */
#ifndef COOPMINE_RPC_TLS_H
#define COOPMINE_RPC_TLS_H

#include <stddef.h>

#include <grpc/grpc.h>
#include <grpc/grpc_security.h>

/* 0 when path is a regular file with no group/other permission bits; else
 * -errno / -EPERM with the reason in err. */
int rpc_tls_check_key(const char *path, char *err, size_t errlen);
/* The whole file as a NUL-terminated string (free() it); NULL with the
 * reason in err.  Refuses files over 1 MiB. */
char *rpc_tls_read_file(const char *path, char *err, size_t errlen);
/* Server credentials that require a client certificate signed by ca_file
 * and present cert_file/key_file.  NULL with the reason in err. */
grpc_server_credentials *rpc_tls_server_credentials(const char *ca_file,
    const char *cert_file, const char *key_file, char *err, size_t errlen);
/* Client credentials: verify the server against ca_file and present
 * cert_file/key_file (both NULL: no client certificate).  NULL on error. */
grpc_channel_credentials *rpc_tls_channel_credentials(const char *ca_file,
    const char *cert_file, const char *key_file, char *err, size_t errlen);

#endif
