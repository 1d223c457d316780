// The CUDA eviction choice against its CPU twin (cache::ChooseKept), exactly: the same kept slots
// in the same order and their count, over many random cases (ties, NaN and infinite norms, no
// norms, n_keep at or past n_entries or below the protected slots, n_head and n_tail past
// n_entries or negative) and sizes spanning several blocks and scan chunks.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "engine/cache/eviction.h"
#include "tests/kernels/cuda/cuda_twin_util.h"

namespace cachewire::kernels::cuda_testing {
namespace {

struct Case {
  int64_t n_entries = 0;
  int64_t n_keep = 0;
  int64_t n_head = 0;
  int64_t n_tail = 0;
  bool with_norms = true;
  std::vector<float> norms;  // (n_entries) when with_norms
};

std::string Describe(const Case& c) {
  return "n=" + std::to_string(c.n_entries) + " keep=" + std::to_string(c.n_keep) +
         " head=" + std::to_string(c.n_head) + " tail=" + std::to_string(c.n_tail) +
         (c.with_norms ? "" : " no norms");
}

// The kept slots the device chooses (the first *n_kept of `kept`).
std::vector<int32_t> DeviceChoice(const CudaDevice& dev, const Case& c) {
  Buffer d_norms = c.with_norms ? ToDevice(dev, c.norms) : Buffer();
  Buffer d_kept = DeviceZeros<int32_t>(dev, static_cast<size_t>(c.n_entries));
  // -1 so that a count the kernel never writes shows.
  Buffer d_n_kept = ToDevice(dev, std::vector<int64_t>{-1});
  const absl::Status run = dev.Run(CwEvictSelectArgs{.key_norm = d_norms.as<float>(),
                                                     .n_entries = c.n_entries,
                                                     .n_keep = c.n_keep,
                                                     .n_head = c.n_head,
                                                     .n_tail = c.n_tail,
                                                     .kept = d_kept.as<int32_t>(),
                                                     .n_kept = d_n_kept.as<int64_t>()});
  EXPECT_TRUE(run.ok()) << run;
  const int64_t n_kept = ToHost<int64_t>(dev, d_n_kept, 1)[0];
  EXPECT_GE(n_kept, 0);
  EXPECT_LE(n_kept, c.n_entries);
  if (n_kept < 0 || n_kept > c.n_entries) return {};
  return ToHost<int32_t>(dev, d_kept, static_cast<size_t>(n_kept));
}

std::vector<int32_t> TwinChoice(const Case& c) {
  cache::EvictionArgs args;
  args.n_entries = c.n_entries;
  args.n_keep = c.n_keep;
  args.n_head = c.n_head;
  args.n_tail = c.n_tail;
  args.key_norm = c.with_norms ? c.norms.data() : nullptr;
  std::vector<int32_t> kept, order;
  cache::ChooseKept(args, &kept, &order);
  return kept;
}

// Norms of one of several kinds: distinct, few values (many ties), ties with NaN, +inf, -0 and
// +0 mixed in.
std::vector<float> RandomNorms(int64_t n, int kind, std::mt19937& rng) {
  std::vector<float> v(static_cast<size_t>(n));
  std::uniform_real_distribution<float> spread(0.0f, 40.0f);
  std::uniform_int_distribution<int> few(0, 3);
  std::uniform_int_distribution<int> special(0, 9);
  for (float& x : v) {
    switch (kind) {
      case 0:
        x = spread(rng);
        break;
      case 1:
        x = 0.5f * static_cast<float>(few(rng));
        break;
      default: {
        const int s = special(rng);
        x = s == 0   ? std::numeric_limits<float>::quiet_NaN()
            : s == 1 ? std::numeric_limits<float>::infinity()
            : s == 2 ? -0.0f
            : s == 3 ? 0.0f
                     : 0.5f * static_cast<float>(few(rng));
        break;
      }
    }
  }
  return v;
}

TEST(CudaEvictSelectTest, HandWorkedCase) {
  CW_CUDA_DEVICE_OR_SKIP(dev);
  // Middle slots 2..7 hold norms 5, NaN, 5, 1, 7, 5: three go, NaN (3) first, then 7 (6), then
  // the oldest of the 5s (2).
  Case c;
  c.n_entries = 10;
  c.n_keep = 7;
  c.n_head = 2;
  c.n_tail = 2;
  c.norms = {9, 9, 5, NAN, 5, 1, 7, 5, 9, 9};
  const std::vector<int32_t> expected = {0, 1, 4, 5, 7, 8, 9};
  ASSERT_EQ(TwinChoice(c), expected);
  EXPECT_EQ(DeviceChoice(dev, c), expected);
  c.with_norms = false;  // oldest first: 2, 3, 4 go
  EXPECT_EQ(DeviceChoice(dev, c), (std::vector<int32_t>{0, 1, 5, 6, 7, 8, 9}));
}

TEST(CudaEvictSelectTest, RandomCasesMatchTwinExactly) {
  CW_CUDA_DEVICE_OR_SKIP(dev);
  std::mt19937 rng(4242);
  const int64_t sizes[] = {0, 1, 2, 3, 17, 128, 129, 1000, 1023, 1024, 1025, 2500, 5000};
  int cases = 0;
  for (int64_t n : sizes) {
    for (int rep = 0; rep < 30; ++rep) {
      Case c;
      c.n_entries = n;
      std::uniform_int_distribution<int64_t> around(-3, n + 3);
      std::uniform_int_distribution<int64_t> small(-2, std::max<int64_t>(n / 8, 2));
      c.n_keep = around(rng);
      // Mostly small protected ends, sometimes past n (the clamps), sometimes negative.
      c.n_head = rep % 5 == 0 ? around(rng) : small(rng);
      c.n_tail = rep % 7 == 0 ? around(rng) : small(rng);
      c.with_norms = rep % 4 != 3;
      c.norms = RandomNorms(n, rep % 3, rng);
      SCOPED_TRACE(Describe(c) + " kind=" + std::to_string(rep % 3));
      const std::vector<int32_t> twin = TwinChoice(c);
      ASSERT_EQ(DeviceChoice(dev, c), twin);
      ++cases;
    }
  }
  // Fixed corners: keep everything, keep nothing, keep exactly the protected ends.
  for (int64_t keep : {int64_t{5000}, int64_t{100000}, int64_t{0}, int64_t{-7}, int64_t{96}}) {
    Case c;
    c.n_entries = 5000;
    c.n_keep = keep;
    c.n_head = 32;
    c.n_tail = 64;
    c.norms = RandomNorms(c.n_entries, 2, rng);
    SCOPED_TRACE(Describe(c));
    ASSERT_EQ(DeviceChoice(dev, c), TwinChoice(c));
    ++cases;
  }
  EXPECT_GT(cases, 300);
}

TEST(CudaEvictSelectTest, RefusesBadArgumentsNamingTheField) {
  CW_CUDA_DEVICE_OR_SKIP(dev);
  Buffer kept = DeviceZeros<int32_t>(dev, 8);
  Buffer n_kept = DeviceZeros<int64_t>(dev, 1);
  const CwEvictSelectArgs good{.key_norm = nullptr,
                               .n_entries = 8,
                               .n_keep = 4,
                               .n_head = 1,
                               .n_tail = 1,
                               .kept = kept.as<int32_t>(),
                               .n_kept = n_kept.as<int64_t>()};
  ASSERT_TRUE(dev.Run(good).ok());
  auto expect_refused = [&dev](const CwEvictSelectArgs& args, const char* field) {
    const absl::Status s = dev.Run(args);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << field << ": " << s;
    EXPECT_NE(s.message().find(field), std::string::npos) << s;
  };
  CwEvictSelectArgs a = good;
  a.n_entries = -1;
  expect_refused(a, "evict_select: n_entries");
  a.n_entries = int64_t{1} << 40;
  expect_refused(a, "evict_select: n_entries");
  a = good;
  a.n_kept = nullptr;
  expect_refused(a, "evict_select: n_kept");
  a = good;
  a.kept = nullptr;
  expect_refused(a, "evict_select: kept");
  // No entries: nothing kept, and the count is still written.
  a = good;
  a.n_entries = 0;
  a.kept = nullptr;
  ASSERT_TRUE(dev.Run(a).ok());
  EXPECT_EQ(ToHost<int64_t>(dev, n_kept, 1)[0], 0);
}

}  // namespace
}  // namespace cachewire::kernels::cuda_testing
