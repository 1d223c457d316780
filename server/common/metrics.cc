// MetricsRegistry and RpcTimer (see metrics.h).
#include "server/common/metrics.h"

#include <prometheus/exposer.h>

#include <exception>
#include <utility>

#include "absl/status/status.h"
#include "server/common/grpc_status.h"
#include "server/common/logging.h"
#include "server/common/net_address.h"

namespace cachewire::server {

MetricsRegistry::MetricsRegistry(std::string service)
    : service_(std::move(service)),
      registry_(std::make_shared<prometheus::Registry>()),
      requests_(prometheus::BuildCounter()
                    .Name("cachewire_rpc_requests_total")
                    .Help("RPCs finished, by service, method and status code")
                    .Register(*registry_)),
      latency_(prometheus::BuildHistogram()
                   .Name("cachewire_rpc_duration_seconds")
                   .Help("RPC latency from arrival to finish, by service and method")
                   .Register(*registry_)) {}

MetricsRegistry::~MetricsRegistry() = default;

absl::StatusOr<std::string> MetricsRegistry::Serve(const std::string& address) {
  if (exposer_) return absl::FailedPreconditionError("metrics: already served");
  auto host_port = SplitHostPort(address);
  if (!host_port.ok()) return host_port.status();
  try {
    exposer_ = std::make_unique<prometheus::Exposer>(address, /*num_threads=*/1);
  } catch (const std::exception& e) {
    return absl::InvalidArgumentError("metrics address " + address + ": cannot bind (" +
                                      e.what() + ")");
  }
  exposer_->RegisterCollectable(registry_);
  for (const auto& c : collectables_) exposer_->RegisterCollectable(c);
  const std::vector<int> ports = exposer_->GetListeningPorts();
  if (ports.empty()) {
    exposer_.reset();
    return absl::InvalidArgumentError("metrics address " + address + ": no port bound");
  }
  return JoinHostPort(host_port->host, ports.front());
}

void MetricsRegistry::AddCollectable(std::shared_ptr<prometheus::Collectable> collectable) {
  collectables_.push_back(collectable);
  if (exposer_) exposer_->RegisterCollectable(collectable);
}

void MetricsRegistry::RecordRpc(const std::string& method, grpc::StatusCode code,
                                double seconds) {
  requests_.Add({{"service", service_}, {"method", method}, {"code", GrpcCodeName(code)}})
      .Increment();
  static const prometheus::Histogram::BucketBoundaries kBuckets = {
      0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};
  latency_.Add({{"service", service_}, {"method", method}}, kBuckets).Observe(seconds);
}

void RpcTimer::Finish(grpc::StatusCode code) {
  if (finished_) return;
  finished_ = true;
  const double seconds = ElapsedSeconds();
  if (metrics_ != nullptr) metrics_->RecordRpc(method_, code, seconds);
  // Failures of the server itself are worth a warning; everything else is debug detail.
  const bool server_fault = code == grpc::StatusCode::INTERNAL ||
                            code == grpc::StatusCode::UNKNOWN ||
                            code == grpc::StatusCode::DATA_LOSS;
  LogEvent(server_fault ? spdlog::level::warn : spdlog::level::debug, "rpc",
           {{"method", method_}, {"code", GrpcCodeName(code)}, {"ms", seconds * 1e3}});
}

double RpcTimer::ElapsedSeconds() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

}  // namespace cachewire::server
