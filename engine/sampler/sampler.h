// Token sampling from one position's logits: greedy, temperature, top-k, top-p, min-p and a
// repetition penalty, seeded so that a session's output is reproducible.
//
// The order of the filters follows common practice (llama.cpp, Hugging Face): penalties act on
// raw logits, then top-k, then temperature, then top-p and min-p on the tempered distribution.
#pragma once

#include <cstdint>
#include <random>
#include <span>
#include <vector>

#include "absl/status/statusor.h"

namespace cachewire::sampler {

struct SamplerParams {
  float temperature = 0.0f;         // 0 means greedy (argmax); must be finite and >= 0
  int32_t top_k = 0;                // 0 disables; keep the k most likely tokens
  float top_p = 1.0f;               // in (0, 1]; keep the smallest set with mass >= top_p
  float min_p = 0.0f;               // in [0, 1); drop tokens with p < min_p * p_max
  float repetition_penalty = 1.0f;  // > 0; 1 disables; applied to tokens seen in the window
  int32_t repetition_window = 64;   // how many recent tokens the penalty looks at (>= 0)
  uint64_t seed = 0;
};

// One candidate after filtering: its token id and probability (renormalised).
struct Candidate {
  int32_t id;
  float p;
};

class Sampler {
 public:
  // InvalidArgument naming the field when a parameter is out of range.
  static absl::StatusOr<Sampler> Create(const SamplerParams& params);

  // Picks the next token. `history` is the session's previous tokens (most recent last), used
  // by the repetition penalty. InvalidArgument on empty logits or a NaN logit.
  absl::StatusOr<int32_t> Sample(std::span<const float> logits, std::span<const int32_t> history);

  // The distribution Sample() draws from after every filter (sorted by p descending). Exposed
  // for tests and for logprob reporting.
  absl::StatusOr<std::vector<Candidate>> Distribution(std::span<const float> logits,
                                                      std::span<const int32_t> history) const;

  const SamplerParams& params() const { return params_; }

 private:
  explicit Sampler(const SamplerParams& params) : params_(params), rng_(params.seed) {}
  SamplerParams params_;
  std::mt19937_64 rng_;
};

}  // namespace cachewire::sampler
