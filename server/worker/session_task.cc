// SessionTask as a scheduler job with nothing to add (see session_task.h).
#include "server/worker/session_task.h"

#include <utility>

namespace cachewire::server::worker {

absl::Status SubmitSessionTask(scheduler::Scheduler& scheduler, SessionTask task) {
  scheduler::Job job;
  job.sequence = task.sequence;
  job.cancelled = task.cancelled;
  job.deadline = task.deadline;
  job.on_done = [task = std::move(task)](const absl::Status& status,
                                         const scheduler::JobResult& result) {
    // A job that ends OK ended in the engine loop's own step: the engine thread, between
    // forwards. Every other ending (Stop() included, which runs on another thread) skips run.
    if (!status.ok()) return task.done(status, result);
    const absl::Status ran = task.run(*task.sequence);
    task.sequence->UpdateSnapshot();
    scheduler::JobResult after = result;
    after.cache = task.sequence->Snapshot();
    task.done(ran, after);
  };
  return scheduler.Submit(std::move(job));
}

}  // namespace cachewire::server::worker
