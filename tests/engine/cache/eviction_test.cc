// ChooseKept (engine/cache/eviction.h) on hand-made norms: protected head and tail, highest norm
// first with ties to the older slot, NaN first, oldest first without norms, clamping when the
// protected slots exceed what n_keep allows.
#include "engine/cache/eviction.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

namespace cachewire::cache {
namespace {

using Slots = std::vector<int32_t>;

Slots Kept(const EvictionArgs& a) {
  std::vector<int32_t> kept, order;
  ChooseKept(a, &kept, &order);
  return kept;
}

//                         head | middle (slots 2..8)       | tail
const std::vector<float> kNorm = {9, 9, 1, 5, 3, 5, 0.5f, 7, 2, 9, 9};

TEST(EvictionTest, HighestNormsOfTheMiddleGoFirst) {
  // Evict 4: norms 7 (slot 7), 5 and 5 (slots 3, 5), 3 (slot 4); the protected 9s stay.
  EXPECT_EQ(
      Kept({.n_entries = 11, .n_keep = 7, .n_head = 2, .n_tail = 2, .key_norm = kNorm.data()}),
      (Slots{0, 1, 2, 6, 8, 9, 10}));
  // Evict 2: slot 7, then the older of the two 5s.
  EXPECT_EQ(
      Kept({.n_entries = 11, .n_keep = 9, .n_head = 2, .n_tail = 2, .key_norm = kNorm.data()}),
      (Slots{0, 1, 2, 4, 5, 6, 8, 9, 10}));
}

TEST(EvictionTest, NanNormGoesFirst) {
  std::vector<float> norm = kNorm;
  norm[6] = std::numeric_limits<float>::quiet_NaN();
  EXPECT_EQ(
      Kept({.n_entries = 11, .n_keep = 10, .n_head = 2, .n_tail = 2, .key_norm = norm.data()}),
      (Slots{0, 1, 2, 3, 4, 5, 7, 8, 9, 10}));
}

TEST(EvictionTest, WithoutNormsOldestGoFirst) {
  EXPECT_EQ(Kept({.n_entries = 11, .n_keep = 8, .n_head = 2, .n_tail = 2}),
            (Slots{0, 1, 5, 6, 7, 8, 9, 10}));
}

TEST(EvictionTest, ProtectedSlotsWinOverNKeep) {
  EXPECT_EQ(
      Kept({.n_entries = 11, .n_keep = 2, .n_head = 2, .n_tail = 2, .key_norm = kNorm.data()}),
      (Slots{0, 1, 9, 10}));
  EXPECT_EQ(Kept({.n_entries = 3, .n_keep = 0, .n_head = 2, .n_tail = 2}), (Slots{0, 1, 2}));
  EXPECT_EQ(Kept({.n_entries = 5, .n_keep = 9, .n_head = 0, .n_tail = 0}), (Slots{0, 1, 2, 3, 4}));
}

}  // namespace
}  // namespace cachewire::cache
