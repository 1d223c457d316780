// The engine loop of the scheduler (see scheduler.h). Each iteration:
//   1. take newly submitted jobs; end those cancelled, past their deadline or on a closed
//      sequence;
//   2. the first unfinished job of each sequence is eligible; Advance() starts it (adds its
//      tokens) and samples its next token when its sequence has nothing unfed;
//   3. eligible jobs with unfed tokens share one ForwardBatch: single tokens (decodes) first,
//      then prompt chunks, within max_batch_rows and max_batch_tokens;
//   4. finished jobs leave.
#include "engine/scheduler/scheduler.h"

#include <algorithm>
#include <optional>
#include <unordered_set>
#include <utility>

#include "engine/gguf/str_cat.h"
#include "engine/scheduler/generation.h"

namespace cachewire::scheduler {

using Clock = std::chrono::steady_clock;
using gguf::Cat;

namespace {

double Seconds(Clock::time_point from, Clock::time_point to) {
  return std::chrono::duration<double>(to - from).count();
}

}  // namespace

struct Scheduler::Running {
  Job job;
  Clock::time_point submitted;
  Clock::time_point started;
  Clock::time_point prefilled;
  bool is_started = false;
  bool is_prefilled = false;  // the job's unfed tokens are all in the cache
  bool done = false;
  std::optional<Generation> generation;
  JobResult result;
  int64_t chunk = 0;          // tokens this iteration's forward pass runs for the job
};

absl::StatusOr<std::unique_ptr<Scheduler>> Scheduler::Create(model::Model& model,
                                                             const SchedulerParams& params) {
  const std::pair<const char*, int32_t> positive[] = {
      {"max_queue", params.max_queue},
      {"max_batch_rows", params.max_batch_rows},
      {"max_batch_tokens", params.max_batch_tokens},
      {"prefill_chunk", params.prefill_chunk}};
  for (const auto& [name, value] : positive) {
    if (value <= 0) return absl::InvalidArgumentError(Cat(name, " must be > 0, got ", value));
  }
  return std::unique_ptr<Scheduler>(new Scheduler(model, params));
}

Scheduler::Scheduler(model::Model& model, const SchedulerParams& params)
    : model_(model), params_(params), engine_([this] { EngineLoop(); }) {}

Scheduler::~Scheduler() { Stop(); }

absl::StatusOr<std::shared_ptr<Sequence>> Scheduler::OpenSequence(
    const model::SessionParams& params) {
  auto session = model_.NewSession(params);
  if (!session.ok()) return session.status();
  return std::make_shared<Sequence>(std::move(*session));
}

absl::Status Scheduler::Submit(Job job) {
  if (!job.sequence) return absl::InvalidArgumentError("job.sequence: null");
  if (!job.on_done) return absl::InvalidArgumentError("job.on_done: not set");
  auto run = std::make_unique<Running>();
  run->job = std::move(job);
  run->submitted = Clock::now();
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return absl::UnavailableError("scheduler: shutting down");
    if (n_unfinished_.load() >= params_.max_queue) {
      return absl::ResourceExhaustedError(
          Cat("queue: ", n_unfinished_.load(), " requests in progress, max_queue is ",
              params_.max_queue, "; retry later"));
    }
    ++n_unfinished_;
    submitted_.push_back(std::move(run));
  }
  wake_.notify_one();
  return absl::OkStatus();
}

void Scheduler::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_ && !engine_.joinable()) return;
    stopping_ = true;
  }
  wake_.notify_one();
  if (engine_.joinable()) engine_.join();
  // The engine thread is gone: end what it left, here.
  std::deque<std::unique_ptr<Running>> left;
  {
    std::lock_guard<std::mutex> lock(mu_);
    left.swap(submitted_);
  }
  for (auto& run : running_) {
    if (!run->done) Finish(*run, absl::UnavailableError("scheduler: shutting down"));
  }
  running_.clear();
  for (auto& run : left) Finish(*run, absl::UnavailableError("scheduler: shutting down"));
}

SchedulerCounters Scheduler::counters() const {
  return {forward_passes_.load(), forward_rows_.load(), tokens_prefilled_.load(),
          tokens_generated_.load(), n_unfinished_.load()};
}

void Scheduler::EngineLoop() {
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(mu_);
      wake_.wait(lock, [&] { return stopping_ || !submitted_.empty() || !running_.empty(); });
      if (stopping_) return;
      while (!submitted_.empty()) {
        running_.push_back(std::move(submitted_.front()));
        submitted_.pop_front();
      }
    }
    RunIteration();
  }
}

void Scheduler::Finish(Running& run, absl::Status status) {
  if (run.done) return;
  run.done = true;
  const Clock::time_point now = Clock::now();
  JobResult& r = run.result;
  if (!run.is_started) r.queue_seconds = Seconds(run.submitted, now);
  if (run.generation) {
    r.n_generated_tokens = run.generation->n_generated();
    r.stop_reason = run.generation->stop_reason();
    r.stop_string = run.generation->stop_string();
  }
  if (run.is_started) {
    r.prefill_seconds = Seconds(run.started, run.is_prefilled ? run.prefilled : now);
    r.decode_seconds = run.is_prefilled ? Seconds(run.prefilled, now) : 0;
  }
  r.cache = run.job.sequence->Snapshot();
  --n_unfinished_;
  run.job.on_done(status, r);
}

