// A small bounded pool of threads for the router's calls that take several blocking steps
// against the workers (Handoff, AgentStats): the gRPC reaction only enqueues the task and
// returns, so no gRPC thread ever waits on a worker. A full queue is refused at once
// (RESOURCE_EXHAUSTED) instead of growing without bound.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "absl/status/status.h"

namespace cachewire::router {

class TaskQueue {
 public:
  TaskQueue(int n_threads, size_t max_queued);
  ~TaskQueue();  // runs what is queued, then joins
  TaskQueue(const TaskQueue&) = delete;
  TaskQueue& operator=(const TaskQueue&) = delete;

  // RESOURCE_EXHAUSTED naming `what` when max_queued tasks are already waiting.
  absl::Status Submit(std::function<void()> task, const char* what);

 private:
  void Loop();

  const size_t max_queued_;
  std::mutex mu_;
  std::condition_variable ready_;
  std::deque<std::function<void()>> tasks_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace cachewire::router
