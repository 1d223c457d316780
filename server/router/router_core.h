// The state every router call shares: config, authenticator, public session table, links to
// the workers, the task pool and the metrics. RouterService (the gRPC surface) and the
// reactors it creates hold a reference to one RouterCore, which outlives the server.
#pragma once

#include <memory>
#include <string>

#include <grpcpp/grpcpp.h>

#include "absl/status/statusor.h"
#include "server/common/drain_gate.h"
#include "server/common/metrics.h"
#include "server/router/auth.h"
#include "server/router/router_config.h"
#include "server/router/router_metrics.h"
#include "server/router/session_table.h"
#include "server/router/task_queue.h"
#include "server/router/worker_pool.h"

namespace cachewire::router {

struct RouterParams {
  size_t max_sessions = 4096;    // public sessions open at once, all callers
  int task_threads = 4;          // threads of the pool that runs Handoff and AgentStats
  size_t max_queued_tasks = 64;  // more waiting tasks are RESOURCE_EXHAUSTED
  WorkerPoolParams pool;
};

// A public session with the link to its agent's worker.
struct ResolvedSession {
  PublicSession session;
  AgentLink* agent = nullptr;
};

class RouterCore {
 public:
  RouterCore(RouterConfig config, Authenticator auth, const RouterParams& params,
             server::MetricsRegistry& metrics);

  const RouterConfig& config() const { return config_; }
  SessionTable& sessions() { return sessions_; }
  WorkerPool& pool() { return pool_; }
  TaskQueue& tasks() { return tasks_; }
  server::MetricsRegistry& rpc_metrics() { return rpc_metrics_; }
  RouterMetrics& metrics() { return metrics_; }
  // Every call holds it while it runs, so that SIGTERM drains exactly the calls in flight.
  server::DrainGate& drain_gate() { return drain_gate_; }

  // The caller of a gRPC call, from its `authorization` metadata.
  absl::StatusOr<CallerId> Authenticate(const grpc::CallbackServerContext& context) const;
  // The caller's session `id` (request field `field`) and its agent's link.
  absl::StatusOr<ResolvedSession> Resolve(const std::string& id, CallerId caller,
                                          const std::string& field);
  // The configured agent `name` (NOT_FOUND naming `agent` and listing the known ones).
  absl::StatusOr<AgentLink*> FindAgent(const std::string& name);

  // A worker answered NOT_FOUND about a session the router still had (the worker lost it):
  // forget it too.
  void ForgetLostSession(const PublicSession& session);
  // Starts health probes; `on_health` learns whether every worker is serving.
  void StartMonitor(std::function<void(bool)> on_health);
  void StopMonitor() { pool_.StopMonitor(); }

 private:
  void OnWorkerRestarted(AgentLink& agent);

  const RouterConfig config_;
  const Authenticator auth_;
  server::DrainGate drain_gate_;
  server::MetricsRegistry& rpc_metrics_;
  RouterMetrics metrics_;
  SessionTable sessions_;
  WorkerPool pool_;
  TaskQueue tasks_;  // last: its threads stop first, while everything they use still exists
};

}  // namespace cachewire::router
