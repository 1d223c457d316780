// ThreadPool: spin-then-sleep workers claiming generation-tagged tasks (see the header).
#include "engine/backend/cpu/thread_pool.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define CACHEWIRE_CPU_RELAX() _mm_pause()
#else
#define CACHEWIRE_CPU_RELAX() std::this_thread::yield()
#endif

namespace cachewire::backend::cpu {
namespace {
// About 50-100 µs of spinning before a worker sleeps: long enough to catch the next op of a
// forward pass, short enough not to burn a core between requests.
constexpr int kSpinIterations = 20000;
constexpr uint64_t kIndexMask = 0xffffffffull;
}  // namespace

ThreadPool::ThreadPool(int n_threads) {
  if (n_threads <= 0) n_threads = static_cast<int>(std::thread::hardware_concurrency());
  n_threads_ = n_threads < 1 ? 1 : n_threads;
  workers_.reserve(static_cast<size_t>(n_threads_ - 1));
  for (int i = 1; i < n_threads_; ++i) workers_.emplace_back([this, i] { WorkerLoop(i); });
}

ThreadPool::~ThreadPool() {
  stop_.store(true, std::memory_order_release);
  generation_.fetch_add(1, std::memory_order_acq_rel);
  generation_.notify_all();
  for (std::thread& t : workers_) t.join();
}

void ThreadPool::RunTasks(uint32_t generation, int thread_index) {
  uint64_t claim = claim_.load(std::memory_order_acquire);
  for (;;) {
    if ((claim >> 32) != generation) return;  // a newer job: not ours to run
    const uint64_t task = claim & kIndexMask;
    // Read before the claim: if the claim succeeds, this job is still current, so these are
    // its values (the caller replaces them only after every task of the job has finished).
    const int64_t n_tasks = n_tasks_.load(std::memory_order_relaxed);
    const Task* job = job_.load(std::memory_order_relaxed);
    if (static_cast<int64_t>(task) >= n_tasks) return;
    if (!claim_.compare_exchange_weak(claim, claim + 1, std::memory_order_acq_rel,
                                      std::memory_order_acquire)) {
      continue;  // `claim` now holds the current value
    }
    (*job)(static_cast<int64_t>(task), thread_index);
    done_.fetch_add(1, std::memory_order_release);
    claim = claim_.load(std::memory_order_acquire);
  }
}

void ThreadPool::WorkerLoop(int thread_index) {
  uint32_t seen = 0;
  for (;;) {
    uint32_t gen = generation_.load(std::memory_order_acquire);
    for (int spin = 0; gen == seen && spin < kSpinIterations; ++spin) {
      CACHEWIRE_CPU_RELAX();
      gen = generation_.load(std::memory_order_acquire);
    }
    while (gen == seen) {
      generation_.wait(seen, std::memory_order_acquire);
      gen = generation_.load(std::memory_order_acquire);
    }
    seen = gen;
    if (stop_.load(std::memory_order_acquire)) return;
    RunTasks(gen, thread_index);
  }
}

void ThreadPool::ParallelFor(int64_t n_tasks, const Task& fn) {
  if (n_tasks <= 0) return;
  if (workers_.empty() || n_tasks == 1) {
    for (int64_t t = 0; t < n_tasks; ++t) fn(t, 0);
    return;
  }
  const uint32_t gen = ++last_generation_;
  // Retire the previous job's claim word before touching job_/n_tasks_: a worker still inside
  // RunTasks for the previous generation may have read the old claim and be about to read
  // n_tasks_; with the claim changed its compare-exchange fails, so it can never run (and count
  // as done) a task of the new job under the old generation. Index kIndexMask is past any job.
  claim_.store((static_cast<uint64_t>(gen) << 32) | kIndexMask, std::memory_order_seq_cst);
  job_.store(&fn, std::memory_order_relaxed);
  n_tasks_.store(n_tasks, std::memory_order_relaxed);
  done_.store(0, std::memory_order_relaxed);
  claim_.store(static_cast<uint64_t>(gen) << 32, std::memory_order_release);
  generation_.store(gen, std::memory_order_release);
  generation_.notify_all();
  RunTasks(gen, 0);
  // Every task is claimed; wait for the ones still running on workers.
  while (done_.load(std::memory_order_acquire) < n_tasks) CACHEWIRE_CPU_RELAX();
}

}  // namespace cachewire::backend::cpu
