// The router's metrics (see router_metrics.h).
#include "server/router/router_metrics.h"

#include "server/common/grpc_status.h"

namespace cachewire::router {

RouterMetrics::RouterMetrics(prometheus::Registry& registry)
    : sessions_(prometheus::BuildGauge()
                    .Name("cachewire_router_sessions")
                    .Help("Public sessions the router holds open")
                    .Register(registry)
                    .Add({})),
      agent_up_(prometheus::BuildGauge()
                    .Name("cachewire_router_agent_up")
                    .Help("1 while the agent's worker answers the router's health probes")
                    .Register(registry)),
      stream_messages_(prometheus::BuildCounter()
                           .Name("cachewire_router_stream_messages_total")
                           .Help("Generate stream messages relayed from workers to callers")
                           .Register(registry)),
      handoffs_(prometheus::BuildCounter()
                    .Name("cachewire_router_handoffs_total")
                    .Help("Handoffs finished, by mode and status code")
                    .Register(registry)),
      handoff_bytes_(prometheus::BuildCounter()
                         .Name("cachewire_router_handoff_bytes_total")
                         .Help("Payload bytes moved from sharers to receivers, by mode")
                         .Register(registry)),
      handoff_seconds_(prometheus::BuildHistogram()
                           .Name("cachewire_router_handoff_seconds")
                           .Help("Handoff latency by mode and phase (export, transfer, import, "
                                 "total)")
                           .Register(registry)) {}

void RouterMetrics::SetAgentUp(const std::string& agent, bool up) {
  agent_up_.Add({{"agent", agent}}).Set(up ? 1.0 : 0.0);
}

void RouterMetrics::CountStreamMessage(const std::string& agent) {
  stream_messages_.Add({{"agent", agent}}).Increment();
}

void RouterMetrics::RecordHandoff(const v1::HandoffResponse& response, grpc::StatusCode code) {
  const std::string mode = v1::HandoffMode_Name(response.mode());
  handoffs_.Add({{"mode", mode}, {"code", server::GrpcCodeName(code)}}).Increment();
  if (code != grpc::StatusCode::OK) return;
  handoff_bytes_.Add({{"mode", mode}}).Increment(static_cast<double>(response.bytes_moved()));
  static const prometheus::Histogram::BucketBoundaries kBuckets = {
      0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30};
  const std::pair<const char*, double> phases[] = {{"export", response.export_ms()},
                                                   {"transfer", response.transfer_ms()},
                                                   {"import", response.import_ms()},
                                                   {"total", response.total_ms()}};
  for (const auto& [phase, ms] : phases) {
    handoff_seconds_.Add({{"mode", mode}, {"phase", phase}}, kBuckets).Observe(ms / 1000.0);
  }
}

}  // namespace cachewire::router
