// UnrotationTable: keys rotated by RoPE at their positions come back to what they were, bit for
// bit as a table built for those positions alone would give, across RoPE changes, growing
// positions and positions past the cached range.
#include "engine/adapter/unrotated_rows.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

namespace cachewire::adapter {
namespace {

constexpr int64_t kHeadDim = 16;

std::vector<float> RandomRows(int64_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist;
  std::vector<float> x(static_cast<size_t>(n * kHeadDim));
  for (float& f : x) f = dist(rng);
  return x;
}

// x rotated by +positions (as a cache stores keys), or by -positions with back = true (the
// per-call un-rotation the table replaces).
std::vector<float> Rotated(const kernels::RopeParams& rope, std::vector<float> x,
                           const std::vector<int32_t>& positions, bool back) {
  std::vector<int32_t> p = positions;
  if (back) {
    for (int32_t& q : p) q = -q;
  }
  kernels::RopeTable table;
  EXPECT_TRUE(kernels::BuildRopeTable(rope, p, &table).ok());
  EXPECT_TRUE(kernels::ApplyRope(table, x.data(), static_cast<int64_t>(p.size()), 1, kHeadDim)
                  .ok());
  return x;
}

void ExpectUndone(UnrotationTable& table, const kernels::RopeParams& rope,
                  const std::vector<int32_t>& positions, uint32_t seed) {
  const int64_t n = static_cast<int64_t>(positions.size());
  const std::vector<float> plain = RandomRows(n, seed);
  const std::vector<float> stored = Rotated(rope, plain, positions, /*back=*/false);
  std::vector<float> got = stored;
  ASSERT_TRUE(table.Unrotate(rope, positions, got.data(), kHeadDim).ok());
  EXPECT_EQ(got, Rotated(rope, stored, positions, /*back=*/true));  // the same products
  for (size_t i = 0; i < got.size(); ++i) {
    ASSERT_NEAR(got[i], plain[i], 1e-4f * (1.0f + std::fabs(plain[i]))) << "value " << i;
  }
}

TEST(UnrotationTable, UndoesRotationAcrossRopesAndGrowingPositions) {
  const kernels::RopeParams llama{.layout = kernels::RopeLayout::kNorm, .n_rot = kHeadDim,
                                  .freq_base = 10000.0f};
  const kernels::RopeParams global{.layout = kernels::RopeLayout::kNeox, .n_rot = kHeadDim,
                                   .freq_base = 1000000.0f};
  const std::vector<float> factors(kHeadDim / 2, 2.0f);
  kernels::RopeParams scaled = llama;
  scaled.freq_factors = factors.data();
  UnrotationTable table;
  ExpectUndone(table, llama, {0, 5, 3, 17}, 1);
  ExpectUndone(table, llama, {700, 2, 1500}, 2);   // past the first build: rebuilt larger
  ExpectUndone(table, global, {4, 900, 12}, 3);     // another RoPE in the same table
  ExpectUndone(table, scaled, {4, 900, 12}, 4);     // frequency factors count as another RoPE
  ExpectUndone(table, llama, {UnrotationTable::kMaxCachedPositions + 5, 1, 70000}, 5);
  ExpectUndone(table, llama, {1, 2, 3}, 6);          // and back
}

TEST(UnrotationTable, KeepsAFewRopesAndEvictsTheOldest) {
  UnrotationTable table;
  for (int round = 0; round < 2; ++round) {
    for (int i = 0; i < static_cast<int>(UnrotationTable::kMaxRopes) + 2; ++i) {
      const kernels::RopeParams rope{.n_rot = kHeadDim, .freq_base = 1000.0f * (i + 1)};
      ExpectUndone(table, rope, {i, 40 * i + 3, 600}, 10 * round + i);
    }
  }
}

TEST(UnrotationTable, RefusesNegativePositions) {
  const kernels::RopeParams rope{.n_rot = kHeadDim, .freq_base = 10000.0f};
  UnrotationTable table;
  std::vector<float> x = RandomRows(2, 7);
  const absl::Status status = table.Unrotate(rope, std::vector<int32_t>{3, -1}, x.data(), kHeadDim);
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(status.message().find("negative position -1"), std::string::npos) << status;
}

TEST(UnrotationTable, RefusesAnInvalidRope) {
  const kernels::RopeParams odd{.n_rot = 3, .freq_base = 10000.0f};
  UnrotationTable table;
  std::vector<float> x = RandomRows(1, 8);
  EXPECT_EQ(table.Unrotate(odd, std::vector<int32_t>{1}, x.data(), kHeadDim).code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace cachewire::adapter
