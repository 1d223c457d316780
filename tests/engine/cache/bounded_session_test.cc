// The bounded cache through Model/Session on the golden tiny models (tests/engine/model/golden):
// - a bounded policy whose budget is never reached gives the unbounded session's logits (runs
//   longer than the slack go through in several steps; Gemma 3's local layers become rings);
// - a stream far past the budget never holds more than budget + slack entries per layer, at
//   flat bytes, and ForwardBatch mixes bounded and full sessions;
// - session creation: policy errors name the field, the pool answers ResourceExhausted and gets
//   the bytes back when a session goes;
// - pins through the session: refused without a bounded policy, change the logits, and
//   Pin(0) restores them.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "engine/model/model.h"

namespace cachewire::model {
namespace {

using ::testing::HasSubstr;

const std::string kGoldenDir = std::string(CACHEWIRE_SOURCE_DIR) + "/tests/engine/model/golden/";
const char* const kModels[] = {"tiny-llama-mha-f32",   "tiny-llama-gqa4-f16-rope3",
                               "tiny-llama-gqa2-q8_0", "tiny-llama-gqa4-q4_k-mixed",
                               "tiny-gemma3-gqa4-f16", "tiny-gemma3-gqa2-q8_0-ropelin"};

std::unique_ptr<Model> LoadGolden(const std::string& name) {
  auto m = Model::Load(kGoldenDir + name + ".gguf", {.n_threads = 2});
  EXPECT_TRUE(m.ok()) << m.status();
  return m.ok() ? std::move(*m) : nullptr;
}

std::vector<int32_t> Tokens(int64_t n, int64_t n_vocab, int seed) {
  std::vector<int32_t> t;
  for (int64_t i = 0; i < n; ++i) {
    t.push_back(static_cast<int32_t>((i * 7919 + seed * 104729 + 13) % n_vocab));
  }
  return t;
}

std::vector<float> RunTokens(Model& m, Session& s, std::span<const int32_t> tokens,
                             bool all = true) {
  std::vector<float> logits;
  ForwardRequest r{&s, tokens, all, &logits};
  const absl::Status st = m.ForwardBatch(std::span<ForwardRequest>(&r, 1));
  EXPECT_TRUE(st.ok()) << st;
  return logits;
}

double MaxAbsDiff(const std::vector<float>& a, const std::vector<float>& b) {
  EXPECT_EQ(a.size(), b.size());
  double d = 0;
  for (size_t i = 0; i < std::min(a.size(), b.size()); ++i) {
    d = std::max(d, double{std::fabs(a[i] - b[i])});
  }
  return d;
}

const cache::CachePolicy kRoomy{.bounded = true,
                                .n_sink = 4,
                                .window = 32,
                                .budget = 64,
                                .slack = 16,
                                .l2 = true,
                                .l2_skip_layers = 1};
const cache::CachePolicy kTight{.bounded = true,
                                .n_sink = 4,
                                .window = 8,
                                .budget = 32,
                                .slack = 8,
                                .l2 = true,
                                .l2_skip_layers = 1};

class BoundedSessionTest : public ::testing::TestWithParam<const char*> {};

TEST_P(BoundedSessionTest, BudgetNeverReachedGivesTheUnboundedLogits) {
  auto m = LoadGolden(GetParam());
  ASSERT_NE(m, nullptr);
  const std::vector<int32_t> tokens = Tokens(45, m->n_vocab(), 1);
  auto full = *m->NewSession({.n_ctx = 64});
  auto bounded = *m->NewSession({.n_ctx = 128, .cache = kRoomy});
  EXPECT_EQ(bounded->n_ctx(), std::numeric_limits<int64_t>::max());
  const std::vector<float> want = RunTokens(*m, *full, tokens);
  const std::vector<float> got = RunTokens(*m, *bounded, tokens);  // steps of 16 + 16 + 13
  EXPECT_LE(MaxAbsDiff(got, want), 1e-5);
  EXPECT_EQ(bounded->n_past(), 45);
  const cache::CacheStats st = bounded->cache_stats();
  EXPECT_TRUE(st.bounded);
  EXPECT_EQ(st.n_evicted, 0);
  // Every token is held by the policy layers (Gemma 3's rings keep only their window).
  EXPECT_EQ(*std::max_element(st.entries_per_layer.begin(), st.entries_per_layer.end()),
            45 * m->hparams().n_head_kv);
  // Single-token decodes into a fresh bounded session agree too.
  auto decoded = *m->NewSession({.n_ctx = 128, .cache = kRoomy});
  std::vector<float> last;
  for (int32_t t : tokens) ASSERT_TRUE(m->Forward(*decoded, {&t, 1}, &last).ok());
  const std::vector<float> want_last(want.end() - m->n_vocab(), want.end());
  EXPECT_LE(MaxAbsDiff(last, want_last), 1e-5);
}

TEST_P(BoundedSessionTest, LongStreamStaysWithinBudgetAtFlatBytes) {
  auto m = LoadGolden(GetParam());
  ASSERT_NE(m, nullptr);
  auto s = *m->NewSession({.cache = kTight});
  const size_t bytes = s->cache_bytes();
  const std::vector<int32_t> tokens = Tokens(1500, m->n_vocab(), 2);
  std::vector<float> logits;
  for (size_t b = 0; b < tokens.size(); b += 11) {
    const size_t n = std::min<size_t>(11, tokens.size() - b);
    ASSERT_TRUE(m->Forward(*s, std::span(tokens).subspan(b, n), &logits).ok());
    const cache::CacheStats st = s->cache_stats();
    for (size_t il = 0; il < st.entries_per_layer.size(); ++il) {
      // Policy layers hold <= budget + slack; Gemma 3's rings <= window - 1 + slack (8 - 1 + 8).
      ASSERT_LE(st.entries_per_layer[il], 40 * st.n_head_kv)
          << "layer " << il << " after " << b + n;
    }
    ASSERT_EQ(s->cache_bytes(), bytes);
  }
  for (float x : logits) ASSERT_TRUE(std::isfinite(x));
  const cache::CacheStats st = s->cache_stats();
  EXPECT_EQ(st.n_tokens, 1500);
  EXPECT_GT(st.n_compactions, 100);
  EXPECT_GT(st.n_evicted, 0);
  EXPECT_EQ(st.max_entries, 40);
}

INSTANTIATE_TEST_SUITE_P(Golden, BoundedSessionTest, ::testing::ValuesIn(kModels),
                         [](const ::testing::TestParamInfo<const char*>& info) {
                           std::string n = info.param;
                           std::replace(n.begin(), n.end(), '-', '_');
                           return n;
                         });

TEST(BoundedBatchTest, BoundedAndFullSessionsInOneBatchEqualEachAlone) {
  auto m = LoadGolden("tiny-llama-gqa4-f16-rope3");
  ASSERT_NE(m, nullptr);
  const int64_t nv = m->n_vocab();
  const std::vector<int32_t> history = Tokens(70, nv, 3), a = Tokens(20, nv, 4),
                             b = Tokens(3, nv, 5);
  std::vector<float> want_a, want_b, got_a, got_b, unused;
  {
    auto sa = *m->NewSession({.cache = kTight}), sb = *m->NewSession({.n_ctx = 64});
    ASSERT_TRUE(m->Forward(*sa, history, &unused).ok());
    want_a = RunTokens(*m, *sa, a);
    want_b = RunTokens(*m, *sb, b);
  }
  auto sa = *m->NewSession({.cache = kTight}), sb = *m->NewSession({.n_ctx = 64});
  ASSERT_TRUE(m->Forward(*sa, history, &unused).ok());
  ForwardRequest reqs[] = {{sa.get(), a, true, &got_a}, {sb.get(), b, true, &got_b}};
  ASSERT_TRUE(m->ForwardBatch(reqs).ok());  // a: steps of 8 + 8 + 4; b: one step
  EXPECT_EQ(got_a.size(), 20 * static_cast<size_t>(nv));
  EXPECT_LE(MaxAbsDiff(got_a, want_a), 1e-4);
  EXPECT_LE(MaxAbsDiff(got_b, want_b), 1e-4);
  EXPECT_EQ(sa->n_past(), 90);
}

TEST(BoundedSessionErrorsTest, PolicyAndPoolErrors) {
  auto m = LoadGolden("tiny-llama-gqa2-q8_0");
  ASSERT_NE(m, nullptr);
  absl::StatusOr<std::unique_ptr<Session>> s =
      m->NewSession({.cache = {.bounded = true, .window = 100, .budget = 50}});
  EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.status().message(), HasSubstr("window"));
  s = m->NewSession({.n_ctx = 100, .cache = {.bounded = true, .window = 16, .budget = 96}});
  EXPECT_THAT(s.status().message(), HasSubstr("n_ctx"));  // 96 + 128 positions > 100
  // A pool for two tight sessions: the third is refused, and a closed one makes room.
  auto probe = *m->NewSession({.cache = kTight});
  const size_t each = probe->cache_stats().bytes;
  auto pool = cache::CachePool::Create(2 * each + each / 2);
  auto a = m->NewSession({.cache = kTight, .pool = pool});
  auto b = m->NewSession({.cache = kTight, .pool = pool});
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ((*a)->cache_stats().reserved_bytes, each);
  auto c = m->NewSession({.cache = kTight, .pool = pool});
  EXPECT_EQ(c.status().code(), absl::StatusCode::kResourceExhausted);
  // An unbounded session reserves its whole n_ctx.
  EXPECT_EQ(m->NewSession({.n_ctx = 2048, .pool = pool}).status().code(),
            absl::StatusCode::kResourceExhausted);
  a->reset();
  EXPECT_TRUE(m->NewSession({.cache = kTight, .pool = pool}).ok());
}

TEST(BoundedSessionPinTest, PinsChangeLogitsAndUnpinningRestoresThem) {
  auto m = LoadGolden("tiny-llama-gqa2-q8_0");
  ASSERT_NE(m, nullptr);
  const HParams& hp = m->hparams();
  const int64_t n_pinned = 3;
  std::vector<std::vector<float>> k(static_cast<size_t>(hp.n_layer)), v(k.size());
  std::vector<cache::PinnedKv> layers;
  for (size_t il = 0; il < k.size(); ++il) {
    for (int64_t i = 0; i < n_pinned * hp.n_head_kv * hp.head_dim_k; ++i) {
      k[il].push_back(std::sin(0.37f * static_cast<float>(i + il)));
    }
    for (int64_t i = 0; i < n_pinned * hp.n_head_kv * hp.head_dim_v; ++i) {
      v[il].push_back(std::cos(0.11f * static_cast<float>(i)));
    }
    layers.push_back({k[il].data(), v[il].data()});
  }
  auto full = *m->NewSession({.n_ctx = 64});
  EXPECT_EQ(full->Pin(n_pinned, layers).code(), absl::StatusCode::kFailedPrecondition);

  const std::vector<int32_t> context = Tokens(20, m->n_vocab(), 6),
                             next = Tokens(2, m->n_vocab(), 7);
  auto s = *m->NewSession({.cache = kRoomy});
  RunTokens(*m, *s, context);
  auto plain = *m->NewSession({.cache = kRoomy});
  RunTokens(*m, *plain, context);
  const std::vector<float> want = RunTokens(*m, *plain, next);
  ASSERT_TRUE(s->Pin(n_pinned, layers).ok());
  EXPECT_EQ(s->cache_stats().n_pinned, n_pinned);
  EXPECT_EQ(s->cache_stats().entries_per_layer[0], (20 + n_pinned) * hp.n_head_kv);
  EXPECT_EQ(s->cache_stats().pinned_entries, n_pinned * hp.n_head_kv * hp.n_layer);
  auto pinned = *m->NewSession({.cache = kRoomy});
  RunTokens(*m, *pinned, context);
  ASSERT_TRUE(pinned->Pin(n_pinned, layers).ok());
  EXPECT_GT(MaxAbsDiff(RunTokens(*m, *pinned, next), want), 1e-3);  // the pins are attended to
  ASSERT_TRUE(s->Pin(0, layers).ok());
  EXPECT_LE(MaxAbsDiff(RunTokens(*m, *s, next), want), 1e-4);
}

}  // namespace
}  // namespace cachewire::model
