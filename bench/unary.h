/*
 * unary.h: one unary gRPC call on the C core's completion queue, for the
 * benchmark clients (bench_rpc.c, loadgen.c): start it with every op in one
 * batch, end it when its tag comes back.
 */
#ifndef COOPMINE_BENCH_UNARY_H
#define COOPMINE_BENCH_UNARY_H

#include <grpc/grpc.h>

struct bench_unary {
	grpc_call *call;
	grpc_byte_buffer *req, *resp;
	grpc_metadata_array md, trailing;
	grpc_status_code status;
	grpc_slice details;
};

/* Starts method with req (the call owns it from now on); the completion
 * comes on cq with tag.  0, or -1 when the batch could not start. */
int bench_unary_start(struct bench_unary *u, grpc_channel *ch,
    grpc_completion_queue *cq, const char *method, grpc_byte_buffer *req,
    gpr_timespec deadline, void *tag);
/* After the tag came back: frees the call and returns its status; the
 * response goes to *resp (the caller frees it), or is freed when resp is
 * NULL. */
grpc_status_code bench_unary_end(struct bench_unary *u,
    grpc_byte_buffer **resp);

#endif
