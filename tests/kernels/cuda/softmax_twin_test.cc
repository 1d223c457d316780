// CUDA softmax against kernels::SoftmaxRows: wide rows (a vocabulary), short rows, masked
// entries (-inf gives exactly 0) and a fully masked row (all 0). Bound: exp differs by an ulp
// or two between expf and the CPU's SIMD exp, and the sums are ordered differently: 1e-6
// absolute on probabilities, 1e-5 relative.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "kernels/softmax.h"
#include "tests/kernels/cuda/cuda_twin_util.h"

namespace cachewire::kernels::cuda_testing {
namespace {

TEST(CudaSoftmaxTest, MatchesCpuTwinWithMasks) {
  CW_CUDA_DEVICE_OR_SKIP(dev);
  std::mt19937 rng(11);
  for (const auto& [n_rows, n] : {std::pair<int64_t, int64_t>{1, 32000}, {9, 257}, {64, 5}}) {
    std::vector<float> x = RandomFloats(static_cast<size_t>(n_rows * n), rng, -20, 20);
    std::bernoulli_distribution masked(0.2);
    for (float& v : x) {
      if (masked(rng)) v = -INFINITY;
    }
    for (int64_t i = 0; i < n; ++i) x[static_cast<size_t>(i)] = -INFINITY;  // row 0 sees nothing
    std::vector<float> cpu = x;
    SoftmaxRows(cpu.data(), n_rows, n);
    Buffer dx = ToDevice(dev, x);
    ASSERT_TRUE(dev.Run(CwSoftmaxArgs{.x = dx.as<float>(), .n_rows = n_rows, .n = n}).ok());
    const std::vector<float> gpu = ToHost<float>(dev, dx, x.size());
    EXPECT_TRUE(AllClose(gpu, cpu, 1e-6, 1e-5));
    for (size_t i = 0; i < x.size(); ++i) {
      if (x[i] == -INFINITY) {
        ASSERT_EQ(gpu[i], 0.0f) << "masked element " << i;
      }
    }
  }
}

TEST(CudaSoftmaxTest, RefusesBadArgumentsNamingTheField) {
  CW_CUDA_DEVICE_OR_SKIP(dev);
  const absl::Status st = dev.Run(CwSoftmaxArgs{.x = nullptr, .n_rows = -1, .n = 4});
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(st.message().find("softmax: n_rows"), std::string::npos) << st;
}

}  // namespace
}  // namespace cachewire::kernels::cuda_testing
