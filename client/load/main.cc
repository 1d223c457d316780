// `cachewire-load --target router|worker --address HOST:PORT [--token T] [--agent NAME]
//                 [--clients N] (--duration S | --requests N) [--max-tokens K] [--prompt TEXT]`
// A load generator: N concurrent asynchronous clients send Generate requests (each with the
// prompt appended, K tokens generated) to a router or straight to a worker, and the run ends
// with requests/s, p50/p99 latency, time to first token and generated tokens/s. The last line
// is machine-readable:
//   load: target=router clients=4 requests=200 errors=0 rps=41.2 p50_ms=92.1 p99_ms=160.3
//         ttft_p50_ms=12.0 tokens_per_s=659.2 wall_s=4.85
// The token defaults to the one `cachewire up` published when --target router and no --token.
#include <CLI/CLI.hpp>

#include <algorithm>
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include "client/cli/router_connection.h"
#include "client/load/load_run.h"

namespace {

using namespace cachewire;

double Percentile(std::vector<double> values, double p) {
  if (values.empty()) return 0.0;
  std::sort(values.begin(), values.end());
  const double rank = p / 100.0 * static_cast<double>(values.size() - 1);
  const size_t lo = static_cast<size_t>(rank);
  const size_t hi = std::min(lo + 1, values.size() - 1);
  return values[lo] + (values[hi] - values[lo]) * (rank - static_cast<double>(lo));
}

}  // namespace

int main(int argc, char** argv) {
  load::TargetParams target_params;
  load::LoadParams params;
  CLI::App app{"cachewire-load: concurrent Generate load on a router or a worker"};
  app.add_option("--target", target_params.kind, "router or worker")->capture_default_str();
  app.add_option("--address", target_params.address,
                 "host:port (default: the `cachewire up` router)");
  app.add_option("--token", target_params.token, "Bearer token (router)");
  app.add_option("--agent", target_params.agent, "Agent name (router; default: the first)");
  app.add_option("--clients,-c", params.clients, "Concurrent clients")
      ->check(CLI::Range(1, 4096))
      ->capture_default_str();
  app.add_option("--duration", params.duration_s, "Seconds to run (without --requests)")
      ->check(CLI::Range(0.1, 86400.0))
      ->capture_default_str();
  app.add_option("--requests,-n", params.requests, "Total requests (instead of --duration)")
      ->check(CLI::Range(int64_t{0}, int64_t{100000000}));
  app.add_option("--max-tokens", params.max_tokens, "Tokens generated per request")
      ->check(CLI::Range(1, 4096))
      ->capture_default_str();
  app.add_option("--prompt", params.prompt, "Text appended by each request")
      ->capture_default_str();
  app.add_option("--requests-per-session", params.requests_per_session,
                 "Requests before a client opens a fresh session")
      ->check(CLI::Range(1, 100000))
      ->capture_default_str();
  app.add_option("--timeout", params.timeout_s, "Seconds per call")->capture_default_str();
  app.add_option("--seed", params.seed, "Sampling seed of client 0 (client i: seed + i)")
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  if (target_params.kind == "router" &&
      (target_params.address.empty() || target_params.token.empty())) {
    auto local = cli::ReadLocalEndpoint();
    if (local.ok()) {
      if (target_params.address.empty()) target_params.address = local->router;
      if (target_params.token.empty() && target_params.address == local->router) {
        target_params.token = local->token;
      }
    }
  }
  if (target_params.address.empty()) {
    std::cerr << "cachewire-load: --address is required (no `cachewire up` router found)\n";
    return 2;
  }
  auto target = load::MakeTarget(target_params);
  if (!target.ok()) {
    std::cerr << "cachewire-load: " << target.status().message() << "\n";
    return 2;
  }
  load::LoadRun run(**target, params);
  const load::LoadResult result = run.Run();

  const double rps = result.wall_s > 0 ? result.requests_ok / result.wall_s : 0.0;
  const double tokens_per_s = result.wall_s > 0 ? result.tokens / result.wall_s : 0.0;
  std::printf("%-10s %8s %8s %10s %10s %10s %12s %12s\n", "target", "clients", "requests",
              "errors", "p50_ms", "p99_ms", "ttft_p50_ms", "tokens/s");
  std::printf("%-10s %8d %8lld %10lld %10.2f %10.2f %12.2f %12.1f\n", target_params.kind.c_str(),
              params.clients, static_cast<long long>(result.requests_ok),
              static_cast<long long>(result.errors), Percentile(result.latency_ms, 50),
              Percentile(result.latency_ms, 99), Percentile(result.first_token_ms, 50),
              tokens_per_s);
  if (result.errors > 0) std::printf("first error: %s\n", result.first_error.c_str());
  std::printf("load: target=%s clients=%d requests=%lld errors=%lld rps=%.2f p50_ms=%.2f "
              "p99_ms=%.2f ttft_p50_ms=%.2f tokens_per_s=%.1f wall_s=%.2f\n",
              target_params.kind.c_str(), params.clients,
              static_cast<long long>(result.requests_ok), static_cast<long long>(result.errors),
              rps, Percentile(result.latency_ms, 50), Percentile(result.latency_ms, 99),
              Percentile(result.first_token_ms, 50), tokens_per_s, result.wall_s);
  return result.requests_ok > 0 ? 0 : 1;
}
