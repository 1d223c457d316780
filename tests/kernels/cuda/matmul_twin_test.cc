// The CUDA matmul against a double-precision reference and against its CPU twin
// (kernels::Matmul), for every weight type the kernel reads, on shapes that cross the kernel's
// warps-per-block (n_out 37) and token-group (n_tokens 13 > 8) boundaries.
//
// Bounds, per output y[t][o], with terms = sum_i |w[o][i] * x[t][i]|:
//  - CUDA vs the double reference on the same dequantised weights and f32 activations (what the
//    device computes): 1e-5 * terms. Each lane sums at most n_in / 32 products in f32 before a
//    5-step butterfly, a worst case of (n_in / 32 + 6) * 2^-24 * terms <= 2.3e-6 * terms for
//    n_in = 1024; a single wrong weight or activation costs about terms / n_in >= 1e-3 * terms.
//  - CUDA vs the CPU twin: that plus the twin's own bound from kernels_dot_test (1e-5 * terms
//    plus, per activation block, sum |w| * amax(x) * step, the worst error of its Q8_0 / Q8_K
//    activation quantisation; the twin measures at most 0.26 of it there, Q4_0 the worst).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "engine/gguf/tensor_type.h"
#include "kernels/dot.h"
#include "kernels/matmul.h"
#include "tests/kernels/cuda/cuda_twin_util.h"
#include "tests/kernels/kernel_test_util.h"

