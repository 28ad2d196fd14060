/* test_rpc_server: the server's life cycle without clients: created and
 * freed unstarted, a port already in use refused (no silent SO_REUSEPORT
 * sharing), started and stopped twice, missing TLS files refused. */
#include "config.h"

#include <stdio.h>

#include <grpc/grpc.h>

#include "common/log.h"
#include "coordinator/registry.h"
#include "coordinator/rpc_server.h"
#include "tap.h"

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

	log_init("test_rpc_server", LOG_LVL_ERROR, 0);
	grpc_init();
	reg = registry_new(1000, 0);

	a = rpc_server_new(&cfg, reg);
	ok(a != NULL && rpc_server_port(a) > 0, "created on an ephemeral port");
	rpc_server_free(a);
	ok(1, "freed without being started");

	a = rpc_server_new(&cfg, reg);
	ok(a != NULL && rpc_server_start(a) == 0, "created and started");
	snprintf(addr, sizeof(addr), "127.0.0.1:%d", a != NULL ? rpc_server_port(a) : 0);
	cfg.listen = addr;
	b = rpc_server_new(&cfg, reg);
	ok(b == NULL, "a second server on the same port is refused");
	rpc_server_free(b);
	rpc_server_stop(a);
	rpc_server_stop(a);
	ok(1, "stop is idempotent");
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
