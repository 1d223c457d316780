// kernels::ApplyRopeRow, the shift a bounded cache applies to stored keys when compaction
// re-indexes them: a key rotated for position p, then rotated by a table row built for d,
// equals the key rotated for p + d (both layouts, linear scaling, frequency divisors, dims past
// n_rot untouched), checked against a double-precision RoPE written here.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "kernels/rope.h"
#include "tests/engine/cache/synthetic_stream.h"

namespace cachewire::cache {
namespace {

TEST(RopeShiftTest, RotatingByARowMovesThePosition) {
  const float factors[3] = {1, 3, 8};
  const int64_t head_dim = 8, n_rows = 5;
  const std::vector<int32_t> shifts = {0, -1, -37, 250};
  for (kernels::RopeLayout layout : {kernels::RopeLayout::kNorm, kernels::RopeLayout::kNeox}) {
    for (const float* ff : {static_cast<const float*>(nullptr), factors}) {
      const kernels::RopeParams p{.layout = layout, .n_rot = 6, .freq_base = 50000.0f,
                                  .freq_scale = 0.5f, .freq_factors = ff};
      kernels::RopeTable table;
      ASSERT_TRUE(kernels::BuildRopeTable(p, shifts, &table).ok());
      for (size_t r = 0; r < shifts.size(); ++r) {
        std::vector<float> raw, x;  // (n_rows, head_dim): row t un-rotated, then at 100 + 7t
        for (int64_t t = 0; t < n_rows; ++t) {
          for (int64_t i = 0; i < head_dim; ++i) raw.push_back(testing::Hash(t, r, 0, i));
          for (double v : testing::RefRope(p, raw.data() + t * head_dim, head_dim, 100 + 7 * t)) {
            x.push_back(static_cast<float>(v));
          }
        }
        ASSERT_TRUE(kernels::ApplyRopeRow(table, static_cast<int64_t>(r), x.data(), n_rows, 1,
                                          head_dim)
                        .ok());
        for (int64_t t = 0; t < n_rows; ++t) {
          const std::vector<double> want =
              testing::RefRope(p, raw.data() + t * head_dim, head_dim, 100 + 7 * t + shifts[r]);
          for (int64_t i = 0; i < head_dim; ++i) {
            ASSERT_NEAR(x[t * head_dim + i], want[i], 1e-5) << "shift " << shifts[r];
          }
          EXPECT_EQ(x[t * head_dim + 7], raw[t * head_dim + 7]);  // past n_rot
        }
      }
    }
  }
  kernels::RopeTable table;
  ASSERT_TRUE(kernels::BuildRopeTable({.n_rot = 4}, shifts, &table).ok());
  std::vector<float> x(8);
  EXPECT_FALSE(kernels::ApplyRopeRow(table, 4, x.data(), 1, 1, 8).ok());   // no such row
  EXPECT_FALSE(kernels::ApplyRopeRow(table, 0, x.data(), 1, 1, 2).ok());   // n_rot > head_dim
}

}  // namespace
}  // namespace cachewire::cache
