// Row dot kernels and activation quantisers of kernels/dot.h, for every weight type at every ISA
// level this CPU runs, against engine/gguf's DequantizeRow evaluated in double.
#include "kernels/dot.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <tuple>

#include "gtest/gtest.h"
#include "kernels/quant_blocks.h"
#include "tests/kernels/kernel_test_util.h"

namespace cachewire::kernels {
namespace {

using gguf::TensorType;
using testing::BlockElems;
using testing::DequantizeActivations;
using testing::DequantizeWeightRow;
using testing::RandomActivations;
using testing::RandomWeights;
using testing::ReferenceDot;

using testing::ActBlock;
using testing::QuantStepBound;

// Quantises `x` (n_rows x n) into the kernel's activation format at the kernel's level.
std::vector<uint8_t> Quantize(const DotKernels& k, const std::vector<float>& x, int64_t n_rows,
                              int64_t n) {
  const size_t row_bytes = ActRowBytes(k.act, n);
  std::vector<uint8_t> out(row_bytes * static_cast<size_t>(n_rows));
  for (int64_t t = 0; t < n_rows; ++t) {
    if (k.quantize != nullptr) {
      k.quantize(x.data() + t * n, out.data() + row_bytes * static_cast<size_t>(t), n);
    } else {
      std::memcpy(out.data() + row_bytes * static_cast<size_t>(t), x.data() + t * n, row_bytes);
    }
  }
  return out;
}

std::vector<int64_t> SizesFor(TensorType type) {
  switch (BlockElems(type)) {
    case 1: return {1, 7, 16, 33, 100, 257, 4096};
    case 32: return {32, 64, 96, 32 * 37, 4096};  // 96: odd block count (AVX-512 tail)
    default: return {256, 512, 768, 256 * 13, 8192};
  }
}

class DotTest : public ::testing::TestWithParam<std::tuple<TensorType, CpuIsa>> {
 protected:
  TensorType type() const { return std::get<0>(GetParam()); }
  CpuIsa isa() const { return std::get<1>(GetParam()); }
};

TEST_P(DotTest, MatchesDequantizedReference) {
  absl::StatusOr<DotKernels> k = GetDotKernels(type(), isa());
  ASSERT_TRUE(k.ok()) << k.status();
  std::mt19937 rng(1234);
  constexpr int64_t kRows = 3, kTokens = 4;
  double worst_exact = 0, worst_raw = 0;  // error / allowed, reported below
  for (int64_t n : SizesFor(type())) {
    SCOPED_TRACE("n=" + std::to_string(n));
    const std::vector<uint8_t> w = RandomWeights(type(), kRows, n, rng);
    const std::vector<float> x = RandomActivations(kTokens * n, rng);
    const std::vector<uint8_t> act = Quantize(*k, x, kTokens, n);
    const size_t w_row = *gguf::RowBytes(type(), n), act_row = ActRowBytes(k->act, n);
    for (int64_t r = 0; r < kRows; ++r) {
      const std::vector<float> wf = DequantizeWeightRow(type(), w, r, n);
      for (int64_t t = 0; t < kTokens; ++t) {
        const uint8_t* a = act.data() + act_row * static_cast<size_t>(t);
        float got = 0;
        k->dot(n, w.data() + w_row * static_cast<size_t>(r), a, act_row, 1, &got);

        // Same quantised inputs: only float rounding may differ.
        const testing::RefDot exact = ReferenceDot(wf, DequantizeActivations(k->act, a, n));
        worst_exact =
            std::max(worst_exact, std::fabs(got - exact.value) / (exact.abs_terms + 1e-30));
        EXPECT_LE(std::fabs(got - exact.value), 1e-5 * exact.abs_terms + 1e-30)
            << "row " << r << " token " << t << " got " << got << " want " << exact.value;

        // Unquantised activations: within the quantisation error of each activation block.
        const std::vector<float> xt(x.begin() + t * n, x.begin() + (t + 1) * n);
        const testing::RefDot raw = ReferenceDot(wf, xt);
        const int64_t blk = ActBlock(k->act);
        double tol = 1e-5 * raw.abs_terms + 1e-30;
        for (int64_t b0 = 0; b0 < n; b0 += blk) {
          double amax = 0, wsum = 0;
          for (int64_t i = b0; i < b0 + blk; ++i) {
            amax = std::max(amax, static_cast<double>(std::fabs(xt[i])));
            wsum += std::fabs(wf[i]);
          }
          tol += wsum * amax * QuantStepBound(k->act);
        }
        worst_raw = std::max(worst_raw, std::fabs(got - raw.value) / tol);
        EXPECT_LE(std::fabs(got - raw.value), tol) << "row " << r << " token " << t;
      }
    }
  }
  std::printf(
      "  %s/%s: max |err| / sum|terms| = %.2e (quantised inputs); max |err| / bound = "
      "%.2f (raw inputs)\n",
      std::string(gguf::TensorTypeName(type())).c_str(), std::string(IsaName(isa())).c_str(),
      worst_exact, worst_raw);
}

// One call over several activation rows gives exactly what single-row calls give.
TEST_P(DotTest, MultiRowEqualsSingleRow) {
  absl::StatusOr<DotKernels> k = GetDotKernels(type(), isa());
  ASSERT_TRUE(k.ok()) << k.status();
  std::mt19937 rng(99);
  const int64_t n = SizesFor(type())[3];
  const std::vector<uint8_t> w = RandomWeights(type(), 1, n, rng);
  const std::vector<uint8_t> act =
      Quantize(*k, RandomActivations(kMaxDotRows * n, rng), kMaxDotRows, n);
  const size_t act_row = ActRowBytes(k->act, n);
  float single[kMaxDotRows];
  for (int t = 0; t < kMaxDotRows; ++t) {
    k->dot(n, w.data(), act.data() + act_row * static_cast<size_t>(t), act_row, 1, &single[t]);
  }
  for (int n_x = 1; n_x <= kMaxDotRows; ++n_x) {
    float multi[kMaxDotRows] = {};
    k->dot(n, w.data(), act.data(), act_row, n_x, multi);
    for (int t = 0; t < n_x; ++t) EXPECT_EQ(multi[t], single[t]) << "n_x " << n_x << " t " << t;
  }
}

std::string ParamName(const ::testing::TestParamInfo<DotTest::ParamType>& info) {
  return std::string(gguf::TensorTypeName(std::get<0>(info.param))) + "_" +
         std::string(IsaName(std::get<1>(info.param)));
}

INSTANTIATE_TEST_SUITE_P(AllTypesAllIsas, DotTest,
                         ::testing::Combine(::testing::ValuesIn(testing::kAllTypes),
                                            ::testing::ValuesIn(AvailableIsas())),
                         ParamName);

// ---- quantisers ---------------------------------------------------------------------------

TEST(QuantizeTest, EveryLevelMatchesScalarBitForBit) {
  std::mt19937 rng(7);
  constexpr int64_t n = 4096;
  std::vector<float> x = RandomActivations(n, rng);
  for (int i = 0; i < 32; ++i) x[i] = 0.0f;  // an all-zero Q8_0 block: d = 0, q = 0
  for (TensorType type : {TensorType::kQ8_0, TensorType::kQ4_K}) {
    const DotKernels scalar = *GetDotKernels(type, CpuIsa::kScalar);
    std::vector<uint8_t> want(ActRowBytes(scalar.act, n));
    scalar.quantize(x.data(), want.data(), n);
    for (CpuIsa isa : AvailableIsas()) {
      const DotKernels k = *GetDotKernels(type, isa);
      std::vector<uint8_t> got(want.size(), 0xAA);
      k.quantize(x.data(), got.data(), n);
      EXPECT_EQ(got, want) << IsaName(isa) << " " << gguf::TensorTypeName(type);
    }
  }
}

TEST(QuantizeTest, Q8KBlockSumsAndRange) {
  std::mt19937 rng(8);
  constexpr int64_t n = 1024;
  const std::vector<float> x = RandomActivations(n, rng);
  for (CpuIsa isa : AvailableIsas()) {
    std::vector<BlockQ8_K> y(n / kQK_K);
    GetDotKernels(TensorType::kQ6_K, isa)->quantize(x.data(), y.data(), n);
    for (const BlockQ8_K& b : y) {
      for (int k = 0; k < 16; ++k) {
        int sum = 0;
        for (int i = 0; i < 16; ++i) {
          EXPECT_GE(b.qs[16 * k + i], -127);  // the sign-trick kernels rely on this
          sum += b.qs[16 * k + i];
        }
        EXPECT_EQ(b.bsums[k], sum) << IsaName(isa);
      }
    }
  }
}

TEST(QuantizeTest, PublicEntryPointsUseActiveLevel) {
  std::mt19937 rng(9);
  const std::vector<float> x = RandomActivations(256, rng);
  std::vector<BlockQ8_0> a(8), b(8);
  QuantizeRowQ8_0(x.data(), a.data(), 256);
  GetDotKernels(TensorType::kQ8_0, CpuIsa::kScalar)->quantize(x.data(), b.data(), 256);
  EXPECT_EQ(std::memcmp(a.data(), b.data(), sizeof(BlockQ8_0) * 8), 0);
  std::vector<BlockQ8_K> c(1), d(1);
  QuantizeRowQ8_K(x.data(), c.data(), 256);
  GetDotKernels(TensorType::kQ4_K, CpuIsa::kScalar)->quantize(x.data(), d.data(), 256);
  EXPECT_EQ(std::memcmp(c.data(), d.data(), sizeof(BlockQ8_K)), 0);
}

// ---- block helpers ------------------------------------------------------------------------

TEST(QuantBlocksTest, HalfConversionsMatchGgufForEveryBitPattern) {
  for (uint32_t h = 0; h < 65536; ++h) {
    const auto bits = [](float f) {
      uint32_t u;
      std::memcpy(&u, &f, 4);
      return u;
    };
    const uint16_t v = static_cast<uint16_t>(h);
    ASSERT_EQ(bits(Fp16ToFp32(v)), bits(gguf::F16ToF32(v))) << "f16 0x" << std::hex << h;
    ASSERT_EQ(bits(Bf16ToFp32(v)), bits(gguf::BF16ToF32(v))) << "bf16 0x" << std::hex << h;
  }
}

// ---- errors and dispatch ------------------------------------------------------------------

TEST(DotErrorsTest, UnsupportedTypeIsNamed) {
  const auto q4_1 = static_cast<TensorType>(3);
  absl::StatusOr<DotKernels> k = GetDotKernels(q4_1, CpuIsa::kScalar);
  ASSERT_FALSE(k.ok());
  EXPECT_EQ(k.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(k.status().message().find("id 3"), std::string_view::npos) << k.status();
  EXPECT_FALSE(DotRow(q4_1, nullptr, nullptr, 32).ok());
}

TEST(DotErrorsTest, PartialBlockIsRejected) {
  absl::StatusOr<float> r = DotRow(TensorType::kQ4_K, nullptr, nullptr, 300);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("300"), std::string_view::npos) << r.status();
}

TEST(DotRowTest, MatchesKernel) {
  std::mt19937 rng(10);
  const std::vector<uint8_t> w = RandomWeights(TensorType::kQ8_0, 1, 64, rng);
  const std::vector<float> x = RandomActivations(64, rng);
  std::vector<BlockQ8_0> a(2);
  QuantizeRowQ8_0(x.data(), a.data(), 64);
  absl::StatusOr<float> got = DotRow(TensorType::kQ8_0, w.data(), a.data(), 64);
  ASSERT_TRUE(got.ok());
  float want = 0;
  GetDotKernels(TensorType::kQ8_0)->dot(64, w.data(), a.data(), 0, 1, &want);
  EXPECT_EQ(*got, want);
}

TEST(IsaTest, ResolveOnlyLowers) {
  EXPECT_EQ(ResolveIsa(CpuIsa::kAvx512, nullptr), CpuIsa::kAvx512);
  EXPECT_EQ(ResolveIsa(CpuIsa::kAvx512, ""), CpuIsa::kAvx512);
  EXPECT_EQ(ResolveIsa(CpuIsa::kAvx512, "scalar"), CpuIsa::kScalar);
  EXPECT_EQ(ResolveIsa(CpuIsa::kAvx512, "avx2"), CpuIsa::kAvx2);
  EXPECT_EQ(ResolveIsa(CpuIsa::kAvx2, "avx512"), CpuIsa::kAvx2);
  EXPECT_EQ(ResolveIsa(CpuIsa::kAvx2, "sse9"), CpuIsa::kAvx2);
  EXPECT_EQ(ParseIsa("avx512"), CpuIsa::kAvx512);
  EXPECT_FALSE(ParseIsa("AVX2").has_value());
}

// Registered a second time under CACHEWIRE_CPU_ISA=scalar (tests/kernels/CMakeLists.txt).
TEST(IsaTest, ActiveFollowsEnvironment) {
  EXPECT_EQ(ActiveIsa(), ResolveIsa(DetectedIsa(), std::getenv("CACHEWIRE_CPU_ISA")));
  const std::vector<CpuIsa> levels = AvailableIsas();
  ASSERT_FALSE(levels.empty());
  EXPECT_EQ(levels.front(), CpuIsa::kScalar);
  EXPECT_EQ(levels.back(), DetectedIsa());
  if (DetectedIsa() != CpuIsa::kAvx512) {
    EXPECT_FALSE(GetDotKernels(TensorType::kF32, CpuIsa::kAvx512).ok());
  }
}

}  // namespace
}  // namespace cachewire::kernels
