// A fixed pool of worker threads for the CPU backend's data-parallel ops.
//
// Ops such as a decode-step matmul last tens of microseconds, so handing work out must cost far
// less than that: workers spin briefly on a generation counter before sleeping (C++20 atomic
// wait, a futex on Linux), the caller thread takes a share of the work itself, and tasks are
// claimed from one atomic counter so uneven rows balance without a queue.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <thread>
#include <vector>

namespace cachewire::backend::cpu {

class ThreadPool {
 public:
  // `n_threads` counts the caller: 1 runs everything inline; 0 means one per hardware thread.
  explicit ThreadPool(int n_threads = 0);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int n_threads() const { return n_threads_; }

  // Runs fn(task, thread_index) for every task in [0, n_tasks), spread over the pool, and
  // returns when all are done. Not reentrant: one ParallelFor at a time per pool.
  void ParallelFor(int64_t n_tasks, const std::function<void(int64_t task, int thread)>& fn);

 private:
  void WorkerLoop(int thread_index);
  void RunTasks(int thread_index);

  int n_threads_;
  std::vector<std::thread> workers_;
  // The current job; written by the caller before the generation bump publishes it.
  const std::function<void(int64_t, int)>* job_ = nullptr;
  int64_t n_tasks_ = 0;
  alignas(64) std::atomic<int64_t> next_task_{0};
  alignas(64) std::atomic<int> pending_workers_{0};
  alignas(64) std::atomic<uint64_t> generation_{0};
  std::atomic<bool> stop_{false};
};

}  // namespace cachewire::backend::cpu
