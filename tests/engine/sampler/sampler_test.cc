// Sampler tests on fixed logits whose filtered distributions are worked out by hand here.
#include "engine/sampler/sampler.h"

#include <cmath>
#include <map>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace cachewire::sampler {
namespace {

using ::testing::HasSubstr;

std::vector<double> Softmax(const std::vector<double>& x, double t) {
  std::vector<double> p(x.size());
  double z = 0;
  for (size_t i = 0; i < x.size(); ++i) z += p[i] = std::exp(x[i] / t);
  for (double& v : p) v /= z;
  return p;
}

// Draws n tokens and returns the empirical frequency of each id.
std::map<int32_t, double> Frequencies(Sampler& s, const std::vector<float>& logits, int n,
                                      const std::vector<int32_t>& history = {}) {
  std::map<int32_t, double> f;
  for (int i = 0; i < n; ++i) f[*s.Sample(logits, history)] += 1.0 / n;
  return f;
}

const std::vector<float> kLogits = {2.0f, 1.0f, 0.0f, -1.0f};

TEST(SamplerTest, GreedyPicksArgmaxAndLowestIdOnTies) {
  Sampler s = *Sampler::Create({});
  EXPECT_EQ(*s.Sample(std::vector<float>{0.5f, 3.0f, -2.0f, 1.0f}, {}), 1);
  EXPECT_EQ(*s.Sample(std::vector<float>{1.0f, 3.0f, 3.0f}, {}), 1);
}

TEST(SamplerTest, TemperatureOneMatchesSoftmax) {
  Sampler s = *Sampler::Create({.temperature = 1.0f, .seed = 7});
  const auto expected = Softmax({2, 1, 0, -1}, 1.0);
  const auto dist = *s.Distribution(kLogits, {});
  ASSERT_EQ(dist.size(), 4u);
  for (const Candidate& c : dist) EXPECT_NEAR(c.p, expected[c.id], 1e-6);
  const auto freq = Frequencies(s, kLogits, 40000);
  for (int id = 0; id < 4; ++id) EXPECT_NEAR(freq.count(id) ? freq.at(id) : 0.0, expected[id], 0.012);
}

TEST(SamplerTest, LowTemperatureSharpens) {
  Sampler s = *Sampler::Create({.temperature = 0.5f});
  const auto expected = Softmax({2, 1, 0, -1}, 0.5);
  const auto dist = *s.Distribution(kLogits, {});
  for (const Candidate& c : dist) EXPECT_NEAR(c.p, expected[c.id], 1e-6);
}

TEST(SamplerTest, TopKKeepsKAndRenormalises) {
  Sampler s = *Sampler::Create({.temperature = 1.0f, .top_k = 2, .seed = 1});
  const double e2 = std::exp(2.0), e1 = std::exp(1.0);
  const auto dist = *s.Distribution(kLogits, {});
  ASSERT_EQ(dist.size(), 2u);
  EXPECT_EQ(dist[0].id, 0);
  EXPECT_NEAR(dist[0].p, e2 / (e2 + e1), 1e-6);
  EXPECT_EQ(dist[1].id, 1);
  const auto freq = Frequencies(s, kLogits, 20000);
  EXPECT_EQ(freq.count(2) + freq.count(3), 0u);
  EXPECT_NEAR(freq.at(0), e2 / (e2 + e1), 0.015);
}

TEST(SamplerTest, TopPKeepsSmallestPrefixReachingMass) {
  // Softmax of kLogits: 0.644, 0.237, 0.087, 0.032. Mass 0.7 needs two tokens, 0.9 needs three.
  Sampler two = *Sampler::Create({.temperature = 1.0f, .top_p = 0.7f});
  EXPECT_EQ(two.Distribution(kLogits, {})->size(), 2u);
  Sampler three = *Sampler::Create({.temperature = 1.0f, .top_p = 0.9f});
  const auto dist = *three.Distribution(kLogits, {});
  ASSERT_EQ(dist.size(), 3u);
  const auto p = Softmax({2, 1, 0, -1}, 1.0);
  EXPECT_NEAR(dist[2].p, p[2] / (p[0] + p[1] + p[2]), 1e-6);
}

TEST(SamplerTest, MinPDropsTokensBelowFractionOfTop) {
  // p_max = 0.644; min_p 0.2 puts the floor at 0.129: tokens 0 and 1 stay.
  Sampler s = *Sampler::Create({.temperature = 1.0f, .min_p = 0.2f});
  const auto dist = *s.Distribution(kLogits, {});
  ASSERT_EQ(dist.size(), 2u);
  EXPECT_EQ(dist[1].id, 1);
}

TEST(SamplerTest, RepetitionPenaltyLowersSeenTokensOfEitherSign) {
  Sampler s = *Sampler::Create({.temperature = 1.0f, .repetition_penalty = 2.0f});
  const std::vector<int32_t> history = {0, 3};
  // Token 0: 2 -> 1; token 3: -1 -> -2.
  const auto expected = Softmax({1, 1, 0, -2}, 1.0);
  const auto dist = *s.Distribution(kLogits, history);
  for (const Candidate& c : dist) {
    EXPECT_NEAR(c.p, expected[c.id], 1e-6) << "token " << c.id;
  }
}

TEST(SamplerTest, RepetitionWindowLimitsLookback) {
  // History {0, 1}: a one-token window penalises only token 1, a two-token window both.
  const std::vector<int32_t> history = {0, 1};
  Sampler narrow = *Sampler::Create({.temperature = 1.0f, .repetition_penalty = 2.0f,
                                     .repetition_window = 1});
  const auto expected_narrow = Softmax({2, 0.5, 0, -1}, 1.0);
  const auto dn = *narrow.Distribution(kLogits, history);
  for (const Candidate& c : dn) EXPECT_NEAR(c.p, expected_narrow[c.id], 1e-6);
  Sampler wide = *Sampler::Create({.temperature = 1.0f, .repetition_penalty = 2.0f,
                                   .repetition_window = 2});
  const auto expected_wide = Softmax({1, 0.5, 0, -1}, 1.0);
  const auto dw = *wide.Distribution(kLogits, history);
  for (const Candidate& c : dw) EXPECT_NEAR(c.p, expected_wide[c.id], 1e-6);
}

TEST(SamplerTest, SameSeedSameSequence) {
  Sampler a = *Sampler::Create({.temperature = 1.0f, .seed = 42});
  Sampler b = *Sampler::Create({.temperature = 1.0f, .seed = 42});
  Sampler c = *Sampler::Create({.temperature = 1.0f, .seed = 43});
  std::vector<int32_t> sa, sb, sc;
  for (int i = 0; i < 64; ++i) {
    sa.push_back(*a.Sample(kLogits, {}));
    sb.push_back(*b.Sample(kLogits, {}));
    sc.push_back(*c.Sample(kLogits, {}));
  }
  EXPECT_EQ(sa, sb);
  EXPECT_NE(sa, sc);
}

TEST(SamplerTest, BadParametersNameTheField) {
  EXPECT_THAT(Sampler::Create({.temperature = -1.0f}).status().message(), HasSubstr("temperature"));
  EXPECT_THAT(Sampler::Create({.temperature = NAN}).status().message(), HasSubstr("temperature"));
  EXPECT_THAT(Sampler::Create({.top_k = -3}).status().message(), HasSubstr("top_k"));
  EXPECT_THAT(Sampler::Create({.top_p = 0.0f}).status().message(), HasSubstr("top_p"));
  EXPECT_THAT(Sampler::Create({.top_p = 1.5f}).status().message(), HasSubstr("top_p"));
  EXPECT_THAT(Sampler::Create({.min_p = 1.0f}).status().message(), HasSubstr("min_p"));
  EXPECT_THAT(Sampler::Create({.repetition_penalty = 0.0f}).status().message(),
              HasSubstr("repetition_penalty"));
  EXPECT_THAT(Sampler::Create({.repetition_window = -1}).status().message(),
              HasSubstr("repetition_window"));
}

TEST(SamplerTest, BadLogitsAreErrorsNotCrashes) {
  Sampler s = *Sampler::Create({.temperature = 1.0f});
  EXPECT_EQ(s.Sample(std::vector<float>{}, {}).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.Sample(std::vector<float>{1.0f, NAN}, {}).status().message(), HasSubstr("NaN"));
  // Out-of-range history ids are ignored rather than indexing past the logits.
  EXPECT_TRUE(s.Sample(kLogits, std::vector<int32_t>{-5, 99}).ok());
}

}  // namespace
}  // namespace cachewire::sampler
