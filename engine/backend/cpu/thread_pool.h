// A fixed pool of worker threads for the CPU backend's data-parallel ops.
//
// Ops such as a decode-step matmul last tens of microseconds, so handing work out must cost far
// less than that: workers spin briefly on a generation counter before sleeping (C++20 atomic
// wait, a futex on Linux), the caller thread takes a share of the work itself, and tasks are
// claimed from one atomic counter so uneven rows balance without a queue.
//
// The caller waits for the tasks, never for the workers: a worker that the OS has not
// scheduled yet (another process on the core) simply claims nothing, and the caller runs the
// remaining tasks itself. Claims carry the job's generation, so a worker that wakes late can
// never run a task of a newer job under the old job's function.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <thread>
#include <vector>

namespace cachewire::backend::cpu {

class ThreadPool {
 public:
  using Task = std::function<void(int64_t task, int thread)>;

  // `n_threads` counts the caller: 1 runs everything inline; 0 means one per hardware thread.
  explicit ThreadPool(int n_threads = 0);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int n_threads() const { return n_threads_; }

  // Runs fn(task, thread_index) for every task in [0, n_tasks), spread over the pool, and
  // returns when all are done. thread_index is in [0, n_threads()) and unique among the
  // threads running tasks at a time (0 is the caller). Not reentrant: one ParallelFor at a
  // time per pool. n_tasks must be below 2^32.
  void ParallelFor(int64_t n_tasks, const Task& fn);

 private:
  void WorkerLoop(int thread_index);
  void RunTasks(uint32_t generation, int thread_index);

  int n_threads_;
  std::vector<std::thread> workers_;
  uint32_t last_generation_ = 0;  // caller side only
  // The current job. Written by the caller before `claim_` publishes its generation; read by
  // workers only while their claim of that generation can still succeed.
  std::atomic<const Task*> job_{nullptr};
  std::atomic<int64_t> n_tasks_{0};
  alignas(64) std::atomic<uint64_t> claim_{0};  // (generation << 32) | next task index
  alignas(64) std::atomic<int64_t> done_{0};    // tasks of the current job finished
  alignas(64) std::atomic<uint32_t> generation_{0};  // wakes the workers
  std::atomic<bool> stop_{false};
};

}  // namespace cachewire::backend::cpu
