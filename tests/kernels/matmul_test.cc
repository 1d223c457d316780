// Matmul of kernels/matmul.h: for every weight type and ISA level, Y equals the row-by-row dots
// of the quantised activations (so tiling, threading and scratch reuse change nothing), and Y
// stays within quantisation error of the double reference on the unquantised X.
#include "kernels/matmul.h"

#include <string>
#include <tuple>

#include "engine/backend/cpu/thread_pool.h"
#include "gtest/gtest.h"
#include "tests/kernels/kernel_test_util.h"

namespace cachewire::kernels {
namespace {

using backend::cpu::ThreadPool;
using gguf::TensorType;
using testing::BlockElems;
using testing::RandomActivations;
using testing::RandomWeights;

class MatmulTest : public ::testing::TestWithParam<std::tuple<TensorType, CpuIsa>> {
 protected:
  TensorType type() const { return std::get<0>(GetParam()); }
  CpuIsa isa() const { return std::get<1>(GetParam()); }
};

TEST_P(MatmulTest, EqualsRowByRowDots) {
  const DotKernels k = *GetDotKernels(type(), isa());
  ThreadPool pool(2);
  MatmulScratch scratch;
  std::mt19937 rng(42);
  const int64_t blk = BlockElems(type());
  // n_in: one block, several blocks (odd count), many blocks; n_out odd.
  const int64_t sizes[] = {blk == 1 ? 37 : blk, blk == 1 ? 300 : blk * 5, blk == 1 ? 2048 : 2048};
  for (int64_t n_in : sizes) {
    constexpr int64_t n_out = 67;
    const std::vector<uint8_t> w = RandomWeights(type(), n_out, n_in, rng);
    const size_t w_row = *gguf::RowBytes(type(), n_in);
    for (int64_t n_tokens : {1, 3, 17}) {
      SCOPED_TRACE("n_in=" + std::to_string(n_in) + " n_tokens=" + std::to_string(n_tokens));
      const std::vector<float> x = RandomActivations(n_tokens * n_in, rng);
      // Expected: each token quantised alone, each (row, token) dotted alone.
      const size_t act_row = ActRowBytes(k.act, n_in);
      std::vector<uint8_t> act(act_row);
      std::vector<float> want(static_cast<size_t>(n_tokens * n_out));
      for (int64_t t = 0; t < n_tokens; ++t) {
        if (k.quantize != nullptr) {
          k.quantize(x.data() + t * n_in, act.data(), n_in);
        } else {
          std::memcpy(act.data(), x.data() + t * n_in, act_row);
        }
        for (int64_t o = 0; o < n_out; ++o) {
          k.dot(n_in, w.data() + w_row * static_cast<size_t>(o), act.data(), act_row, 1,
                &want[static_cast<size_t>(t * n_out + o)]);
        }
      }
      for (ThreadPool* p : {static_cast<ThreadPool*>(nullptr), &pool}) {
        for (MatmulScratch* s : {static_cast<MatmulScratch*>(nullptr), &scratch}) {
          std::vector<float> y(want.size(), -1.0f);
          MatmulArgs args{.w_type = type(),
                          .w = w.data(),
                          .n_out = n_out,
                          .n_in = n_in,
                          .x = x.data(),
                          .n_tokens = n_tokens,
                          .y = y.data(),
                          .isa = isa()};
          const absl::Status status = Matmul(args, p, s);
          ASSERT_TRUE(status.ok()) << status;
          EXPECT_EQ(y, want) << (p ? "pool" : "inline") << (s ? " scratch" : " thread-local");
        }
      }
      // And against the unquantised double reference on a few entries (loose: the dot test
      // holds the exact bound; this catches a wrong row or token being written).
      std::vector<float> y(want.size());
      MatmulArgs args{.w_type = type(),
                      .w = w.data(),
                      .n_out = n_out,
                      .n_in = n_in,
                      .x = x.data(),
                      .n_tokens = n_tokens,
                      .y = y.data(),
                      .isa = isa()};
      ASSERT_TRUE(Matmul(args, &pool).ok());
      for (int64_t o : {int64_t{0}, n_out / 2, n_out - 1}) {
        const std::vector<float> wf = testing::DequantizeWeightRow(type(), w, o, n_in);
        const int64_t t = n_tokens - 1;
        const std::vector<float> xt(x.begin() + t * n_in, x.begin() + (t + 1) * n_in);
        const testing::RefDot ref = testing::ReferenceDot(wf, xt);
        EXPECT_NEAR(y[static_cast<size_t>(t * n_out + o)], ref.value, 0.02 * ref.abs_terms + 1e-6)
            << "o=" << o;
      }
    }
  }
}

std::string ParamName(const ::testing::TestParamInfo<MatmulTest::ParamType>& info) {
  return std::string(gguf::TensorTypeName(std::get<0>(info.param))) + "_" +
         std::string(IsaName(std::get<1>(info.param)));
}

INSTANTIATE_TEST_SUITE_P(AllTypesAllIsas, MatmulTest,
                         ::testing::Combine(::testing::ValuesIn(testing::kAllTypes),
                                            ::testing::ValuesIn(AvailableIsas())),
                         ParamName);

// ---- errors -------------------------------------------------------------------------------

MatmulArgs SmallArgs(TensorType type, int64_t n_in, std::vector<float>& x, std::vector<float>& y,
                     std::vector<uint8_t>& w) {
  x.assign(static_cast<size_t>(n_in), 1.0f);
  y.assign(4, 0.0f);
  w.assign(4096, 0);
  return MatmulArgs{.w_type = type,
                    .w = w.data(),
                    .n_out = 1,
                    .n_in = n_in,
                    .x = x.data(),
                    .n_tokens = 1,
                    .y = y.data(),
                    .isa = std::nullopt};
}

TEST(MatmulErrorsTest, UnsupportedTypeIsNamed) {
  std::vector<float> x, y;
  std::vector<uint8_t> w;
  const absl::Status s = Matmul(SmallArgs(static_cast<TensorType>(6), 32, x, y, w), nullptr);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("id 6"), std::string_view::npos) << s;
}

TEST(MatmulErrorsTest, PartialBlockIsNamed) {
  std::vector<float> x, y;
  std::vector<uint8_t> w;
  for (auto [type, n_in] :
       {std::pair{TensorType::kQ8_0, int64_t{48}}, std::pair{TensorType::kQ4_0, int64_t{33}},
        std::pair{TensorType::kQ4_K, int64_t{300}}, std::pair{TensorType::kQ6_K, int64_t{128}}}) {
    const absl::Status s = Matmul(SmallArgs(type, n_in, x, y, w), nullptr);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(s.message().find("n_in=" + std::to_string(n_in)), std::string_view::npos) << s;
    EXPECT_NE(s.message().find(std::string(gguf::TensorTypeName(type))), std::string_view::npos)
        << s;
  }
}

TEST(MatmulErrorsTest, BadSizesAndNullBuffers) {
  std::vector<float> x, y;
  std::vector<uint8_t> w;
  MatmulArgs a = SmallArgs(TensorType::kF32, 8, x, y, w);
  a.n_out = -1;
  EXPECT_FALSE(Matmul(a, nullptr).ok());
  a = SmallArgs(TensorType::kF32, 8, x, y, w);
  a.n_in = 0;
  EXPECT_FALSE(Matmul(a, nullptr).ok());
  a = SmallArgs(TensorType::kF32, 8, x, y, w);
  a.y = nullptr;
  EXPECT_FALSE(Matmul(a, nullptr).ok());
  a = SmallArgs(TensorType::kF32, 8, x, y, w);
  a.n_tokens = 0;  // nothing to do is fine
  EXPECT_TRUE(Matmul(a, nullptr).ok());
}

}  // namespace
}  // namespace cachewire::kernels
