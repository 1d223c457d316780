// The generation loop on a FakeModel with scripted logits: every stop condition, streaming of
// held-back text (stop-string prefixes, UTF-8 split across tokens), cancellation, seeding, stats.
#include "engine/generate/generator.h"

#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/engine/generate/fake_model.h"

namespace cachewire::generate {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::FakeModel;
using testing::FakeSession;

constexpr int32_t kBos = 317;
constexpr int32_t kEos = 318;

std::vector<int32_t> Concat(std::vector<int32_t> a, const std::vector<int32_t>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

// Collects the streamed pieces.
struct Capture {
  std::vector<std::string> pieces;
  TextCallback callback() {
    return [this](std::string_view p) {
      pieces.emplace_back(p);
      return true;
    };
  }
  std::string text() const {
    std::string s;
    for (const std::string& p : pieces) s += p;
    return s;
  }
};

bool ValidUtf8(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    const size_t len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3
                     : (c >> 3) == 30 ? 4 : 0;
    if (len == 0 || i + len > s.size()) return false;
    for (size_t k = 1; k < len; ++k) {
      if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return false;
    }
    i += len;
  }
  return true;
}

class GeneratorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    model_ = FakeModel::Create();
    ASSERT_NE(model_, nullptr) << "tiny-llama-mha-f32.gguf did not load";
  }
  absl::StatusOr<GenerateStats> Run(const std::string& prompt, const GenerateParams& params,
                                    int64_t n_ctx = 64) {
    session_ = std::make_unique<FakeSession>(n_ctx);
    return Generate(*model_, *session_, prompt, params, capture_.callback());
  }

  std::unique_ptr<FakeModel> model_;
  std::unique_ptr<FakeSession> session_;
  Capture capture_;
};

TEST_F(GeneratorTest, StopsOnEosAndCountsStats) {
  model_->script = Concat(model_->Ids("Hello"), {kEos});
  auto stats = Run("Hi", {.max_tokens = 20});
  ASSERT_TRUE(stats.ok()) << stats.status();
  EXPECT_EQ(capture_.text(), "Hello");
  EXPECT_EQ(stats->stop_reason, StopReason::kEndOfGeneration);
  EXPECT_EQ(stats->n_prompt_tokens, 3);  // BOS H i
  EXPECT_EQ(stats->n_generated_tokens, 6);
  EXPECT_EQ(stats->tokens, model_->script);
  EXPECT_GE(stats->prefill_seconds, 0);
  EXPECT_GE(stats->decode_seconds, 0);
  EXPECT_GE(stats->DecodeTokensPerSecond(), 0);
  // One prefill of the whole prompt, then each generated token but EOS fed back once.
  ASSERT_EQ(model_->calls.size(), 6u);
  EXPECT_EQ(model_->calls[0], Concat({kBos}, model_->Ids("Hi")));
  for (size_t i = 1; i < model_->calls.size(); ++i) {
    EXPECT_THAT(model_->calls[i], ElementsAre(model_->script[i - 1]));
  }
  EXPECT_EQ(session_->n_past(), 3 + 5);
}

TEST_F(GeneratorTest, AddBosAndParseSpecialFollowTheParams) {
  model_->script = {kEos};
  ASSERT_TRUE(Run("<|begin_of_text|>Hi", {.add_bos = false, .parse_special = true}).ok());
  EXPECT_EQ(model_->calls[0], Concat({kBos}, model_->Ids("Hi")));
  model_->calls.clear();
  auto stats = Run("<|begin_of_text|>", {.add_bos = false, .parse_special = false});
  ASSERT_TRUE(stats.ok());
  EXPECT_GT(stats->n_prompt_tokens, 1);  // the marker's characters, not its id
  EXPECT_NE(model_->calls[0][0], kBos);
}

TEST_F(GeneratorTest, StopStringAcrossTokensIsCutAndNothingFollows) {
  model_->script = model_->Ids("Hi END more text");  // ... ␣ E N D ␣m ...
  auto stats = Run("Q", {.max_tokens = 30, .stop = {"END"}});
  ASSERT_TRUE(stats.ok()) << stats.status();
  EXPECT_EQ(stats->stop_reason, StopReason::kStopString);
  EXPECT_EQ(stats->stop_string, "END");
  EXPECT_EQ(capture_.text(), "Hi ");
  // Generation ends with the token that completes the stop string.
  EXPECT_EQ(stats->n_generated_tokens, 6);  // H i ␣ E N D
  EXPECT_EQ(model_->calls.size(), 6u);      // the D is never fed back
}

TEST_F(GeneratorTest, HeldBackPrefixIsReleasedWhenItIsNotAStopString) {
  model_->script = Concat(model_->Ids("Hi END more"), {kEos});
  auto stats = Run("Q", {.max_tokens = 30, .stop = {"ENDX"}});
  ASSERT_TRUE(stats.ok()) << stats.status();
  EXPECT_EQ(stats->stop_reason, StopReason::kEndOfGeneration);
  EXPECT_EQ(capture_.text(), "Hi END more");
  // "E", "EN", "END" wait for the token after D (" m") that rules "ENDX" out.
  EXPECT_THAT(capture_.pieces, ElementsAre("H", "i", " ", "END m", "o", "r", "e"));
}

