// The ExportSummary stream, the sharer's side of an LCF handoff (chunk_write_reactor.h). The
// reactor checks the request (session, adapter, this worker being the adapter's sharer) and
// queues a session task that runs the LCF encoder on the session's cache and splits the slots
// into f16 chunks, which are then written one at a time. A summary is small (n_slots x
// slot_dim x 2 bytes: at most 16 KiB at 128 x 64), so holding it whole until written costs
// little.
#pragma once

#include <grpcpp/grpcpp.h>

#include "absl/status/status.h"
#include "cachewire/v1/worker.grpc.pb.h"
#include "engine/adapter/lcf_adapter.h"
#include "engine/scheduler/sequence.h"
#include "server/worker/chunk_write_reactor.h"
#include "server/worker/worker_state.h"

namespace cachewire::server::worker {

class ExportSummaryReactor final : public ChunkWriteReactor<cachewire::v1::SummaryChunk> {
 public:
  ExportSummaryReactor(WorkerState& state, grpc::CallbackServerContext* context,
                       const cachewire::v1::ExportSummaryRequest& request);

 private:
  // The request's adapter and chunk size.
  absl::Status Check(const cachewire::v1::ExportSummaryRequest& request);
  // Engine thread: encodes the session's cache into chunks_.
  absl::Status Encode(scheduler::Sequence& sequence);
  void Exported() override;

  const adapter::LcfAdapter* adapter_ = nullptr;
  int32_t slots_per_chunk_ = 0;
  double encode_seconds_ = 0;
};

}  // namespace cachewire::server::worker
