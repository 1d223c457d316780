// CachePolicy::Validate names the offending field; CachePool reserves up to its budget, answers
// ResourceExhausted beyond it, and gets bytes back when reservations (and caches) go away.
#include "engine/cache/cache_policy.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "engine/cache/bounded_kv_cache.h"
#include "engine/cache/cache_pool.h"
#include "engine/cache/kv_cache.h"

namespace cachewire::cache {
namespace {

using ::testing::HasSubstr;

TEST(CachePolicyTest, DefaultIsUnboundedAndValid) {
  EXPECT_FALSE(CachePolicy{}.bounded);
  EXPECT_TRUE(CachePolicy{}.Validate().ok());
  EXPECT_EQ(CachePolicy::Unbounded().ToString(), "unbounded");
  const CachePolicy p{.bounded = true};
  EXPECT_TRUE(p.Validate().ok()) << p.Validate();
  EXPECT_EQ(p.n_sink, 4);
  EXPECT_EQ(p.l2_skip_layers, 2);
  EXPECT_THAT(p.ToString(), HasSubstr("budget=1024"));
}

TEST(CachePolicyTest, ErrorsNameTheField) {
  struct Case {
    CachePolicy policy;
    const char* field;
  };
  const Case cases[] = {
      {{.bounded = true, .n_sink = -1}, "n_sink"},
      {{.bounded = true, .window = -3}, "window"},
      {{.bounded = true, .budget = -1}, "budget"},
      {{.bounded = true, .slack = -1}, "slack"},
      {{.bounded = true, .l2_skip_layers = -2}, "l2_skip_layers"},
      {{.bounded = true, .n_sink = 0, .window = 0, .budget = 0}, "budget"},
      {{.bounded = true, .slack = 0}, "slack"},
      {{.bounded = true, .n_sink = 8, .window = 100, .budget = 107}, "window"},
      {{.bounded = true, .budget = int64_t{1} << 31}, "budget"},
      {{.bounded = false, .window = -1}, "window"},  // sizes are checked even when unbounded
  };
  for (const Case& c : cases) {
    const absl::Status s = c.policy.Validate();
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << c.field;
    EXPECT_THAT(s.message(), HasSubstr(std::string(c.field) + " = ")) << s;
  }
  // Unbounded ignores budget/slack values that only matter when bounded.
  EXPECT_TRUE((CachePolicy{.window = 2000, .budget = 0, .slack = 0}).Validate().ok());
}

TEST(CachePoolTest, ReservesUpToTheBudgetAndReleases) {
  auto pool = CachePool::Create(1000);
  auto a = pool->Reserve(600);
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(pool->reserved_bytes(), 600u);
  const auto b = pool->Reserve(401);
  EXPECT_EQ(b.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(b.status().message(), HasSubstr("1000"));
  auto c = pool->Reserve(400);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(pool->n_reservations(), 2);
  CacheReservation moved = std::move(*a);
  EXPECT_EQ(moved.bytes(), 600u);
  EXPECT_EQ(pool->reserved_bytes(), 1000u);  // moving does not release
  moved = CacheReservation();
  EXPECT_EQ(pool->reserved_bytes(), 400u);
  EXPECT_EQ(pool->n_reservations(), 1);
}

TEST(CachePoolTest, CachesReserveTheirMaximumAtCreation) {
  const KvCacheShape shape{
      .n_layer = 2, .n_head_kv = 2, .head_dim_k = 8, .head_dim_v = 8, .n_ctx = 1000};
  BoundedKvCacheParams bp{.shape = shape,
                          .policy = {.bounded = true, .window = 16, .budget = 64, .slack = 16}};
  bp.layers.assign(2, {.rope = {.n_rot = 8}});
  const size_t bounded_bytes = BoundedKvCacheMaxBytes(bp);
  const size_t full_bytes = FullKvCacheMaxBytes(shape);
  auto pool = CachePool::Create(2 * bounded_bytes + full_bytes);
  bp.pool = pool;
  auto full = NewFullKvCache(shape, pool);
  ASSERT_TRUE(full.ok()) << full.status();
  EXPECT_EQ((*full)->Stats().reserved_bytes, full_bytes);
  EXPECT_LT((*full)->bytes(), full_bytes);  // reserved up front, allocated as it grows
  auto c1 = NewBoundedKvCache(bp);
  auto c2 = NewBoundedKvCache(bp);
  ASSERT_TRUE(c1.ok() && c2.ok());
  EXPECT_EQ((*c1)->Stats().reserved_bytes, bounded_bytes);
  EXPECT_EQ((*c1)->bytes(), bounded_bytes);
  EXPECT_EQ(pool->reserved_bytes(), pool->budget_bytes());
  const auto c3 = NewBoundedKvCache(bp);
  EXPECT_EQ(c3.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(NewFullKvCache(shape, pool).status().code(), absl::StatusCode::kResourceExhausted);
  c1->reset();  // released when the cache goes
  EXPECT_EQ(pool->reserved_bytes(), bounded_bytes + full_bytes);
  EXPECT_TRUE(NewBoundedKvCache(bp).ok());
  EXPECT_EQ(pool->reserved_bytes(), bounded_bytes + full_bytes);  // and that one's too
}

}  // namespace
}  // namespace cachewire::cache
