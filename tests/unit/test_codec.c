/* test_codec: messages survive the trip through a gRPC byte buffer with
 * every field (base and CoopMine additions); garbage and oversized buffers
 * are refused, not crashed on. */
#include "config.h"

#include <string.h>

#include <grpc/grpc.h>
#include <grpc/slice.h>

#include "rpc/codec.h"
#include "tap.h"

int
main(void)
{
	Coopmine__JobMessage job = COOPMINE__JOB_MESSAGE__INIT, *back;
	uint8_t blob[80], target[8] = { 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0 };
	grpc_byte_buffer *bb;
	grpc_slice s;

	grpc_init();
	memset(blob, 0xab, sizeof(blob));
	job.job_id = "job-1";
	job.blob.data = blob;
	job.blob.len = sizeof(blob);
	job.target.data = target;
	job.target.len = sizeof(target);
	job.height = 70;
	job.clean_jobs = 1;
	job.algo = "rx/0";
	job.nonce_offset = 76;
	job.nonce_start = 1000;
	job.nonce_end = 4294967296ULL;
	job.lease_id = 7;
	bb = rpc_pack(&job.base);
	ok(bb != NULL, "pack");
	back = (Coopmine__JobMessage *)rpc_unpack(&coopmine__job_message__descriptor, bb);
	ok(back != NULL, "unpack");
	ok(back != NULL && strcmp(back->job_id, "job-1") == 0 && back->blob.len == 80 &&
	    memcmp(back->blob.data, blob, 80) == 0 && back->height == 70 &&
	    back->clean_jobs, "base fields survive");
	ok(back != NULL && back->nonce_offset == 76 && back->nonce_start == 1000 &&
	    back->nonce_end == 4294967296ULL && back->lease_id == 7 &&
	    strcmp(back->algo, "rx/0") == 0, "CoopMine fields survive");
	protobuf_c_message_free_unpacked(&back->base, NULL);
	grpc_byte_buffer_destroy(bb);

	s = grpc_slice_from_copied_buffer("\xff\xff\xff\xff\xff\xff", 6);
	bb = grpc_raw_byte_buffer_create(&s, 1);
	grpc_slice_unref(s);
	ok(rpc_unpack(&coopmine__job_message__descriptor, bb) == NULL,
	    "garbage bytes are refused");
	grpc_byte_buffer_destroy(bb);

	s = grpc_slice_malloc(RPC_MAX_MESSAGE + 1);
	memset(GRPC_SLICE_START_PTR(s), 0, RPC_MAX_MESSAGE + 1);
	bb = grpc_raw_byte_buffer_create(&s, 1);
	grpc_slice_unref(s);
	ok(rpc_unpack(&coopmine__job_message__descriptor, bb) == NULL,
	    "an oversized message is refused");
	grpc_byte_buffer_destroy(bb);
	ok(rpc_unpack(&coopmine__job_message__descriptor, NULL) == NULL,
	    "no message is refused");
	grpc_shutdown();
	return tap_done();
}
