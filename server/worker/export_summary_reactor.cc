// ExportSummaryReactor (see export_summary_reactor.h).
#include "server/worker/export_summary_reactor.h"

#include <chrono>
#include <utility>

#include "engine/gguf/str_cat.h"
#include "server/common/grpc_status.h"
#include "server/common/logging.h"
#include "server/worker/deadline.h"
#include "server/worker/session_task.h"
#include "server/worker/summary_chunks.h"

namespace cachewire::server::worker {

using gguf::Cat;

ExportSummaryReactor::ExportSummaryReactor(WorkerState& state,
                                           grpc::CallbackServerContext* context,
                                           const cachewire::v1::ExportSummaryRequest& request)
    : state_(state), entered_(state.gate.TryEnter()), timer_(&state.metrics, "ExportSummary") {
  const absl::Status submitted = entered_ ? Submit(context, request) : DrainingStatus();
  if (!submitted.ok()) Fail(submitted);  // no task: nothing else can touch the reactor
}

absl::Status ExportSummaryReactor::Submit(grpc::CallbackServerContext* context,
                                          const cachewire::v1::ExportSummaryRequest& request) {
  auto session = state_.sessions.Find(request.session_id());
  if (!session.ok()) return session.status();
  (*session)->Touch();
  auto adapter = state_.adapters.ForExport(request.adapter());
  if (!adapter.ok()) return adapter.status();
  adapter_ = *adapter;
  const int32_t per_chunk = request.slots_per_chunk();
  if (per_chunk < 0 || per_chunk > kMaxSlotsPerChunk) {
    return absl::InvalidArgumentError(Cat("slots_per_chunk: must be in [0, ", kMaxSlotsPerChunk,
                                          "] (0: ", kDefaultSlotsPerChunk, "), got ", per_chunk));
  }
  slots_per_chunk_ = per_chunk == 0 ? kDefaultSlotsPerChunk : per_chunk;
  SessionTask task;
  task.sequence = (*session)->sequence;
  task.cancelled = cancelled_;
  task.deadline = SteadyDeadline(context->deadline());
  task.run = [this](scheduler::Sequence& sequence) { return Encode(sequence); };
  task.done = [this](const absl::Status& status, const scheduler::JobResult&) {
    if (!status.ok()) return Fail(status);
    WriteNext();
  };
  return SubmitSessionTask(state_.scheduler, std::move(task));
}

absl::Status ExportSummaryReactor::Encode(scheduler::Sequence& sequence) {
  if (sequence.session().n_past() == 0) {
    return absl::FailedPreconditionError(
        "session_id: the session holds no context to summarise; append text first");
  }
  const auto start = std::chrono::steady_clock::now();
  auto slots = adapter_->Encode(state_.model, sequence.session());
  encode_seconds_ =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (!slots.ok()) return slots.status();
  auto chunks = SplitSummary({adapter_->name(), adapter_->n_slots(), adapter_->slot_dim()},
                             *slots, slots_per_chunk_);
  if (!chunks.ok()) return chunks.status();
  if (chunks->empty()) {
    return absl::InternalError(Cat("adapter '", adapter_->name(), "': a summary of no slots"));
  }
  chunks_ = *std::move(chunks);
  return absl::OkStatus();
}

void ExportSummaryReactor::WriteNext() {
  const cachewire::v1::SummaryChunk& chunk = chunks_[next_++];
  bytes_ += static_cast<int64_t>(chunk.slots().size());
  if (next_ < chunks_.size()) return StartWrite(&chunk);
  state_.worker_metrics.ObserveExport(bytes_, encode_seconds_);
  timer_.Finish(grpc::StatusCode::OK);
  StartWriteAndFinish(&chunk, grpc::WriteOptions(), grpc::Status::OK);
}

void ExportSummaryReactor::OnWriteDone(bool ok) {
  if (!ok) {  // the reader is gone (cancelled, deadline, connection lost)
    return Fail(absl::CancelledError("the summary stream was closed before its last chunk"));
  }
  WriteNext();
}

void ExportSummaryReactor::Fail(const absl::Status& status) {
  const grpc::Status st = ToGrpcStatus(status);
  timer_.Finish(st.error_code());
  Finish(st);
}

void ExportSummaryReactor::OnDone() {
  if (entered_) state_.gate.Leave();
  delete this;
}

}  // namespace cachewire::server::worker
