// `cachewire agents [--router ADDR --token T]`: the router's agents, one line each (name,
// health, model, architecture, tokenizer, chat template, context, cache policy), then the
// configured adapters. Talks to the local `cachewire up` router unless told otherwise.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <iostream>
#include <memory>
#include <string>

#include "client/cli/commands.h"
#include "client/cli/router_connection.h"

namespace cachewire::cli {
namespace {

[[noreturn]] void Fail(const std::string& message) {
  std::cerr << "cachewire agents: " << message << "\n";
  throw CLI::RuntimeError(1);
}

std::string PolicyText(const v1::CachePolicy& policy) {
  if (!policy.bounded()) return "full";
  return "bounded(sink=" + std::to_string(policy.n_sink()) +
         ",window=" + std::to_string(policy.window()) +
         ",budget=" + std::to_string(policy.budget()) + (policy.l2() ? ",l2)" : ")");
}

void RunAgents(const RouterFlags& flags) {
  auto connection = RouterConnection::Open(flags);
  if (!connection.ok()) Fail(std::string(connection.status().message()));
  v1::ListAgentsResponse response;
  auto context = connection->NewContext();
  const grpc::Status status =
      connection->stub().ListAgents(context.get(), v1::ListAgentsRequest(), &response);
  if (!status.ok()) Fail(DescribeStatus(status));
  std::printf("%-16s %-12s %-28s %-8s %-6s %-8s %7s  %-6s %s\n", "AGENT", "HEALTH", "MODEL",
              "ARCH", "TOKENS", "TEMPLATE", "N_CTX", "DEVICE", "CACHE");
  for (const v1::AgentInfo& agent : response.agents()) {
    const v1::InfoResponse& w = agent.worker();
    const std::string model = !w.model_name().empty() ? w.model_name() : w.model_path();
    std::printf("%-16s %-12s %-28s %-8s %-6s %-8s %7lld  %-6s %s\n", agent.name().c_str(),
                agent.health() == v1::AGENT_HEALTH_SERVING ? "serving" : "unavailable",
                model.empty() ? "-" : model.c_str(),
                w.architecture().empty() ? "-" : w.architecture().c_str(),
                w.tokenizer_kind().empty() ? "-" : w.tokenizer_kind().c_str(),
                w.chat_template().empty() ? "-" : w.chat_template().c_str(),
                static_cast<long long>(w.n_ctx()), w.backend().empty() ? "-" : w.backend().c_str(),
                agent.has_worker() ? PolicyText(w.cache_policy()).c_str() : "-");
  }
  for (const v1::AdapterInfo& adapter : response.adapters()) {
    std::printf("adapter %s -> %s  %s  %s\n", adapter.sharer().c_str(),
                adapter.receiver().c_str(), v1::HandoffMode_Name(adapter.mode()).c_str(),
                adapter.name().c_str());
  }
}

}  // namespace

void RegisterAgents(CLI::App& app) {
  auto flags = std::make_shared<RouterFlags>();
  CLI::App* cmd = app.add_subcommand("agents", "List a router's agents and adapters");
  AddRouterFlags(*cmd, *flags);
  cmd->callback([flags] { RunAgents(*flags); });
}

}  // namespace cachewire::cli
