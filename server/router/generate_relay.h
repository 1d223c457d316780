// Router.Generate: a server-streaming reactor joined to a client-streaming reactor on the
// agent's worker. Each message the worker sends is written to the caller before the next one
// is read (one message in flight: the caller's pace bounds the router's memory), unchanged.
// The caller's cancellation or deadline cancels the worker's stream; the worker's final status
// becomes the caller's (rewritten by RelayWorkerStatus; a worker that dies mid-stream gives
// UNAVAILABLE). The object deletes itself once both halves are done.
#pragma once

#include <grpcpp/grpcpp.h>

#include "cachewire/v1/worker.grpc.pb.h"

namespace cachewire::router {

class RouterCore;

// Starts the relay for one Router.Generate call (authentication and lookups included; a
// failure finishes the call at once) and returns the reactor gRPC drives.
grpc::ServerWriteReactor<v1::GenerateResponse>* StartGenerateRelay(
    RouterCore& core, grpc::CallbackServerContext* context, const v1::GenerateRequest* request);

}  // namespace cachewire::router
