// The ImportSummary stream, the receiver's side of an LCF handoff (chunk_read_reactor.h). The
// first chunk names the session and the adapter (checked at once: session known, this worker
// the adapter's receiver, the session's cache bounded, since only a bounded cache takes pins),
// and every chunk is checked and decoded from f16 as it arrives (summary_chunks.h). Once the
// last chunk is in, with every slot, a session task decodes the slots and pins the entries
// (LcfAdapter::Import, atomic) on the engine thread.
#pragma once

#include <grpcpp/grpcpp.h>

#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "cachewire/v1/worker.grpc.pb.h"
#include "engine/adapter/lcf_adapter.h"
#include "engine/scheduler/sequence.h"
#include "server/worker/chunk_read_reactor.h"
#include "server/worker/summary_chunks.h"
#include "server/worker/worker_state.h"

namespace cachewire::server::worker {

class ImportSummaryReactor final
    : public ChunkReadReactor<cachewire::v1::SummaryChunk, SummaryAssembler> {
 public:
  ImportSummaryReactor(WorkerState& state, grpc::CallbackServerContext* context,
                       cachewire::v1::ImportSummaryResponse* response);

 private:
  // The first chunk: finds the adapter, checks the session's policy, starts the assembler.
  absl::Status Begin(const cachewire::v1::SummaryChunk& chunk) override;
  // Queues the import once every slot is in.
  absl::Status Submit() override;
  // Engine thread: decodes and pins; fills the per-layer pin counts.
  absl::Status Import(scheduler::Sequence& sequence);

  cachewire::v1::ImportSummaryResponse* response_;
  const adapter::LcfAdapter* adapter_ = nullptr;
  std::vector<float> slots_;  // (n_slots, slot_dim) once complete
  double import_seconds_ = 0;
};

}  // namespace cachewire::server::worker
