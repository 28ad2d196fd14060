/* test_rpc_server: the server's life cycle without clients: created and
 * freed unstarted (its port is free again), a port already in use refused
 * (no silent SO_REUSEPORT sharing), started and stopped twice (the listener
 * is closed), missing TLS files refused. */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>

#include <grpc/grpc.h>

#include "common/log.h"
#include "coordinator/registry.h"
#include "coordinator/rpc_server.h"
#include "tap.h"

/* 1 when something accepts TCP connections on 127.0.0.1:port. */
static int
listening(int port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	int fd, rc;

	sin.sin_port = htons((unsigned short)port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) == -1)
		return -1;
	rc = connect(fd, (struct sockaddr *)&sin, sizeof(sin));
	close(fd);
	return rc == 0;
}

int
main(void)
{
	struct rpc_server_config cfg = {
		.listen = "127.0.0.1:0", .cluster_id = "t", .cluster_name = "t",
		.heartbeat_ms = 1000, .job_timeout_ms = 1000, .threads = 1,
		.insecure = 1,
	};
	struct rpc_server *a, *b;
	struct registry *reg;
	char addr[64];
	int port;

	log_init("test_rpc_server", LOG_LVL_ERROR, 0);
	grpc_init();
	reg = registry_new(1000, 0);

	a = rpc_server_new(&cfg, reg);
	ok(a != NULL && rpc_server_port(a) > 0, "created on an ephemeral port");
	port = a != NULL ? rpc_server_port(a) : 0;
	rpc_server_free(a);
	/* freed unstarted: the port is released, a new server may bind it */
	snprintf(addr, sizeof(addr), "127.0.0.1:%d", port);
	cfg.listen = addr;
	a = rpc_server_new(&cfg, reg);
	ok(a != NULL, "freed without being started: its port can be bound again");
	rpc_server_free(a);
	cfg.listen = "127.0.0.1:0";

	a = rpc_server_new(&cfg, reg);
	ok(a != NULL && rpc_server_start(a) == 0, "created and started");
	snprintf(addr, sizeof(addr), "127.0.0.1:%d", a != NULL ? rpc_server_port(a) : 0);
	cfg.listen = addr;
	b = rpc_server_new(&cfg, reg);
	ok(b == NULL, "a second server on the same port is refused");
	rpc_server_free(b);
	port = a != NULL ? rpc_server_port(a) : 0;
	ok(listening(port) == 1, "started: the port accepts connections");
	rpc_server_stop(a);
	ok(listening(port) == 0, "stopped: the listener is closed");
	rpc_server_stop(a);	/* must return (the test driver bounds a hang) */
	ok(listening(port) == 0, "stop is idempotent: a second stop returns");
	rpc_server_free(a);

	cfg.listen = "127.0.0.1:0";
	cfg.insecure = 0;
	cfg.tls_ca = "/nonexistent/ca.crt";
	cfg.tls_cert = "/nonexistent/server.crt";
	cfg.tls_key = "/nonexistent/server.key";
	ok(rpc_server_new(&cfg, reg) == NULL, "missing TLS files: refused");

	registry_free(reg);
	grpc_shutdown();
	return tap_done();
}
