// The ExportCache stream, the sharer's side of a C2C handoff (chunk_write_reactor.h). The
// reactor checks the request (session, fuser, this worker being the fuser's sharer, the chunk
// size) and queues a session task that reads what the fuser needs of the session's cache
// (adapter::ExportForFusion: the text's spans, the kept entries of every layer it reads, keys
// un-rotated) and splits it into f16 chunks (cache_chunks.h), which are then written one at a
// time. Held whole until written: (head_dim_k + head_dim_v) x 2 bytes per token, kv-head and
// layer read, 384 KiB for 512 tokens of cw-llama (6 layers, one kv-head of 32 + 32).
#pragma once

#include <grpcpp/grpcpp.h>

#include "absl/status/status.h"
#include "cachewire/v1/worker.grpc.pb.h"
#include "engine/adapter/c2c_fuser.h"
#include "engine/scheduler/sequence.h"
#include "server/worker/chunk_write_reactor.h"
#include "server/worker/worker_state.h"

namespace cachewire::server::worker {

class ExportCacheReactor final : public ChunkWriteReactor<cachewire::v1::CacheChunk> {
 public:
  ExportCacheReactor(WorkerState& state, grpc::CallbackServerContext* context,
                     const cachewire::v1::ExportCacheRequest& request);

 private:
  // The request's adapter and chunk size.
  absl::Status Check(const cachewire::v1::ExportCacheRequest& request);
  // Engine thread: reads the session's cache into chunks_.
  absl::Status Export(scheduler::Sequence& sequence);
  void Exported() override;

  const adapter::C2cFuser* fuser_ = nullptr;
  int32_t entries_per_chunk_ = 0;
  double export_seconds_ = 0;
};

}  // namespace cachewire::server::worker
