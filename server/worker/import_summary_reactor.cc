// ImportSummaryReactor (see import_summary_reactor.h).
#include "server/worker/import_summary_reactor.h"

#include <chrono>
#include <utility>

#include "engine/gguf/str_cat.h"
#include "server/worker/proto_convert.h"

namespace cachewire::server::worker {

using gguf::Cat;

ImportSummaryReactor::ImportSummaryReactor(WorkerState& state,
                                           grpc::CallbackServerContext* context,
                                           cachewire::v1::ImportSummaryResponse* response)
    : ChunkReadReactor(state, context, "ImportSummary", "summary", "imported"),
      response_(response) {
  Start();
}

absl::Status ImportSummaryReactor::Begin(const cachewire::v1::SummaryChunk& chunk) {
  auto adapter = state_.adapters.ForImport(chunk.adapter());
  if (!adapter.ok()) return adapter.status();
  adapter_ = *adapter;
  if (!session_->policy.bounded()) {
    return absl::FailedPreconditionError(
        Cat("session_id: session ", session_->id, " has an unbounded cache; importing a "
            "summary pins entries, which takes a bounded cache (open the session with "
            "cache_policy.bounded)"));
  }
  assembler_.emplace(SummaryShape{adapter_->name(), adapter_->n_slots(), adapter_->slot_dim(),
                                  adapter_->per_token()},
                     session_->id);
  return absl::OkStatus();
}

absl::Status ImportSummaryReactor::Submit() {
  slots_ = assembler_->TakeSlots();
  return SubmitApply(
      [this](scheduler::Sequence& sequence) { return Import(sequence); },
      [this](const scheduler::JobResult& result) {
        response_->set_slots_imported(static_cast<int64_t>(slots_.size()) /
                                      adapter_->slot_dim());
        FillCacheStats(result.cache, response_->mutable_cache());
        response_->set_queue_ms(result.queue_seconds * 1e3);
        response_->set_import_ms(import_seconds_ * 1e3);
        state_.worker_metrics.ObserveImport(assembler_->bytes(), import_seconds_);
      });
}

absl::Status ImportSummaryReactor::Import(scheduler::Sequence& sequence) {
  const auto start = std::chrono::steady_clock::now();
  model::Session& session = sequence.session();
  if (absl::Status st = adapter_->Import(state_.model, session, slots_); !st.ok()) return st;
  import_seconds_ =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  // Pinned entries are the ones that came from no token.
  const cache::KvCache* kv = session.kv_cache();
  if (kv == nullptr) return absl::OkStatus();
  for (int64_t il = 0; il < kv->shape().n_layer; ++il) {
    int64_t pinned = 0;
    for (int64_t h = 0; h < kv->shape().n_head_kv; ++h) {
      const cache::KvHeadView view = kv->View(il, h);
      for (int64_t i = 0; view.token != nullptr && i < view.n; ++i) pinned += view.token[i] < 0;
    }
    response_->add_pinned_per_layer(pinned);
  }
  return absl::OkStatus();
}

}  // namespace cachewire::server::worker
