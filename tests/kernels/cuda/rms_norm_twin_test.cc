// CUDA RMSNorm against kernels::RmsNorm: residual rows (n_embd wide, with and without a weight)
// and Gemma 3's per-head QK-norm (short rows sharing one weight), out of place and in place.
// Bound: both sum n squares in f32 in different orders (tree vs. SIMD lanes), so the mean's
// relative error is ~n * 2^-24 at worst; 1e-5 relative covers n = 4096 with margin.
#include <gtest/gtest.h>

#include <random>
#include <vector>

#include "kernels/rms_norm.h"
#include "tests/kernels/cuda/cuda_twin_util.h"

namespace cachewire::kernels::cuda_testing {
namespace {

struct Shape {
  int64_t n_rows;
  int64_t n;
  bool weight;
  bool in_place;
};

TEST(CudaRmsNormTest, MatchesCpuTwin) {
  CW_CUDA_DEVICE_OR_SKIP(dev);
  std::mt19937 rng(7);
  for (const Shape s :
       {Shape{1, 2048, true, false}, Shape{5, 4096, true, true}, Shape{16 * 8, 128, true, true},
        Shape{3, 1000, false, false}, Shape{7, 33, true, false}}) {
    SCOPED_TRACE(::testing::Message() << s.n_rows << "x" << s.n);
    const std::vector<float> x = RandomFloats(static_cast<size_t>(s.n_rows * s.n), rng, -4, 4);
    const std::vector<float> w = RandomFloats(static_cast<size_t>(s.n), rng, 0.5f, 1.5f);
    std::vector<float> cpu(x.size());
    RmsNorm({.x = x.data(),
             .w = s.weight ? w.data() : nullptr,
             .y = cpu.data(),
             .n_rows = s.n_rows,
             .n = s.n,
             .eps = 1e-6f});
    Buffer dx = ToDevice(dev, x), dw = ToDevice(dev, w);
    Buffer dy = DeviceZeros<float>(dev, x.size());
    float* out = s.in_place ? dx.as<float>() : dy.as<float>();
    ASSERT_TRUE(dev.Run(CwRmsNormArgs{.x = dx.as<float>(),
                                      .w = s.weight ? dw.as<float>() : nullptr,
                                      .y = out,
                                      .n_rows = s.n_rows,
                                      .n = s.n,
                                      .eps = 1e-6f})
                    .ok());
    const std::vector<float> gpu = ToHost<float>(dev, s.in_place ? dx : dy, x.size());
    EXPECT_TRUE(AllClose(gpu, cpu, 1e-6, 1e-5));
  }
}

TEST(CudaRmsNormTest, ZeroRowIsEpsilonScaledNotNan) {
  CW_CUDA_DEVICE_OR_SKIP(dev);
  const std::vector<float> x(256, 0.0f);
  Buffer dx = ToDevice(dev, x);
  ASSERT_TRUE(dev.Run(CwRmsNormArgs{.x = dx.as<float>(),
                                    .w = nullptr,
                                    .y = dx.as<float>(),
                                    .n_rows = 1,
                                    .n = 256,
                                    .eps = 1e-6f})
                  .ok());
  EXPECT_EQ(ToHost<float>(dev, dx, x.size()), x);
}

TEST(CudaRmsNormTest, RefusesBadArgumentsNamingTheField) {
  CW_CUDA_DEVICE_OR_SKIP(dev);
  const absl::Status negative = dev.Run(
      CwRmsNormArgs{.x = nullptr, .w = nullptr, .y = nullptr, .n_rows = 1, .n = -3, .eps = 1e-6f});
  EXPECT_EQ(negative.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(negative.message().find("rms_norm: n < 0"), std::string::npos) << negative;
  const absl::Status null_x = dev.Run(
      CwRmsNormArgs{.x = nullptr, .w = nullptr, .y = nullptr, .n_rows = 2, .n = 8, .eps = 1e-6f});
  EXPECT_NE(null_x.message().find("rms_norm: x or y is null"), std::string::npos) << null_x;
}

}  // namespace
}  // namespace cachewire::kernels::cuda_testing
