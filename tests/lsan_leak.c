/*
 * lsan_leak.c: proves that tests/lsan.supp still lets LeakSanitizer see a
 * leak of ours inside OpenSSL or gRPC.  "ssl" drops an SSL_CTX (as
 * stratum.c's pool_tls_init makes them), "grpc" drops a grpc_call (as
 * client.c's calls are made), "none" frees both: the control.  Built for
 * the sanitizer build only; tests/system/lsan_reports.sh expects the first
 * two to fail with a leak report and the third to exit 0.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/support/time.h>
#include <openssl/ssl.h>

/* Reachable from nowhere once main returns: what LSan calls a leak. */
static void
make_ssl(int keep)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());

	if (ctx == NULL) {
		fprintf(stderr, "lsan_leak: SSL_CTX_new failed\n");
		return;
	}
	if (!keep)
		SSL_CTX_free(ctx);
	ctx = NULL;
}

static void
make_grpc(int keep)
{
	grpc_channel_credentials *creds = grpc_insecure_credentials_create();
	grpc_channel *chan = grpc_channel_create("127.0.0.1:1", creds, NULL);
	grpc_completion_queue *cq = grpc_completion_queue_create_for_next(NULL);
	grpc_call *call = grpc_channel_create_call(chan, NULL,
	    GRPC_PROPAGATE_DEFAULTS, cq,
	    grpc_slice_from_static_string("/coopmine.CoopMine/Heartbeat"), NULL,
	    gpr_inf_future(GPR_CLOCK_REALTIME), NULL);

	if (!keep)
		grpc_call_unref(call);
	call = NULL;
	grpc_channel_destroy(chan);
	grpc_channel_credentials_release(creds);
	grpc_completion_queue_shutdown(cq);
	while (grpc_completion_queue_next(cq, gpr_inf_past(GPR_CLOCK_REALTIME),
	    NULL).type != GRPC_QUEUE_SHUTDOWN && !keep)
		;
	if (!keep)
		grpc_completion_queue_destroy(cq);
}

int
main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "none";

	grpc_init();
	if (strcmp(mode, "ssl") == 0)
		make_ssl(1);
	else if (strcmp(mode, "grpc") == 0)
		make_grpc(1);
	else {
		make_ssl(0);
		make_grpc(0);
	}
	grpc_shutdown();
	return 0;
}
