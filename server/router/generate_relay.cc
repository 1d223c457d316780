// The Generate pass-through (see generate_relay.h).
//
// Ordering: the server half writes only after the client half read a message, and the client
// half reads again only after that write completed, so at most one message is in flight. The
// worker's final status may arrive while that write is pending (no read is outstanding then):
// a hold on the client half, taken when the write starts and released once the next read has
// been started (or the call cancelled), keeps its OnDone, which finishes the server half, until
// no write is pending. Lifetime: two references, one per half, dropped in each half's OnDone.
#include "server/router/generate_relay.h"

#include <atomic>
#include <memory>

#include "server/common/grpc_status.h"
#include "server/common/metrics.h"
#include "server/router/router_core.h"
#include "server/router/worker_status.h"

namespace cachewire::router {
namespace {

class GenerateRelay final : public grpc::ServerWriteReactor<v1::GenerateResponse> {
 public:
  GenerateRelay(RouterCore& core, grpc::CallbackServerContext* context)
      : core_(core), server_context_(context), timer_(&core.rpc_metrics(), "Generate") {}

  void Start(const v1::GenerateRequest& request) {
    entered_gate_ = core_.drain_gate().TryEnter();
    if (!entered_gate_) {
      return FinishEarly(grpc::Status(grpc::StatusCode::UNAVAILABLE, "router: shutting down"));
    }
    auto caller = core_.Authenticate(*server_context_);
    if (!caller.ok()) return FinishEarly(server::ToGrpcStatus(caller.status()));
    auto resolved = core_.Resolve(request.session_id(), *caller, "session_id");
    if (!resolved.ok()) return FinishEarly(server::ToGrpcStatus(resolved.status()));
    resolved_ = *std::move(resolved);
    upstream_request_ = request;
    upstream_request_.set_session_id(resolved_.session.worker_session_id);
    client_context_ = grpc::ClientContext::FromCallbackServerContext(*server_context_);
    refs_.store(2);
    resolved_.agent->stub().async()->Generate(client_context_.get(), &upstream_request_,
                                              &upstream_);
    upstream_.StartRead(&message_);
    upstream_.StartCall();
  }

  // --- server half (caller) ---
  void OnWriteDone(bool ok) override {
    if (ok) {
      upstream_.StartRead(&message_);
    } else {
      client_context_->TryCancel();  // the caller is gone: end the worker's stream (OnDone)
    }
    upstream_.RemoveHold();  // taken in OnUpstreamRead
  }
  void OnCancel() override {
    if (client_context_) client_context_->TryCancel();
  }
  void OnDone() override {
    if (entered_gate_) core_.drain_gate().Leave();
    Unref();
  }

 private:
  // --- client half (worker) ---
  class Upstream final : public grpc::ClientReadReactor<v1::GenerateResponse> {
   public:
    explicit Upstream(GenerateRelay* relay) : relay_(relay) {}
    void OnReadDone(bool ok) override { relay_->OnUpstreamRead(ok); }
    void OnDone(const grpc::Status& status) override { relay_->OnUpstreamDone(status); }

   private:
    GenerateRelay* relay_;
  };

  void OnUpstreamRead(bool ok) {
    if (!ok) return;  // the stream ended; OnUpstreamDone follows with its status
    core_.metrics().CountStreamMessage(resolved_.agent->name());
    upstream_.AddHold();  // no upstream OnDone while this write is pending
    StartWrite(&message_);
  }

  void OnUpstreamDone(const grpc::Status& status) {
    if (status.error_code() == grpc::StatusCode::NOT_FOUND) {
      core_.ForgetLostSession(resolved_.session);
    }
    const grpc::Status relayed =
        RelayWorkerStatus(status, {resolved_.agent, &resolved_.session, "session_id"});
    timer_.Finish(relayed.error_code());
    Finish(relayed);
    Unref();
  }

  void FinishEarly(const grpc::Status& status) {
    refs_.store(1);
    timer_.Finish(status.error_code());
    Finish(status);
  }

  void Unref() {
    if (refs_.fetch_sub(1) == 1) delete this;
  }

  RouterCore& core_;
  grpc::CallbackServerContext* server_context_;
  server::RpcTimer timer_;
  ResolvedSession resolved_;
  v1::GenerateRequest upstream_request_;
  std::unique_ptr<grpc::ClientContext> client_context_;
  Upstream upstream_{this};
  v1::GenerateResponse message_;  // the one message in flight, read into and written from
  std::atomic<int> refs_{1};
  bool entered_gate_ = false;
};

}  // namespace

grpc::ServerWriteReactor<v1::GenerateResponse>* StartGenerateRelay(
    RouterCore& core, grpc::CallbackServerContext* context, const v1::GenerateRequest* request) {
  auto* relay = new GenerateRelay(core, context);
  relay->Start(*request);
  return relay;
}

}  // namespace cachewire::router
