// ExportCacheReactor (see export_cache_reactor.h).
#include "server/worker/export_cache_reactor.h"

#include <chrono>
#include <utility>

#include "engine/adapter/c2c_session.h"
#include "server/worker/cache_chunks.h"

namespace cachewire::server::worker {

ExportCacheReactor::ExportCacheReactor(WorkerState& state, grpc::CallbackServerContext* context,
                                       const cachewire::v1::ExportCacheRequest& request)
    : ChunkWriteReactor(state, "ExportCache", "cache") {
  Start(context, request.session_id(), [&] { return Check(request); },
        [this](scheduler::Sequence& sequence) { return Export(sequence); });
}

absl::Status ExportCacheReactor::Check(const cachewire::v1::ExportCacheRequest& request) {
  auto fuser = state_.adapters.ForCacheExport(request.adapter());
  if (!fuser.ok()) return fuser.status();
  fuser_ = *fuser;
  auto per_chunk = ChunkSize(request.entries_per_chunk(), kDefaultEntriesPerChunk,
                             kMaxEntriesPerChunk, "entries_per_chunk");
  if (!per_chunk.ok()) return per_chunk.status();
  entries_per_chunk_ = *per_chunk;
  return absl::OkStatus();
}

absl::Status ExportCacheReactor::Export(scheduler::Sequence& sequence) {
  if (sequence.n_fed() == 0) {
    return absl::FailedPreconditionError(
        "session_id: the session holds no context to share; append text first");
  }
  const auto start = std::chrono::steady_clock::now();
  // The tokens the cache has seen: a generation's last sampled token is not among them yet.
  const auto tokens = sequence.tokens().first(static_cast<size_t>(sequence.n_fed()));
  auto cache = adapter::ExportForFusion(*fuser_, state_.model, sequence.session(), tokens,
                                        sequence.input_starts());
  if (!cache.ok()) return cache.status();
  auto chunks = SplitCache(CacheShapeOf(*fuser_), *cache, entries_per_chunk_);
  export_seconds_ =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (!chunks.ok()) return chunks.status();
  chunks_ = *std::move(chunks);
  return absl::OkStatus();
}

void ExportCacheReactor::Exported() {
  int64_t bytes = 0;
  for (const cachewire::v1::CacheChunk& chunk : chunks_) {
    bytes += static_cast<int64_t>(chunk.ByteSizeLong());
  }
  state_.worker_metrics.ObserveCacheExport(bytes, export_seconds_);
}

}  // namespace cachewire::server::worker
