// The scheduler's control paths (tiny golden Gemma 3 model): a cancelled job stops within a
// step, a past deadline ends a job at once, a full queue refuses with ResourceExhausted naming
// max_queue, bad jobs and an empty session's generate are refused, a prompt that does not fit
// names the input, a generation that fills its session stops with kContextFull, a closed
// session's job is aborted and Stop() ends unfinished jobs with Unavailable.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "engine/scheduler/scheduler.h"
#include "tests/engine/scheduler/scheduler_test_util.h"

namespace cachewire::scheduler {
namespace {

using ::testing::HasSubstr;

TEST_F(SchedulerTest, CancelledJobStopsPromptly) {
  auto sched = MakeScheduler();
  auto seq = Open(*sched, 2048);
  Outcome out;
  auto cancelled = std::make_shared<std::atomic<bool>>(false);
  Job job = MakeJob(seq, Prompt(8, 1, model_->n_vocab()), Spec(1500, 0.8f, 3), &out);
  job.cancelled = cancelled;
  auto inner = job.on_token;
  job.on_token = [&, inner](const TokenEvent& e) {
    inner(e);
    if (out.ids.size() == 5) cancelled->store(true);  // the client goes away after 5 tokens
  };
  ASSERT_TRUE(sched->Submit(std::move(job)).ok());
  out.Wait();
  EXPECT_EQ(out.status.code(), absl::StatusCode::kCancelled) << out.status;
  EXPECT_EQ(out.ids.size(), 5u) << "tokens after the cancel";
  EXPECT_EQ(out.result.stop_reason, generate::StopReason::kCancelled);
  EXPECT_EQ(sched->counters().queue_depth, 0);
}

TEST_F(SchedulerTest, CancelFromAnotherThreadEndsWithinMilliseconds) {
  auto sched = MakeScheduler();
  auto seq = Open(*sched, 2048);
  Outcome out;
  auto cancelled = std::make_shared<std::atomic<bool>>(false);
  Job job = MakeJob(seq, Prompt(8, 2, model_->n_vocab()), Spec(2000, 0.8f, 4), &out);
  job.cancelled = cancelled;
  ASSERT_TRUE(sched->Submit(std::move(job)).ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(30));
  const auto t0 = std::chrono::steady_clock::now();
  cancelled->store(true);
  out.Wait();
  const double ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_EQ(out.status.code(), absl::StatusCode::kCancelled);
  EXPECT_LT(ms, 200) << "one decode step of a tiny model takes well under a millisecond";
  EXPECT_LT(out.ids.size(), 2000u);
}

TEST_F(SchedulerTest, PastDeadlineEndsTheJob) {
  auto sched = MakeScheduler();
  Outcome out;
  Job job = MakeJob(Open(*sched), Prompt(8, 2, model_->n_vocab()), Spec(100, 0.0f, 1), &out);
  job.deadline = std::chrono::steady_clock::now() - std::chrono::milliseconds(1);
  ASSERT_TRUE(sched->Submit(std::move(job)).ok());
  out.Wait();
  EXPECT_EQ(out.status.code(), absl::StatusCode::kDeadlineExceeded) << out.status;
  EXPECT_TRUE(out.ids.empty());
}

TEST_F(SchedulerTest, FullQueueRefuses) {
  auto sched = MakeScheduler({.max_queue = 2});
  auto cancelled = std::make_shared<std::atomic<bool>>(false);
  Outcome a, b, c;
  Job ja = MakeJob(Open(*sched, 2048), Prompt(8, 1, model_->n_vocab()), Spec(1800, 0.8f, 1), &a);
  Job jb = MakeJob(Open(*sched, 2048), Prompt(8, 2, model_->n_vocab()), Spec(1800, 0.8f, 2), &b);
  Job jc = MakeJob(Open(*sched, 2048), Prompt(8, 3, model_->n_vocab()), Spec(4, 0.8f, 3), &c);
  ja.cancelled = jb.cancelled = cancelled;
  ASSERT_TRUE(sched->Submit(std::move(ja)).ok());
  ASSERT_TRUE(sched->Submit(std::move(jb)).ok());
  const absl::Status refused = sched->Submit(std::move(jc));
  EXPECT_EQ(refused.code(), absl::StatusCode::kResourceExhausted) << refused;
  EXPECT_THAT(refused.message(), HasSubstr("max_queue"));
  EXPECT_EQ(sched->counters().queue_depth, 2);
  cancelled->store(true);
  a.Wait();
  b.Wait();
  EXPECT_FALSE(c.done) << "a refused job's callbacks never run";
  // Room again.
  Outcome d;
  ASSERT_TRUE(sched->Submit(MakeJob(Open(*sched), Prompt(4, 4, model_->n_vocab()),
                                    Spec(2, 0.0f, 1), &d)).ok());
  d.Wait();
  EXPECT_TRUE(d.status.ok()) << d.status;
}

TEST_F(SchedulerTest, RefusalsNameTheProblem) {
  auto sched = MakeScheduler();
  Outcome none;
  EXPECT_EQ(sched->Submit(Job{}).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Scheduler::Create(*model_, {.max_queue = 0}).status().code(),
            absl::StatusCode::kInvalidArgument);

  // Generate on an empty session: nothing to continue.
  Outcome empty;
  ASSERT_TRUE(sched->Submit(MakeJob(Open(*sched), {}, Spec(4, 0.0f, 1), &empty)).ok());
  empty.Wait();
  EXPECT_EQ(empty.status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(empty.status.message(), HasSubstr("session_id"));

  // A prompt larger than the session: refused whole, naming the input; the session unchanged.
  auto small = Open(*sched, 16);
  Outcome big;
  Job job = MakeJob(small, Prompt(20, 1, model_->n_vocab()), std::nullopt, &big);
  job.input_name = "messages";
  ASSERT_TRUE(sched->Submit(std::move(job)).ok());
  big.Wait();
  EXPECT_EQ(big.status.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(big.status.message(), HasSubstr("messages: 20 tokens"));
  EXPECT_EQ(small->CopyTokens().size(), 0u);

  // A generation that fills the session stops with kContextFull, not an error.
  Outcome full;
  ASSERT_TRUE(sched->Submit(MakeJob(small, Prompt(10, 1, model_->n_vocab()),
                                    Spec(100, 0.0f, 1), &full)).ok());
  full.Wait();
  ASSERT_TRUE(full.status.ok()) << full.status;
  EXPECT_EQ(full.result.stop_reason, generate::StopReason::kContextFull);
  EXPECT_EQ(small->Snapshot().n_past, 16);

  // A closed sequence's job ends Aborted.
  auto closed = Open(*sched);
  closed->Close();
  Outcome aborted;
  ASSERT_TRUE(sched->Submit(MakeJob(closed, {1, 2, 3}, std::nullopt, &aborted)).ok());
  aborted.Wait();
  EXPECT_EQ(aborted.status.code(), absl::StatusCode::kAborted);
}

TEST_F(SchedulerTest, StopEndsUnfinishedJobsWithUnavailable) {
  auto sched = MakeScheduler();
  Outcome out;
  ASSERT_TRUE(sched->Submit(MakeJob(Open(*sched, 2048), Prompt(8, 1, model_->n_vocab()),
                                    Spec(2000, 0.8f, 1), &out)).ok());
  sched->Stop();
  out.Wait();
  EXPECT_EQ(out.status.code(), absl::StatusCode::kUnavailable);
  Outcome late;
  EXPECT_EQ(sched->Submit(MakeJob(Open(*sched), {1}, std::nullopt, &late)).code(),
            absl::StatusCode::kUnavailable);
}


}  // namespace
}  // namespace cachewire::scheduler