TEST_F(GeneratorTest, HeldBackPrefixIsReleasedAtMaxTokens) {
  model_->script = model_->Ids("Hi EN");
  auto stats = Run("Q", {.max_tokens = 5, .stop = {"END"}});
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->stop_reason, StopReason::kMaxTokens);
  EXPECT_EQ(capture_.text(), "Hi EN");
}

TEST_F(GeneratorTest, StopsAtMaxTokensWithoutRunningTheLastToken) {
  auto stats = Run("Q", {.max_tokens = 3});
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->stop_reason, StopReason::kMaxTokens);
  EXPECT_EQ(stats->n_generated_tokens, 3);
  EXPECT_EQ(capture_.text(), "xxx");
  EXPECT_EQ(model_->calls.size(), 3u);  // prefill + 2 decodes

  model_->calls.clear();
  capture_.pieces.clear();
  stats = Run("Q", {.max_tokens = 0});
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->n_generated_tokens, 0);
  EXPECT_EQ(stats->stop_reason, StopReason::kMaxTokens);
  EXPECT_TRUE(capture_.pieces.empty());
}

TEST_F(GeneratorTest, ContextFullIsAStopReason) {
  // Prompt BOS Q = 2 tokens, room for 3 more: 3 fed back, the 4th sampled but has no room.
  auto stats = Run("Q", {.max_tokens = 100}, /*n_ctx=*/5);
  ASSERT_TRUE(stats.ok()) << stats.status();
  EXPECT_EQ(stats->stop_reason, StopReason::kContextFull);
  EXPECT_EQ(stats->n_generated_tokens, 4);
  EXPECT_EQ(capture_.text(), "xxxx");
  EXPECT_EQ(session_->n_past(), 5);
}

TEST_F(GeneratorTest, PromptLargerThanContextIsAnError) {
  auto stats = Run("Hello there", {}, /*n_ctx=*/4);
  ASSERT_FALSE(stats.ok());
  EXPECT_EQ(stats.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(stats.status().message(), HasSubstr("prompt"));
  EXPECT_TRUE(model_->calls.empty());
}

TEST_F(GeneratorTest, CallbackReturningFalseCancels) {
  FakeSession session(64);
  int n_calls = 0;
  auto stats = Generate(*model_, session, "Q", {.max_tokens = 50}, [&](std::string_view) {
    return ++n_calls < 2;
  });
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->stop_reason, StopReason::kCancelled);
  EXPECT_EQ(n_calls, 2);
  EXPECT_EQ(stats->n_generated_tokens, 2);
  EXPECT_EQ(model_->calls.size(), 2u);  // nothing runs after the cancel
}

TEST_F(GeneratorTest, Utf8SplitAcrossTokensIsStreamedWhole) {
  model_->script = Concat(model_->Ids("wörld"), {kEos});  // ö = byte tokens C3 B6
  ASSERT_EQ(model_->script.size(), 7u);
  auto stats = Run("Q", {.max_tokens = 20});
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(capture_.text(), "wörld");
  EXPECT_THAT(capture_.pieces, ElementsAre("w", "ö", "r", "l", "d"));
  for (const std::string& p : capture_.pieces) EXPECT_TRUE(ValidUtf8(p)) << p;
}

TEST_F(GeneratorTest, IncompleteUtf8AtTheEndIsStillEmitted) {
  model_->script = {model_->Ids("ö")[0], kEos};  // only the lead byte, then EOS
  auto stats = Run("Q", {.max_tokens = 20});
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(capture_.text(), "\xC3");
}

TEST_F(GeneratorTest, SameSeedSameTokensOtherSeedOtherTokens) {
  model_->flat = true;
  GenerateParams params{.max_tokens = 16};
  params.sampling.temperature = 1.0f;
  params.sampling.seed = 42;
  auto a = Run("Q", params);
  auto b = Run("Q", params);
  params.sampling.seed = 43;
  auto c = Run("Q", params);
  ASSERT_TRUE(a.ok() && b.ok() && c.ok());
  EXPECT_EQ(a->n_generated_tokens, 16);
  EXPECT_EQ(a->tokens, b->tokens);
  EXPECT_NE(a->tokens, c->tokens);
}

TEST_F(GeneratorTest, BadParametersNameTheField) {
  auto s = Run("Q", {.max_tokens = -1});
  EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.status().message(), HasSubstr("max_tokens"));
  s = Run("Q", {.stop = {"ok", ""}});
  EXPECT_THAT(s.status().message(), HasSubstr("stop[1]"));
  GenerateParams params;
  params.sampling.temperature = -1.0f;
  s = Run("Q", params);
  EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.status().message(), HasSubstr("temperature"));
  s = Run("", {.add_bos = false});
  EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.status().message(), HasSubstr("prompt"));
  EXPECT_TRUE(model_->calls.empty());
}

TEST(StopReasonTest, Names) {
  EXPECT_STREQ(StopReasonName(StopReason::kEndOfGeneration), "eos");
  EXPECT_STREQ(StopReasonName(StopReason::kStopString), "stop_string");
  EXPECT_STREQ(StopReasonName(StopReason::kMaxTokens), "max_tokens");
  EXPECT_STREQ(StopReasonName(StopReason::kContextFull), "context_full");
  EXPECT_STREQ(StopReasonName(StopReason::kCancelled), "cancelled");
}

}  // namespace
}  // namespace cachewire::generate