namespace cachewire::kernels::cuda_testing {
namespace {

using gguf::TensorType;

using testing::ActBlock;
using testing::QuantStepBound;

// The CPU twin's activation-quantisation allowance for one (weight row, token row) dot.
double CpuQuantBound(ActFormat format, const float* w, const float* x, int64_t n) {
  if (format == ActFormat::kF32) return 0.0;
  const int64_t blk = ActBlock(format);
  double bound = 0;
  for (int64_t b0 = 0; b0 < n; b0 += blk) {
    double amax = 0, wsum = 0;
    for (int64_t i = b0; i < b0 + blk; ++i) {
      amax = std::max(amax, static_cast<double>(std::fabs(x[i])));
      wsum += std::fabs(w[i]);
    }
    bound += wsum * amax * QuantStepBound(format);
  }
  return bound;
}

struct Shape {
  int64_t n_out;
  int64_t n_in;
};

std::vector<Shape> ShapesFor(TensorType type) {
  if (testing::BlockElems(type) == 1) return {{37, 100}, {37, 256}, {256, 1024}};
  return {{37, 256}, {256, 1024}};
}

TEST(CudaMatmulTest, MatchesReferenceAndCpuTwin) {
  CW_CUDA_DEVICE_OR_SKIP(dev);
  std::mt19937 rng(2024);
  for (TensorType type : testing::kAllTypes) {
    if (type == TensorType::kQ5_K) continue;  // no CUDA kernel reads Q5_K
    const std::string name(gguf::TensorTypeName(type));
    const ActFormat act = GetDotKernels(type)->act;
    double worst_ref = 0, worst_cpu = 0;  // error / allowed, reported below
    for (const Shape& s : ShapesFor(type)) {
      const std::vector<uint8_t> w = testing::RandomWeights(type, s.n_out, s.n_in, rng);
      std::vector<std::vector<float>> wf;  // (n_out, n_in), dequantised by the reference
      for (int64_t o = 0; o < s.n_out; ++o) {
        wf.push_back(testing::DequantizeWeightRow(type, w, o, s.n_in));
      }
      Buffer d_w = ToDevice(dev, w);
      for (int64_t n_tokens : {1, 3, 8, 13}) {
        SCOPED_TRACE(name + " n_out=" + std::to_string(s.n_out) +
                     " n_in=" + std::to_string(s.n_in) + " n_tokens=" + std::to_string(n_tokens));
        const std::vector<float> x = testing::RandomActivations(n_tokens * s.n_in, rng);
        const size_t n_y = static_cast<size_t>(n_tokens * s.n_out);
        Buffer d_x = ToDevice(dev, x);
        // NaN first, so an output the kernel never writes cannot pass.
        Buffer d_y = ToDevice(dev, std::vector<float>(n_y, NAN));
        const absl::Status run = dev.Run(CwMatmulArgs{.w_type = static_cast<uint32_t>(type),
                                                      .w = d_w.data(),
                                                      .n_out = s.n_out,
                                                      .n_in = s.n_in,
                                                      .x = d_x.as<float>(),
                                                      .n_tokens = n_tokens,
                                                      .y = d_y.as<float>()});
        ASSERT_TRUE(run.ok()) << run;
        const std::vector<float> gpu = ToHost<float>(dev, d_y, n_y);

        std::vector<float> cpu(n_y, NAN);
        const absl::Status cpu_run = Matmul(MatmulArgs{.w_type = type,
                                                       .w = w.data(),
                                                       .n_out = s.n_out,
                                                       .n_in = s.n_in,
                                                       .x = x.data(),
                                                       .n_tokens = n_tokens,
                                                       .y = cpu.data(),
                                                       .isa = std::nullopt},
                                            /*pool=*/nullptr);
        ASSERT_TRUE(cpu_run.ok()) << cpu_run;

        int failures = 0;
        for (int64_t t = 0; t < n_tokens && failures < 5; ++t) {
          const float* xt = x.data() + t * s.n_in;
          const std::vector<float> xv(xt, xt + s.n_in);
          for (int64_t o = 0; o < s.n_out && failures < 5; ++o) {
            const size_t i = static_cast<size_t>(t * s.n_out + o);
            const testing::RefDot ref = testing::ReferenceDot(wf[o], xv);
            const double ref_tol = 1e-5 * ref.abs_terms + 1e-30;
            const double cpu_tol =
                ref_tol + 1e-5 * ref.abs_terms + CpuQuantBound(act, wf[o].data(), xt, s.n_in);
            const double ref_err = std::fabs(gpu[i] - ref.value);
            const double cpu_err = std::fabs(static_cast<double>(gpu[i]) - cpu[i]);
            worst_ref = std::max(worst_ref, ref_err / ref_tol);
            worst_cpu = std::max(worst_cpu, cpu_err / cpu_tol);
            // !(a <= b) so that a NaN fails too.
            if (!(ref_err <= ref_tol) || !(cpu_err <= cpu_tol)) {
              ++failures;
              ADD_FAILURE() << "y[" << t << "][" << o << "]: gpu " << gpu[i] << ", reference "
                            << ref.value << " (bound " << ref_tol << "), cpu " << cpu[i]
                            << " (bound " << cpu_tol << ")";
            }
          }
        }
      }
    }
    std::printf("  %s: max error / bound = %.3f (reference), %.3f (cpu twin)\n", name.c_str(),
                worst_ref, worst_cpu);
  }
}

// GGUF only promises 2-byte aligned rows of 2-byte types and quantised blocks: weights starting
// 2 bytes past an allocation (which is 256-byte aligned) are read as well.
TEST(CudaMatmulTest, ReadsWeightsOnlyTwoByteAligned) {
  CW_CUDA_DEVICE_OR_SKIP(dev);
  std::mt19937 rng(31);
  for (TensorType type : {TensorType::kF16, TensorType::kBF16, TensorType::kQ8_0, TensorType::kQ4_0,
                          TensorType::kQ4_K, TensorType::kQ6_K}) {
    SCOPED_TRACE(std::string(gguf::TensorTypeName(type)));
    const int64_t n_out = 5, n_in = 3 * std::max<int64_t>(testing::BlockElems(type), 32),
                  n_tokens = 2;
    const std::vector<uint8_t> w = testing::RandomWeights(type, n_out, n_in, rng);
    std::vector<uint8_t> padded = {0xAB, 0xCD};
    padded.insert(padded.end(), w.begin(), w.end());
    const std::vector<float> x = testing::RandomActivations(n_tokens * n_in, rng);
    Buffer d_w = ToDevice(dev, padded);
    Buffer d_x = ToDevice(dev, x);
    Buffer d_y = ToDevice(dev, std::vector<float>(n_tokens * n_out, NAN));
    const absl::Status run = dev.Run(CwMatmulArgs{.w_type = static_cast<uint32_t>(type),
                                                  .w = d_w.as<uint8_t>() + 2,
                                                  .n_out = n_out,
                                                  .n_in = n_in,
                                                  .x = d_x.as<float>(),
                                                  .n_tokens = n_tokens,
                                                  .y = d_y.as<float>()});
    ASSERT_TRUE(run.ok()) << run;
    const std::vector<float> gpu = ToHost<float>(dev, d_y, static_cast<size_t>(n_tokens * n_out));
    for (int64_t t = 0; t < n_tokens; ++t) {
      const std::vector<float> xt(x.begin() + t * n_in, x.begin() + (t + 1) * n_in);
      for (int64_t o = 0; o < n_out; ++o) {
        const testing::RefDot ref =
            testing::ReferenceDot(testing::DequantizeWeightRow(type, w, o, n_in), xt);
        EXPECT_NEAR(gpu[static_cast<size_t>(t * n_out + o)], ref.value, 1e-5 * ref.abs_terms)
            << "y[" << t << "][" << o << "]";
      }
    }
  }
}

// Nothing to do (no output rows or no tokens) succeeds without touching y or reading w and x.
TEST(CudaMatmulTest, EmptyOutputIsNoOp) {
  CW_CUDA_DEVICE_OR_SKIP(dev);
  Buffer y = ToDevice(dev, std::vector<float>(4, 7.0f));
  const uint32_t q8 = static_cast<uint32_t>(TensorType::kQ8_0);
  EXPECT_TRUE(dev.Run(CwMatmulArgs{.w_type = q8,
                                   .w = nullptr,
                                   .n_out = 0,
                                   .n_in = 32,
                                   .x = nullptr,
                                   .n_tokens = 3,
                                   .y = y.as<float>()})
                  .ok());
  EXPECT_TRUE(dev.Run(CwMatmulArgs{.w_type = q8,
                                   .w = nullptr,
                                   .n_out = 4,
                                   .n_in = 32,
                                   .x = nullptr,
                                   .n_tokens = 0,
                                   .y = nullptr})
                  .ok());
  EXPECT_EQ(ToHost<float>(dev, y, 4), std::vector<float>(4, 7.0f));
}

TEST(CudaMatmulTest, RefusesBadArgumentsNamingTheField) {
  CW_CUDA_DEVICE_OR_SKIP(dev);
  Buffer w = DeviceZeros<uint8_t>(dev, 4096);
  Buffer x = DeviceZeros<float>(dev, 1024);
  Buffer y = DeviceZeros<float>(dev, 1024);
  const auto good = [&] {
    return CwMatmulArgs{.w_type = static_cast<uint32_t>(TensorType::kQ8_0),
                        .w = w.data(),
                        .n_out = 2,
                        .n_in = 64,
                        .x = x.as<float>(),
                        .n_tokens = 2,
                        .y = y.as<float>()};
  };
  ASSERT_TRUE(dev.Run(good()).ok());
  std::vector<Refusal<CwMatmulArgs>> cases;
  CwMatmulArgs a = good();
  a.w_type = static_cast<uint32_t>(TensorType::kQ5_K);
  a.n_in = 256;
  cases.push_back({a, "matmul: w_type"});
  a = good();
  a.w_type = 6;  // no GGUF type has this id
  cases.push_back({a, "matmul: w_type"});
  a = good();
  a.n_in = 48;  // 1.5 Q8_0 blocks
  cases.push_back({a, "matmul: n_in"});
  a = good();
  a.w_type = static_cast<uint32_t>(TensorType::kQ4_K);
  a.n_in = 128;  // half a Q4_K block
  cases.push_back({a, "matmul: n_in"});
  a = good();
  a.n_in = 0;  // the CPU twin refuses it too
  cases.push_back({a, "matmul: n_in"});
  a = good();
  a.n_out = -1;
  cases.push_back({a, "matmul: n_out"});
  a = good();
  a.n_tokens = -1;
  cases.push_back({a, "matmul: n_tokens"});
  a = good();
  a.w = nullptr;
  cases.push_back({a, "matmul: w is null"});
  a = good();
  a.x = nullptr;
  cases.push_back({a, "matmul: x is null"});
  a = good();
  a.y = nullptr;
  cases.push_back({a, "matmul: y is null"});
  ExpectRefused(dev, cases);
}

}  // namespace
}  // namespace cachewire::kernels::cuda_testing
