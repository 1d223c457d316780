// The router's links to its agents' workers: one gRPC channel and Worker stub per agent, and a
// monitor thread that asks every worker for its Info at a fixed interval. The monitor keeps
// each agent's health and last Info (ListAgents answers from them without a network call) and
// notices restarts (a new InfoResponse.worker_id), reporting both through callbacks.
//
// Channels reconnect quickly (100 ms .. 1 s backoff) and retry idempotent calls (Info, Stats,
// GetTranscript) that fail with UNAVAILABLE: 4 attempts, exponential backoff from 100 ms, set
// through the channel's service config so that the retries never block a thread.
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "cachewire/v1/router.pb.h"
#include "cachewire/v1/worker.grpc.pb.h"
#include "server/router/router_config.h"

namespace cachewire::router {

// One agent and its worker.
class AgentLink {
 public:
  AgentLink(AgentConfig config, std::shared_ptr<grpc::Channel> channel);

  const AgentConfig& config() const { return config_; }
  const std::string& name() const { return config_.name; }
  v1::Worker::Stub& stub() { return *stub_; }

  v1::AgentHealth health() const;
  // The last Info the worker gave (nullopt before its first answer).
  std::optional<v1::InfoResponse> info() const;

  // Records the outcome of one health probe. Returns true when the worker answered with a
  // worker_id other than the one seen before (it restarted and its sessions are gone).
  bool RecordProbe(const grpc::Status& status, const v1::InfoResponse* info);

 private:
  const AgentConfig config_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::Worker::Stub> stub_;
  mutable std::mutex mu_;
  v1::AgentHealth health_ = v1::AGENT_HEALTH_UNSPECIFIED;
  std::optional<v1::InfoResponse> info_;
};

struct WorkerPoolParams {
  std::string worker_ca_pem;  // PEM roots for TLS to the workers; empty: plaintext
  int probe_interval_ms = 500;
  int probe_timeout_ms = 1000;
};

class WorkerPool {
 public:
  // Health of every agent after a probe round (all serving or not), and restarts seen.
  using HealthCallback = std::function<void(bool all_serving)>;
  using RestartCallback = std::function<void(AgentLink& agent)>;

  WorkerPool(const RouterConfig& config, const WorkerPoolParams& params);
  ~WorkerPool();  // StopMonitor()

  AgentLink* Find(const std::string& name);
  std::vector<std::unique_ptr<AgentLink>>& agents() { return agents_; }

  // Probes every worker once (blocking, each with probe_timeout_ms), then keeps probing on a
  // thread every probe_interval_ms until destruction.
  void StartMonitor(HealthCallback on_health, RestartCallback on_restart);
  // Stops the probes and joins the thread (before what the callbacks touch goes away).
  void StopMonitor();
  void ProbeAllOnce();

 private:
  void MonitorLoop();

  const WorkerPoolParams params_;
  std::vector<std::unique_ptr<AgentLink>> agents_;
  HealthCallback on_health_;
  RestartCallback on_restart_;
  std::mutex mu_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread monitor_;
};

// A client context for a worker call made on behalf of a router call: the router caller's
// deadline and cancellation carry over to the worker.
std::unique_ptr<grpc::ClientContext> ChildContext(const grpc::CallbackServerContext& parent);

}  // namespace cachewire::router
