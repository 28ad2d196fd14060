/*
 * grpclog.c: relays gpr_log output into common/log.h (see grpclog.h).
 */
#include "config.h"

#include <stdlib.h>

#include <grpc/support/log.h>

#include "common/log.h"
#include "rpc/grpclog.h"

static void
relay(gpr_log_func_args *a)
{
	if (a->severity == GPR_LOG_SEVERITY_ERROR)
		log_warnx("grpc: %s", a->message);
	else
		log_debug("grpc: %s", a->message);
}

void
rpc_grpclog_init(void)
{
	gpr_set_log_function(relay);
	if (getenv("GRPC_VERBOSITY") == NULL)
		gpr_set_log_verbosity(GPR_LOG_SEVERITY_ERROR);
}
