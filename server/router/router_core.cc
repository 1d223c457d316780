// Shared router state and the lookups every call starts with (see router_core.h).
#include "server/router/router_core.h"

#include <set>

#include "server/common/logging.h"

namespace cachewire::router {

RouterCore::RouterCore(RouterConfig config, Authenticator auth, const RouterParams& params,
                       server::MetricsRegistry& metrics)
    : config_(std::move(config)),
      auth_(std::move(auth)),
      rpc_metrics_(metrics),
      metrics_(metrics.registry()),
      sessions_(params.max_sessions),
      pool_(config_, params.pool),
      tasks_(params.task_threads, params.max_queued_tasks) {}

absl::StatusOr<CallerId> RouterCore::Authenticate(
    const grpc::CallbackServerContext& context) const {
  const auto& metadata = context.client_metadata();
  const auto it = metadata.find("authorization");
  if (it == metadata.end()) return auth_.Authenticate(std::nullopt);
  return auth_.Authenticate(std::string_view(it->second.data(), it->second.size()));
}

absl::StatusOr<AgentLink*> RouterCore::FindAgent(const std::string& name) {
  if (name.empty()) return absl::InvalidArgumentError("agent: empty");
  if (AgentLink* link = pool_.Find(name)) return link;
  std::string known;
  for (const auto& agent : pool_.agents()) known += (known.empty() ? "" : ", ") + agent->name();
  return absl::NotFoundError("agent '" + name.substr(0, 64) + "': no such agent (known: " +
                             known + ")");
}

absl::StatusOr<ResolvedSession> RouterCore::Resolve(const std::string& id, CallerId caller,
                                                    const std::string& field) {
  auto session = sessions_.Lookup(id, caller, field);
  if (!session.ok()) return session.status();
  AgentLink* link = pool_.Find(session->agent);
  if (link == nullptr) return absl::InternalError("session of an unknown agent");
  return ResolvedSession{*std::move(session), link};
}

void RouterCore::ForgetLostSession(const PublicSession& session) {
  sessions_.Remove(session.id, session.owner, "session_id").IgnoreError();
  metrics_.SetSessions(sessions_.size());
}

void RouterCore::StartMonitor(std::function<void(bool)> on_health) {
  pool_.StartMonitor(
      [this, on_health](bool all_serving) {
        for (const auto& agent : pool_.agents()) {
          metrics_.SetAgentUp(agent->name(), agent->health() == v1::AGENT_HEALTH_SERVING);
        }
        on_health(all_serving);
      },
      [this](AgentLink& agent) { OnWorkerRestarted(agent); });
}

// A restarted worker kept none of the old sessions; the ones it has were opened since the
// restart (through this router) and stay.
void RouterCore::OnWorkerRestarted(AgentLink& agent) {
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(2));
  v1::StatsResponse stats;
  const grpc::Status status = agent.stub().Stats(&context, v1::StatsRequest(), &stats);
  std::set<std::string> alive;
  if (status.ok()) {
    for (const v1::SessionStats& s : stats.sessions()) alive.insert(s.session_id());
  }
  const size_t dropped = sessions_.RemoveLostSessions(agent.name(), alive);
  metrics_.SetSessions(sessions_.size());
  server::LogEvent(spdlog::level::warn, "sessions_lost",
                   {{"agent", agent.name()}, {"sessions", static_cast<int64_t>(dropped)}});
}

}  // namespace cachewire::router
