// The router's own Prometheus metrics, registered beside the shared RPC accounting of
// server/common/metrics.h:
//   cachewire_router_sessions                         gauge: public sessions open
//   cachewire_router_agent_up{agent}                  gauge: 1 while the worker answers
//   cachewire_router_stream_messages_total{agent}     counter: Generate messages relayed
//   cachewire_router_handoffs_total{mode, code}       counter
//   cachewire_router_handoff_bytes_total{mode}        counter: payload bytes moved
//   cachewire_router_handoff_seconds{mode, phase}     histogram: export, transfer, import, total
#pragma once

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <string>

#include <grpcpp/support/status.h>

#include "cachewire/v1/router.pb.h"

namespace cachewire::router {

class RouterMetrics {
 public:
  explicit RouterMetrics(prometheus::Registry& registry);

  void SetSessions(size_t n) { sessions_.Set(static_cast<double>(n)); }
  void SetAgentUp(const std::string& agent, bool up);
  void CountStreamMessage(const std::string& agent);
  void RecordHandoff(const v1::HandoffResponse& response, grpc::StatusCode code);

 private:
  prometheus::Gauge& sessions_;
  prometheus::Family<prometheus::Gauge>& agent_up_;
  prometheus::Family<prometheus::Counter>& stream_messages_;
  prometheus::Family<prometheus::Counter>& handoffs_;
  prometheus::Family<prometheus::Counter>& handoff_bytes_;
  prometheus::Family<prometheus::Histogram>& handoff_seconds_;
};

}  // namespace cachewire::router
