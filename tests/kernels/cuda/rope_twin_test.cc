// The CUDA RoPE against its CPU twin (kernels::BuildRopeTable + ApplyRope / ApplyRopeRow) on the
// same vectors: both layouts, partial rotation, frequency factors, linear scaling, positions
// far apart up to ~100k (and negative, as the cache's back-shifts are), and the shift form.
//
// Bound: 1e-7 absolute + 1e-6 relative with |x| <= 1. Both sides compute the same double angle
// and round cos/sin once to float; the device's double cos/sin may differ from glibc's by an ulp
// or two of double, which flips the float rounding only for values within that distance of a
// rounding boundary (rare), moving one of cos/sin by one float ulp (<= 2^-24), hence an output
// error <= 2^-24 * |x| plus one ulp of the output's own rounding. The rotations are the same
// f32 operations. A float angle, a wrong pair layout or a missed factor is off by far more.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "kernels/rope.h"
#include "tests/kernels/cuda/cuda_twin_util.h"

namespace cachewire::kernels::cuda_testing {
namespace {

constexpr double kAbsTol = 1e-7;
constexpr double kRelTol = 1e-6;

struct RopeCase {
  RopeLayout layout;
  int64_t head_dim;
  int64_t n_rot;
  float base;
  float scale;
  bool factors;
};

std::string Describe(const RopeCase& c) {
  return std::string(c.layout == RopeLayout::kNorm ? "norm" : "neox") +
         " head_dim=" + std::to_string(c.head_dim) + " n_rot=" + std::to_string(c.n_rot) +
         " base=" + std::to_string(c.base) + " scale=" + std::to_string(c.scale) +
         (c.factors ? " factors" : "");
}

const RopeCase kCases[] = {
    {RopeLayout::kNorm, 128, 128, 10000.0f, 1.0f, false},
    {RopeLayout::kNeox, 128, 128, 10000.0f, 1.0f, false},
    {RopeLayout::kNorm, 128, 64, 500000.0f, 1.0f, true},      // partial rotation, Llama 3 factors
    {RopeLayout::kNeox, 256, 96, 1000000.0f, 0.125f, false},  // Gemma 3 global layers: scaled
    {RopeLayout::kNeox, 80, 80, 10000.0f, 0.25f, true},
    {RopeLayout::kNorm, 64, 2, 10000.0f, 1.0f, false},  // one pair
    // n_rot > 512: pairs past the host-computed frequencies, and more than one shared tile.
    {RopeLayout::kNorm, 1200, 1100, 10000.0f, 1.0f, true},
    {RopeLayout::kNeox, 1200, 1100, 10000.0f, 0.5f, false},
};

// (n_rot/2) divisors in [1, 8], as Llama 3's long-context factors are.
std::vector<float> RandomFactors(int64_t n_rot, std::mt19937& rng) {
  return RandomFloats(static_cast<size_t>(n_rot / 2), rng, 1.0f, 8.0f);
}

RopeParams ParamsOf(const RopeCase& c, const std::vector<float>& factors) {
  RopeParams p;
  p.layout = c.layout;
  p.n_rot = c.n_rot;
  p.freq_base = c.base;
  p.freq_scale = c.scale;
  p.freq_factors = c.factors ? factors.data() : nullptr;
  return p;
}

// Dimensions past n_rot of every head must come back untouched, bit for bit.
void ExpectPassThrough(const std::vector<float>& gpu, const std::vector<float>& x, int64_t rows,
                       int64_t head_dim, int64_t n_rot) {
  for (int64_t r = 0; r < rows; ++r) {
    const size_t at = static_cast<size_t>(r * head_dim + n_rot);
    ASSERT_EQ(std::memcmp(gpu.data() + at, x.data() + at,
                          static_cast<size_t>(head_dim - n_rot) * sizeof(float)),
              0)
        << "row " << r;
  }
}

TEST(CudaRopeTest, MatchesTwinAtExplicitPositions) {
  CW_CUDA_DEVICE_OR_SKIP(dev);
  std::mt19937 rng(77);
  for (const RopeCase& c : kCases) {
    SCOPED_TRACE(Describe(c));
    const int64_t n_tokens = 53, n_heads = 5;
    // Non-contiguous, unsorted, repeated, negative and large positions.
    std::uniform_int_distribution<int32_t> any_pos(-4096, 100000);
    std::vector<int32_t> pos(static_cast<size_t>(n_tokens));
    for (int32_t& p : pos) p = any_pos(rng);
    pos[0] = 0;
    pos[1] = 100000;
    pos[2] = pos[3];
    const std::vector<float> factors = RandomFactors(c.n_rot, rng);
    const size_t n = static_cast<size_t>(n_tokens * n_heads * c.head_dim);
    const std::vector<float> x = RandomFloats(n, rng);

    Buffer d_x = ToDevice(dev, x);
    Buffer d_pos = ToDevice(dev, pos);
    Buffer d_factors = ToDevice(dev, factors);
    ASSERT_TRUE(dev.Run(CwRopeArgs{.x = d_x.as<float>(),
                                   .pos = d_pos.as<int32_t>(),
                                   .shift = 0,
                                   .n_tokens = n_tokens,
                                   .n_heads = n_heads,
                                   .head_dim = c.head_dim,
                                   .neox = c.layout == RopeLayout::kNeox ? 1 : 0,
                                   .n_rot = c.n_rot,
                                   .freq_base = c.base,
                                   .freq_scale = c.scale,
                                   .freq_factors = c.factors ? d_factors.as<float>() : nullptr})
                    .ok());
    const std::vector<float> gpu = ToHost<float>(dev, d_x, n);

    std::vector<float> cpu = x;
    RopeTable table;
    ASSERT_TRUE(BuildRopeTable(ParamsOf(c, factors), pos, &table).ok());
    ASSERT_TRUE(ApplyRope(table, cpu.data(), n_tokens, n_heads, c.head_dim).ok());
    EXPECT_TRUE(AllClose(gpu, cpu, kAbsTol, kRelTol));
    ExpectPassThrough(gpu, x, n_tokens * n_heads, c.head_dim, c.n_rot);
  }
}

// pos null: every row turns by `shift`, as KvRows' re-indexing does with ApplyRopeRow. More
// rows than one block of the shift form takes.
TEST(CudaRopeTest, ShiftFormMatchesApplyRopeRow) {
  CW_CUDA_DEVICE_OR_SKIP(dev);
  std::mt19937 rng(78);
  for (const RopeCase& c : kCases) {
    for (int32_t shift : {0, -1, 7, -4097, 99999}) {
      SCOPED_TRACE(Describe(c) + " shift=" + std::to_string(shift));
      const int64_t n_tokens = 150, n_heads = 3;
      const std::vector<float> factors = RandomFactors(c.n_rot, rng);
      const size_t n = static_cast<size_t>(n_tokens * n_heads * c.head_dim);
      const std::vector<float> x = RandomFloats(n, rng);

      Buffer d_x = ToDevice(dev, x);
      Buffer d_factors = ToDevice(dev, factors);
      ASSERT_TRUE(dev.Run(CwRopeArgs{.x = d_x.as<float>(),
                                     .pos = nullptr,
                                     .shift = shift,
                                     .n_tokens = n_tokens,
                                     .n_heads = n_heads,
                                     .head_dim = c.head_dim,
                                     .neox = c.layout == RopeLayout::kNeox ? 1 : 0,
                                     .n_rot = c.n_rot,
                                     .freq_base = c.base,
                                     .freq_scale = c.scale,
                                     .freq_factors = c.factors ? d_factors.as<float>() : nullptr})
                      .ok());
      const std::vector<float> gpu = ToHost<float>(dev, d_x, n);

      std::vector<float> cpu = x;
      RopeTable table;
      const std::vector<int32_t> one = {shift};
      ASSERT_TRUE(BuildRopeTable(ParamsOf(c, factors), one, &table).ok());
      ASSERT_TRUE(ApplyRopeRow(table, 0, cpu.data(), n_tokens, n_heads, c.head_dim).ok());
      EXPECT_TRUE(AllClose(gpu, cpu, kAbsTol, kRelTol));
      ExpectPassThrough(gpu, x, n_tokens * n_heads, c.head_dim, c.n_rot);
    }
  }
}

TEST(CudaRopeTest, RefusesBadArgumentsNamingTheField) {
  CW_CUDA_DEVICE_OR_SKIP(dev);
  Buffer x = DeviceZeros<float>(dev, 4 * 2 * 64);
  const CwRopeArgs good{.x = x.as<float>(),
                        .pos = nullptr,
                        .shift = 3,
                        .n_tokens = 4,
                        .n_heads = 2,
                        .head_dim = 64,
                        .neox = 0,
                        .n_rot = 64,
                        .freq_base = 10000.0f,
                        .freq_scale = 1.0f,
                        .freq_factors = nullptr};
  ASSERT_TRUE(dev.Run(good).ok());
  auto expect_refused = [&dev](const CwRopeArgs& args, const char* field) {
    const absl::Status s = dev.Run(args);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << field << ": " << s;
    EXPECT_NE(s.message().find(field), std::string::npos) << s;
  };
  CwRopeArgs a = good;
  a.n_rot = 3;
  expect_refused(a, "rope: n_rot");
  a.n_rot = 0;
  expect_refused(a, "rope: n_rot");
  a.n_rot = -2;
  expect_refused(a, "rope: n_rot");
  a.n_rot = 66;
  expect_refused(a, "rope: n_rot > head_dim");
  a = good;
  a.freq_base = 0.0f;
  expect_refused(a, "rope: freq_base");
  a.freq_base = NAN;
  expect_refused(a, "rope: freq_base");
  a = good;
  a.freq_scale = -1.0f;
  expect_refused(a, "rope: freq_scale");
  a = good;
  a.x = nullptr;
  expect_refused(a, "rope: x");
  a = good;
  a.n_tokens = -1;
  expect_refused(a, "rope: n_tokens");
  a = good;
  a.n_heads = -1;
  expect_refused(a, "rope: n_heads");
  a = good;
  a.head_dim = -64;
  expect_refused(a, "rope: head_dim");
  // No rows: nothing to read, so a null x is fine.
  a = good;
  a.x = nullptr;
  a.n_tokens = 0;
  EXPECT_TRUE(dev.Run(a).ok());
}

}  // namespace
}  // namespace cachewire::kernels::cuda_testing