void Scheduler::Advance(Running& run) {
  Sequence& seq = *run.job.sequence;
  model::Session& session = seq.session();
  if (!run.is_started) {
    run.is_started = true;
    run.started = Clock::now();
    run.result.queue_seconds = Seconds(run.submitted, run.started);
    if (run.job.bos_only_at_start && !run.job.append.empty() && !seq.tokens().empty()) {
      run.job.append.erase(run.job.append.begin());
    }
    const int64_t room = session.n_ctx() - session.n_past();
    const auto n_unfed = static_cast<int64_t>(seq.unfed().size());
    const auto n_new = static_cast<int64_t>(run.job.append.size());
    if (n_unfed + n_new > room) {
      const std::string held = n_unfed > 0 ? Cat(" (and ", n_unfed, " pending)") : "";
      return Finish(run, absl::ResourceExhaustedError(Cat(
          run.job.input_name, ": ", n_new, " tokens", held, " do not fit the session: ",
          session.n_past(), " of n_ctx ", session.n_ctx(), " tokens are in use")));
    }
    seq.AddInput(run.job.append);
    run.result.n_appended = n_new;
    if (run.job.generate) {
      if (seq.tokens().empty()) {
        return Finish(run, absl::FailedPreconditionError(
                               "session_id: the session has no context to continue; append "
                               "text or messages first"));
      }
      run.generation.emplace(model_.tokenizer(), std::move(*run.job.generate),
                             seq.tokens().back());
      run.job.generate.reset();
    }
  }
  for (;;) {
    if (!seq.unfed().empty()) return;  // needs a forward pass
    if (!run.is_prefilled) {
      run.is_prefilled = true;
      run.prefilled = Clock::now();
    }
    if (!run.generation) return Finish(run, absl::OkStatus());
    Generation& gen = *run.generation;
    if (!gen.finished()) {
      if (!seq.has_logits()) {
        return Finish(run, absl::InternalError("session_id: no logits to sample from"));
      }
      TokenEvent event;
      const absl::Status st = gen.Step(*seq.logits(), seq.tokens(),
                                       session.n_ctx() - session.n_past(), &event);
      if (!st.ok()) return Finish(run, st);
      seq.AddTokens(std::span<const int32_t>(&event.id, 1));
      ++tokens_generated_;
      if (run.job.on_token) run.job.on_token(event);
    }
    if (gen.finished()) {
      TokenEvent tail;
      tail.text = gen.TakeTail();
      if (!tail.text.empty() && run.job.on_token) run.job.on_token(tail);
      return Finish(run, absl::OkStatus());
    }
  }
}

void Scheduler::RunIteration() {
  const Clock::time_point now = Clock::now();
  // 1. Interruptions, checked for every job, eligible or waiting.
  for (auto& run : running_) {
    if (run->done) continue;
    if (run->job.sequence->closed()) {
      Finish(*run, absl::AbortedError("session_id: the session was closed"));
    } else if (run->job.cancelled && run->job.cancelled->load()) {
      if (run->generation) run->generation->Cancel();
      Finish(*run, absl::CancelledError("request cancelled"));
    } else if (now >= run->job.deadline) {
      if (run->generation) run->generation->Cancel();
      Finish(*run, absl::DeadlineExceededError("deadline exceeded"));
    }
  }
  // 2. The first job of each sequence moves on.
  std::unordered_set<const Sequence*> seen;
  std::vector<Running*> eligible;
  for (auto& run : running_) {
    if (run->done || !seen.insert(run->job.sequence.get()).second) continue;
    Advance(*run);
    if (!run->done) eligible.push_back(run.get());
  }
  // 3. One forward pass: decodes first, then prompt chunks.
  std::vector<Running*> batch;
  int64_t n_tokens = 0;
  for (const bool decodes : {true, false}) {
    for (Running* run : eligible) {
      const auto n_unfed = static_cast<int64_t>(run->job.sequence->unfed().size());
      if ((n_unfed == 1) != decodes) continue;
      if (static_cast<int32_t>(batch.size()) >= params_.max_batch_rows) break;
      const int64_t chunk = std::min<int64_t>({n_unfed, params_.prefill_chunk,
                                               params_.max_batch_tokens - n_tokens});
      if (chunk <= 0) break;
      run->chunk = chunk;
      n_tokens += chunk;
      batch.push_back(run);
    }
  }
  if (!batch.empty()) {
    std::vector<model::ForwardRequest> requests;
    requests.reserve(batch.size());
    for (Running* run : batch) {
      Sequence& seq = *run->job.sequence;
      requests.push_back({&seq.session(), seq.unfed().first(static_cast<size_t>(run->chunk)),
                          false, seq.logits()});
    }
    std::vector<absl::Status> results(batch.size());
    const absl::Status batch_status = model_.ForwardBatch(requests);
    if (!batch_status.ok() && batch.size() > 1) {
      // Find the request at fault: run each alone (a failing batch changed no session).
      for (size_t i = 0; i < batch.size(); ++i) {
        results[i] = model_.ForwardBatch(std::span<model::ForwardRequest>(&requests[i], 1));
      }
    } else {
      results.assign(batch.size(), batch_status);
    }
    ++forward_passes_;
    forward_rows_ += static_cast<int64_t>(batch.size());
    for (size_t i = 0; i < batch.size(); ++i) {
      Running& run = *batch[i];
      Sequence& seq = *run.job.sequence;
      if (!results[i].ok()) {
        seq.InvalidateLogits();
        Finish(run, results[i]);
        continue;
      }
      seq.MarkFed(run.chunk);
      if (!run.is_prefilled) {
        run.result.n_prompt_tokens += run.chunk;
        tokens_prefilled_ += run.chunk;
      }
      seq.UpdateSnapshot();
    }
  }
  // 4. Finished jobs leave.
  std::erase_if(running_, [](const std::unique_ptr<Running>& run) { return run->done; });
}

}  // namespace cachewire::scheduler
