/*
 * codec.h: protobuf-c messages to and from gRPC byte buffers, and the method
 * paths of the CoopMine service.  Shared by the coordinator's server and the
 * worker's client.
 */
#ifndef COOPMINE_RPC_CODEC_H
#define COOPMINE_RPC_CODEC_H

#include <stddef.h>

#include <grpc/byte_buffer.h>
#include <protobuf-c/protobuf-c.h>

#include "coopmine_messages.pb-c.h"

#define RPC_METHOD_REGISTER		"/coopmine.CoopMine/Register"
#define RPC_METHOD_UNREGISTER		"/coopmine.CoopMine/Unregister"
#define RPC_METHOD_HEARTBEAT		"/coopmine.CoopMine/Heartbeat"
#define RPC_METHOD_STREAM_JOBS		"/coopmine.CoopMine/StreamJobs"
#define RPC_METHOD_SUBMIT_SHARE		"/coopmine.CoopMine/SubmitShare"
#define RPC_METHOD_CLUSTER_STATS	"/coopmine.CoopMine/GetClusterStats"
#define RPC_METHOD_WORKER_STATS		"/coopmine.CoopMine/GetWorkerStats"

/* The largest message either side accepts (jobs are a few hundred bytes). */
#define RPC_MAX_MESSAGE (64 * 1024)

/* Serialises msg into a new byte buffer (caller destroys it); NULL on OOM. */
grpc_byte_buffer *rpc_pack(const ProtobufCMessage *msg);
/* Parses bb as desc.  NULL when bb is NULL, larger than RPC_MAX_MESSAGE or
 * not a valid encoding; free the result with protobuf_c_message_free_unpacked. */
ProtobufCMessage *rpc_unpack(const ProtobufCMessageDescriptor *desc,
    grpc_byte_buffer *bb);

#endif
