/*
 * unary.c: one unary gRPC call on the C core, shared by the benchmark
 * clients (see unary.h).
 */
#include "config.h"

#include <string.h>

#include "unary.h"

int
bench_unary_start(struct bench_unary *u, grpc_channel *ch,
    grpc_completion_queue *cq, const char *method, grpc_byte_buffer *req,
    gpr_timespec deadline, void *tag)
{
	grpc_op ops[6];

	memset(u, 0, sizeof(*u));
	u->call = grpc_channel_create_call(ch, NULL, GRPC_PROPAGATE_DEFAULTS, cq,
	    grpc_slice_from_static_string(method), NULL, deadline, NULL);
	u->req = req;
	grpc_metadata_array_init(&u->md);
	grpc_metadata_array_init(&u->trailing);
	memset(ops, 0, sizeof(ops));
	ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
	ops[1].op = GRPC_OP_SEND_MESSAGE;
	ops[1].data.send_message.send_message = u->req;
	ops[2].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
	ops[3].op = GRPC_OP_RECV_INITIAL_METADATA;
	ops[3].data.recv_initial_metadata.recv_initial_metadata = &u->md;
	ops[4].op = GRPC_OP_RECV_MESSAGE;
	ops[4].data.recv_message.recv_message = &u->resp;
	ops[5].op = GRPC_OP_RECV_STATUS_ON_CLIENT;
	ops[5].data.recv_status_on_client.trailing_metadata = &u->trailing;
	ops[5].data.recv_status_on_client.status = &u->status;
	ops[5].data.recv_status_on_client.status_details = &u->details;
	return grpc_call_start_batch(u->call, ops, 6, tag, NULL) == GRPC_CALL_OK ?
	    0 : -1;
}

grpc_status_code
bench_unary_end(struct bench_unary *u, grpc_byte_buffer **resp)
{
	grpc_status_code st = u->status;

	if (resp != NULL) {
		*resp = u->resp;
		u->resp = NULL;
	}
	if (u->resp != NULL)
		grpc_byte_buffer_destroy(u->resp);
	grpc_byte_buffer_destroy(u->req);
	grpc_metadata_array_destroy(&u->md);
	grpc_metadata_array_destroy(&u->trailing);
	grpc_slice_unref(u->details);
	grpc_call_unref(u->call);
	return st;
}
