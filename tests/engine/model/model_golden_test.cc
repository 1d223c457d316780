// The CPU forward passes against golden logits from the independent float64 numpy reference
// (tools/reference/forward_reference.py; golden/README.md). For every model of golden/manifest.json
// and every sequence, one prefill from position 0 with all logits:
//   F32 weights: max |Δlogit| < 1e-3 × (the row's logit range) at every position;
//   F16 / quantised weights (activations rounded to the kernels' formats): cosine > 0.999 and the
//   same top-1 token at every position, except at a near-tie: where the engine's top token scores
//   within kNearTie of the reference's best in the reference itself. Rounding activations to 8
//   bits moves logits by up to ~0.2 (golden/README.md), so a reference gap of 0.15 (one position
//   of the Q4_K model; the reference with llama.cpp-style activation rounding narrows it to 0.008)
//   cannot decide the order. Exact top-1 agreement is counted and printed.
// A summary line per model (max abs err, min cosine, top-1 agreement) goes to stdout.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "engine/model/model.h"
#include "tests/engine/model/logit_compare.h"
#include "nlohmann/json.hpp"

namespace cachewire::model {
namespace {

const std::string kGoldenDir = std::string(CACHEWIRE_SOURCE_DIR) + "/tests/engine/model/golden/";

nlohmann::json Manifest() {
  std::ifstream in(kGoldenDir + "manifest.json");
  return nlohmann::json::parse(in);
}


int64_t ArgMax(const float* x, int64_t n) { return std::max_element(x, x + n) - x; }

using testing::Cosine;
using testing::ReadF32;

constexpr double kNearTie = 0.2;

class GoldenTest : public ::testing::TestWithParam<int> {};

TEST_P(GoldenTest, PrefillMatchesReference) {
  const nlohmann::json spec = Manifest()["models"][GetParam()];
  const std::string name = spec["name"];
  const bool exact = spec["weight_type"] == "F32";
  auto model = Model::Load(kGoldenDir + std::string(spec["model_file"]), {.n_threads = 2});
  ASSERT_TRUE(model.ok()) << model.status();
  const int64_t n_vocab = spec["n_vocab"];
  ASSERT_EQ((*model)->n_vocab(), n_vocab);
  const std::vector<float> golden = ReadF32(kGoldenDir + std::string(spec["logits_file"]));
  double max_abs = 0, max_rel = 0, min_cos = 1;
  int n_top1 = 0, n_rows = 0;
  for (const auto& seq : spec["sequences"]) {
    const std::vector<int32_t> tokens = seq["tokens"];
    const int64_t row0 = seq["row_offset"];
    auto session = (*model)->NewSession({.n_ctx = 64});
    ASSERT_TRUE(session.ok()) << session.status();
    std::vector<float> logits;
    ForwardRequest req{session->get(), tokens, /*all_logits=*/true, &logits};
    ASSERT_TRUE((*model)->ForwardBatch(std::span<ForwardRequest>(&req, 1)).ok());
    ASSERT_EQ(logits.size(), tokens.size() * static_cast<size_t>(n_vocab));
    for (size_t p = 0; p < tokens.size(); ++p) {
      const float* got = logits.data() + p * n_vocab;
      const float* want = golden.data() + (row0 + static_cast<int64_t>(p)) * n_vocab;
      const auto [lo, hi] = std::minmax_element(want, want + n_vocab);
      const double range = *hi - *lo;
      double err = 0;
      for (int64_t i = 0; i < n_vocab; ++i) err = std::max(err, double{std::fabs(got[i] - want[i])});
      const double cos = Cosine(got, want, n_vocab);
      const int64_t got_top = ArgMax(got, n_vocab);
      const bool top1 = got_top == ArgMax(want, n_vocab);
      const bool near_tie = want[got_top] >= *hi - kNearTie;
      max_abs = std::max(max_abs, err);
      max_rel = std::max(max_rel, err / range);
      min_cos = std::min(min_cos, cos);
      n_top1 += top1;
      ++n_rows;
      SCOPED_TRACE(name + " sequence of " + std::to_string(tokens.size()) + ", position " +
                   std::to_string(p));
      if (exact) {
        EXPECT_LT(err, 1e-3 * range);
      } else {
        EXPECT_TRUE(top1 || near_tie) << "engine top " << got_top << " scores " << want[got_top]
                                      << " in the reference, best " << *hi;
        EXPECT_GT(cos, 0.999);
      }
    }
  }
  std::printf("GOLDEN %-32s max_abs_err %.3g (%.3g of range)  min_cosine %.6f  top1 %d/%d\n",
              name.c_str(), max_abs, max_rel, min_cos, n_top1, n_rows);
}

INSTANTIATE_TEST_SUITE_P(Models, GoldenTest, ::testing::Range(0, 6),
                         [](const ::testing::TestParamInfo<int>& info) {
                           std::string n = Manifest()["models"][info.param]["name"];
                           std::replace(n.begin(), n.end(), '-', '_');
                           return n;
                         });

TEST(GoldenManifestTest, HasSixModels) { EXPECT_EQ(Manifest()["models"].size(), 6u); }

}  // namespace
}  // namespace cachewire::model
