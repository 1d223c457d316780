// Shared pieces of the scheduler tests: a tiny golden model, a job whose events are collected,
// sampling specs and deterministic prompts, and the engine's own generation loop as reference.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "engine/generate/generator.h"
#include "engine/model/model.h"
#include "engine/scheduler/scheduler.h"

namespace cachewire::scheduler {

inline const std::string kModel =
    std::string(CACHEWIRE_SOURCE_DIR) + "/tests/engine/model/golden/tiny-gemma3-gqa4-f16.gguf";

// Collects one job's events and waits for its end.
struct Outcome {
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  absl::Status status;
  JobResult result;
  std::vector<int32_t> ids;
  std::string text;

  void Wait() {
    std::unique_lock<std::mutex> lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(60), [&] { return done; }))
        << "job did not finish";
  }
};

inline Job MakeJob(std::shared_ptr<Sequence> seq, std::vector<int32_t> append,
            std::optional<GenerateSpec> spec, Outcome* out) {
  Job job;
  job.sequence = std::move(seq);
  job.append = std::move(append);
  job.generate = std::move(spec);
  job.on_token = [out](const TokenEvent& e) {
    std::lock_guard<std::mutex> lock(out->mu);
    if (e.id != TokenEvent::kNoToken) out->ids.push_back(e.id);
    out->text += e.text;
  };
  job.on_done = [out](const absl::Status& st, const JobResult& r) {
    std::lock_guard<std::mutex> lock(out->mu);
    out->status = st;
    out->result = r;
    out->done = true;
    out->cv.notify_all();
  };
  return job;
}

inline GenerateSpec Spec(int32_t max_tokens, float temperature, uint64_t seed) {
  auto sampler = sampler::Sampler::Create(
      {.temperature = temperature, .top_k = 40, .top_p = 0.95f, .seed = seed});
  EXPECT_TRUE(sampler.ok()) << sampler.status();
  return GenerateSpec{.sampler = std::move(*sampler), .max_tokens = max_tokens};
}

// Deterministic prompt ids in [1, n_vocab) (0 may be a control token).
inline std::vector<int32_t> Prompt(int n, int seed, int64_t n_vocab) {
  std::vector<int32_t> ids;
  for (int i = 0; i < n; ++i) ids.push_back(static_cast<int32_t>(1 + (i * 37 + seed * 101) % (n_vocab - 1)));
  return ids;
}

class SchedulerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto m = model::Model::Load(kModel, {.n_threads = 1});
    ASSERT_TRUE(m.ok()) << m.status();
    model_ = std::move(*m);
  }
  std::unique_ptr<Scheduler> MakeScheduler(SchedulerParams params = {}) {
    auto s = Scheduler::Create(*model_, params);
    EXPECT_TRUE(s.ok()) << s.status();
    return s.ok() ? std::move(*s) : nullptr;
  }
  std::shared_ptr<Sequence> Open(Scheduler& s, int64_t n_ctx = 512) {
    auto seq = s.OpenSequence({.n_ctx = n_ctx});
    EXPECT_TRUE(seq.ok()) << seq.status();
    return seq.ok() ? *seq : nullptr;
  }
  // The same generation alone, through the engine's own generation loop.
  generate::GenerateStats Alone(const std::vector<int32_t>& prompt, int32_t max_tokens,
                                float temperature, uint64_t seed, std::string* text) {
    auto session = model_->NewSession({.n_ctx = 512});
    EXPECT_TRUE(session.ok());
    generate::GenerateParams params{.max_tokens = max_tokens,
                                    .sampling = {.temperature = temperature, .top_k = 40,
                                                 .top_p = 0.95f, .seed = seed}};
    auto stats = generate::GenerateFromIds(*model_, **session, prompt, params,
                                           [&](std::string_view piece) {
                                             *text += piece;
                                             return true;
                                           });
    EXPECT_TRUE(stats.ok()) << stats.status();
    return stats.ok() ? *stats : generate::GenerateStats{};
  }

  std::unique_ptr<model::Model> model_;
};

}  // namespace cachewire::scheduler
