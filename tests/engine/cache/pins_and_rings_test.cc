// Pinned entries and sliding-window rings of the bounded cache (bounded_kv_cache.h):
// - pins sit right after the sinks with keys rotated for their slots, shift the later entries,
//   survive every eviction batch, are replaced atomically by a later Pin and removed by Pin(0);
//   a failing Pin changes nothing; a full cache refuses pins;
// - pins into a cache with fewer tokens than n_sink: later tokens follow the pins and are sinks;
// - a ring layer keeps its last window - 1 entries (+ one step) at token positions, needs no
//   policy, restarts its positions near 0 on a long stream, and attention through it still
//   sees exactly the window; it holds pins before its entries at its last position and never
//   drops them while it moves on.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <numeric>

#include "engine/cache/bounded_kv_cache.h"
#include "tests/engine/cache/synthetic_stream.h"

namespace cachewire::cache {
namespace {

using ::testing::HasSubstr;
using testing::Streamer;

constexpr KvCacheShape kShape{.n_layer = 2, .n_head_kv = 2, .head_dim_k = 8, .head_dim_v = 4};

std::vector<kernels::RopeParams> Ropes() {
  return {
      {.layout = kernels::RopeLayout::kNorm, .n_rot = 8},
      {.layout = kernels::RopeLayout::kNeox, .n_rot = 8, .freq_base = 1e6f, .freq_scale = 0.5f}};
}

std::unique_ptr<KvCache> MakeCache(const CachePolicy& policy, int64_t ring_window_layer1 = 0,
                                   int64_t rebase_at = int64_t{1} << 30) {
  BoundedKvCacheParams p{.shape = kShape, .policy = policy, .ring_rebase_at = rebase_at};
  p.layers.push_back({.rope = Ropes()[0]});
  p.layers.push_back({.rope = Ropes()[1], .sliding_window = ring_window_layer1});
  auto c = NewBoundedKvCache(p);
  EXPECT_TRUE(c.ok()) << c.status();
  return c.ok() ? std::move(*c) : nullptr;
}

std::vector<int64_t> Tokens(const KvCache& c, int64_t il, int64_t h) {
  const KvHeadView v = c.View(il, h);
  return std::vector<int64_t>(v.token, v.token + v.n);
}

std::vector<int64_t> Range(int64_t b, int64_t e) {
  std::vector<int64_t> r(static_cast<size_t>(e - b));
  std::iota(r.begin(), r.end(), b);
  return r;
}

const CachePolicy kPolicy{.bounded = true,
                          .n_sink = 4,
                          .window = 4,
                          .budget = 24,
                          .slack = 8,
                          .l2 = true,
                          .l2_skip_layers = 1};

TEST(PinnedEntriesTest, SitAfterSinksSurviveEvictionAndAreReplaced) {
  auto c = MakeCache(kPolicy);
  Streamer s(c.get(), Ropes());
  for (int i = 0; i < 10; ++i) s.Step(2);  // 20 tokens
  ASSERT_TRUE(s.Pin(3).ok());
  for (int64_t il = 0; il < 2; ++il) {
    std::vector<int64_t> want = {0, 1, 2, 3, -1, -1, -1};
    for (int64_t t : Range(4, 20)) want.push_back(t);
    EXPECT_EQ(Tokens(*c, il, 0), want);
    EXPECT_EQ(c->NextPosition(il), 23);
  }
  EXPECT_EQ(c->Stats().n_pinned, 3);
  EXPECT_EQ(c->Stats().pinned_entries, 3 * 2 * 2);
  EXPECT_EQ(c->n_past(), 20);
  s.CheckEntries(1e-5);  // later entries were shifted up by 3, pins rotated for slots 4..6
  // Stream far past the budget: the pins stay at slots 4..6 through every batch.
  for (int i = 0; i < 60; ++i) s.Step(i % 8 + 1);
  EXPECT_GT(c->Stats().n_compactions, 10);
  for (int64_t il = 0; il < 2; ++il) {
    for (int64_t h = 0; h < 2; ++h) {
      const std::vector<int64_t> tok = Tokens(*c, il, h);
      EXPECT_EQ(std::vector<int64_t>(tok.begin(), tok.begin() + 7),
                (std::vector<int64_t>{0, 1, 2, 3, -1, -1, -1}));
      EXPECT_LE(tok.size(), 32u);
      EXPECT_EQ(tok.back(), c->n_past() - 1);
    }
  }
  s.CheckEntries(2e-5);
  // A later Pin replaces them (fewer here: later entries move down by one).
  ASSERT_TRUE(s.Pin(2).ok());
  EXPECT_EQ(Tokens(*c, 1, 1)[4], -1);
  EXPECT_EQ(Tokens(*c, 1, 1)[5], -1);
  EXPECT_NE(Tokens(*c, 1, 1)[6], -1);
  s.CheckEntries(2e-5);
  ASSERT_TRUE(s.Pin(0).ok());
  EXPECT_EQ(c->Stats().n_pinned, 0);
  s.CheckEntries(2e-5);
}

TEST(PinnedEntriesTest, PinThenUnpinRestoresTheEntries) {
  auto c = MakeCache(kPolicy);
  Streamer s(c.get(), Ropes());
  for (int i = 0; i < 4; ++i) s.Step(4);  // 16 tokens, no eviction
  const std::vector<float> before(c->View(0, 1).k, c->View(0, 1).k + 16 * 8);
  ASSERT_TRUE(s.Pin(5).ok());
  ASSERT_TRUE(s.Pin(0).ok());
  const KvHeadView v = c->View(0, 1);
  ASSERT_EQ(v.n, 16);
  for (int64_t i = 0; i < 16 * 8; ++i) EXPECT_NEAR(v.k[i], before[i], 1e-5);
}

TEST(PinnedEntriesTest, PinningWhenFullEvictsToMakeRoom) {
  auto c = MakeCache(kPolicy);
  Streamer s(c.get(), Ropes());
  for (int i = 0; i < 4; ++i) s.Step(8);  // 32 = budget + slack
  ASSERT_TRUE(s.Pin(6).ok());             // 32 + 6 > 32: middle evicted down to 24 - 6
  EXPECT_EQ(c->View(0, 0).n, 24);
  EXPECT_EQ(c->Stats().n_compactions, 1);
  s.CheckEntries(2e-5);
  s.Step(8);
  EXPECT_LE(c->View(1, 0).n, 32);
  s.CheckEntries(2e-5);
}

TEST(PinnedEntriesTest, PinsBeforeTheSinksAreFilledComeFirstAndLaterTokensAreSinks) {
  auto c = MakeCache(kPolicy);
  Streamer s(c.get(), Ropes());
  s.Step(2);
  ASSERT_TRUE(s.Pin(3).ok());  // after the 2 tokens held: tokens 2, 3 become sinks after them
  for (int i = 0; i < 40; ++i) s.Step(i % 8 + 1);
  for (int64_t h = 0; h < 2; ++h) {
    const std::vector<int64_t> tok = Tokens(*c, 1, h);
    EXPECT_EQ(std::vector<int64_t>(tok.begin(), tok.begin() + 7),
              (std::vector<int64_t>{0, 1, -1, -1, -1, 2, 3}));
  }
  s.CheckEntries(2e-5);
}

TEST(PinnedEntriesTest, BadPinsChangeNothing) {
  auto c = MakeCache(kPolicy);
  Streamer s(c.get(), Ropes());
  for (int i = 0; i < 3; ++i) s.Step(4);
  ASSERT_TRUE(s.Pin(2).ok());
  EXPECT_THAT(s.Pin(17).message(), HasSubstr("n_pinned"));  // > 24 - 4 - 4
  EXPECT_EQ(s.Pin(-1).code(), absl::StatusCode::kInvalidArgument);
  std::vector<PinnedKv> one(1);
  EXPECT_THAT(c->Pin(1, one).message(), HasSubstr("layers"));
  std::vector<PinnedKv> nulls(2);
  EXPECT_THAT(c->Pin(1, nulls).message(), HasSubstr("layers[0]"));
  ASSERT_TRUE(c->BeginStep(1).ok());
  EXPECT_EQ(s.Pin(1).code(), absl::StatusCode::kInvalidArgument);  // step open
  c->Rollback();
  EXPECT_EQ(c->Stats().n_pinned, 2);
  s.CheckEntries(1e-5);  // still the first pins
  auto full =
      NewFullKvCache({.n_layer = 2, .n_head_kv = 2, .head_dim_k = 8, .head_dim_v = 4, .n_ctx = 10});
  EXPECT_EQ((*full)->Pin(1, nulls).code(), absl::StatusCode::kFailedPrecondition);
}

TEST(RingLayerTest, KeepsItsWindowAtTokenPositions) {
  auto c = MakeCache(kPolicy, /*ring_window_layer1=*/6);
  Streamer s(c.get(), Ropes());
  for (int i = 0; i < 30; ++i) {
    s.Step(i % 8 + 1);
    ASSERT_LE(c->View(1, 0).n, 5 + 8);
  }
  const int64_t n = c->n_past();
  EXPECT_EQ(c->NextPosition(1), n);  // token positions, not re-indexed
  EXPECT_LT(c->NextPosition(0), 33);
  const KvHeadView v = c->View(1, 1);
  EXPECT_GE(v.n, 5);
  for (int64_t j = 0; j < v.n; ++j) {
    EXPECT_EQ(v.token[j], n - v.n + j);
    EXPECT_EQ(v.pos[j], v.token[j]);
  }
  s.CheckEntries(1e-5);
}

TEST(RingLayerTest, HoldsItsPinsAtItsLastPositionWhileItMovesOn) {
  auto c = MakeCache(kPolicy, /*ring_window_layer1=*/6);
  Streamer s(c.get(), Ropes());
  for (int i = 0; i < 6; ++i) s.Step(i % 4 + 1);
  const int64_t n = c->n_past();
  const int64_t own = c->View(1, 0).n;
  ASSERT_TRUE(s.Pin(2).ok());
  const KvHeadView p = c->View(1, 0);
  ASSERT_EQ(p.n, own + 2);
  for (int64_t j : {0, 1}) {
    EXPECT_EQ(p.token[j], -1);
    EXPECT_EQ(p.pos[j], n - 1);  // in view of the next window - 1 tokens
  }
  EXPECT_EQ(p.token[2], n - own);
  EXPECT_EQ(c->Stats().pinned_entries, 2 * 2 * kShape.n_head_kv);  // both layers, every head
  s.CheckEntries(1e-5);
  for (int i = 0; i < 10; ++i) s.Step(3);  // the ring drops its own oldest, never its pins
  const KvHeadView q = c->View(1, 1);
  EXPECT_EQ(q.token[0], -1);
  EXPECT_EQ(q.token[1], -1);
  EXPECT_EQ(q.pos[0], n - 1);
  EXPECT_EQ(q.token[q.n - 1], c->n_past() - 1);
  EXPECT_LE(q.n, 2 + 5 + 8);
  s.CheckEntries(1e-5);
  ASSERT_TRUE(s.Pin(3).ok());  // replaced, the ring's own entries kept
  EXPECT_EQ(c->View(1, 0).n, q.n + 1);
  s.CheckEntries(1e-5);
  ASSERT_TRUE(s.Pin(0).ok());
  EXPECT_EQ(c->View(1, 0).n, q.n - 2);
  EXPECT_GE(c->View(1, 0).token[0], 0);
  s.CheckEntries(1e-5);
}

TEST(RingLayerTest, PositionsRestartOnALongStream) {
  // Ring cap 5 + 8 = 13: rebase allowed from 2 * (13 + 8) = 42.
  auto c = MakeCache(kPolicy, /*ring_window_layer1=*/6, /*rebase_at=*/64);
  Streamer s(c.get(), Ropes());
  for (int i = 0; i < 200; ++i) {
    s.Step(i % 8 + 1);
    ASSERT_LE(c->NextPosition(1), 64);
  }
  const KvHeadView v = c->View(1, 0);
  for (int64_t j = 0; j < v.n; ++j) {
    EXPECT_EQ(v.pos[j], c->NextPosition(1) - v.n + j);  // contiguous, ending before the next
    EXPECT_EQ(v.token[j], c->n_past() - v.n + j);
  }
  s.CheckEntries(1e-4);
  BoundedKvCacheParams bad{.shape = kShape, .policy = kPolicy, .ring_rebase_at = 41};
  bad.layers = {{.rope = Ropes()[0]}, {.rope = Ropes()[1], .sliding_window = 6}};
  EXPECT_THAT(NewBoundedKvCache(bad).status().message(), HasSubstr("ring_rebase_at"));
}

}  // namespace
}  // namespace cachewire::cache
