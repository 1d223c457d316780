// Router and worker targets of cachewire-load (see load_target.h).
#include "client/load/load_target.h"

#include <chrono>

#include "absl/status/status.h"

namespace cachewire::load {
namespace {

std::unique_ptr<grpc::ClientContext> ContextWith(const std::string& token, double timeout_s) {
  auto context = std::make_unique<grpc::ClientContext>();
  if (!token.empty()) context->AddMetadata("authorization", "Bearer " + token);
  if (timeout_s > 0) {
    context->set_deadline(std::chrono::system_clock::now() +
                          std::chrono::milliseconds(static_cast<int64_t>(timeout_s * 1000)));
  }
  return context;
}

// Open/close calls keep their request and response alive until their completion runs.
template <typename Request, typename Response>
struct Pending {
  Request request;
  Response response;
};

// What both targets share: streaming Generate and CloseSession take the same messages on the
// router and on the worker; they differ in how a session opens and in credentials.
template <typename Service>
class StubTarget : public Target {
 public:
  StubTarget(std::shared_ptr<grpc::Channel> channel, std::string token)
      : stub_(Service::NewStub(channel)), token_(std::move(token)) {}

  std::unique_ptr<grpc::ClientContext> NewContext(double timeout_s) const override {
    return ContextWith(token_, timeout_s);
  }
  void Generate(grpc::ClientContext* context, const v1::GenerateRequest* request,
                grpc::ClientReadReactor<v1::GenerateResponse>* reactor) override {
    stub_->async()->Generate(context, request, reactor);
  }
  void Close(grpc::ClientContext* context, const std::string& session_id,
             std::function<void(grpc::Status)> done) override {
    auto call = std::make_shared<Pending<v1::CloseSessionRequest, v1::CloseSessionResponse>>();
    call->request.set_session_id(session_id);
    stub_->async()->CloseSession(context, &call->request, &call->response,
                                 [call, done](grpc::Status status) { done(status); });
  }

 protected:
  std::unique_ptr<typename Service::Stub> stub_;

 private:
  std::string token_;
};

class RouterTarget final : public StubTarget<v1::Router> {
 public:
  RouterTarget(std::shared_ptr<grpc::Channel> channel, std::string token, std::string agent)
      : StubTarget(std::move(channel), std::move(token)), agent_(std::move(agent)) {}

  void Open(grpc::ClientContext* context,
            std::function<void(grpc::Status, std::string)> done) override {
    auto call = std::make_shared<Pending<v1::CreateSessionRequest, v1::CreateSessionResponse>>();
    call->request.set_agent(agent_);
    stub_->async()->CreateSession(context, &call->request, &call->response,
                                  [call, done](grpc::Status status) {
                                    done(status, call->response.session_id());
                                  });
  }

 private:
  std::string agent_;
};

class WorkerTarget final : public StubTarget<v1::Worker> {
 public:
  explicit WorkerTarget(std::shared_ptr<grpc::Channel> channel)
      : StubTarget(std::move(channel), "") {}

  void Open(grpc::ClientContext* context,
            std::function<void(grpc::Status, std::string)> done) override {
    auto call = std::make_shared<Pending<v1::OpenSessionRequest, v1::OpenSessionResponse>>();
    stub_->async()->OpenSession(context, &call->request, &call->response,
                                [call, done](grpc::Status status) {
                                  done(status, call->response.session_id());
                                });
  }
};

}  // namespace

absl::StatusOr<std::unique_ptr<Target>> MakeTarget(const TargetParams& params) {
  auto channel = grpc::CreateChannel(params.address, grpc::InsecureChannelCredentials());
  if (params.kind == "worker") return std::unique_ptr<Target>(new WorkerTarget(channel));
  if (params.kind != "router") {
    return absl::InvalidArgumentError("--target " + params.kind + ": not router or worker");
  }
  std::string agent = params.agent;
  if (agent.empty()) {
    auto stub = v1::Router::NewStub(channel);
    auto context = ContextWith(params.token, 10);
    v1::ListAgentsResponse agents;
    const grpc::Status status = stub->ListAgents(context.get(), v1::ListAgentsRequest(), &agents);
    if (!status.ok()) {
      return absl::UnavailableError("router " + params.address +
                                    ": ListAgents failed: " + status.error_message());
    }
    if (agents.agents_size() == 0) return absl::NotFoundError("the router has no agents");
    agent = agents.agents(0).name();
  }
  return std::unique_ptr<Target>(new RouterTarget(channel, params.token, agent));
}

}  // namespace cachewire::load
