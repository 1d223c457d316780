// The handoffs that need an adapter: LCF (Worker.ExportSummary on the sharer piped into
// Worker.ImportSummary on the receiver) and C2C (Worker.ExportCache piped into
// Worker.FuseCache), both on the chunk pipe (chunk_pipe.h: one chunk held at a time, nothing
// applied unless the last chunk arrives, both streams cancelled together).
#pragma once

#include <string>

#include <grpcpp/grpcpp.h>

#include "cachewire/v1/router.pb.h"
#include "server/router/handoff.h"

namespace cachewire::router {

// Moves the summary of `from` into `to` with the adapter the workers call `adapter`; fills
// bytes_moved (the chunks' f16 payload), slots, the latency split and receiver_cache.
grpc::Status HandoffLcf(const std::string& adapter, const HandoffEnd& from, const HandoffEnd& to,
                        const grpc::CallbackServerContext& parent, v1::HandoffResponse* response);

// Fuses the cache of `from` into `to` (the same text) with the C2C fuser the workers call
// `adapter`; fills bytes_moved (keys, values, spans and token indices), entries_fused,
// entries_unmatched, the latency split and receiver_cache.
grpc::Status HandoffC2c(const std::string& adapter, const HandoffEnd& from, const HandoffEnd& to,
                        const grpc::CallbackServerContext& parent, v1::HandoffResponse* response);

}  // namespace cachewire::router
