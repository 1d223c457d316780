// The CUDA key norms against their CPU twin (kernels::KeyL2Norms, the bounded cache's own), bit
// for bit: both sum the squares in double in index order, then sqrt and round once to float.
// Rows are strided past head_dim, with huge values in the gap that would show if read.
#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "kernels/key_norms.h"
#include "tests/kernels/cuda/cuda_twin_util.h"

namespace cachewire::kernels::cuda_testing {
namespace {

// (n, k_stride): head_dim key floats of magnitudes spread over 2^-20 .. 2^20 (so the double sum's
// rounding matters), then a gap of 1e30s.
std::vector<float> RandomKeys(int64_t n, int64_t k_stride, int64_t head_dim, std::mt19937& rng) {
  std::uniform_real_distribution<float> unit(-1.0f, 1.0f);
  std::uniform_int_distribution<int> exponent(-20, 20);
  std::vector<float> k(static_cast<size_t>(n * k_stride), 1e30f);
  for (int64_t r = 0; r < n; ++r) {
    for (int64_t i = 0; i < head_dim; ++i) {
      k[static_cast<size_t>(r * k_stride + i)] = std::ldexp(unit(rng), exponent(rng));
    }
  }
  return k;
}

TEST(CudaKeyNormsTest, MatchesTwinBitForBit) {
  CW_CUDA_DEVICE_OR_SKIP(dev);
  std::mt19937 rng(91);
  struct Shape {
    int64_t n, k_stride, head_dim;
  };
  for (const Shape s : {Shape{1000, 160, 128}, Shape{333, 256, 256}, Shape{129, 70, 67},
                        Shape{7, 3, 1}, Shape{5, 4, 0}}) {
    SCOPED_TRACE("n=" + std::to_string(s.n) + " k_stride=" + std::to_string(s.k_stride) +
                 " head_dim=" + std::to_string(s.head_dim));
    const std::vector<float> k = RandomKeys(s.n, s.k_stride, s.head_dim, rng);
    Buffer d_k = ToDevice(dev, k);
    Buffer d_norms = DeviceZeros<float>(dev, static_cast<size_t>(s.n));
    ASSERT_TRUE(dev.Run(CwKeyNormsArgs{.k = d_k.as<float>(),
                                       .n = s.n,
                                       .k_stride = s.k_stride,
                                       .head_dim = s.head_dim,
                                       .norms = d_norms.as<float>()})
                    .ok());
    const std::vector<float> gpu = ToHost<float>(dev, d_norms, static_cast<size_t>(s.n));
    std::vector<float> cpu(static_cast<size_t>(s.n));
    KeyL2Norms(k.data(), s.n, s.k_stride, s.head_dim, cpu.data());
    for (size_t r = 0; r < cpu.size(); ++r) {
      ASSERT_EQ(std::bit_cast<uint32_t>(gpu[r]), std::bit_cast<uint32_t>(cpu[r]))
          << "row " << r << ": gpu " << gpu[r] << " cpu " << cpu[r];
    }
  }
}

TEST(CudaKeyNormsTest, RefusesBadArgumentsNamingTheField) {
  CW_CUDA_DEVICE_OR_SKIP(dev);
  Buffer k = DeviceZeros<float>(dev, 4 * 8);
  Buffer norms = DeviceZeros<float>(dev, 4);
  const CwKeyNormsArgs good{
      .k = k.as<float>(), .n = 4, .k_stride = 8, .head_dim = 8, .norms = norms.as<float>()};
  ASSERT_TRUE(dev.Run(good).ok());
  auto expect_refused = [&dev](const CwKeyNormsArgs& args, const char* field) {
    const absl::Status s = dev.Run(args);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << field << ": " << s;
    EXPECT_NE(s.message().find(field), std::string::npos) << s;
  };
  CwKeyNormsArgs a = good;
  a.n = -1;
  expect_refused(a, "key_norms: n");
  a = good;
  a.head_dim = -1;
  expect_refused(a, "key_norms: head_dim");
  a = good;
  a.k_stride = 7;
  expect_refused(a, "key_norms: k_stride");
  a = good;
  a.k = nullptr;
  expect_refused(a, "key_norms: k");
  a = good;
  a.norms = nullptr;
  expect_refused(a, "key_norms: k or norms");
}

}  // namespace
}  // namespace cachewire::kernels::cuda_testing
