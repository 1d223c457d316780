// CUDA gated activations against kernels::GatedMul, SiLU and tanh GELU, out of place and in
// place over gate and over up, with inputs wide enough to reach both tails of the exp. Bound:
// expf vs. the CPU's exp differ by a few ulp; 1e-6 absolute, 1e-5 relative.
#include <gtest/gtest.h>

#include <random>
#include <vector>

#include "kernels/activations.h"
#include "tests/kernels/cuda/cuda_twin_util.h"

namespace cachewire::kernels::cuda_testing {
namespace {

TEST(CudaGatedTest, MatchesCpuTwin) {
  CW_CUDA_DEVICE_OR_SKIP(dev);
  std::mt19937 rng(3);
  const int64_t n_rows = 5, n = 1100;
  const size_t size = static_cast<size_t>(n_rows * n);
  for (const GatedActivation kind : {GatedActivation::kSilu, GatedActivation::kGeluTanh}) {
    for (int out_at = 0; out_at < 3; ++out_at) {  // 0: own buffer, 1: gate, 2: up
      SCOPED_TRACE(::testing::Message() << "kind " << static_cast<int>(kind) << " out " << out_at);
      const std::vector<float> gate = RandomFloats(size, rng, -12, 12);
      const std::vector<float> up = RandomFloats(size, rng, -2, 2);
      std::vector<float> cpu(size);
      GatedMul({.kind = kind,
                .gate = gate.data(),
                .up = up.data(),
                .out = cpu.data(),
                .n_rows = n_rows,
                .n = n},
               nullptr);
      Buffer dg = ToDevice(dev, gate), du = ToDevice(dev, up);
      Buffer dout = DeviceZeros<float>(dev, size);
      const Buffer& result = out_at == 0 ? dout : out_at == 1 ? dg : du;
      ASSERT_TRUE(dev.Run(CwGatedArgs{.kind = kind == GatedActivation::kSilu ? 0 : 1,
                                      .gate = dg.as<float>(),
                                      .up = du.as<float>(),
                                      .out = result.as<float>(),
                                      .n_rows = n_rows,
                                      .n = n})
                      .ok());
      EXPECT_TRUE(AllClose(ToHost<float>(dev, result, size), cpu, 1e-6, 1e-5));
    }
  }
}

TEST(CudaGatedTest, RefusesAnUnknownKind) {
  CW_CUDA_DEVICE_OR_SKIP(dev);
  const absl::Status st = dev.Run(
      CwGatedArgs{.kind = 2, .gate = nullptr, .up = nullptr, .out = nullptr, .n_rows = 1, .n = 1});
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(st.message().find("gated: kind"), std::string::npos) << st;
}

}  // namespace
}  // namespace cachewire::kernels::cuda_testing
