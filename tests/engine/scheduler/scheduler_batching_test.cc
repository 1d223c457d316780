// The scheduler batches many sessions' steps into shared forward passes without changing
// what any session computes (tiny golden Gemma 3 model):
// - sessions generating side by side (prompts prefilled in chunks) produce exactly what each
//   produces alone through generate::GenerateFromIds;
// - a long prompt is prefilled in chunks while another session keeps decoding;
// - append-then-generate in separate jobs equals one generation over the whole prompt, and a
//   later generation feeds the token the previous one held back.
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

TEST_F(SchedulerTest, BatchedGenerationsEqualEachRunAlone) {
  auto sched = MakeScheduler({.prefill_chunk = 16});
  const int lengths[] = {5, 23, 40, 61};
  const float temps[] = {0.0f, 0.9f, 0.0f, 1.2f};
  constexpr int32_t kMaxTokens = 24;
  std::vector<std::unique_ptr<Outcome>> outs;
  std::vector<std::vector<int32_t>> prompts;
  for (int i = 0; i < 4; ++i) {
    prompts.push_back(Prompt(lengths[i], i, model_->n_vocab()));
    outs.push_back(std::make_unique<Outcome>());
  }
  for (int i = 0; i < 4; ++i) {
    ASSERT_TRUE(sched->Submit(MakeJob(Open(*sched), prompts[i],
                                      Spec(kMaxTokens, temps[i], 1000 + i), outs[i].get()))
                    .ok());
  }
  for (int i = 0; i < 4; ++i) {
    outs[i]->Wait();
    ASSERT_TRUE(outs[i]->status.ok()) << outs[i]->status;
    std::string alone_text;
    const generate::GenerateStats alone =
        Alone(prompts[i], kMaxTokens, temps[i], 1000 + i, &alone_text);
    EXPECT_EQ(outs[i]->ids, alone.tokens) << "session " << i;
    EXPECT_EQ(outs[i]->text, alone_text) << "session " << i;
    EXPECT_EQ(outs[i]->result.stop_reason, alone.stop_reason) << "session " << i;
    EXPECT_EQ(outs[i]->result.n_prompt_tokens, lengths[i]);
    EXPECT_EQ(outs[i]->result.n_generated_tokens, alone.n_generated_tokens);
  }
  // The four shared forward passes: fewer passes than rows.
  const SchedulerCounters c = sched->counters();
  EXPECT_GT(c.forward_rows, c.forward_passes) << "no forward pass carried two sessions";
  EXPECT_EQ(c.queue_depth, 0);
}

TEST_F(SchedulerTest, LongPrefillIsChunkedWhileAnotherSessionDecodes) {
  auto sched = MakeScheduler({.max_batch_tokens = 24, .prefill_chunk = 8});
  auto decoding = Open(*sched);
  auto prefilling = Open(*sched);
  // The decoding session has started generating before the long prompt arrives.
  Outcome gen, long_append;
  std::vector<int64_t> decode_tokens_at_append_end;
  ASSERT_TRUE(sched->Submit(MakeJob(decoding, Prompt(4, 7, model_->n_vocab()),
                                    Spec(60, 0.0f, 1), &gen)).ok());
  Job append = MakeJob(prefilling, Prompt(200, 3, model_->n_vocab()), std::nullopt,
                       &long_append);
  auto inner = append.on_done;
  append.on_done = [&, inner](const absl::Status& st, const JobResult& r) {
    std::lock_guard<std::mutex> lock(gen.mu);
    decode_tokens_at_append_end.push_back(static_cast<int64_t>(gen.ids.size()));
    inner(st, r);
  };
  ASSERT_TRUE(sched->Submit(std::move(append)).ok());
  long_append.Wait();
  gen.Wait();
  ASSERT_TRUE(long_append.status.ok()) << long_append.status;
  EXPECT_EQ(long_append.result.n_prompt_tokens, 200);
  EXPECT_EQ(long_append.result.n_appended, 200);
  ASSERT_TRUE(gen.status.ok());
  ASSERT_EQ(decode_tokens_at_append_end.size(), 1u);
  // 200 tokens in chunks of 8 take 25 passes; the other session decoded during them (it would
  // have 0-1 tokens if the prompt had stalled it).
  EXPECT_GE(decode_tokens_at_append_end[0], 10);
  EXPECT_EQ(prefilling->Snapshot().n_past, 200);
}

TEST_F(SchedulerTest, AppendThenGenerateEqualsOneGeneration) {
  auto sched = MakeScheduler();
  auto seq = Open(*sched);
  const std::vector<int32_t> prompt = Prompt(30, 5, model_->n_vocab());
  Outcome a, b, g;
  ASSERT_TRUE(sched->Submit(MakeJob(seq, {prompt.begin(), prompt.begin() + 12}, std::nullopt, &a)).ok());
  ASSERT_TRUE(sched->Submit(MakeJob(seq, {prompt.begin() + 12, prompt.end()}, std::nullopt, &b)).ok());
  ASSERT_TRUE(sched->Submit(MakeJob(seq, {}, Spec(16, 0.7f, 42), &g)).ok());
  g.Wait();
  ASSERT_TRUE(a.status.ok() && b.status.ok() && g.status.ok()) << g.status;
  std::string alone_text;
  const generate::GenerateStats alone = Alone(prompt, 16, 0.7f, 42, &alone_text);
  EXPECT_EQ(g.ids, alone.tokens);
  EXPECT_EQ(g.text, alone_text);
  // The transcript holds the prompt and every generated token; the cache all but the last.
  const std::vector<int32_t> tokens = seq->CopyTokens();
  ASSERT_EQ(tokens.size(), prompt.size() + g.ids.size());
  EXPECT_TRUE(std::equal(g.ids.begin(), g.ids.end(), tokens.begin() + 30));
  EXPECT_EQ(seq->Snapshot().n_past, static_cast<int64_t>(tokens.size()) - 1);

  // A second generation feeds the held-back token first.
  Outcome g2;
  ASSERT_TRUE(sched->Submit(MakeJob(seq, {}, Spec(4, 0.0f, 1), &g2)).ok());
  g2.Wait();
  ASSERT_TRUE(g2.status.ok()) << g2.status;
  EXPECT_EQ(g2.result.n_prompt_tokens, 1);
  EXPECT_EQ(g2.ids.size(), 4u);
}


}  // namespace
}  // namespace cachewire::scheduler
