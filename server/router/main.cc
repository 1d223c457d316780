// `cachewire-router --config FILE [--listen ADDR] [--metrics ADDR]
//                   (--token-file FILE | --insecure-dev) [--tls-cert PEM --tls-key PEM]
//                   [--worker-ca PEM] [--worker NAME=ADDR ...]`
// The public entry of a cachewire deployment: serves cachewire.v1.Router (plus gRPC health and
// reflection) and Prometheus metrics, forwarding to the agents' workers named in the config.
// Prints `listening grpc=HOST:PORT metrics=HOST:PORT` on stdout once it serves (port 0 in an
// address picks a free port; metrics=- when no metrics address is given). SIGTERM or SIGINT
// drains in-flight calls and exits 0. Bad flags, config or PEM files: a message naming them on
// stderr, exit code 2.
#include <CLI/CLI.hpp>

#include <chrono>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "server/common/grpc_server.h"
#include "server/common/logging.h"
#include "server/common/metrics.h"
#include "server/common/shutdown.h"
#include "server/router/adapter_files.h"
#include "server/router/router_core.h"
#include "server/router/router_service.h"

namespace {

using namespace cachewire;

struct Flags {
  std::string config;
  std::string listen;
  std::string metrics;
  std::string token_file;
  bool insecure_dev = false;
  std::string tls_cert;
  std::string tls_key;
  std::string worker_ca;
  std::vector<std::string> worker_overrides;  // NAME=ADDR
  size_t max_sessions = 4096;
  int task_threads = 4;
  int probe_interval_ms = 500;
  int drain_timeout_s = 10;
  bool log_json = false;
  std::string log_level = "info";
};

[[noreturn]] void Die(const std::string& message) {
  std::cerr << "cachewire-router: " << message << "\n";
  std::exit(2);
}

std::string ReadFileOrDie(const std::string& path, const std::string& flag) {
  std::ifstream in(path, std::ios::binary);
  if (!in) Die(flag + " " + path + ": cannot be read");
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

router::RouterConfig LoadConfigOrDie(const Flags& flags) {
  auto config = router::LoadRouterConfig(flags.config);
  if (!config.ok()) Die(std::string(config.status().message()));
  for (const std::string& override : flags.worker_overrides) {
    const size_t eq = override.find('=');
    if (eq == std::string::npos) Die("--worker " + override + ": not NAME=HOST:PORT");
    auto status = router::OverrideWorkerAddress(*config, override.substr(0, eq),
                                                override.substr(eq + 1));
    if (!status.ok()) Die(std::string(status.message()));
  }
  if (auto status = router::ReadAdapterNames(*config); !status.ok()) {
    Die(std::string(status.message()));
  }
  for (size_t i = 0; i < config->agents.size(); ++i) {
    const std::string& worker = config->agents[i].worker;
    if (worker.size() >= 2 && worker.substr(worker.size() - 2) == ":0") {
      Die(flags.config + ": agents[" + std::to_string(i) + "].worker: port 0 names no worker "
          "(start the workers with `cachewire up`, or give --worker " +
          config->agents[i].name + "=HOST:PORT)");
    }
  }
  return *std::move(config);
}

router::Authenticator AuthenticatorOrDie(const Flags& flags) {
  if (flags.insecure_dev == !flags.token_file.empty()) {
    Die("give exactly one of --token-file FILE and --insecure-dev");
  }
  if (flags.insecure_dev) return router::Authenticator::Insecure();
  auto auth = router::Authenticator::FromTokenFile(flags.token_file);
  if (!auth.ok()) Die(std::string(auth.status().message()));
  return *std::move(auth);
}

std::shared_ptr<grpc::ServerCredentials> ServerCredentialsOrDie(const Flags& flags) {
  if (flags.tls_cert.empty() != flags.tls_key.empty()) Die("--tls-cert and --tls-key go together");
  if (flags.tls_cert.empty()) return nullptr;
  grpc::SslServerCredentialsOptions options;
  options.pem_key_cert_pairs.push_back(
      {ReadFileOrDie(flags.tls_key, "--tls-key"), ReadFileOrDie(flags.tls_cert, "--tls-cert")});
  return grpc::SslServerCredentials(options);
}

int Run(const Flags& flags) {
  if (auto s = server::SetupLogging({.json = flags.log_json, .level = flags.log_level});
      !s.ok()) {
    Die(std::string(s.message()));
  }
  router::RouterConfig config = LoadConfigOrDie(flags);
  router::Authenticator auth = AuthenticatorOrDie(flags);
  auto credentials = ServerCredentialsOrDie(flags);
  router::RouterParams params;
  params.max_sessions = flags.max_sessions;
  params.task_threads = flags.task_threads;
  params.pool.probe_interval_ms = flags.probe_interval_ms;
  if (!flags.worker_ca.empty()) {
    params.pool.worker_ca_pem = ReadFileOrDie(flags.worker_ca, "--worker-ca");
  }
  const std::string listen =
      !flags.listen.empty() ? flags.listen
                            : (!config.listen.empty() ? config.listen : "127.0.0.1:7070");
  const std::string metrics_listen = !flags.metrics.empty() ? flags.metrics : config.metrics;

  server::MetricsRegistry metrics("cachewire.v1.Router");
  std::string metrics_address = "-";
  if (!metrics_listen.empty()) {
    auto bound = metrics.Serve(metrics_listen);
    if (!bound.ok()) Die(std::string(bound.status().message()));
    metrics_address = *bound;
  }
  router::RouterCore core(std::move(config), std::move(auth), params, metrics);
  router::RouterService service(core);
  auto server = server::StartGrpcServer(
      {.listen = listen, .services = {&service}, .credentials = credentials});
  if (!server.ok()) Die(std::string(server.status().message()));
  grpc::Server* grpc_server = server->server.get();
  server::SetServing(*grpc_server, false);  // until the workers have answered
  core.StartMonitor([grpc_server](bool all_serving) {
    server::SetServing(*grpc_server, all_serving);
  });
  server::LogEvent(spdlog::level::info, "router_started",
                   {{"grpc", server->address},
                    {"metrics", metrics_address},
                    {"agents", static_cast<int64_t>(core.config().agents.size())},
                    {"auth", flags.insecure_dev ? "insecure-dev" : "token"},
                    {"tls", credentials != nullptr}});
  std::cout << "listening grpc=" << server->address << " metrics=" << metrics_address
            << std::endl;

  const int sig = server::WaitForTerminationSignal();
  server::LogEvent(spdlog::level::info, "router_stopping", {{"signal", sig}});
  server::DrainAndStop(*grpc_server, core.drain_gate(),
                       std::chrono::seconds(flags.drain_timeout_s));
  server->server->Wait();
  core.StopMonitor();  // its health callback touches the server, which goes first
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (auto s = cachewire::server::InstallTerminationHandler(); !s.ok()) {
    std::cerr << "cachewire-router: " << s.message() << "\n";
    return 2;
  }
  Flags flags;
  CLI::App app{"cachewire-router: the public entry of a cachewire deployment"};
  app.add_option("--config", flags.config, "Router config (YAML: agents, adapters)")->required();
  app.add_option("--listen", flags.listen,
                 "gRPC address host:port (default: router.listen of the config, else "
                 "127.0.0.1:7070; port 0 picks one)");
  app.add_option("--metrics", flags.metrics,
                 "Prometheus /metrics address (default: router.metrics of the config; none: off)");
  app.add_option("--token-file", flags.token_file, "Bearer tokens, one per line");
  app.add_flag("--insecure-dev", flags.insecure_dev,
               "Accept every caller without a token (development only)");
  app.add_option("--tls-cert", flags.tls_cert, "PEM certificate chain of the router");
  app.add_option("--tls-key", flags.tls_key, "PEM private key of the router");
  app.add_option("--worker-ca", flags.worker_ca, "PEM roots to verify workers by (TLS to them)");
  app.add_option("--worker", flags.worker_overrides,
                 "NAME=HOST:PORT: the worker of agent NAME (overrides the config; repeatable)");
  app.add_option("--max-sessions", flags.max_sessions, "Public sessions open at once")
      ->capture_default_str();
  app.add_option("--task-threads", flags.task_threads, "Threads running handoffs")
      ->check(CLI::Range(1, 256))
      ->capture_default_str();
  app.add_option("--probe-interval-ms", flags.probe_interval_ms,
                 "Milliseconds between health probes of the workers")
      ->check(CLI::Range(50, 60000))
      ->capture_default_str();
  app.add_option("--drain-timeout-s", flags.drain_timeout_s,
                 "Seconds in-flight calls get to finish on SIGTERM")
      ->capture_default_str();
  app.add_flag("--log-json", flags.log_json, "Logs as one JSON object per line");
  app.add_option("--log-level", flags.log_level, "trace, debug, info, warn, error")
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  return Run(flags);
}
