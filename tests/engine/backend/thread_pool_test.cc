// ThreadPool: every task runs exactly once, on valid thread indices, across repeated jobs.
#include "engine/backend/cpu/thread_pool.h"

#include <atomic>
#include <chrono>
#include <thread>
#include <set>
#include <vector>

#include <gtest/gtest.h>

namespace cachewire::backend::cpu {
namespace {

TEST(ThreadPoolTest, EveryTaskRunsExactlyOnce) {
  for (int n_threads : {1, 2, 3, 4}) {
    ThreadPool pool(n_threads);
    EXPECT_EQ(pool.n_threads(), n_threads);
    for (int64_t n_tasks : {0, 1, 2, 7, 1000}) {
      std::vector<std::atomic<int>> hits(static_cast<size_t>(n_tasks));
      std::atomic<int> bad_thread{0};
      pool.ParallelFor(n_tasks, [&](int64_t task, int thread) {
        hits[static_cast<size_t>(task)].fetch_add(1);
        if (thread < 0 || thread >= n_threads) bad_thread.fetch_add(1);
      });
      for (int64_t t = 0; t < n_tasks; ++t) {
        ASSERT_EQ(hits[static_cast<size_t>(t)].load(), 1) << "task " << t << " threads " << n_threads;
      }
      EXPECT_EQ(bad_thread.load(), 0);
    }
  }
}

TEST(ThreadPoolTest, ManySmallJobsInARowStayCorrect) {
  ThreadPool pool(4);
  int64_t total = 0;
  for (int job = 0; job < 500; ++job) {
    std::atomic<int64_t> sum{0};
    pool.ParallelFor(16, [&](int64_t task, int) { sum.fetch_add(task + job); });
    total += sum.load();
    ASSERT_EQ(sum.load(), 120 + 16 * job) << "job " << job;
  }
  EXPECT_GT(total, 0);
}

TEST(ThreadPoolTest, NoTaskOutlivesItsParallelFor) {
  // Jobs alternate between few and many tasks, so a worker still finishing job j sees job j+1's
  // larger task count; every task must belong to the job in flight and run exactly once, and
  // none may run after its ParallelFor returned (the function it calls lives on that stack).
  ThreadPool pool(3);
  std::atomic<int> active_job{-1};
  std::atomic<int> strays{0};
  for (int job = 0; job < 4000; ++job) {
    const int64_t n_tasks = job % 2 == 0 ? 2 : 48;
    std::vector<std::atomic<int>> hits(static_cast<size_t>(n_tasks));
    active_job.store(job);
    pool.ParallelFor(n_tasks, [&, job](int64_t task, int) {
      if (active_job.load() != job) strays.fetch_add(1);
      hits[static_cast<size_t>(task)].fetch_add(1);
    });
    active_job.store(-1);
    for (int64_t t = 0; t < n_tasks; ++t) {
      ASSERT_EQ(hits[static_cast<size_t>(t)].load(), 1) << "job " << job << " task " << t;
    }
  }
  EXPECT_EQ(strays.load(), 0);
}

TEST(ThreadPoolTest, WorkIsSharedAcrossThreads) {
  // The caller's tasks wait (up to 10 s) until the worker has taken one, so the job can only
  // finish quickly if the worker really joins in; a pool that never wakes it fails the check.
  ThreadPool pool(2);
  std::atomic<int> seen_mask{0};
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  pool.ParallelFor(64, [&](int64_t, int thread) {
    seen_mask.fetch_or(1 << thread);
    while (thread == 0 && (seen_mask.load() & 2) == 0 && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::yield();
    }
  });
  EXPECT_EQ(seen_mask.load(), 3) << "the worker thread never took a task";
}

TEST(ThreadPoolTest, AWorkerThatNeverRunsDoesNotHoldUpTheCaller) {
  // With many more threads than cores, most workers are not scheduled during a short job; the
  // caller must finish every task itself rather than wait for them to check in. Correctness
  // is what this asserts: each task once, across many back-to-back jobs, so a late worker can
  // never run a task of a newer job with an older function.
  ThreadPool pool(8);
  for (int job = 0; job < 300; ++job) {
    std::vector<std::atomic<int>> hits(5);
    pool.ParallelFor(5, [&, job](int64_t task, int) {
      hits[static_cast<size_t>(task)].fetch_add(job + 1);
    });
    for (int t = 0; t < 5; ++t) ASSERT_EQ(hits[static_cast<size_t>(t)].load(), job + 1) << job;
  }
}

}  // namespace
}  // namespace cachewire::backend::cpu
