// Work on a session's cache that is not a forward pass (an LCF encode or import) but must not
// overlap one: it runs on the engine thread, in the session's job order, through the
// scheduler. The scheduler runs one job of a session at a time and calls a job's on_done on
// the engine thread when the job ends; a job that adds no tokens and generates nothing ends
// at its first step (after running any tokens the session had pending). At that moment no
// forward of any session is running and later jobs of the session wait, so `run` may read
// and change the session's cache. Queue bound, cancellation, deadline and a closed session
// apply as to any job.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>

#include "absl/status/status.h"
#include "engine/scheduler/job.h"
#include "engine/scheduler/scheduler.h"
#include "engine/scheduler/sequence.h"

namespace cachewire::server::worker {

struct SessionTask {
  std::shared_ptr<scheduler::Sequence> sequence;
  std::shared_ptr<std::atomic<bool>> cancelled;
  std::chrono::steady_clock::time_point deadline = std::chrono::steady_clock::time_point::max();
  // Engine thread, the session quiescent. Its status becomes done's status.
  std::function<absl::Status(scheduler::Sequence& sequence)> run;
  // Exactly once, after run (then on the engine thread, result.cache taken after run) or
  // instead of it when the job did not get that far (cancelled, closed, shutting down).
  std::function<void(const absl::Status& status, const scheduler::JobResult& result)> done;
};

// Queues the task (the scheduler's Submit errors, e.g. ResourceExhausted naming max_queue;
// `done` is not called then).
absl::Status SubmitSessionTask(scheduler::Scheduler& scheduler, SessionTask task);

}  // namespace cachewire::server::worker
