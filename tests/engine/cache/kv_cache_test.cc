// FullKvCache (engine/cache/kv_cache.h): step protocol (BeginStep / Append / Commit / Rollback),
// the (layer, kv-head, position, head_dim) layout seen through View, growth past the initial
// capacity keeping old rows, n_ctx overflow leaving the cache unchanged, Clear.
#include "engine/cache/kv_cache.h"

#include <gtest/gtest.h>

#include <numeric>
#include <vector>

namespace cachewire::cache {
namespace {

constexpr KvCacheShape kShape{.n_layer = 2, .n_head_kv = 3, .head_dim_k = 4, .head_dim_v = 2,
                              .n_ctx = 200};

// Value of K element (token position p, head h, dim i) in layer il; V uses the negative.
float KAt(int64_t il, int64_t p, int64_t h, int64_t i) {
  return static_cast<float>(il * 100000 + p * 100 + h * 10 + i);
}

// Appends tokens [p0, p0 + n) to every layer in one step.
void Step(KvCache& c, int64_t p0, int64_t n) {
  ASSERT_TRUE(c.BeginStep(n).ok());
  std::vector<int32_t> pos(static_cast<size_t>(n));
  std::iota(pos.begin(), pos.end(), static_cast<int32_t>(p0));
  for (int64_t il = 0; il < kShape.n_layer; ++il) {
    std::vector<float> k, v;  // (n, n_head_kv, head_dim)
    for (int64_t t = 0; t < n; ++t) {
      for (int64_t h = 0; h < kShape.n_head_kv; ++h) {
        for (int64_t i = 0; i < kShape.head_dim_k; ++i) k.push_back(KAt(il, p0 + t, h, i));
        for (int64_t i = 0; i < kShape.head_dim_v; ++i) v.push_back(-KAt(il, p0 + t, h, i));
      }
    }
    ASSERT_TRUE(c.Append(il, pos, k.data(), v.data()).ok());
  }
  ASSERT_TRUE(c.Commit().ok());
}

void ExpectContents(const KvCache& c, int64_t n) {
  for (int64_t il = 0; il < kShape.n_layer; ++il) {
    for (int64_t h = 0; h < kShape.n_head_kv; ++h) {
      const KvHeadView v = c.View(il, h);
      ASSERT_EQ(v.n, n);
      for (int64_t p = 0; p < n; ++p) {
        ASSERT_EQ(v.pos[p], p);
        for (int64_t i = 0; i < kShape.head_dim_k; ++i) {
          ASSERT_EQ(v.k[p * v.k_stride + i], KAt(il, p, h, i)) << il << " " << h << " " << p;
        }
        for (int64_t i = 0; i < kShape.head_dim_v; ++i) {
          ASSERT_EQ(v.v[p * v.v_stride + i], -KAt(il, p, h, i));
        }
      }
    }
  }
}

TEST(FullKvCacheTest, StepsAppendAndGrowKeepingRows) {
  auto c = NewFullKvCache(kShape);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ((*c)->n_past(), 0);
  Step(**c, 0, 5);
  Step(**c, 5, 1);
  Step(**c, 6, 90);  // past the first capacity (64): storage regrows
  EXPECT_EQ((*c)->n_past(), 96);
  ExpectContents(**c, 96);
  EXPECT_GT((*c)->bytes(), 0u);
  EXPECT_EQ((*c)->Positions(1, 2).size(), 96u);
}

TEST(FullKvCacheTest, OpenStepIsVisiblePerLayerAndRollbackDropsIt) {
  auto c = NewFullKvCache(kShape);
  Step(**c, 0, 3);
  ASSERT_TRUE((*c)->BeginStep(2).ok());
  std::vector<int32_t> pos = {3, 4};
  std::vector<float> k(2 * 3 * 4, 7.0f), v(2 * 3 * 2, 8.0f);
  ASSERT_TRUE((*c)->Append(0, pos, k.data(), v.data()).ok());
  EXPECT_EQ((*c)->View(0, 1).n, 5);  // layer 0 sees the step's entries
  EXPECT_EQ((*c)->View(1, 1).n, 3);  // layer 1 not yet
  EXPECT_FALSE((*c)->Append(0, pos, k.data(), v.data()).ok());  // twice
  EXPECT_FALSE((*c)->Commit().ok());                             // layer 1 missing
  (*c)->Rollback();
  EXPECT_EQ((*c)->n_past(), 3);
  EXPECT_EQ((*c)->View(0, 1).n, 3);
  ExpectContents(**c, 3);
}

TEST(FullKvCacheTest, OverflowIsResourceExhaustedAndChangesNothing) {
  auto c = NewFullKvCache({.n_layer = 2, .n_head_kv = 3, .head_dim_k = 4, .head_dim_v = 2,
                           .n_ctx = 8});
  ASSERT_TRUE(c.ok());
  ASSERT_TRUE((*c)->BeginStep(6).ok());
  (*c)->Rollback();
  absl::Status s = (*c)->BeginStep(9);
  EXPECT_EQ(s.code(), absl::StatusCode::kResourceExhausted) << s;
  EXPECT_EQ((*c)->n_past(), 0);
  EXPECT_EQ((*c)->BeginStep(0).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_FALSE((*c)->Commit().ok());
}

TEST(FullKvCacheTest, ClearForgetsEverything) {
  auto c = NewFullKvCache(kShape);
  Step(**c, 0, 10);
  (*c)->Clear();
  EXPECT_EQ((*c)->n_past(), 0);
  EXPECT_EQ((*c)->View(0, 0).n, 0);
  Step(**c, 0, 4);
  ExpectContents(**c, 4);
}

TEST(FullKvCacheTest, InvalidShapesAreRejected) {
  EXPECT_FALSE(NewFullKvCache({.n_layer = 0, .n_head_kv = 1, .head_dim_k = 1, .head_dim_v = 1,
                               .n_ctx = 1}).ok());
  EXPECT_FALSE(NewFullKvCache({.n_layer = 1, .n_head_kv = 1, .head_dim_k = 1, .head_dim_v = 1,
                               .n_ctx = int64_t{1} << 32}).ok());
}

}  // namespace
}  // namespace cachewire::cache
