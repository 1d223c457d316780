// Continuous batching: one engine thread owns the Model and runs every session's work. Callers
// Submit() jobs (append context, generate) from any thread; each engine iteration takes the
// ready step of many jobs (a decode token, or a chunk of a prompt) and runs them all in ONE
// Model::ForwardBatch, then samples each generating job's next token. Long prompts are fed in
// chunks of `prefill_chunk` tokens so that they never stall other sessions' decodes for long,
// and decode steps are placed in a batch before prefill chunks.
//
//   auto sched = Scheduler::Create(*model, {.max_queue = 64});
//   auto seq = (*sched)->OpenSequence({.n_ctx = 2048});
//   Job job{.sequence = *seq, .append = ids, .generate = spec, .on_token = ..., .on_done = ...};
//   absl::Status st = (*sched)->Submit(std::move(job));   // ResourceExhausted when full
//
// Jobs of one sequence run in submission order, one at a time; jobs of different sequences run
// side by side. Cancellation (Job::cancelled, the deadline, Sequence::Close) is checked between
// steps. Results reach the job's callbacks on the engine thread, which never waits on them.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "engine/model/model.h"
#include "engine/scheduler/job.h"
#include "engine/scheduler/sequence.h"

namespace cachewire::scheduler {

struct SchedulerParams {
  int32_t max_queue = 64;          // jobs accepted and not yet finished; more are refused
  int32_t max_batch_rows = 32;     // sessions per forward pass
  int32_t max_batch_tokens = 256;  // tokens per forward pass (decodes count one each)
  int32_t prefill_chunk = 64;      // most prompt tokens of one session per forward pass
};

// Totals since the scheduler started (read from any thread).
struct SchedulerCounters {
  int64_t forward_passes = 0;
  int64_t forward_rows = 0;        // sessions carried, summed over passes
  int64_t tokens_prefilled = 0;    // context tokens run through the model
  int64_t tokens_generated = 0;    // tokens sampled
  int32_t queue_depth = 0;         // jobs accepted and not finished
};

class Scheduler {
 public:
  // InvalidArgument naming the parameter when one is not positive.
  static absl::StatusOr<std::unique_ptr<Scheduler>> Create(model::Model& model,
                                                           const SchedulerParams& params);
  // Stops the engine thread; jobs not finished end with Unavailable.
  ~Scheduler();
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  // A new session of the model (errors of Model::NewSession, e.g. a bad n_ctx).
  absl::StatusOr<std::shared_ptr<Sequence>> OpenSequence(const model::SessionParams& params);

  // Queues a job. ResourceExhausted naming max_queue when max_queue jobs are unfinished,
  // Unavailable after Stop(), InvalidArgument for a job without sequence or on_done; the
  // callbacks are not called then. Otherwise on_done is called exactly once, later.
  absl::Status Submit(Job job);

  // Refuses new jobs, ends unfinished ones with Unavailable and joins the engine thread.
  void Stop();

  SchedulerCounters counters() const;
  const SchedulerParams& params() const { return params_; }
  model::Model& model() { return model_; }

 private:
  struct Running;  // a job and its progress, engine thread only

  Scheduler(model::Model& model, const SchedulerParams& params);
  void EngineLoop();
  void RunIteration();
  // Moves a job forward without the model (start, cancellation, sampling) until it needs a
  // forward pass or is finished.
  void Advance(Running& run);
  void Finish(Running& run, absl::Status status);

  model::Model& model_;
  const SchedulerParams params_;

  std::mutex mu_;
  std::condition_variable wake_;
  std::deque<std::unique_ptr<Running>> submitted_;  // guarded by mu_
  bool stopping_ = false;                           // guarded by mu_
  std::atomic<int32_t> n_unfinished_{0};

  std::vector<std::unique_ptr<Running>> running_;   // engine thread only, submission order

  std::atomic<int64_t> forward_passes_{0};
  std::atomic<int64_t> forward_rows_{0};
  std::atomic<int64_t> tokens_prefilled_{0};
  std::atomic<int64_t> tokens_generated_{0};

  std::thread engine_;
};

}  // namespace cachewire::scheduler
