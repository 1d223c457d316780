// Prometheus metrics of a daemon: one registry, served over HTTP by prometheus-cpp's exposer on
// the daemon's --metrics address, and the RPC accounting every daemon shares:
//   cachewire_rpc_requests_total{service, method, code}     counter
//   cachewire_rpc_duration_seconds{service, method}         histogram (1 ms .. 60 s)
// Daemon-specific metrics (tokens, sessions, cache bytes) are registered on registry() by the
// daemon itself.
//
//   MetricsRegistry metrics("cachewire.v1.Worker");
//   auto bound = metrics.Serve("127.0.0.1:0");      // StatusOr<std::string> "127.0.0.1:40123"
//   metrics.RecordRpc("Generate", grpc::StatusCode::OK, 0.25);
#pragma once

#include <grpcpp/support/status.h>
#include <prometheus/collectable.h>
#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace prometheus {
class Exposer;
}

namespace cachewire::server {

class MetricsRegistry {
 public:
  explicit MetricsRegistry(std::string service);
  ~MetricsRegistry();
  MetricsRegistry(const MetricsRegistry&) = delete;
  MetricsRegistry& operator=(const MetricsRegistry&) = delete;

  prometheus::Registry& registry() { return *registry_; }

  // Serves /metrics on `address` ("host:port"; port 0 picks a free one) and returns the bound
  // "host:port". InvalidArgument naming the address when it cannot be bound. At most once.
  absl::StatusOr<std::string> Serve(const std::string& address);

  // A collectable read at every scrape (gauges computed from live state); served with the
  // registry, kept alive by the registry object.
  void AddCollectable(std::shared_ptr<prometheus::Collectable> collectable);

  // Counts one finished RPC and observes its latency.
  void RecordRpc(const std::string& method, grpc::StatusCode code, double seconds);

 private:
  std::string service_;
  std::shared_ptr<prometheus::Registry> registry_;
  std::vector<std::shared_ptr<prometheus::Collectable>> collectables_;
  std::unique_ptr<prometheus::Exposer> exposer_;
  prometheus::Family<prometheus::Counter>& requests_;
  prometheus::Family<prometheus::Histogram>& latency_;
};

// Measures one RPC from construction to Finish() (reactors call it where they finish) and
// records it: the metrics above and a structured log event "rpc" (method, code, ms) at debug
// level, or warn for INTERNAL, UNKNOWN and DATA_LOSS. Later calls do nothing.
class RpcTimer {
 public:
  RpcTimer(MetricsRegistry* metrics, std::string method)
      : metrics_(metrics), method_(std::move(method)), start_(std::chrono::steady_clock::now()) {}
  void Finish(grpc::StatusCode code);
  double ElapsedSeconds() const;

 private:
  MetricsRegistry* metrics_;
  std::string method_;
  std::chrono::steady_clock::time_point start_;
  bool finished_ = false;
};

}  // namespace cachewire::server
