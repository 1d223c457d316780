// The Router service's handlers (see router_service.h).
#include "server/router/router_service.h"

#include <memory>

#include "server/common/grpc_status.h"
#include "server/common/metrics.h"
#include "server/router/generate_relay.h"
#include "server/router/handoff.h"
#include "server/router/unary_call.h"
#include "server/router/worker_status.h"

namespace cachewire::router {
grpc::ServerUnaryReactor* RouterService::ListAgents(grpc::CallbackServerContext* context,
                                                    const v1::ListAgentsRequest* /*request*/,
                                                    v1::ListAgentsResponse* response) {
  Call call(core_, context, "ListAgents");
  if (call.refused()) return call.FinishRefused();
  if (auto caller = core_.Authenticate(*context); !caller.ok()) {
    return call.Finish(caller.status());
  }
  for (const auto& agent : core_.pool().agents()) {
    v1::AgentInfo* info = response->add_agents();
    info->set_name(agent->name());
    info->set_health(agent->health());
    if (auto worker = agent->info()) *info->mutable_worker() = *worker;
  }
  for (const AdapterConfig& adapter : core_.config().adapters) {
    v1::AdapterInfo* info = response->add_adapters();
    info->set_sharer(adapter.sharer);
    info->set_receiver(adapter.receiver);
    info->set_mode(adapter.kind == AdapterKind::kLcf ? v1::HANDOFF_MODE_LCF
                                                     : v1::HANDOFF_MODE_C2C);
    info->set_name(adapter.name);
  }
  return call.Finish(grpc::Status::OK);
}

grpc::ServerUnaryReactor* RouterService::CreateSession(grpc::CallbackServerContext* context,
                                                       const v1::CreateSessionRequest* request,
                                                       v1::CreateSessionResponse* response) {
  auto call = std::make_shared<Call>(core_, context, "CreateSession");
  if (call->refused()) return call->FinishRefused();
  auto caller = core_.Authenticate(*context);
  if (!caller.ok()) return call->Finish(caller.status());
  auto agent = core_.FindAgent(request->agent());
  if (!agent.ok()) return call->Finish(agent.status());
  if (request->n_ctx() < 0) {
    return call->Finish(absl::InvalidArgumentError("n_ctx: must be >= 0, got " +
                                                   std::to_string(request->n_ctx())));
  }
  auto open = std::make_shared<WorkerCall<v1::OpenSessionRequest, v1::OpenSessionResponse>>(
      *context);
  open->request.set_n_ctx(request->n_ctx());
  if (request->has_policy()) *open->request.mutable_cache_policy() = request->policy();
  AgentLink* link = *agent;
  const CallerId owner = *caller;
  link->stub().async()->OpenSession(
      open->context.get(), &open->request, &open->response,
      [this, call, open, link, owner, response](grpc::Status status) {
        if (!status.ok()) {
          call->Finish(RelayWorkerStatus(status, {link, nullptr, "agent"}));
          return;
        }
        auto session = core_.sessions().Add(link->name(), open->response.session_id(), owner);
        if (!session.ok()) {
          // The router filled up meanwhile: give the worker its session back.
          auto close =
              std::make_shared<WorkerCall<v1::CloseSessionRequest, v1::CloseSessionResponse>>();
          close->request.set_session_id(open->response.session_id());
          link->stub().async()->CloseSession(close->context.get(), &close->request,
                                             &close->response, [close](grpc::Status) {});
          call->Finish(session.status());
          return;
        }
        core_.metrics().SetSessions(core_.sessions().size());
        response->set_session_id(session->id);
        response->set_agent(link->name());
        response->set_n_ctx(open->response.n_ctx());
        *response->mutable_policy() = open->response.cache_policy();
        call->Finish(grpc::Status::OK);
      });
  return call->reactor;
}

grpc::ServerUnaryReactor* RouterService::Append(grpc::CallbackServerContext* context,
                                                const v1::AppendRequest* request,
                                                v1::AppendResponse* response) {
  auto call = std::make_shared<Call>(core_, context, "Append");
  if (call->refused()) return call->FinishRefused();
  auto caller = core_.Authenticate(*context);
  if (!caller.ok()) return call->Finish(caller.status());
  auto resolved = core_.Resolve(request->session_id(), *caller, "session_id");
  if (!resolved.ok()) return call->Finish(resolved.status());
  auto append =
      std::make_shared<WorkerCall<v1::AppendRequest, v1::AppendResponse>>(*context);
  append->request = *request;
  append->request.set_session_id(resolved->session.worker_session_id);
  resolved->agent->stub().async()->Append(
      append->context.get(), &append->request, response,
      [this, call, append, target = *resolved](grpc::Status status) {
        if (status.error_code() == grpc::StatusCode::NOT_FOUND) {
          core_.ForgetLostSession(target.session);
        }
        call->Finish(RelayWorkerStatus(status, {target.agent, &target.session, "session_id"}));
      });
  return call->reactor;
}

grpc::ServerWriteReactor<v1::GenerateResponse>* RouterService::Generate(
    grpc::CallbackServerContext* context, const v1::GenerateRequest* request) {
  return StartGenerateRelay(core_, context, request);
}

grpc::ServerUnaryReactor* RouterService::GetSession(grpc::CallbackServerContext* context,
                                                    const v1::GetSessionRequest* request,
                                                    v1::GetSessionResponse* response) {
  auto call = std::make_shared<Call>(core_, context, "GetSession");
  if (call->refused()) return call->FinishRefused();
  auto caller = core_.Authenticate(*context);
  if (!caller.ok()) return call->Finish(caller.status());
  auto resolved = core_.Resolve(request->session_id(), *caller, "session_id");
  if (!resolved.ok()) return call->Finish(resolved.status());
  auto stats = std::make_shared<WorkerCall<v1::StatsRequest, v1::StatsResponse>>(*context);
  stats->request.set_session_id(resolved->session.worker_session_id);
  const bool with_transcript = request->include_transcript();
  resolved->agent->stub().async()->Stats(
      stats->context.get(), &stats->request, &stats->response,
      [this, call, stats, response, context, with_transcript,
       target = *resolved](grpc::Status status) {
        if (status.error_code() == grpc::StatusCode::NOT_FOUND) {
          core_.ForgetLostSession(target.session);
        }
        if (!status.ok()) {
          call->Finish(RelayWorkerStatus(status, {target.agent, &target.session, "session_id"}));
          return;
        }
        response->set_session_id(target.session.id);
        response->set_agent(target.agent->name());
        if (stats->response.sessions_size() > 0) {
          *response->mutable_stats() = stats->response.sessions(0);
          response->mutable_stats()->set_session_id(target.session.id);
        }
        if (!with_transcript) {
          call->Finish(grpc::Status::OK);
          return;
        }
        // Second step: the transcript.
        auto transcript = std::make_shared<
            WorkerCall<v1::GetTranscriptRequest, v1::GetTranscriptResponse>>(*context);
        transcript->request.set_session_id(target.session.worker_session_id);
        target.agent->stub().async()->GetTranscript(
            transcript->context.get(), &transcript->request, &transcript->response,
            [call, transcript, response, target](grpc::Status status) {
              if (status.ok()) {
                response->set_transcript(transcript->response.text());
                *response->mutable_transcript_messages() = transcript->response.messages();
              }
              call->Finish(
                  RelayWorkerStatus(status, {target.agent, &target.session, "session_id"}));
            });
      });
  return call->reactor;
}

grpc::ServerUnaryReactor* RouterService::CloseSession(grpc::CallbackServerContext* context,
                                                      const v1::CloseSessionRequest* request,
                                                      v1::CloseSessionResponse* response) {
  auto call = std::make_shared<Call>(core_, context, "CloseSession");
  if (call->refused()) return call->FinishRefused();
  auto caller = core_.Authenticate(*context);
  if (!caller.ok()) return call->Finish(caller.status());
  auto removed = core_.sessions().Remove(request->session_id(), *caller, "session_id");
  if (!removed.ok()) return call->Finish(removed.status());
  core_.metrics().SetSessions(core_.sessions().size());
  AgentLink* link = core_.pool().Find(removed->agent);
  auto close =
      std::make_shared<WorkerCall<v1::CloseSessionRequest, v1::CloseSessionResponse>>(*context);
  close->request.set_session_id(removed->worker_session_id);
  link->stub().async()->CloseSession(
      close->context.get(), &close->request, response,
      [call, close, link, session = *removed](grpc::Status status) {
        call->Finish(RelayWorkerStatus(status, {link, &session, "session_id"}));
      });
  return call->reactor;
}

grpc::ServerUnaryReactor* RouterService::Handoff(grpc::CallbackServerContext* context,
                                                 const v1::HandoffRequest* request,
                                                 v1::HandoffResponse* response) {
  auto call = std::make_shared<Call>(core_, context, "Handoff");
  if (call->refused()) return call->FinishRefused();
  auto caller = core_.Authenticate(*context);
  if (!caller.ok()) return call->Finish(caller.status());
  if (auto valid = ValidateHandoffRequest(*request); !valid.ok()) return call->Finish(valid);
  auto from = core_.Resolve(request->from_session_id(), *caller, "from_session_id");
  if (!from.ok()) return call->Finish(from.status());
  auto to = core_.Resolve(request->to_session_id(), *caller, "to_session_id");
  if (!to.ok()) return call->Finish(to.status());
  response->set_mode(request->mode());
  const AdapterConfig* adapter = nullptr;
  if (request->mode() == v1::HANDOFF_MODE_LCF || request->mode() == v1::HANDOFF_MODE_C2C) {
    auto resolved = ResolveAdapter(*request, core_.config(), from->session.agent,
                                   to->session.agent);
    if (!resolved.ok()) {
      core_.metrics().RecordHandoff(*response,
                                    server::ToGrpcStatus(resolved.status()).error_code());
      return call->Finish(resolved.status());
    }
    adapter = *resolved;
    response->set_adapter(adapter->name);
  }
  HandoffEnd sharer{from->session, from->agent};
  HandoffEnd receiver{to->session, to->agent};
  absl::Status queued = core_.tasks().Submit(
      [this, call, context, request, response, adapter, sharer, receiver] {
        const grpc::Status status =
            RunHandoff(*request, adapter, sharer, receiver, *context, response);
        core_.metrics().RecordHandoff(*response, status.error_code());
        call->Finish(status);
      },
      "handoff");
  if (!queued.ok()) return call->Finish(queued);
  return call->reactor;
}

grpc::ServerUnaryReactor* RouterService::AgentStats(grpc::CallbackServerContext* context,
                                                    const v1::AgentStatsRequest* request,
                                                    v1::AgentStatsResponse* response) {
  auto call = std::make_shared<Call>(core_, context, "AgentStats");
  if (call->refused()) return call->FinishRefused();
  auto caller = core_.Authenticate(*context);
  if (!caller.ok()) return call->Finish(caller.status());
  std::vector<AgentLink*> agents;
  if (!request->agent().empty()) {
    auto agent = core_.FindAgent(request->agent());
    if (!agent.ok()) return call->Finish(agent.status());
    agents.push_back(*agent);
  } else {
    for (auto& agent : core_.pool().agents()) agents.push_back(agent.get());
  }
  absl::Status queued = core_.tasks().Submit(
      [this, call, context, response, agents, owner = *caller] {
        for (AgentLink* agent : agents) {
          v1::AgentStatsEntry* entry = response->add_agents();
          entry->set_agent(agent->name());
          entry->set_router_sessions(
              static_cast<int32_t>(core_.sessions().CountForAgent(agent->name())));
          entry->set_caller_sessions(
              static_cast<int32_t>(core_.sessions().CountForAgent(agent->name(), owner)));
          v1::StatsRequest stats_request;
          stats_request.set_session_id("");
          v1::StatsResponse stats;
          auto child = ChildContext(*context);
          const grpc::Status status = agent->stub().Stats(child.get(), stats_request, &stats);
          entry->set_health(status.ok() ? v1::AGENT_HEALTH_SERVING
                                        : v1::AGENT_HEALTH_UNAVAILABLE);
          if (status.ok()) *entry->mutable_worker() = stats.worker();
        }
        call->Finish(grpc::Status::OK);
      },
      "agent stats");
  if (!queued.ok()) return call->Finish(queued);
  return call->reactor;
}

}  // namespace cachewire::router
