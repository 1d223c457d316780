// `cachewire stats [--agent NAME] [--session ID]`: with a session, its cache (tokens, entries
// per layer, bytes, evictions, pinned entries) and policy; otherwise each agent's worker
// statistics (sessions, queue, cache totals, tokens, batch occupancy).
#include <CLI/CLI.hpp>

#include <cstdio>
#include <iostream>
#include <memory>
#include <string>

#include "client/cli/commands.h"
#include "client/cli/router_connection.h"

namespace cachewire::cli {
namespace {

struct StatsArgs {
  RouterFlags router;
  std::string agent;
  std::string session;
};

[[noreturn]] void Fail(const std::string& message) {
  std::cerr << "cachewire stats: " << message << "\n";
  throw CLI::RuntimeError(1);
}

void PrintSession(const v1::GetSessionResponse& response) {
  const v1::SessionStats& s = response.stats();
  const v1::CacheStats& c = s.cache();
  std::printf("session %s on agent %s\n", response.session_id().c_str(),
              response.agent().c_str());
  std::printf("tokens %lld | cache n_past %lld / n_ctx %lld | entries %lld | bytes %lld | "
              "evictions %lld | pinned %lld\n",
              static_cast<long long>(s.n_tokens()), static_cast<long long>(c.n_past()),
              static_cast<long long>(c.n_ctx()), static_cast<long long>(c.entries()),
              static_cast<long long>(c.bytes()), static_cast<long long>(c.evictions()),
              static_cast<long long>(c.pinned()));
  if (c.entries_per_layer_size() > 0) {
    std::printf("entries per layer:");
    for (int64_t n : c.entries_per_layer()) std::printf(" %lld", static_cast<long long>(n));
    std::printf("\n");
  }
  const v1::CachePolicy& p = s.cache_policy();
  std::printf("policy: %s", p.bounded() ? "bounded" : "full");
  if (p.bounded()) {
    std::printf(" sink=%d window=%d budget=%d slack=%d l2=%s", p.n_sink(), p.window(),
                p.budget(), p.slack(), p.l2() ? "on" : "off");
  }
  std::printf("\n");
}

void PrintAgents(const v1::AgentStatsResponse& response) {
  std::printf("%-16s %-12s %9s %9s %7s %12s %10s %10s %10s %6s\n", "AGENT", "HEALTH",
              "SESSIONS", "(YOURS)", "QUEUE", "CACHE_BYTES", "EVICTIONS", "PREFILLED",
              "GENERATED", "BATCH");
  for (const v1::AgentStatsEntry& entry : response.agents()) {
    const v1::WorkerStats& w = entry.worker();
    const double batch = w.forward_passes() > 0
                             ? static_cast<double>(w.forward_rows()) / w.forward_passes()
                             : 0.0;
    std::printf("%-16s %-12s %9d %9d %3d/%-3d %12lld %10lld %10lld %10lld %6.2f\n",
                entry.agent().c_str(),
                entry.health() == v1::AGENT_HEALTH_SERVING ? "serving" : "unavailable",
                entry.router_sessions(), entry.caller_sessions(), w.queue_depth(),
                w.max_queue(), static_cast<long long>(w.cache_bytes()),
                static_cast<long long>(w.cache_evictions()),
                static_cast<long long>(w.tokens_prefilled()),
                static_cast<long long>(w.tokens_generated()), batch);
  }
}

void RunStats(const StatsArgs& args) {
  auto connection = RouterConnection::Open(args.router);
  if (!connection.ok()) Fail(std::string(connection.status().message()));
  auto context = connection->NewContext();
  if (!args.session.empty()) {
    v1::GetSessionRequest request;
    request.set_session_id(args.session);
    v1::GetSessionResponse response;
    const grpc::Status status = connection->stub().GetSession(context.get(), request, &response);
    if (!status.ok()) Fail(DescribeStatus(status));
    PrintSession(response);
    return;
  }
  v1::AgentStatsRequest request;
  request.set_agent(args.agent);
  v1::AgentStatsResponse response;
  const grpc::Status status = connection->stub().AgentStats(context.get(), request, &response);
  if (!status.ok()) Fail(DescribeStatus(status));
  PrintAgents(response);
}

}  // namespace

void RegisterStats(CLI::App& app) {
  auto args = std::make_shared<StatsArgs>();
  CLI::App* cmd = app.add_subcommand("stats", "Statistics of agents or of one session");
  cmd->add_option("--agent", args->agent, "Only this agent");
  cmd->add_option("--session", args->session, "One session's cache statistics");
  AddRouterFlags(*cmd, args->router);
  cmd->callback([args] { RunStats(*args); });
}

}  // namespace cachewire::cli
