// ImportSummaryReactor (see import_summary_reactor.h).
#include "server/worker/import_summary_reactor.h"

#include <chrono>
#include <utility>

#include "engine/gguf/str_cat.h"
#include "server/common/grpc_status.h"
#include "server/worker/deadline.h"
#include "server/worker/proto_convert.h"
#include "server/worker/session_task.h"

namespace cachewire::server::worker {

using gguf::Cat;

ImportSummaryReactor::ImportSummaryReactor(WorkerState& state,
                                           grpc::CallbackServerContext* context,
                                           cachewire::v1::ImportSummaryResponse* response)
    : state_(state), context_(context), entered_(state.gate.TryEnter()),
      timer_(&state.metrics, "ImportSummary"), response_(response) {
  if (entered_) {
    StartRead(&chunk_);
  } else {
    Done(DrainingStatus());
  }
}

void ImportSummaryReactor::OnReadDone(bool ok) {
  if (!ok) {  // the client closed its side (or went away) before the last chunk
    if (cancelled_->load() || context_->IsCancelled()) {
      return Done(absl::CancelledError(
          "the summary stream was cancelled before its last chunk; nothing was imported"));
    }
    if (!assembler_) return Done(absl::InvalidArgumentError("seq: the stream carried no chunk"));
    return Done(absl::InvalidArgumentError(
        Cat("last: the stream ended after ", assembler_->chunks(),
            " chunks without its last one; nothing was imported")));
  }
  absl::Status status = assembler_ ? absl::OkStatus() : Begin(chunk_);
  if (status.ok()) status = assembler_->Add(chunk_);
  if (status.ok() && assembler_->complete()) status = Submit();
  if (!status.ok()) return Done(status);
  if (!assembler_->complete()) StartRead(&chunk_);
}

absl::Status ImportSummaryReactor::Begin(const cachewire::v1::SummaryChunk& chunk) {
  if (chunk.seq() != 0) {
    return absl::InvalidArgumentError(Cat("seq: expected 0, got ", chunk.seq(),
                                          " (chunks are numbered from 0 without gaps)"));
  }
  auto session = state_.sessions.Find(chunk.session_id());
  if (!session.ok()) return session.status();
  session_ = *session;
  session_->Touch();
  auto adapter = state_.adapters.ForImport(chunk.adapter());
  if (!adapter.ok()) return adapter.status();
  adapter_ = *adapter;
  if (!session_->policy.bounded()) {
    return absl::FailedPreconditionError(
        Cat("session_id: session ", session_->id, " has an unbounded cache; importing a "
            "summary pins entries, which takes a bounded cache (open the session with "
            "cache_policy.bounded)"));
  }
  assembler_.emplace(SummaryShape{adapter_->name(), adapter_->n_slots(), adapter_->slot_dim()},
                     session_->id);
  return absl::OkStatus();
}

absl::Status ImportSummaryReactor::Submit() {
  slots_ = assembler_->TakeSlots();
  SessionTask task;
  task.sequence = session_->sequence;
  task.cancelled = cancelled_;
  task.deadline = SteadyDeadline(context_->deadline());
  task.run = [this](scheduler::Sequence& sequence) { return Import(sequence); };
  task.done = [this](const absl::Status& status, const scheduler::JobResult& result) {
    if (status.ok()) {
      response_->set_slots_imported(adapter_->n_slots());
      FillCacheStats(result.cache, response_->mutable_cache());
      response_->set_queue_ms(result.queue_seconds * 1e3);
      response_->set_import_ms(import_seconds_ * 1e3);
      state_.worker_metrics.ObserveImport(assembler_->bytes(), import_seconds_);
    }
    Done(status);
  };
  return SubmitSessionTask(state_.scheduler, std::move(task));
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

void ImportSummaryReactor::Done(const absl::Status& status) {
  const grpc::Status st = ToGrpcStatus(status);
  timer_.Finish(st.error_code());
  Finish(st);
}

void ImportSummaryReactor::OnDone() {
  if (entered_) state_.gate.Leave();
  delete this;
}

}  // namespace cachewire::server::worker
