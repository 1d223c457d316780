// cachewire.v1.Router over gRPC's callback API. Every handler authenticates the caller first,
// then either answers from the router's own state (ListAgents), forwards one asynchronous call
// to the agent's worker and finishes in its completion (CreateSession, Append, GetSession,
// CloseSession), relays a stream (Generate, see generate_relay.h), or hands a multi-step job
// to the task pool (Handoff, AgentStats). No handler blocks a gRPC thread.
#pragma once

#include <grpcpp/grpcpp.h>

#include "cachewire/v1/router.grpc.pb.h"
#include "server/router/router_core.h"

namespace cachewire::router {

class RouterService final : public v1::Router::CallbackService {
 public:
  explicit RouterService(RouterCore& core) : core_(core) {}

  grpc::ServerUnaryReactor* ListAgents(grpc::CallbackServerContext* context,
                                       const v1::ListAgentsRequest* request,
                                       v1::ListAgentsResponse* response) override;
  grpc::ServerUnaryReactor* CreateSession(grpc::CallbackServerContext* context,
                                          const v1::CreateSessionRequest* request,
                                          v1::CreateSessionResponse* response) override;
  grpc::ServerUnaryReactor* Append(grpc::CallbackServerContext* context,
                                   const v1::AppendRequest* request,
                                   v1::AppendResponse* response) override;
  grpc::ServerWriteReactor<v1::GenerateResponse>* Generate(
      grpc::CallbackServerContext* context, const v1::GenerateRequest* request) override;
  grpc::ServerUnaryReactor* Handoff(grpc::CallbackServerContext* context,
                                    const v1::HandoffRequest* request,
                                    v1::HandoffResponse* response) override;
  grpc::ServerUnaryReactor* GetSession(grpc::CallbackServerContext* context,
                                       const v1::GetSessionRequest* request,
                                       v1::GetSessionResponse* response) override;
  grpc::ServerUnaryReactor* CloseSession(grpc::CallbackServerContext* context,
                                         const v1::CloseSessionRequest* request,
                                         v1::CloseSessionResponse* response) override;
  grpc::ServerUnaryReactor* AgentStats(grpc::CallbackServerContext* context,
                                       const v1::AgentStatsRequest* request,
                                       v1::AgentStatsResponse* response) override;

 private:
  RouterCore& core_;
};

}  // namespace cachewire::router
