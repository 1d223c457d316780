// FuseCacheReactor (see fuse_cache_reactor.h).
#include "server/worker/fuse_cache_reactor.h"

#include <chrono>
#include <utility>

#include "engine/gguf/str_cat.h"
#include "server/worker/proto_convert.h"

namespace cachewire::server::worker {

using gguf::Cat;

FuseCacheReactor::FuseCacheReactor(WorkerState& state, grpc::CallbackServerContext* context,
                                   cachewire::v1::FuseCacheResponse* response)
    : ChunkReadReactor(state, context, "FuseCache", "cache", "fused"), response_(response) {
  Start();
}

absl::Status FuseCacheReactor::Begin(const cachewire::v1::CacheChunk& chunk) {
  auto fuser = state_.adapters.ForFuse(chunk.adapter());
  if (!fuser.ok()) return fuser.status();
  fuser_ = *fuser;
  assembler_.emplace(CacheShapeOf(*fuser_), session_->id);
  return absl::OkStatus();
}

absl::Status FuseCacheReactor::Submit() {
  sharer_ = assembler_->TakeCache();
  return SubmitApply(
      [this](scheduler::Sequence& sequence) { return Fuse(sequence); },
      [this](const scheduler::JobResult& result) {
        response_->set_entries_fused(report_.entries_fused);
        response_->set_entries_unmatched(report_.entries_unmatched);
        response_->set_tokens_aligned(report_.tokens_aligned);
        FillCacheStats(result.cache, response_->mutable_cache());
        response_->set_queue_ms(result.queue_seconds * 1e3);
        response_->set_fuse_ms(fuse_seconds_ * 1e3);
        state_.worker_metrics.ObserveFuse(assembler_->bytes(), fuse_seconds_);
      });
}

absl::Status FuseCacheReactor::Fuse(scheduler::Sequence& sequence) {
  if (sequence.n_fed() == 0) {
    return absl::FailedPreconditionError(Cat("session_id: session ", session_->id,
                                             " holds no text to fuse into; append the "
                                             "sharer's text first"));
  }
  const auto start = std::chrono::steady_clock::now();
  // The tokens the cache has seen: a generation's last sampled token is not among them yet.
  const auto tokens = sequence.tokens().first(static_cast<size_t>(sequence.n_fed()));
  auto report =
      adapter::FuseIntoSession(*fuser_, state_.model, sequence.session(), tokens, sharer_,
                               sequence.input_starts());
  fuse_seconds_ = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (!report.ok()) return report.status();
  report_ = *report;
  return absl::OkStatus();
}

}  // namespace cachewire::server::worker
