// CUDA residual add and scale against kernels::AddInPlace / ScaleInPlace: one f32 operation per
// element on both sides, so the results are bit-identical.
#include <gtest/gtest.h>

#include <random>
#include <vector>

#include "kernels/elementwise.h"
#include "tests/kernels/cuda/cuda_twin_util.h"

namespace cachewire::kernels::cuda_testing {
namespace {

TEST(CudaElementwiseTest, AddAndScaleMatchCpuTwinBitForBit) {
  CW_CUDA_DEVICE_OR_SKIP(dev);
  std::mt19937 rng(5);
  const size_t n = 100003;  // not a multiple of the block size
  const std::vector<float> y = RandomFloats(n, rng, -3, 3), x = RandomFloats(n, rng, -3, 3);
  std::vector<float> cpu = y;
  AddInPlace(cpu.data(), x.data(), static_cast<int64_t>(n));
  ScaleInPlace(cpu.data(), 0.37f, static_cast<int64_t>(n));
  Buffer dy = ToDevice(dev, y), dx = ToDevice(dev, x);
  ASSERT_TRUE(
      dev.Run(CwAddArgs{.y = dy.as<float>(), .x = dx.as<float>(), .n = static_cast<int64_t>(n)})
          .ok());
  ASSERT_TRUE(
      dev.Run(CwScaleArgs{.x = dy.as<float>(), .s = 0.37f, .n = static_cast<int64_t>(n)}).ok());
  EXPECT_EQ(ToHost<float>(dev, dy, n), cpu);
}

TEST(CudaElementwiseTest, RefusesNullBuffers) {
  CW_CUDA_DEVICE_OR_SKIP(dev);
  const absl::Status st = dev.Run(CwAddArgs{.y = nullptr, .x = nullptr, .n = 4});
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(st.message().find("add: y or x is null"), std::string::npos) << st;
}

}  // namespace
}  // namespace cachewire::kernels::cuda_testing
