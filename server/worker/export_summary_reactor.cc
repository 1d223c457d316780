// ExportSummaryReactor (see export_summary_reactor.h).
#include "server/worker/export_summary_reactor.h"

#include <chrono>
#include <utility>

#include "engine/gguf/str_cat.h"
#include "server/worker/summary_chunks.h"

namespace cachewire::server::worker {

using gguf::Cat;

ExportSummaryReactor::ExportSummaryReactor(WorkerState& state,
                                           grpc::CallbackServerContext* context,
                                           const cachewire::v1::ExportSummaryRequest& request)
    : ChunkWriteReactor(state, "ExportSummary", "summary") {
  Start(context, request.session_id(), [&] { return Check(request); },
        [this](scheduler::Sequence& sequence) { return Encode(sequence); });
}

absl::Status ExportSummaryReactor::Check(const cachewire::v1::ExportSummaryRequest& request) {
  auto adapter = state_.adapters.ForExport(request.adapter());
  if (!adapter.ok()) return adapter.status();
  adapter_ = *adapter;
  auto per_chunk = ChunkSize(request.slots_per_chunk(), kDefaultSlotsPerChunk,
                             kMaxSlotsPerChunk, "slots_per_chunk");
  if (!per_chunk.ok()) return per_chunk.status();
  slots_per_chunk_ = *per_chunk;
  return absl::OkStatus();
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
  // A per-token adapter's summary has as many slots as tokens it sent.
  auto n_slots = adapter_->SlotCount(slots->size());
  if (!n_slots.ok()) {
    return absl::InternalError(Cat("adapter '", adapter_->name(), "': the encoder gave ",
                                   slots->size(), " values: ", n_slots.status().message()));
  }
  auto chunks = SplitSummary({adapter_->name(), *n_slots, adapter_->slot_dim()}, *slots,
                             slots_per_chunk_);
  if (!chunks.ok()) return chunks.status();
  if (chunks->empty()) {
    return absl::InternalError(Cat("adapter '", adapter_->name(), "': a summary of no slots"));
  }
  chunks_ = *std::move(chunks);
  return absl::OkStatus();
}

void ExportSummaryReactor::Exported() {
  int64_t bytes = 0;
  for (const cachewire::v1::SummaryChunk& chunk : chunks_) {
    bytes += static_cast<int64_t>(chunk.slots().size());
  }
  state_.worker_metrics.ObserveExport(bytes, encode_seconds_);
}

}  // namespace cachewire::server::worker
