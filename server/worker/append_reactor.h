// The Append call (callback API, unary): the reactor checks and tokenizes the input, submits a
// scheduler job and returns at once; the engine thread finishes the call when the tokens are in
// the session's cache. A client that cancels stops the job between prefill chunks (the chunks
// already run stay in the session).
#pragma once

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <memory>

#include "absl/status/status.h"
#include "cachewire/v1/worker.grpc.pb.h"
#include "engine/scheduler/job.h"
#include "server/common/metrics.h"
#include "server/worker/worker_state.h"

namespace cachewire::server::worker {

class AppendReactor final : public grpc::ServerUnaryReactor {
 public:
  AppendReactor(WorkerState& state, grpc::CallbackServerContext* context,
                const cachewire::v1::AppendRequest& request,
                cachewire::v1::AppendResponse* response);

  void OnCancel() override { cancelled_->store(true); }
  void OnDone() override {
    if (entered_) state_.gate.Leave();
    delete this;
  }

 private:
  absl::Status Submit(grpc::CallbackServerContext* context,
                      const cachewire::v1::AppendRequest& request);
  // Called once, on the engine thread or in the constructor; the last use of `this`.
  void Done(const absl::Status& status);

  WorkerState& state_;
  const bool entered_;  // passed the drain gate (left in OnDone)
  RpcTimer timer_;
  cachewire::v1::AppendResponse* response_;
  std::shared_ptr<std::atomic<bool>> cancelled_ = std::make_shared<std::atomic<bool>>(false);
};

}  // namespace cachewire::server::worker
