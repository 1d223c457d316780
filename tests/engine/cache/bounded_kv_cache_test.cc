// The bounded cache (engine/cache/bounded_kv_cache.h) driven directly with synthetic keys:
// - which entries survive a batch: sinks and window always; in the middle, highest key L2
//   norm first per layer and kv-head, oldest first in skipped layers and with l2 off;
// - after compaction every stored key equals a double-precision RoPE of its original key at
//   its re-indexed position, and attention over the cache equals attention recomputed from
//   those keys (kernels::Attention against a reference written here);
// - a 100k-token stream never holds more than budget + slack entries, bytes stay flat, and the
//   keys' rotation drift stays bounded;
// - step protocol errors, Rollback, Clear.
#include "engine/cache/bounded_kv_cache.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <set>
#include <sstream>

#include "kernels/attention.h"
#include "tests/engine/cache/synthetic_stream.h"

namespace cachewire::cache {
namespace {

using ::testing::HasSubstr;
using testing::KeyAt;
using testing::RefRope;
using testing::Streamer;
using testing::ValueAt;

constexpr KvCacheShape kShape{.n_layer = 3, .n_head_kv = 2, .head_dim_k = 8, .head_dim_v = 4};
const float kFactors[4] = {1, 2, 4, 8};

// Three RoPE flavours: NORM; NEOX rotating 6 of 8 dims with base and linear scaling; NORM with
// Llama-3-style frequency divisors.
std::vector<kernels::RopeParams> Ropes(int64_t n_layer) {
  std::vector<kernels::RopeParams> r;
  for (int64_t il = 0; il < n_layer; ++il) {
    switch (il % 3) {
      case 0:
        r.push_back({.layout = kernels::RopeLayout::kNorm, .n_rot = 8});
        break;
      case 1:
        r.push_back({.layout = kernels::RopeLayout::kNeox,
                     .n_rot = 6,
                     .freq_base = 500000.0f,
                     .freq_scale = 0.25f});
        break;
      default:
        r.push_back({.layout = kernels::RopeLayout::kNorm, .n_rot = 8, .freq_factors = kFactors});
    }
  }
  return r;
}

std::unique_ptr<KvCache> MakeCache(const CachePolicy& policy, KvCacheShape shape = kShape) {
  BoundedKvCacheParams p{.shape = shape, .policy = policy};
  for (const kernels::RopeParams& r : Ropes(shape.n_layer)) p.layers.push_back({.rope = r});
  auto c = NewBoundedKvCache(p);
  EXPECT_TRUE(c.ok()) << c.status();
  return c.ok() ? std::move(*c) : nullptr;
}

double KeyNorm(int64_t t, int64_t il, int64_t h) {
  double ss = 0;
  for (int64_t i = 0; i < kShape.head_dim_k; ++i) ss += std::pow(double{KeyAt(t, il, h, i)}, 2);
  return std::sqrt(ss);
}

std::vector<int64_t> Tokens(const KvCache& c, int64_t il, int64_t h) {
  const KvHeadView v = c.View(il, h);
  return std::vector<int64_t>(v.token, v.token + v.n);
}

// 16 tokens fill budget + slack; the 17th step evicts 4 of the middle slots [2, 13).
TEST(BoundedKvCacheTest, OneBatchKeepsSinksWindowAndLowestNorms) {
  const CachePolicy policy{.bounded = true,
                           .n_sink = 2,
                           .window = 3,
                           .budget = 12,
                           .slack = 4,
                           .l2 = true,
                           .l2_skip_layers = 1};
  auto c = MakeCache(policy);
  Streamer s(c.get(), Ropes(3));
  for (int i = 0; i < 16; ++i) s.Step(1);
  EXPECT_EQ(c->Stats().n_compactions, 0);
  EXPECT_EQ(c->NextPosition(0), 16);
  s.Step(1);
  bool heads_differ = false;
  for (int64_t il = 0; il < 3; ++il) {
    std::vector<std::vector<int64_t>> per_head;
    for (int64_t h = 0; h < 2; ++h) {
      std::vector<int64_t> middle(11);
      std::iota(middle.begin(), middle.end(), 2);
      if (il >= 1) {  // highest norm first
        std::stable_sort(middle.begin(), middle.end(), [&](int64_t a, int64_t b) {
          return KeyNorm(a, il, h) > KeyNorm(b, il, h);
        });
      }
      std::set<int64_t> evicted(middle.begin(), middle.begin() + 4);
      std::vector<int64_t> want;
      for (int64_t t = 0; t <= 16; ++t) {
        if (!evicted.count(t)) want.push_back(t);
      }
      EXPECT_EQ(Tokens(*c, il, h), want) << "layer " << il << " head " << h;
      per_head.push_back(want);
    }
    heads_differ = heads_differ || (il >= 1 && per_head[0] != per_head[1]);
  }
  EXPECT_TRUE(heads_differ) << "the data should make heads choose differently";
  const CacheStats st = c->Stats();
  EXPECT_EQ(st.n_compactions, 1);
  EXPECT_EQ(st.n_evicted, 4 * 3 * 2);
  EXPECT_EQ(st.entries_per_layer, std::vector<int64_t>(3, 13 * 2));  // summed over 2 kv heads
  EXPECT_EQ(st.entries, 13 * 2 * 3);
  EXPECT_EQ(c->NextPosition(1), 13);
  s.CheckEntries(1e-5);
}

TEST(BoundedKvCacheTest, L2OffEvictsOldestFirstEverywhere) {
  auto c =
      MakeCache({.bounded = true, .n_sink = 4, .window = 5, .budget = 20, .slack = 6, .l2 = false});
  Streamer s(c.get(), Ropes(3));
  for (int i = 0; i < 13; ++i) s.Step(i % 3 + 1);  // 25 tokens, then one more step of 3
  EXPECT_EQ(c->n_past(), 25);
  s.Step(3);
  // 25 + 3 > 26: the cache kept 20 of 25 (sinks 0-3, then 9..24), then appended 25..27.
  std::vector<int64_t> want = {0, 1, 2, 3};
  for (int64_t t = 9; t < 28; ++t) want.push_back(t);
  for (int64_t il = 0; il < 3; ++il) {
    for (int64_t h = 0; h < 2; ++h) EXPECT_EQ(Tokens(*c, il, h), want);
  }
  s.CheckEntries(1e-5);
}

// Attention of new queries over a cache compacted many times == softmax attention computed in
// double from the kept entries' original (un-rotated) keys rotated for their slots.
TEST(BoundedKvCacheTest, AttentionOverCompactedCacheMatchesReference) {
  auto c = MakeCache({.bounded = true,
                      .n_sink = 4,
                      .window = 8,
                      .budget = 40,
                      .slack = 16,
                      .l2 = true,
                      .l2_skip_layers = 1});
  Streamer s(c.get(), Ropes(3));
  for (int i = 0; i < 40; ++i) s.Step(i % 16 + 1);
  EXPECT_GT(c->Stats().n_compactions, 10);
  s.CheckEntries(2e-5);
  const int64_t n_head = 4, n_tok = 3, dk = kShape.head_dim_k, dv = kShape.head_dim_v;
  for (int64_t il = 0; il < 3; ++il) {
    const kernels::RopeParams rope = s.rope()[il];
    std::vector<int32_t> q_pos;
    std::vector<float> q;  // (n_tok, n_head, dk) rotated
    std::vector<std::vector<double>> q_ref;
    for (int64_t t = 0; t < n_tok; ++t) {
      q_pos.push_back(c->NextPosition(il) + static_cast<int32_t>(t));
      for (int64_t h = 0; h < n_head; ++h) {
        std::vector<float> raw;
        for (int64_t i = 0; i < dk; ++i) raw.push_back(testing::Hash(t, il, h, 777 + i));
        q_ref.push_back(RefRope(rope, raw.data(), dk, q_pos.back()));
        for (double x : q_ref.back()) q.push_back(static_cast<float>(x));
      }
    }
    std::vector<kernels::AttentionKv> kv;
    for (int64_t h = 0; h < 2; ++h) {
      const KvHeadView v = c->View(il, h);
      kv.push_back({v.k, v.v, v.pos, v.n, v.k_stride, v.v_stride});
    }
    std::vector<float> out(static_cast<size_t>(n_tok * n_head * dv));
    ASSERT_TRUE(kernels::Attention({.q = q.data(),
                                    .q_pos = q_pos.data(),
                                    .n_tokens = n_tok,
                                    .n_head = n_head,
                                    .n_head_kv = 2,
                                    .head_dim_k = dk,
                                    .head_dim_v = dv,
                                    .scale = 0.35f,
                                    .kv = kv,
                                    .out = out.data()},
                                   nullptr)
                    .ok());
    for (int64_t t = 0; t < n_tok; ++t) {
      for (int64_t h = 0; h < n_head; ++h) {
        const int64_t hk = h / 2;
        const KvHeadView v = c->View(il, hk);
        std::vector<double> score;
        for (int64_t j = 0; j < v.n; ++j) {
          std::vector<float> raw;
          for (int64_t i = 0; i < dk; ++i) raw.push_back(KeyAt(v.token[j], il, hk, i));
          const std::vector<double> key = RefRope(rope, raw.data(), dk, static_cast<double>(j));
          double dot = 0;
          for (int64_t i = 0; i < dk; ++i) dot += q_ref[t * n_head + h][i] * key[i];
          score.push_back(dot * 0.35);
        }
        const double m = *std::max_element(score.begin(), score.end());
        double z = 0;
        std::vector<double> o(static_cast<size_t>(dv), 0.0);
        for (int64_t j = 0; j < v.n; ++j) {
          const double e = std::exp(score[j] - m);
          z += e;
          for (int64_t i = 0; i < dv; ++i) o[i] += e * ValueAt(v.token[j], il, hk, i);
        }
        for (int64_t i = 0; i < dv; ++i) {
          ASSERT_NEAR(out[(t * n_head + h) * dv + i], o[i] / z, 2e-5)
              << "layer " << il << " token " << t << " head " << h;
        }
      }
    }
  }
}

TEST(BoundedKvCacheTest, StreamOf100kTokensStaysWithinBudgetAtFlatBytes) {
  const CachePolicy policy{.bounded = true,
                           .n_sink = 4,
                           .window = 16,
                           .budget = 64,
                           .slack = 16,
                           .l2 = true,
                           .l2_skip_layers = 1};
  const KvCacheShape shape{.n_layer = 2, .n_head_kv = 2, .head_dim_k = 8, .head_dim_v = 4};
  auto c = MakeCache(policy, shape);
  Streamer s(c.get(), Ropes(2));
  const size_t bytes = c->bytes();
  EXPECT_EQ(bytes,
            BoundedKvCacheMaxBytes({.shape = shape,
                                    .policy = policy,
                                    .layers = {{.rope = Ropes(2)[0]}, {.rope = Ropes(2)[1]}}}));
  int64_t most = 0;
  for (int64_t step = 0; c->n_past() < 100000; ++step) {
    s.Step(step % 16 + 1);
    if (::testing::Test::HasFatalFailure()) return;
    for (int64_t il = 0; il < 2; ++il) {
      most = std::max(most, c->View(il, 0).n);
      ASSERT_LE(c->View(il, 1).n, 80);
      ASSERT_LE(c->NextPosition(il), 80);
    }
    ASSERT_EQ(c->bytes(), bytes);
  }
  EXPECT_EQ(most, 80);
  const CacheStats st = c->Stats();
  EXPECT_EQ(st.n_tokens, c->n_past());
  EXPECT_EQ(st.n_evicted, 2 * 2 * c->n_past() - st.entries);
  for (int64_t il = 0; il < 2; ++il) {  // the sinks are the stream's first tokens, unmoved
    const std::vector<int64_t> tok = Tokens(*c, il, 1);
    EXPECT_EQ(std::vector<int64_t>(tok.begin(), tok.begin() + 4),
              (std::vector<int64_t>{0, 1, 2, 3}));
    EXPECT_EQ(tok.back(), c->n_past() - 1);
  }
  // Middle entries were shifted at every batch they survived; the rounding stays small.
  const double drift = s.CheckEntries(2e-4);
  std::ostringstream drift_text;
  drift_text << std::scientific << drift;
  RecordProperty("max_key_drift", drift_text.str());
}

TEST(BoundedKvCacheTest, StepProtocolErrorsRollbackAndClear) {
  auto c = MakeCache({.bounded = true, .n_sink = 1, .window = 2, .budget = 6, .slack = 3});
  Streamer s(c.get(), Ropes(3));
  EXPECT_EQ(c->shape().n_ctx, std::numeric_limits<int64_t>::max());
  EXPECT_EQ(c->Room(), std::numeric_limits<int64_t>::max());
  EXPECT_EQ(c->MaxStepTokens(), 3);
  EXPECT_EQ(c->BeginStep(4).code(), absl::StatusCode::kInvalidArgument);  // > slack
  EXPECT_EQ(c->BeginStep(0).code(), absl::StatusCode::kInvalidArgument);
  for (int i = 0; i < 5; ++i) s.Step(2);
  ASSERT_TRUE(c->BeginStep(2).ok());
  EXPECT_EQ(c->BeginStep(1).code(), absl::StatusCode::kInvalidArgument);  // already open
  std::vector<float> k(2 * 2 * 8, 0.5f), v(2 * 2 * 4, 0.25f);
  const int32_t p0 = c->NextPosition(0);
  std::vector<int32_t> wrong = {p0 + 1, p0 + 2}, right = {p0, p0 + 1};
  EXPECT_THAT(c->Append(0, wrong, k.data(), v.data()).message(), HasSubstr("position"));
  ASSERT_TRUE(c->Append(0, right, k.data(), v.data()).ok());
  EXPECT_EQ(c->View(0, 1).n, p0 + 2);
  EXPECT_FALSE(c->Append(0, right, k.data(), v.data()).ok());  // twice
  EXPECT_FALSE(c->Commit().ok());                              // layers 1, 2 missing
  c->Rollback();
  EXPECT_EQ(c->View(0, 1).n, p0);
  EXPECT_EQ(c->n_past(), 10);
  s.CheckEntries(1e-5);
  c->Clear();
  EXPECT_EQ(c->n_past(), 0);
  EXPECT_EQ(c->NextPosition(2), 0);
  EXPECT_EQ(c->Stats().n_evicted, 0);
  s.Step(3);
  EXPECT_EQ(Tokens(*c, 1, 0), (std::vector<int64_t>{0, 1, 2}));
  s.CheckEntries(1e-5);
}

TEST(BoundedKvCacheTest, CreationErrorsNameTheField) {
  BoundedKvCacheParams p{.shape = kShape, .policy = {.bounded = true, .budget = 8, .slack = 2}};
  EXPECT_THAT(NewBoundedKvCache(p).status().message(), HasSubstr("window"));  // 4 + 256 > 8
  p.policy.window = 2;
  EXPECT_THAT(NewBoundedKvCache(p).status().message(), HasSubstr("layers"));
  for (const kernels::RopeParams& r : Ropes(3)) p.layers.push_back({.rope = r});
  p.layers[1].rope.n_rot = 10;  // > head_dim 8
  EXPECT_THAT(NewBoundedKvCache(p).status().message(), HasSubstr("layers[1].rope"));
  p.layers[1].rope.n_rot = 6;
  EXPECT_TRUE(NewBoundedKvCache(p).ok());
  p.policy.bounded = false;
  EXPECT_THAT(NewBoundedKvCache(p).status().message(), HasSubstr("bounded"));
}

}  // namespace
}  // namespace cachewire::cache
