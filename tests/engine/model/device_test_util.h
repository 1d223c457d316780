// Shared by the device model tests: the models they run (the golden tiny models and the shipped
// agents), deterministic token ids, one forward, and the logit distance they bound.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <span>
#include <string>
#include <vector>

#include "engine/model/model.h"

namespace cachewire::model::device_testing {

inline const std::string kGoldenDir =
    std::string(CACHEWIRE_SOURCE_DIR) + "/tests/engine/model/golden/";
inline const std::string kModelsDir = std::string(CACHEWIRE_SOURCE_DIR) + "/models/";

// Every weight type, both architectures, GQA/MHA, RoPE factors and scaling; then both agents.
inline std::vector<std::string> AllModelPaths() {
  std::vector<std::string> paths;
  for (const char* name :
       {"tiny-llama-mha-f32", "tiny-llama-gqa4-f16-rope3", "tiny-llama-gqa2-q8_0",
        "tiny-llama-gqa4-q4_k-mixed", "tiny-gemma3-gqa4-f16", "tiny-gemma3-gqa2-q8_0-ropelin"}) {
    paths.push_back(kGoldenDir + name + ".gguf");
  }
  paths.push_back(kModelsDir + "cw-llama.gguf");
  paths.push_back(kModelsDir + "cw-gemma3.gguf");
  return paths;
}

// n ids in [0, n_vocab), a different sequence per seed.
inline std::vector<int32_t> Tokens(int64_t n, int64_t n_vocab, int seed) {
  std::vector<int32_t> t;
  for (int64_t i = 0; i < n; ++i) {
    t.push_back(static_cast<int32_t>((i * 7919 + seed * 104729 + 13) % n_vocab));
  }
  return t;
}

// One request's logits (every row's with `all`); a failure fails the test.
inline std::vector<float> Forward(Model& m, Session& s, std::span<const int32_t> tokens, bool all) {
  std::vector<float> logits;
  ForwardRequest r{&s, tokens, all, &logits};
  const absl::Status st = m.ForwardBatch(std::span<ForwardRequest>(&r, 1));
  EXPECT_TRUE(st.ok()) << st;
  return logits;
}

// max |a - b| over a row relative to the range of b's row, for the worst row (NaN: infinite).
inline double RelErr(const std::vector<float>& a, const std::vector<float>& b, int64_t n_vocab) {
  EXPECT_EQ(a.size(), b.size());
  double worst = 0;
  for (size_t r = 0; (r + 1) * n_vocab <= std::min(a.size(), b.size()); ++r) {
    const float* pa = a.data() + r * n_vocab;
    const float* pb = b.data() + r * n_vocab;
    const auto [lo, hi] = std::minmax_element(pb, pb + n_vocab);
    double err = 0;
    for (int64_t i = 0; i < n_vocab; ++i) {
      const double d = std::fabs(double{pa[i]} - pb[i]);
      err = std::isnan(d) ? INFINITY : std::max(err, d);
    }
    worst = std::max(worst, err / (*hi - *lo));
  }
  return worst;
}

}  // namespace cachewire::model::device_testing
