// The FuseCache stream, the receiver's side of a C2C handoff (chunk_read_reactor.h). The first
// chunk names the session and the fuser (checked at once: session known, this worker the
// fuser's receiver; any cache policy will do, since fusion rewrites entries the session holds
// and pins nothing), and every chunk is checked against the fuser and decoded from f16 as it
// arrives (cache_chunks.h). Once the last chunk is in, a session task fuses the sharer's
// entries into the session's own (adapter::FuseIntoSession: the texts must be the same; atomic)
// on the engine thread. Like imported pins, the fused entries take part from the next token the
// session runs.
#pragma once

#include <grpcpp/grpcpp.h>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "cachewire/v1/worker.grpc.pb.h"
#include "engine/adapter/c2c_fuser.h"
#include "engine/adapter/c2c_session.h"
#include "engine/scheduler/sequence.h"
#include "server/worker/cache_chunks.h"
#include "server/worker/chunk_read_reactor.h"
#include "server/worker/worker_state.h"

namespace cachewire::server::worker {

class FuseCacheReactor final
    : public ChunkReadReactor<cachewire::v1::CacheChunk, CacheAssembler> {
 public:
  FuseCacheReactor(WorkerState& state, grpc::CallbackServerContext* context,
                   cachewire::v1::FuseCacheResponse* response);

 private:
  // The first chunk: finds the fuser and starts the assembler.
  absl::Status Begin(const cachewire::v1::CacheChunk& chunk) override;
  // Queues the fusion once the last chunk is in.
  absl::Status Submit() override;
  // Engine thread: fuses sharer_ into the session.
  absl::Status Fuse(scheduler::Sequence& sequence);

  cachewire::v1::FuseCacheResponse* response_;
  const adapter::C2cFuser* fuser_ = nullptr;
  adapter::SharerCache sharer_;  // once complete
  adapter::FusionReport report_;
  double fuse_seconds_ = 0;
};

}  // namespace cachewire::server::worker
