// What every handler of the worker service shares: the model, the scheduler that runs it, the
// session table, metrics, the handoff adapters and the worker's configuration. Owned by main;
// handlers and reactors hold a reference.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "cachewire/v1/common.pb.h"
#include "engine/cache/cache_pool.h"
#include "engine/model/model.h"
#include "engine/scheduler/scheduler.h"
#include "server/common/drain_gate.h"
#include "server/common/metrics.h"
#include "server/worker/adapter_set.h"
#include "server/worker/request_checks.h"
#include "server/worker/session_table.h"
#include "server/worker/worker_metrics.h"

namespace cachewire::server::worker {

struct WorkerConfig {
  std::string model_path;
  int64_t default_n_ctx = 4096;        // a session's capacity when OpenSession names none
  cachewire::v1::CachePolicy default_policy;  // every field set
  std::string worker_id;               // random per process start
  std::string version = "0.1.0";
};

// UNAVAILABLE for calls that arrive while the worker drains.
inline absl::Status DrainingStatus() {
  return absl::UnavailableError("worker: shutting down; retry on another worker or later");
}

// A unary handler's pass through the gate, left when the handler returns.
class ScopedCall {
 public:
  explicit ScopedCall(DrainGate& gate) : gate_(gate), entered_(gate.TryEnter()) {}
  ~ScopedCall() {
    if (entered_) gate_.Leave();
  }
  ScopedCall(const ScopedCall&) = delete;
  ScopedCall& operator=(const ScopedCall&) = delete;
  bool entered() const { return entered_; }

 private:
  DrainGate& gate_;
  const bool entered_;
};

struct WorkerState {
  model::Model& model;
  scheduler::Scheduler& scheduler;
  SessionTable& sessions;
  MetricsRegistry& metrics;
  WorkerMetrics& worker_metrics;
  DrainGate& gate;  // every call passes it; closed on SIGTERM
  const AdapterSet& adapters;  // handoff adapters (--adapter), bound to the model
  WorkerConfig config;
  InputRules input_rules;
  std::shared_ptr<cache::CachePool> pool;  // null: sessions reserve from no shared budget
  std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
};

}  // namespace cachewire::server::worker
