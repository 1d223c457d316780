// A unit of work for the scheduler: tokens to add to one sequence, and optionally a generation
// that follows them. Append = a job without `generate`; Generate = a job with it (and possibly
// tokens to add first). The engine thread feeds the sequence's unfed tokens in chunks, then
// samples and feeds one token per step, each step batched with other sessions' steps.
//
// Callbacks run on the engine thread and must not block (hand the data to the network layer
// and return): on_token once per sampled token (and once more for text released at the end),
// on_done exactly once, last.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "engine/generate/generator.h"
#include "engine/sampler/sampler.h"
#include "engine/scheduler/sequence.h"

namespace cachewire::scheduler {

// What to generate. The sampler is created (and its parameters validated) by the caller.
struct GenerateSpec {
  sampler::Sampler sampler;
  int32_t max_tokens = 256;        // >= 0; an end-of-turn token counts as one
  std::vector<std::string> stop{};  // each non-empty
  bool logprobs = false;           // report the sampled token's log-probability
  int32_t top_logprobs = 0;        // report the n most likely tokens per step (0 = none)
};

// A log-probability under the model's distribution (softmax of the raw logits).
struct TokenLogprob {
  int32_t id = 0;
  float logprob = 0;
};

// One step of a generation as the caller sees it.
struct TokenEvent {
  static constexpr int32_t kNoToken = -1;
  int32_t id = kNoToken;       // the sampled id; kNoToken for text released at the very end
  std::string text;            // text that became final with this step (may be empty)
  std::optional<TokenLogprob> logprob;  // with GenerateSpec.logprobs
  std::vector<TokenLogprob> top{};      // with GenerateSpec.top_logprobs (most likely first)
};

struct JobResult {
  int64_t n_appended = 0;          // tokens of Job::append added to the transcript
  int64_t n_prompt_tokens = 0;     // unfed tokens this job ran through the model first
  int64_t n_generated_tokens = 0;
  generate::StopReason stop_reason = generate::StopReason::kMaxTokens;
  std::string stop_string;
  double queue_seconds = 0;        // submission to the job's first step
  double prefill_seconds = 0;      // first step until the unfed tokens were in the cache
  double decode_seconds = 0;       // then until the end
  SequenceSnapshot cache;          // the sequence after the job
};

struct Job {
  std::shared_ptr<Sequence> sequence;
  std::vector<int32_t> append;     // added to the transcript when the job starts
  // append[0] is a BOS that belongs only at the start of a sequence: it is dropped when the
  // sequence already holds tokens (decided when the job starts, after earlier jobs ran).
  bool bos_only_at_start = false;
  // Name of the input in errors ("text", "messages"): a refusal names it.
  std::string input_name = "text";
  std::optional<GenerateSpec> generate;
  // Set by the caller to stop the job at its next step (the client went away).
  std::shared_ptr<std::atomic<bool>> cancelled;
  std::chrono::steady_clock::time_point deadline = std::chrono::steady_clock::time_point::max();
  std::function<void(const TokenEvent&)> on_token;
  std::function<void(const absl::Status&, const JobResult&)> on_done;
};

}  // namespace cachewire::scheduler
