// cuBLAS SGEMM against kernels::Matmul with F32 weights (the adapters' dense layers): c = a b^T
// for the shapes the LCF encoder and decoder use, alpha/beta, and k = 0. Bound: both accumulate
// k products in f32 in different orders; 1e-5 relative + 1e-5 absolute for k up to 1024 and
// inputs in [-1, 1].
#include <gtest/gtest.h>

#include <random>
#include <vector>

#include "engine/gguf/tensor_type.h"
#include "kernels/matmul.h"
#include "tests/kernels/cuda/cuda_twin_util.h"

namespace cachewire::kernels::cuda_testing {
namespace {

TEST(CudaGemmF32Test, MatchesCpuMatmulTwin) {
  CW_CUDA_DEVICE_OR_SKIP(dev);
  std::mt19937 rng(13);
  struct Shape {
    int64_t m, n, k;
  };
  for (const Shape s : {Shape{1, 512, 160}, Shape{64, 128, 1024}, Shape{37, 3, 5}}) {
    SCOPED_TRACE(::testing::Message() << s.m << "x" << s.n << "x" << s.k);
    const std::vector<float> a = RandomFloats(static_cast<size_t>(s.m * s.k), rng);
    const std::vector<float> b = RandomFloats(static_cast<size_t>(s.n * s.k), rng);
    std::vector<float> cpu(static_cast<size_t>(s.m * s.n));
    MatmulArgs args;
    args.w_type = gguf::TensorType::kF32;
    args.w = b.data();
    args.n_out = s.n;
    args.n_in = s.k;
    args.x = a.data();
    args.n_tokens = s.m;
    args.y = cpu.data();
    ASSERT_TRUE(Matmul(args, nullptr).ok());
    Buffer da = ToDevice(dev, a), db = ToDevice(dev, b);
    Buffer dc = DeviceZeros<float>(dev, cpu.size());
    const auto gemm = [&](float alpha, float beta) {
      return dev.Run(CwGemmF32Args{.m = s.m,
                                   .n = s.n,
                                   .k = s.k,
                                   .a = da.as<float>(),
                                   .b = db.as<float>(),
                                   .c = dc.as<float>(),
                                   .alpha = alpha,
                                   .beta = beta});
    };
    ASSERT_TRUE(gemm(1.0f, 0.0f).ok());
    EXPECT_TRUE(AllClose(ToHost<float>(dev, dc, cpu.size()), cpu, 1e-5, 1e-5));
    // alpha and beta: c = 2 a b^T + 0.5 c, from the c just computed.
    ASSERT_TRUE(gemm(2.0f, 0.5f).ok());
    std::vector<float> expect = cpu;
    for (float& v : expect) v = 2.5f * v;
    EXPECT_TRUE(AllClose(ToHost<float>(dev, dc, cpu.size()), expect, 3e-5, 3e-5));
  }
}

TEST(CudaGemmF32Test, RefusesBadArgumentsNamingTheField) {
  CW_CUDA_DEVICE_OR_SKIP(dev);
  const absl::Status st = dev.Run(CwGemmF32Args{
      .m = 2, .n = -1, .k = 3, .a = nullptr, .b = nullptr, .c = nullptr, .alpha = 1, .beta = 0});
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(st.message().find("gemm_f32: m, n or k < 0"), std::string::npos) << st;
}

}  // namespace
}  // namespace cachewire::kernels::cuda_testing
