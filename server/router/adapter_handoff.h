// The LCF handoff's pipe: Worker.ExportSummary on the sharer's worker streams the latent
// summary in chunks of a few slots; each chunk is written into a Worker.ImportSummary stream
// on the receiver's worker as soon as it is read (the first with the receiver's session id),
// so the router holds one chunk at a time, never the whole summary. The receiver applies the
// summary only at the last chunk; so when the export fails the import stream is cancelled and
// nothing is pinned, and when the import fails the export is cancelled. The router caller's
// deadline and cancellation reach both streams (ChildContext).
//
// Latency split: export = time blocked reading the sharer's stream (its queue, the encoder,
// the network); transfer = the router's own work on each chunk and writing it to the receiver;
// import = from the end of the writes to the receiver's answer (decoding and pinning).
#pragma once

#include <string>

#include <grpcpp/grpcpp.h>

#include "cachewire/v1/router.pb.h"
#include "server/router/handoff.h"

namespace cachewire::router {

// Moves the summary of `from` into `to` with the adapter the workers call `adapter`; fills
// bytes_moved (the chunks' f16 payload), slots, the latency split and receiver_cache. Worker
// errors are relayed naming from_session_id or to_session_id.
grpc::Status HandoffLcf(const std::string& adapter, const HandoffEnd& from, const HandoffEnd& to,
                        const grpc::CallbackServerContext& parent, v1::HandoffResponse* response);

}  // namespace cachewire::router
