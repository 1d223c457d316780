// The Generate stream (callback API). The reactor checks the request, submits one scheduler job
// and returns; the engine thread then hands it each sampled token and, last, the result. Those
// hand-offs only take a short lock, append to a pending message and, when no write is in
// flight, start one: tokens that arrive while a write is in flight are coalesced into the next
// message, so a slow reader never stalls the engine and memory stays bounded by max_tokens.
// The summary goes out last with the final status. A client that cancels (or whose deadline
// passes) sets the job's cancel flag; the engine ends the job at its next step.
//
// Lifetime: gRPC owns the reactor until OnDone, which deletes it. Finish is called exactly
// once, by whichever of the engine thread or OnWriteDone sees the job done with no write in
// flight, as the last thing it does with the reactor.
#pragma once

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "cachewire/v1/worker.grpc.pb.h"
#include "engine/scheduler/job.h"
#include "server/common/metrics.h"
#include "server/worker/session_table.h"
#include "server/worker/worker_state.h"

namespace cachewire::server::worker {

class GenerateReactor final : public grpc::ServerWriteReactor<cachewire::v1::GenerateResponse> {
 public:
  GenerateReactor(WorkerState& state, grpc::CallbackServerContext* context,
                  const cachewire::v1::GenerateRequest& request);

  void OnWriteDone(bool ok) override;
  void OnCancel() override;
  void OnDone() override;

 private:
  absl::Status Submit(grpc::CallbackServerContext* context,
                      const cachewire::v1::GenerateRequest& request);
  void OnToken(const scheduler::TokenEvent& event);
  void OnJobDone(const absl::Status& status, const scheduler::JobResult& result);
  // Starts the next write or the finish when one is due (takes the lock itself).
  void Pump();

  WorkerState& state_;
  const bool entered_;  // passed the drain gate (left in OnDone)
  RpcTimer timer_;
  std::shared_ptr<WorkerSession> session_;
  std::shared_ptr<std::atomic<bool>> cancelled_ = std::make_shared<std::atomic<bool>>(false);
  uint64_t seed_ = 0;
  std::vector<generate::ChatMessage> turns_;  // chat turns the request appends first
  std::string reply_;  // generated text so far (engine thread only)

  std::mutex mu_;
  cachewire::v1::GenerateResponse pending_;    // tokens not yet written (coalesced)
  bool has_pending_ = false;
  cachewire::v1::GenerateResponse in_flight_;  // the message being written
  bool writing_ = false;
  bool write_failed_ = false;
  bool job_done_ = false;
  bool finished_ = false;
  grpc::Status final_status_;
  cachewire::v1::GenerateSummary summary_;     // written last
};

}  // namespace cachewire::server::worker
