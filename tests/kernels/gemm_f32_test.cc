// kernels/gemm_f32.h against a double-precision triple loop written here: every combination of
// transposes, padded strides, alpha and beta, edge sizes, and the argument checks.
#include "kernels/gemm_f32.h"

#include <gtest/gtest.h>

#include <strings.h>

#include <cmath>
#include <cstdlib>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "kernels/cpu/blas_library.h"

namespace cachewire::kernels {
namespace {

struct Shape {
  int64_t m, n, k;
  bool trans_a, trans_b;
  int64_t pad;  // extra columns in every stored row (strides longer than a row)
  float alpha, beta;
};

std::vector<float> Random(size_t n, std::mt19937& rng) {
  std::uniform_real_distribution<float> d(-1.0f, 1.0f);
  std::vector<float> v(n);
  for (float& x : v) x = d(rng);
  return v;
}

class GemmF32Test : public ::testing::TestWithParam<Shape> {};

TEST_P(GemmF32Test, MatchesDoubleReference) {
  const Shape s = GetParam();
  std::mt19937 rng(static_cast<uint32_t>(s.m * 131 + s.n * 17 + s.k));
  const int64_t a_rows = s.trans_a ? s.k : s.m, a_cols = s.trans_a ? s.m : s.k;
  const int64_t b_rows = s.trans_b ? s.n : s.k, b_cols = s.trans_b ? s.k : s.n;
  const int64_t lda = a_cols + s.pad, ldb = b_cols + s.pad, ldc = s.n + s.pad;
  const std::vector<float> a = Random(static_cast<size_t>(a_rows * lda), rng);
  const std::vector<float> b = Random(static_cast<size_t>(b_rows * ldb), rng);
  std::vector<float> c = Random(static_cast<size_t>(s.m * ldc), rng);
  if (s.beta == 0.0f) {  // BLAS semantics: C is not read, so NaN there must not leak
    for (float& x : c) x = std::numeric_limits<float>::quiet_NaN();
  }
  const std::vector<float> c0 = c;
  auto at = [](const std::vector<float>& x, int64_t ld, bool trans, int64_t i, int64_t j) {
    return double(trans ? x[j * ld + i] : x[i * ld + j]);
  };
  ASSERT_TRUE(GemmF32({.m = s.m, .n = s.n, .k = s.k, .a = a.data(), .lda = lda,
                       .trans_a = s.trans_a, .b = b.data(), .ldb = ldb, .trans_b = s.trans_b,
                       .c = c.data(), .ldc = ldc, .alpha = s.alpha, .beta = s.beta})
                  .ok());
  for (int64_t i = 0; i < s.m; ++i) {
    for (int64_t j = 0; j < ldc; ++j) {
      const float got = c[i * ldc + j];
      if (j >= s.n) {  // padding is never written
        EXPECT_TRUE(std::isnan(got) ? std::isnan(c0[i * ldc + j]) : got == c0[i * ldc + j]);
        continue;
      }
      double want = 0.0;
      for (int64_t p = 0; p < s.k; ++p) {
        want += at(a, lda, s.trans_a, i, p) * at(b, ldb, s.trans_b, p, j);
      }
      want = s.alpha * want + (s.beta == 0.0f ? 0.0 : s.beta * double(c0[i * ldc + j]));
      ASSERT_NEAR(got, want, 1e-5 * (1.0 + std::sqrt(double(s.k)))) << "i=" << i << " j=" << j;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, GemmF32Test,
    ::testing::Values(Shape{1, 1, 1, false, false, 0, 1.0f, 0.0f},
                      Shape{7, 5, 3, false, false, 0, 1.0f, 0.0f},
                      Shape{7, 5, 3, true, false, 2, 1.0f, 0.0f},
                      Shape{7, 5, 3, false, true, 1, 0.5f, 0.0f},
                      Shape{7, 5, 3, true, true, 3, -2.0f, 1.0f},
                      Shape{128, 300, 256, false, true, 0, 0.0625f, 0.0f},  // LCF scores
                      Shape{128, 256, 300, false, false, 0, 1.0f, 0.0f},    // LCF pooling
                      Shape{33, 64, 129, false, true, 5, 1.0f, 0.75f},
                      Shape{3, 4, 0, false, false, 0, 1.0f, 0.5f},          // k = 0: beta C
                      Shape{3, 4, 0, false, true, 0, 1.0f, 0.0f}));         // k = 0, beta 0

TEST(GemmF32, LinearF32IsXTimesWTransposed) {
  std::mt19937 rng(7);
  const int64_t rows = 9, n_in = 40, n_out = 24;
  const std::vector<float> w = Random(n_out * n_in, rng), x = Random(rows * n_in, rng);
  std::vector<float> y(rows * n_out);
  ASSERT_TRUE(LinearF32(w.data(), n_out, n_in, x.data(), rows, y.data()).ok());
  for (int64_t t = 0; t < rows; ++t) {
    for (int64_t o = 0; o < n_out; ++o) {
      double want = 0.0;
      for (int64_t i = 0; i < n_in; ++i) want += double(w[o * n_in + i]) * x[t * n_in + i];
      ASSERT_NEAR(y[t * n_out + o], want, 1e-4);
    }
  }
}

TEST(GemmF32, BadArgumentsNameTheField) {
  std::vector<float> a(64, 1.0f), b(64, 1.0f), c(64, 0.0f);
  const GemmF32Args ok{.m = 4, .n = 4, .k = 4, .a = a.data(), .lda = 4, .b = b.data(), .ldb = 4,
                       .c = c.data(), .ldc = 4};
  ASSERT_TRUE(GemmF32(ok).ok());
  struct Case {
    GemmF32Args args;
    std::string field;
  };
  std::vector<Case> cases;
  auto with = [&](auto edit, std::string field) {
    GemmF32Args g = ok;
    edit(g);
    cases.push_back({g, std::move(field)});
  };
  with([](GemmF32Args& g) { g.m = -1; }, "m:");
  with([](GemmF32Args& g) { g.n = int64_t{1} << 33; }, "n:");
  with([](GemmF32Args& g) { g.k = -3; }, "k:");
  with([](GemmF32Args& g) { g.lda = 3; }, "lda:");
  with([](GemmF32Args& g) { g.trans_a = true; g.m = 5; g.lda = 4; }, "lda:");
  with([](GemmF32Args& g) { g.ldb = 2; }, "ldb:");
  with([](GemmF32Args& g) { g.ldc = 3; }, "ldc:");
  with([](GemmF32Args& g) { g.a = nullptr; }, "a:");
  with([](GemmF32Args& g) { g.b = nullptr; }, "b:");
  with([](GemmF32Args& g) { g.c = nullptr; }, "c:");
  for (const Case& cs : cases) {
    std::fill(c.begin(), c.end(), 0.0f);
    const absl::Status s = GemmF32(cs.args);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << cs.field;
    EXPECT_NE(s.message().find(cs.field), std::string::npos) << s.message();
    for (float x : c) ASSERT_EQ(x, 0.0f) << "a refused call wrote C: " << s.message();
  }
}

}  // namespace
TEST(BlasLibrary, CoreTypeFollowsTheWidestVectorsTheCpuHas) {
  EXPECT_EQ(CoreTypeFor(true, true), "SkylakeX");
  EXPECT_EQ(CoreTypeFor(false, true), "Haswell");
  EXPECT_EQ(CoreTypeFor(false, false), "");
}

// The library loaded with the kernels OPENBLAS_CORETYPE names (set from cpuid before main
// unless the environment already held one), not the ones its own model table would pick.
TEST(BlasLibrary, LoadsWithTheCoreTypeSetForThisCpu) {
  absl::StatusOr<const BlasLibrary*> blas = LoadBlas();
  ASSERT_TRUE(blas.ok()) << blas.status();
  ASSERT_NE((*blas)->sgemm, nullptr);
  const char* want = std::getenv("OPENBLAS_CORETYPE");
#if defined(__x86_64__)
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
    ASSERT_NE(want, nullptr) << "an AVX2 CPU should have had OPENBLAS_CORETYPE set";
  }
#endif
  if (want == nullptr) {
    GTEST_SKIP() << "no core type set on this CPU; OpenBLAS chose " << (*blas)->core;
  }
  EXPECT_EQ(strcasecmp((*blas)->core.c_str(), want), 0)
      << "OpenBLAS runs " << (*blas)->core << ", OPENBLAS_CORETYPE=" << want;
}

}  // namespace cachewire::kernels
