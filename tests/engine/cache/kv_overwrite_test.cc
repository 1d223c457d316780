// Rewriting entries in place (KvCache::Overwrite, what a C2C fusion does to the receiver's
// cache), on the full cache and the bounded one:
// - the new key and value are what View shows at that row, everything else stays;
// - the whole batch is checked before any write: one bad item (open step, row out of range,
//   pinned row, null buffer) leaves even the good items unwritten;
// - a bounded cache ranks the rewritten key by its new norm when it next evicts.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <vector>

#include "engine/cache/bounded_kv_cache.h"
#include "engine/cache/kv_cache.h"
#include "tests/engine/cache/synthetic_stream.h"

namespace cachewire::cache {
namespace {

using ::testing::HasSubstr;
using testing::Streamer;

constexpr KvCacheShape kShape{.n_layer = 2, .n_head_kv = 2, .head_dim_k = 8, .head_dim_v = 4,
                              .n_ctx = 64};

std::vector<kernels::RopeParams> Ropes() {
  return {{.layout = kernels::RopeLayout::kNorm, .n_rot = 8},
          {.layout = kernels::RopeLayout::kNeox, .n_rot = 8}};
}

std::unique_ptr<KvCache> Full() {
  auto c = NewFullKvCache(kShape);
  EXPECT_TRUE(c.ok()) << c.status();
  return c.ok() ? std::move(*c) : nullptr;
}

std::unique_ptr<KvCache> Bounded(const CachePolicy& policy) {
  BoundedKvCacheParams p{.shape = kShape, .policy = policy};
  for (const kernels::RopeParams& r : Ropes()) p.layers.push_back({.rope = r});
  auto c = NewBoundedKvCache(p);
  EXPECT_TRUE(c.ok()) << c.status();
  return c.ok() ? std::move(*c) : nullptr;
}

std::vector<float> Row(const float* base, int64_t stride, int64_t row, int64_t n) {
  return {base + row * stride, base + row * stride + n};
}

// Every key and value of the cache, in View order.
std::vector<float> Snapshot(const KvCache& c) {
  std::vector<float> out;
  for (int64_t il = 0; il < kShape.n_layer; ++il) {
    for (int64_t h = 0; h < kShape.n_head_kv; ++h) {
      const KvHeadView v = c.View(il, h);
      for (int64_t e = 0; e < v.n; ++e) {
        for (float x : Row(v.k, v.k_stride, e, kShape.head_dim_k)) out.push_back(x);
        for (float x : Row(v.v, v.v_stride, e, kShape.head_dim_v)) out.push_back(x);
      }
    }
  }
  return out;
}

class Overwrite : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override {
    cache_ = GetParam() ? Bounded({.bounded = true, .n_sink = 2, .window = 4, .budget = 12,
                                   .slack = 4, .l2_skip_layers = 0})
                        : Full();
    ASSERT_NE(cache_, nullptr);
    Streamer s(cache_.get(), Ropes());
    for (int i = 0; i < 3; ++i) s.Step(3);
  }
  std::unique_ptr<KvCache> cache_;
  const std::vector<float> k_ = std::vector<float>(kShape.head_dim_k, 9.0f);
  const std::vector<float> v_ = std::vector<float>(kShape.head_dim_v, -9.0f);
};

TEST_P(Overwrite, WritesTheRowAndNothingElse) {
  const std::vector<float> before = Snapshot(*cache_);
  const std::vector<EntryOverwrite> writes = {{1, 1, 5, k_.data(), v_.data()}};
  ASSERT_TRUE(cache_->Overwrite(writes).ok());
  const KvHeadView view = cache_->View(1, 1);
  EXPECT_EQ(Row(view.k, view.k_stride, 5, kShape.head_dim_k), k_);
  EXPECT_EQ(Row(view.v, view.v_stride, 5, kShape.head_dim_v), v_);
  EXPECT_EQ(view.token[5], 5);
  EXPECT_EQ(view.pos[5], 5);
  const std::vector<float> after = Snapshot(*cache_);
  ASSERT_EQ(after.size(), before.size());
  int64_t changed = 0;
  for (size_t i = 0; i < after.size(); ++i) changed += after[i] != before[i];
  EXPECT_EQ(changed, kShape.head_dim_k + kShape.head_dim_v);
  EXPECT_EQ(cache_->n_past(), 9);
}

TEST_P(Overwrite, OneBadItemWritesNothing) {
  const std::vector<float> before = Snapshot(*cache_);
  const EntryOverwrite good{0, 0, 1, k_.data(), v_.data()};
  const std::vector<std::pair<EntryOverwrite, std::string>> bad = {
      {{0, 0, 9, k_.data(), v_.data()}, "row 9"},
      {{0, 0, -1, k_.data(), v_.data()}, "row -1"},
      {{2, 0, 0, k_.data(), v_.data()}, "layer 2"},
      {{0, 2, 0, k_.data(), v_.data()}, "kv-head 2"},
      {{0, 0, 2, nullptr, v_.data()}, "null"},
  };
  for (const auto& [item, what] : bad) {
    const std::vector<EntryOverwrite> writes = {good, item};
    const absl::Status s = cache_->Overwrite(writes);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << what;
    EXPECT_THAT(s.message(), HasSubstr(what));
    EXPECT_EQ(Snapshot(*cache_), before) << what;
  }
  ASSERT_TRUE(cache_->BeginStep(1).ok());
  const std::vector<EntryOverwrite> writes = {good};
  EXPECT_THAT(cache_->Overwrite(writes).message(), HasSubstr("open step"));
  cache_->Rollback();
  EXPECT_EQ(Snapshot(*cache_), before);
}

INSTANTIATE_TEST_SUITE_P(FullAndBounded, Overwrite, ::testing::Bool(),
                         [](const auto& info) { return info.param ? "Bounded" : "Full"; });

TEST(OverwriteBounded, RefusesPinnedRows) {
  auto cache = Bounded({.bounded = true, .n_sink = 2, .window = 4, .budget = 12, .slack = 4});
  ASSERT_NE(cache, nullptr);
  Streamer s(cache.get(), Ropes());
  s.Step(3);
  ASSERT_TRUE(s.Pin(2).ok());  // rows 2 and 3, after the two sinks
  const std::vector<float> k(kShape.head_dim_k, 1.0f), v(kShape.head_dim_v, 1.0f);
  const std::vector<EntryOverwrite> writes = {{0, 0, 2, k.data(), v.data()}};
  const absl::Status st = cache->Overwrite(writes);
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(st.message(), HasSubstr("pinned"));
}

// L2 eviction drops the largest keys of the middle first: the smallest middle key rewritten to
// a huge norm goes at the next batch, and the largest one rewritten to zero stays.
TEST(OverwriteBounded, EvictionRanksTheNewNorm) {
  const CachePolicy policy{.bounded = true, .n_sink = 1, .window = 2, .budget = 6, .slack = 2,
                           .l2_skip_layers = 0};
  for (const bool grow : {true, false}) {
    auto cache = Bounded(policy);
    ASSERT_NE(cache, nullptr);
    Streamer s(cache.get(), Ropes());
    for (int i = 0; i < 4; ++i) s.Step(2);  // 8 entries: the next step evicts down to 6
    // Of the middle (rows 1..5, two of which the batch evicts), the entry L2 eviction would
    // surely keep (smallest norm) or surely drop (largest), to be made huge or zero.
    const KvHeadView view = cache->View(0, 0);
    int64_t row = 1;
    double best = grow ? 1e30 : -1;
    for (int64_t e = 1; e <= 5; ++e) {
      double n2 = 0;
      for (int64_t i = 0; i < kShape.head_dim_k; ++i) {
        n2 += double{view.k[e * view.k_stride + i]} * view.k[e * view.k_stride + i];
      }
      if (grow ? n2 < best : n2 > best) best = n2, row = e;
    }
    const int64_t token = view.token[row];
    const std::vector<float> k(kShape.head_dim_k, grow ? 100.0f : 0.0f);
    const std::vector<float> v(kShape.head_dim_v, 0.5f);
    const std::vector<EntryOverwrite> writes = {{0, 0, row, k.data(), v.data()}};
    ASSERT_TRUE(cache->Overwrite(writes).ok());
    s.Step(2);
    const KvHeadView after = cache->View(0, 0);
    bool kept = false;
    for (int64_t e = 0; e < after.n; ++e) kept |= after.token[e] == token;
    EXPECT_EQ(kept, !grow) << (grow ? "a huge key must be evicted" : "a zero key must be kept");
  }
}

}  // namespace
}  // namespace cachewire::cache
