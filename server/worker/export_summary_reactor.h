// The ExportSummary stream (callback API), the sharer's side of an LCF handoff. The reactor
// checks the request (session, adapter, this worker being the adapter's sharer) and queues a
// session task (session_task.h); on the engine thread, between the session's forwards, the
// task runs the LCF encoder on the session's cache and splits the slots into f16 chunks. The
// reactor then writes the chunks one at a time, each next one from OnWriteDone, the last
// together with the final status. A summary is small (n_slots x slot_dim x 2 bytes: 16 KiB at
// 32 x 256), so it is held whole until written; a slow reader never holds the engine thread.
//
// Lifetime: gRPC owns the reactor until OnDone, which deletes it. Until the task is done only
// the engine thread touches it; after that only the write chain does.
#pragma once

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <memory>
#include <vector>

#include "absl/status/status.h"
#include "cachewire/v1/worker.grpc.pb.h"
#include "engine/adapter/lcf_adapter.h"
#include "engine/scheduler/sequence.h"
#include "server/common/metrics.h"
#include "server/worker/worker_state.h"

namespace cachewire::server::worker {

class ExportSummaryReactor final : public grpc::ServerWriteReactor<cachewire::v1::SummaryChunk> {
 public:
  ExportSummaryReactor(WorkerState& state, grpc::CallbackServerContext* context,
                       const cachewire::v1::ExportSummaryRequest& request);

  void OnWriteDone(bool ok) override;
  void OnCancel() override { cancelled_->store(true); }
  void OnDone() override;

 private:
  absl::Status Submit(grpc::CallbackServerContext* context,
                      const cachewire::v1::ExportSummaryRequest& request);
  // Engine thread: encodes the session's cache into chunks_.
  absl::Status Encode(scheduler::Sequence& sequence);
  // Writes chunk next_ (the last one with the final status).
  void WriteNext();
  // Finishes with an error (no write in flight).
  void Fail(const absl::Status& status);

  WorkerState& state_;
  const bool entered_;  // passed the drain gate (left in OnDone)
  RpcTimer timer_;
  const adapter::LcfAdapter* adapter_ = nullptr;
  int32_t slots_per_chunk_ = 0;
  std::shared_ptr<std::atomic<bool>> cancelled_ = std::make_shared<std::atomic<bool>>(false);
  std::vector<cachewire::v1::SummaryChunk> chunks_;  // each lives until its write is done
  size_t next_ = 0;
  int64_t bytes_ = 0;
  double encode_seconds_ = 0;
};

}  // namespace cachewire::server::worker
