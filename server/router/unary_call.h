// Pieces of the router's unary handlers: the reactor that holds the drain gate for the call's
// lifetime, the Call that finishes it exactly once with its latency recorded, and the holder of
// a worker call's context, request and response until the worker's completion runs.
#pragma once

#include <memory>

#include <grpcpp/grpcpp.h>

#include "server/common/drain_gate.h"
#include "server/common/grpc_status.h"
#include "server/common/metrics.h"
#include "server/router/router_core.h"
#include "server/router/worker_pool.h"

namespace cachewire::router {

// The reactor of one unary call. It holds the router's drain gate from its start to OnDone,
// so that a drain waits for the call's answer to be sent; once the gate is closed the call is
// refused with UNAVAILABLE.
class GatedUnaryReactor final : public grpc::ServerUnaryReactor {
 public:
  explicit GatedUnaryReactor(server::DrainGate& gate) : gate_(gate), entered_(gate.TryEnter()) {}
  bool entered() const { return entered_; }
  void OnDone() override {
    if (entered_) gate_.Leave();
    delete this;
  }

 private:
  server::DrainGate& gate_;
  const bool entered_;
};

// One unary call in progress: its reactor and latency timer. Shared by the handler and the
// completion of the worker call it started; Finish is called exactly once.
struct Call {
  Call(RouterCore& core, grpc::CallbackServerContext* /*context*/, const char* method)
      : reactor(new GatedUnaryReactor(core.drain_gate())), timer(&core.rpc_metrics(), method) {}
  // UNAVAILABLE when the router is draining; handlers return Finish(...) of it at once.
  bool refused() const { return !reactor->entered(); }
  grpc::ServerUnaryReactor* Finish(const grpc::Status& status) {
    timer.Finish(status.error_code());
    reactor->Finish(status);
    return reactor;
  }
  grpc::ServerUnaryReactor* Finish(const absl::Status& status) {
    return Finish(server::ToGrpcStatus(status));
  }
  grpc::ServerUnaryReactor* FinishRefused() {
    return Finish(grpc::Status(grpc::StatusCode::UNAVAILABLE, "router: shutting down"));
  }
  GatedUnaryReactor* reactor;
  server::RpcTimer timer;
};

// A worker call's own context, request and response, alive until its completion runs.
template <typename Request, typename Response>
struct WorkerCall {
  explicit WorkerCall(const grpc::CallbackServerContext& parent)
      : context(ChildContext(parent)) {}
  WorkerCall() : context(std::make_unique<grpc::ClientContext>()) {}  // on nobody's behalf
  std::unique_ptr<grpc::ClientContext> context;
  Request request;
  Response response;
};

}  // namespace cachewire::router
