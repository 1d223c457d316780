// The ImportSummary stream (callback API), the receiver's side of an LCF handoff. The reactor
// reads one chunk at a time: the first names the session and the adapter (checked at once:
// session known, this worker the adapter's receiver, the session's cache bounded, since only a
// bounded cache takes pins), and every chunk is checked and decoded from f16 as it arrives
// (summary_chunks.h). Only when the last chunk is in, with every slot, does it queue a session
// task that decodes the slots and pins the entries (LcfAdapter::Import, atomic) on the engine
// thread. A stream that fails, is cancelled or ends early finishes before that task exists, so
// the session is never touched.
//
// Lifetime: gRPC owns the reactor until OnDone, which deletes it. Reads are chained (one in
// flight, the next started from OnReadDone); the task, queued after the last read, finishes.
#pragma once

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <memory>
#include <optional>
#include <vector>

#include "absl/status/status.h"
#include "cachewire/v1/worker.grpc.pb.h"
#include "engine/adapter/lcf_adapter.h"
#include "engine/scheduler/sequence.h"
#include "server/common/metrics.h"
#include "server/worker/session_table.h"
#include "server/worker/summary_chunks.h"
#include "server/worker/worker_state.h"

namespace cachewire::server::worker {

class ImportSummaryReactor final : public grpc::ServerReadReactor<cachewire::v1::SummaryChunk> {
 public:
  ImportSummaryReactor(WorkerState& state, grpc::CallbackServerContext* context,
                       cachewire::v1::ImportSummaryResponse* response);

  void OnReadDone(bool ok) override;
  void OnCancel() override { cancelled_->store(true); }
  void OnDone() override;

 private:
  // The first chunk: finds the session and the adapter and starts the assembler.
  absl::Status Begin(const cachewire::v1::SummaryChunk& chunk);
  // Queues the import once every slot is in.
  absl::Status Submit();
  // Engine thread: decodes and pins; fills the per-layer pin counts.
  absl::Status Import(scheduler::Sequence& sequence);
  // Finishes the call (exactly once).
  void Done(const absl::Status& status);

  WorkerState& state_;
  grpc::CallbackServerContext* context_;
  const bool entered_;  // passed the drain gate (left in OnDone)
  RpcTimer timer_;
  cachewire::v1::ImportSummaryResponse* response_;
  cachewire::v1::SummaryChunk chunk_;  // the read in flight
  std::shared_ptr<WorkerSession> session_;
  const adapter::LcfAdapter* adapter_ = nullptr;
  std::optional<SummaryAssembler> assembler_;
  std::vector<float> slots_;  // (n_slots, slot_dim) once complete
  std::shared_ptr<std::atomic<bool>> cancelled_ = std::make_shared<std::atomic<bool>>(false);
  double import_seconds_ = 0;
};

}  // namespace cachewire::server::worker
