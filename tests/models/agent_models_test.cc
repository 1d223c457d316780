// The shipped agents (models/cw-llama.gguf, models/cw-gemma3.gguf) against the torch models that
// produced them, through golden files written by tools/train/make_goldens.py:
//   - the tokenizer gives the reference tokenizer's ids (Hugging Face tokenizers for cw-llama's
//     byte-level BPE, the sentencepiece library for cw-gemma3) on a varied corpus and on suite
//     prompts;
//   - prefill logits of a suite prompt match the torch model (matrices rounded to f16 as
//     exported): cosine > 0.999 at every position and the same top-1 token except at near-ties;
//   - greedy generation continues the prompt with the torch model's greedy ids.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "engine/generate/generator.h"
#include "engine/model/model.h"
#include "tests/engine/model/logit_compare.h"
#include "engine/tokenizer/tokenizer.h"
#include "nlohmann/json.hpp"

namespace cachewire::model {
namespace {

const std::string kModels = std::string(CACHEWIRE_SOURCE_DIR) + "/models/";
constexpr double kNearTie = 0.2;  // f16 activations move logits by ~1e-2; ties below this are open

nlohmann::json Golden(const std::string& agent) {
  std::ifstream in(kModels + "golden/" + agent + ".tokens.json");
  return nlohmann::json::parse(in);
}


using testing::Cosine;
using testing::ReadF32;

class AgentModelTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    auto m = Model::Load(kModels + GetParam() + ".gguf", {.n_threads = 2});
    ASSERT_TRUE(m.ok()) << m.status();
    model_ = std::move(*m);
    golden_ = Golden(GetParam());
  }
  std::unique_ptr<Model> model_;
  nlohmann::json golden_;
};

TEST_P(AgentModelTest, TokenizerMatchesReference) {
  int n = 0;
  const bool parse_special = golden_["parse_special"];
  for (const auto& c : golden_["tokenizer_cases"]) {
    const std::string text = c["text"];
    const std::vector<int32_t> want = c["ids"];
    const std::vector<int32_t> got =
        model_->tokenizer().Encode(text, {.add_bos = false, .parse_special = parse_special});
    EXPECT_EQ(got, want) << "text: " << text.substr(0, 80);
    ++n;
  }
  EXPECT_GT(n, 50);
}

TEST_P(AgentModelTest, PrefillLogitsMatchTorch) {
  const std::vector<int32_t> ids = golden_["ids"];
  const std::string prompt = golden_["prompt"];
  // The prompt's ids are BOS + the tokenizer's encoding: check that too.
  EXPECT_EQ(model_->tokenizer().Encode(prompt, {.add_bos = true, .parse_special = false}), ids);
  const std::vector<float> want = ReadF32(kModels + "golden/" + GetParam() + ".logits.f32");
  const int64_t n_vocab = model_->n_vocab();
  ASSERT_EQ(want.size(), ids.size() * static_cast<size_t>(n_vocab));
  auto session = model_->NewSession({});
  ASSERT_TRUE(session.ok()) << session.status();
  std::vector<float> got;
  ForwardRequest req{session->get(), ids, /*all_logits=*/true, &got};
  ASSERT_TRUE(model_->ForwardBatch(std::span<ForwardRequest>(&req, 1)).ok());
  ASSERT_EQ(got.size(), want.size());
  double min_cos = 1;
  int top1 = 0;
  for (size_t p = 0; p < ids.size(); ++p) {
    const float* g = got.data() + p * n_vocab;
    const float* w = want.data() + p * n_vocab;
    min_cos = std::min(min_cos, Cosine(g, w, n_vocab));
    const int64_t g_top = std::max_element(g, g + n_vocab) - g;
    const int64_t w_top = std::max_element(w, w + n_vocab) - w;
    if (g_top == w_top) {
      ++top1;
    } else {
      EXPECT_LT(w[w_top] - w[g_top], kNearTie) << "position " << p << ": cachewire's top token "
                                               << g_top << " is not a near-tie in torch";
    }
  }
  EXPECT_GT(min_cos, 0.999);
  std::printf("%s: %zu positions, min cosine %.6f, top-1 agreement %d/%zu\n", GetParam().c_str(),
              ids.size(), min_cos, top1, ids.size());
}

TEST_P(AgentModelTest, GreedyContinuationMatchesTorch) {
  const std::vector<int32_t> ids = golden_["ids"];
  const std::vector<int32_t> want = golden_["greedy"];
  auto session = model_->NewSession({});
  ASSERT_TRUE(session.ok()) << session.status();
  generate::GenerateParams params;
  params.max_tokens = static_cast<int32_t>(want.size());
  auto stats = generate::GenerateFromIds(*model_, **session, ids, params,
                                         [](std::string_view) { return true; });
  ASSERT_TRUE(stats.ok()) << stats.status();
  // EOS/EOT ends generation early; compare what both produced.
  const size_t n = std::min(stats->tokens.size(), want.size());
  ASSERT_GT(n, 0u);
  EXPECT_EQ(std::vector<int32_t>(stats->tokens.begin(), stats->tokens.begin() + n),
            std::vector<int32_t>(want.begin(), want.begin() + n));
}

INSTANTIATE_TEST_SUITE_P(Shipped, AgentModelTest, ::testing::Values("cw-llama", "cw-gemma3"),
                         [](const auto& info) {
                           std::string s = info.param;
                           std::replace(s.begin(), s.end(), '-', '_');
                           return s;
                         });

}  // namespace
}  // namespace cachewire::model
