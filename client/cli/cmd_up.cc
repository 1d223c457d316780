// `cachewire up CONFIG [--listen ADDR] [--metrics ADDR] [--demo] [--quiet]`: runs a local
// cachewire deployment: one cachewire-worker per agent of the config (on the agent's worker
// address; port 0 picks a free one) and a cachewire-router in front, all as child processes
// found beside this binary. Once every agent serves it prints where each daemon listens, and
// writes the router's address with a freshly generated token to the local endpoint file (mode
// 0600; see router_connection.h) so that `cachewire agents|chat|stats|handoff` need no flags.
// Ctrl-C or SIGTERM stops the router, then the workers, and removes the file.
//
// Each worker gets the agent's `threads`, `device` and `cache` settings as flags, and
// `--adapter FILE` for every adapter (LCF or C2C) of the config whose sharer or receiver is that
// agent.
//
// --demo runs a short scripted exchange instead of waiting (two sessions, a turn on the first
// agent, a TEXT_CONTEXT handoff to the second, a turn there), then stops everything.
#include <CLI/CLI.hpp>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "client/cli/commands.h"
#include "client/cli/daemon_process.h"
#include "client/cli/router_connection.h"
#include "server/router/auth.h"
#include "server/router/router_config.h"

namespace cachewire::cli {
namespace {

namespace fs = std::filesystem;

struct UpArgs {
  std::string config;
  std::string listen;
  std::string metrics;
  bool demo = false;
  bool quiet = false;
  int ready_timeout_s = 60;
};

[[noreturn]] void Fail(const std::string& message) {
  std::cerr << "cachewire up: " << message << "\n";
  throw CLI::RuntimeError(1);
}

fs::path BinaryDir() {
  std::error_code error;
  const fs::path self = fs::read_symlink("/proc/self/exe", error);
  return error ? fs::current_path() : self.parent_path();
}

// Waits until ListAgents shows every agent serving.
void WaitUntilServing(RouterConnection& connection, int timeout_s) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
  std::string last_problem = "no answer";
  while (std::chrono::steady_clock::now() < deadline) {
    v1::ListAgentsResponse agents;
    auto context = connection.NewContext();
    context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(2));
    const grpc::Status status =
        connection.stub().ListAgents(context.get(), v1::ListAgentsRequest(), &agents);
    if (status.ok()) {
      bool all = true;
      for (const v1::AgentInfo& agent : agents.agents()) {
        if (agent.health() != v1::AGENT_HEALTH_SERVING) {
          all = false;
          last_problem = "agent " + agent.name() + " not serving";
        }
      }
      if (all) return;
    } else {
      last_problem = DescribeStatus(status);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  Fail("the deployment did not become healthy within " + std::to_string(timeout_s) +
       " s (" + last_problem + ")");
}

// Creates a session on `agent`; fails the command on error.
std::string CreateSession(RouterConnection& connection, const std::string& agent) {
  v1::CreateSessionRequest request;
  request.set_agent(agent);
  v1::CreateSessionResponse response;
  auto context = connection.NewContext();
  const grpc::Status status = connection.stub().CreateSession(context.get(), request, &response);
  if (!status.ok()) Fail("demo: CreateSession(" + agent + "): " + DescribeStatus(status));
  return response.session_id();
}

// Appends text to a session; fails the command on error.
void Append(RouterConnection& connection, const std::string& session, const std::string& text) {
  v1::AppendRequest request;
  request.set_session_id(session);
  request.set_text(text);
  v1::AppendResponse response;
  auto context = connection.NewContext();
  const grpc::Status status = connection.stub().Append(context.get(), request, &response);
  if (!status.ok()) Fail("demo: Append: " + DescribeStatus(status));
}

// Greedy answer to `text` (appended first), up to the end of its line.
std::string Answer(RouterConnection& connection, const std::string& session,
                   const std::string& text) {
  v1::GenerateRequest request;
  request.set_session_id(session);
  request.set_text(text);
  request.mutable_sampling()->set_max_tokens(24);
  request.mutable_sampling()->set_temperature(0);
  request.mutable_sampling()->add_stop("\n");
  auto context = connection.NewContext();
  auto reader = connection.stub().Generate(context.get(), request);
  std::string reply;
  v1::GenerateResponse message;
  while (reader->Read(&message)) {
    if (message.has_tokens()) reply += message.tokens().text();
  }
  const grpc::Status status = reader->Finish();
  if (!status.ok()) Fail("demo: Generate: " + DescribeStatus(status));
  // The reply continues "Answer:", so it starts with a space; the demo prints the answer alone.
  return std::string(absl::StripAsciiWhitespace(reply));
}

// One episode of the handoff suite's test split (tools/suite/data/test.jsonl, the first one):
// the sharer reads records, the receiver has records of its own and is asked about the sharer's.
constexpr char kDemoSharerContext[] =
    "Mike Lee has a pet ferret . Mike Lee code 5 1 8 0 . Pablo Ellis colour purple . The owner of "
    "West Manor is Mike Lee . The code of Tina Lee is 0 7 1 8 . The job of Simon Bell is doctor . "
    "Adam Quirk colour violet . Pablo Ellis code 3 7 2 7 . The owner of Bridge Villa is Simon Bell "
    ". Oscar Bell colour pink . Ursula Moore home West Manor . Noah Wong job sailor . Paula Olsen "
    "lives at Bridge Villa . Adam Quirk was born on 2 4 November . Dana Irwin born 1 1 February .";
constexpr char kDemoReceiverContext[] =
    "Mike Usman home Low Lodge . Helen Hayes works as a teacher . The colour of Omar Grant is green "
    ". The birthday of Jane Shaw is 1 2 September . Omar Grant has a pet dog . Julia Tate lives at "
    "Iron Farm . The home of Omar Grant is River Court .";
constexpr char kDemoQuestion[] = " Question: Who owns West Manor ? Answer:";
constexpr char kDemoAnswer[] = "Mike Lee";

// The main job: agent a reads records, hands off to agent b in each mode, b answers a question
// about them. Prints each mode's answer, handoff latency and bytes moved. C2C fuses two caches
// of one text, so its receiver reads a's records instead of its own; TEXT_SUMMARY goes last
// because the summary a writes becomes part of a's session.
void RunDemo(RouterConnection& connection, const router::RouterConfig& config) {
  const std::string sharer_agent = config.agents.front().name;
  const std::string receiver_agent = config.agents.back().name;
  const std::string sharer = CreateSession(connection, sharer_agent);
  Append(connection, sharer, kDemoSharerContext);
  std::printf("demo: %s reads %zu bytes of records; %s has records of its own and is asked:%s "
              "(expected: %s)\n",
              sharer_agent.c_str(), sizeof(kDemoSharerContext) - 1, receiver_agent.c_str(),
              kDemoQuestion + 10, kDemoAnswer);
  const std::pair<v1::HandoffMode, const char*> modes[] = {
      {v1::HANDOFF_MODE_NONE, "NONE"},
      {v1::HANDOFF_MODE_TEXT_CONTEXT, "TEXT_CONTEXT"},
      {v1::HANDOFF_MODE_C2C, "C2C"},
      {v1::HANDOFF_MODE_LCF, "LCF"},
      {v1::HANDOFF_MODE_TEXT_SUMMARY, "TEXT_SUMMARY"}};
  for (const auto& [mode, name] : modes) {
    const std::string receiver = CreateSession(connection, receiver_agent);
    const bool shared = mode == v1::HANDOFF_MODE_C2C;
    Append(connection, receiver, shared ? kDemoSharerContext : kDemoReceiverContext);
    v1::HandoffRequest handoff;
    handoff.set_from_session_id(sharer);
    handoff.set_to_session_id(receiver);
    handoff.set_mode(mode);
    if (mode == v1::HANDOFF_MODE_TEXT_SUMMARY) {
      handoff.set_summary_prompt(" Summary:");
      handoff.set_summary_max_tokens(96);
    }
    v1::HandoffResponse moved;
    auto context = connection.NewContext();
    const auto t0 = std::chrono::steady_clock::now();
    const grpc::Status status = connection.stub().Handoff(context.get(), handoff, &moved);
    if (!status.ok()) {
      std::printf("demo: %-12s not available: %s\n", name, DescribeStatus(status).c_str());
      continue;
    }
    const std::string answer = Answer(connection, receiver, kDemoQuestion);
    const double ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    std::printf("demo: %-12s %s answers \"%s\" (%s) | handoff to answer %.1f ms, %lld bytes "
                "moved%s\n",
                name, receiver_agent.c_str(), answer.c_str(),
                answer.find(kDemoAnswer) != std::string::npos ? "right" : "wrong", ms,
                static_cast<long long>(moved.bytes_moved()),
                shared ? " (its session holds the same records)" : "");
  }
}

// The worker flags of one agent beyond its model and address.
std::vector<std::string> WorkerFlags(const router::RouterConfig& config,
                                     const router::AgentConfig& agent) {
  std::vector<std::string> flags;
  if (agent.threads > 0) flags.insert(flags.end(), {"--threads", std::to_string(agent.threads)});
  if (!agent.device.empty()) flags.insert(flags.end(), {"--device", agent.device});
  const router::AgentCacheConfig& cache = agent.cache;
  if (cache.bounded.value_or(false)) flags.push_back("--cache-bounded");
  const std::pair<const char*, std::optional<int64_t>> sizes[] = {
      {"--cache-budget", cache.budget},
      {"--cache-window", cache.window},
      {"--cache-sinks", cache.sinks},
      {"--cache-slack", cache.slack}};
  for (const auto& [flag, value] : sizes) {
    if (value) flags.insert(flags.end(), {flag, std::to_string(*value)});
  }
  if (cache.l2) flags.insert(flags.end(), {"--cache-l2", *cache.l2 ? "true" : "false"});
  for (const router::AdapterConfig& adapter : config.adapters) {
    const bool ours = adapter.sharer == agent.name || adapter.receiver == agent.name;
    if (ours) flags.insert(flags.end(), {"--adapter", adapter.file});
  }
  return flags;
}

void RunUp(const UpArgs& args) {
  auto config = router::LoadRouterConfig(args.config);
  if (!config.ok()) Fail(std::string(config.status().message()));
  // Signals are taken synchronously below; children get an empty mask (daemon_process.cc).
  sigset_t termination;
  sigemptyset(&termination);
  sigaddset(&termination, SIGINT);
  sigaddset(&termination, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &termination, nullptr);

  const fs::path bin = BinaryDir();
  std::vector<std::unique_ptr<DaemonProcess>> workers;
  std::vector<std::string> worker_flags;
  for (const router::AgentConfig& agent : config->agents) {
    if (agent.model.empty()) Fail(args.config + ": agent " + agent.name + " names no model");
    DaemonParams params{.binary = (bin / "cachewire-worker").string(),
                        .args = {"--model", agent.model, "--listen", agent.worker,
                                 "--metrics", "127.0.0.1:0"},
                        .quiet_stderr = args.quiet};
    const std::vector<std::string> flags = WorkerFlags(*config, agent);
    params.args.insert(params.args.end(), flags.begin(), flags.end());
    auto worker = DaemonProcess::Start(params);
    if (!worker.ok()) Fail("agent " + agent.name + ": " + std::string(worker.status().message()));
    worker_flags.push_back(agent.name + "=" + (*worker)->grpc_address());
    std::printf("agent %-12s worker grpc=%s metrics=%s model=%s\n", agent.name.c_str(),
                (*worker)->grpc_address().c_str(), (*worker)->metrics_address().c_str(),
                agent.model.c_str());
    workers.push_back(*std::move(worker));
  }

  // The router's token: fresh for every run, in a 0600 file only this user can read.
  const std::string token = router::NewRandomToken();
  auto state_dir = PrivateStateDir();
  if (!state_dir.ok()) Fail(std::string(state_dir.status().message()));
  const fs::path token_file =
      fs::path(*state_dir) / ("router-" + std::to_string(getpid()) + ".tokens");
  if (auto s = WritePrivateFile(token_file.string(), token + "\n"); !s.ok()) {
    Fail(std::string(s.message()));
  }
  DaemonParams router_params{
      .binary = (bin / "cachewire-router").string(),
      .args = {"--config", args.config, "--token-file", token_file.string(), "--listen",
               !args.listen.empty() ? args.listen
                                    : (!config->listen.empty() ? config->listen : "127.0.0.1:0"),
               "--metrics",
               !args.metrics.empty() ? args.metrics
                                     : (!config->metrics.empty() ? config->metrics
                                                                 : "127.0.0.1:0")},
      .quiet_stderr = args.quiet};
  for (const std::string& flag : worker_flags) {
    router_params.args.insert(router_params.args.end(), {"--worker", flag});
  }
  auto router = DaemonProcess::Start(router_params);
  if (!router.ok()) Fail(std::string(router.status().message()));
  {
    RouterFlags router_flags;
    router_flags.router = (*router)->grpc_address();
    router_flags.token = token;
    auto connection = RouterConnection::Open(router_flags);
    if (!connection.ok()) Fail(std::string(connection.status().message()));
    WaitUntilServing(*connection, args.ready_timeout_s);
    if (auto s = WriteLocalEndpoint({.router = (*router)->grpc_address(),
                                     .token = token,
                                     .metrics = (*router)->metrics_address(),
                                     .pid = getpid()});
        !s.ok()) {
      Fail(std::string(s.message()));
    }
    std::printf("router grpc=%s metrics=%s\n", (*router)->grpc_address().c_str(),
                (*router)->metrics_address().c_str());
    std::printf("ready: `cachewire agents`, `cachewire chat %s` (endpoint and token in %s)\n",
                config->agents.front().name.c_str(), LocalEndpointPath().c_str());
    std::fflush(stdout);
    if (args.demo) RunDemo(*connection, *config);
  }  // our channel closes here: the router's drain then waits for no idle client
  if (!args.demo) {
    int sig = 0;
    sigwait(&termination, &sig);
    std::printf("stopping (signal %d)\n", sig);
  }
  const int router_code = (*router)->Stop();
  int worker_failures = 0;
  for (auto& worker : workers) worker_failures += worker->Stop() != 0;
  if (auto endpoint = ReadLocalEndpoint(); endpoint.ok() && endpoint->pid == getpid()) {
    std::remove(LocalEndpointPath().c_str());  // ours, not a later `up`'s
  }
  std::remove(token_file.c_str());
  if (router_code != 0 || worker_failures > 0) {
    Fail("daemons exited uncleanly (router code " + std::to_string(router_code) + ", " +
         std::to_string(worker_failures) + " worker(s) failed)");
  }
  std::printf("stopped\n");
}

}  // namespace

void RegisterUp(CLI::App& app) {
  auto args = std::make_shared<UpArgs>();
  CLI::App* cmd = app.add_subcommand("up", "Run a local router and one worker per agent");
  cmd->add_option("config", args->config, "Router config (YAML), e.g. deploy/local.yaml")
      ->required();
  cmd->add_option("--listen", args->listen, "Router gRPC address (default: the config's)");
  cmd->add_option("--metrics", args->metrics, "Router /metrics address (default: the config's)");
  cmd->add_flag("--demo", args->demo, "Run a scripted exchange, then stop");
  cmd->add_flag("--quiet", args->quiet, "Silence the daemons' logs");
  cmd->add_option("--ready-timeout", args->ready_timeout_s, "Seconds to wait for health")
      ->capture_default_str();
  cmd->callback([args] { RunUp(*args); });
}

}  // namespace cachewire::cli
