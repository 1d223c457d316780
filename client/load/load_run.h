// One load run of cachewire-load: N clients, each a chain of asynchronous calls on one session
// at a time (open, then Generate requests one after another, reopening every
// requests_per_session), until a fixed request count is spent or a duration has passed. At most
// N requests are ever in flight: the load is bounded by construction. Latency is measured per
// Generate from the call to its final status; time to first token from the call to the first
// streamed tokens.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include "client/load/load_target.h"

namespace cachewire::load {

struct LoadParams {
  int clients = 4;
  double duration_s = 10;  // used when requests == 0
  int64_t requests = 0;    // total over all clients; 0: run for duration_s
  int32_t max_tokens = 16;
  std::string prompt = "Tell me about the cache.";
  int requests_per_session = 16;
  double timeout_s = 60;  // per call
  uint64_t seed = 1;
};

struct LoadResult {
  std::vector<double> latency_ms;      // (successful requests)
  std::vector<double> first_token_ms;  // (successful requests that streamed a token)
  int64_t requests_ok = 0;
  int64_t tokens = 0;
  int64_t errors = 0;
  std::string first_error;
  double wall_s = 0;
};

class LoadRun {
 public:
  LoadRun(Target& target, const LoadParams& params);
  // Runs every client to its end; blocks the calling thread only.
  LoadResult Run();

  // --- for the clients (any gRPC thread) ---
  Target& target() { return target_; }
  const LoadParams& params() const { return params_; }
  // Whether another request may start (count not spent, time not up).
  bool TakeTicket();
  void RecordSuccess(double latency_ms, double first_token_ms, int64_t tokens);
  void RecordError(const std::string& what);
  void ClientFinished();

 private:
  Target& target_;
  const LoadParams params_;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point end_;
  std::mutex mu_;
  std::condition_variable all_done_;
  int64_t tickets_taken_ = 0;
  int clients_running_ = 0;
  LoadResult result_;
};

}  // namespace cachewire::load
