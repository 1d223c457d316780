// The forward pass's non-matmul ops (kernels/{rms_norm,rope,softmax,activations,embedding,
// elementwise}.h) and the vector primitives under them at every ISA level this CPU runs, each
// against a naive double-precision loop written here.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "engine/gguf/dequantize.h"
#include "kernels/activations.h"
#include "kernels/cpu/vec_table.h"
#include "kernels/elementwise.h"
#include "kernels/embedding.h"
#include "kernels/rms_norm.h"
#include "kernels/rope.h"
#include "kernels/softmax.h"
#include "tests/kernels/kernel_test_util.h"

namespace cachewire::kernels {
namespace {

std::vector<float> Random(int64_t n, std::mt19937& rng, float lo = -2.0f, float hi = 2.0f) {
  std::uniform_real_distribution<float> d(lo, hi);
  std::vector<float> v(static_cast<size_t>(n));
  for (float& x : v) x = d(rng);
  return v;
}

double Silu(double x) { return x / (1.0 + std::exp(-x)); }
double GeluTanh(double x) {
  return 0.5 * x * (1.0 + std::tanh(std::sqrt(2.0 / M_PI) * (x + 0.044715 * x * x * x)));
}

// ---- vector primitives per ISA -------------------------------------------------------------

class VecTest : public ::testing::TestWithParam<CpuIsa> {
 protected:
  const cpu_detail::VecKernels& vk() const { return cpu_detail::GetVecKernels(GetParam()); }
};

TEST_P(VecTest, ReductionsAndMaps) {
  std::mt19937 rng(1);
  for (int64_t n : {1, 7, 16, 33, 64, 100, 2048}) {
    SCOPED_TRACE("n=" + std::to_string(n));
    const std::vector<float> a = Random(n, rng), b = Random(n, rng), w = Random(n, rng);
    double dot = 0, ss = 0;
    for (int64_t i = 0; i < n; ++i) dot += double{a[i]} * b[i], ss += double{a[i]} * a[i];
    EXPECT_NEAR(vk().dot(a.data(), b.data(), n), dot, 1e-5 * (1 + ss));
    EXPECT_NEAR(vk().sum_sq(a.data(), n), ss, 1e-5 * (1 + ss));
    // max: exact, wherever it sits (the tail included), with -inf elsewhere.
    for (int64_t at : {int64_t{0}, n / 2, n - 1}) {
      std::vector<float> m(static_cast<size_t>(n), -std::numeric_limits<float>::infinity());
      m[static_cast<size_t>(at)] = -3.5f;
      ASSERT_EQ(vk().max(m.data(), n), -3.5f) << "at " << at;
    }
    EXPECT_EQ(vk().max(a.data(), n), *std::max_element(a.begin(), a.end()));
    std::vector<float> y(static_cast<size_t>(n));
    vk().scale_mul(a.data(), 0.5f, w.data(), y.data(), n);
    for (int64_t i = 0; i < n; ++i) ASSERT_NEAR(y[i], 0.5 * a[i] * w[i], 1e-6);
    // exp over a wide range, with -inf giving 0.
    std::vector<float> e = Random(n, rng, -100.0f, 10.0f);
    e[0] = -std::numeric_limits<float>::infinity();
    const std::vector<float> e0 = e;
    const float sum = vk().exp_sub_sum(e.data(), 3.0f, n);
    double want_sum = 0;
    for (int64_t i = 0; i < n; ++i) {
      const double want = std::exp(double{e0[i] - 3.0f});  // of the f32 difference, as computed
      want_sum += want;
      ASSERT_NEAR(e[i], want, 4e-7 * want + 1e-37) << "x=" << e0[i];
    }
    EXPECT_NEAR(sum, want_sum, 1e-6 * want_sum);
    // Never a subnormal, on any level: below 2^-126 the exp is 0.
    std::vector<float> tiny = Random(n, rng, -110.0f, -80.0f);
    vk().exp_sub_sum(tiny.data(), 0.0f, n);
    for (float t : tiny) ASSERT_TRUE(t == 0.0f || t >= std::numeric_limits<float>::min()) << t;
    // Gated activations, extremes included.
    std::vector<float> g = Random(n, rng, -12.0f, 12.0f);
    g[0] = -100.0f;
    std::vector<float> out(static_cast<size_t>(n)), out2(static_cast<size_t>(n));
    vk().silu_mul(g.data(), b.data(), out.data(), n);
    vk().gelu_tanh_mul(g.data(), b.data(), out2.data(), n);
    for (int64_t i = 0; i < n; ++i) {
      ASSERT_NEAR(out[i], Silu(g[i]) * b[i], 1e-6 * (1 + std::fabs(g[i] * b[i]))) << g[i];
      ASSERT_NEAR(out2[i], GeluTanh(g[i]) * b[i], 1e-6 * (1 + std::fabs(g[i] * b[i]))) << g[i];
    }
  }
}

TEST_P(VecTest, AttentionTiles) {
  std::mt19937 rng(2);
  for (int64_t d : {16, 40, 64, 80, 128}) {
    const int n_q = 5, n_k = 37;
    const std::vector<float> q = Random(n_q * d, rng), k = Random(n_k * (d + 3), rng);
    const std::vector<float> p = Random(n_q * n_k, rng, 0.0f, 1.0f), v = Random(n_k * (d + 1), rng);
    std::vector<float> s(n_q * n_k), acc = Random(n_q * d, rng);
    const std::vector<float> acc0 = acc;
    vk().scores(q.data(), d, n_q, k.data(), d + 3, n_k, d, 0.25f, s.data());
    vk().accum(p.data(), n_k, n_q, n_k, v.data(), d + 1, d, acc.data(), d);
    for (int r = 0; r < n_q; ++r) {
      for (int j = 0; j < n_k; ++j) {
        double want = 0;
        for (int64_t i = 0; i < d; ++i) want += double{q[r * d + i]} * k[j * (d + 3) + i];
        ASSERT_NEAR(s[r * n_k + j], 0.25 * want, 1e-5);
      }
      for (int64_t i = 0; i < d; ++i) {
        double want = acc0[r * d + i];
        for (int j = 0; j < n_k; ++j) want += double{p[r * n_k + j]} * v[j * (d + 1) + i];
        ASSERT_NEAR(acc[r * d + i], want, 1e-4);
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Isas, VecTest, ::testing::ValuesIn(AvailableIsas()),
                         [](const auto& info) { return std::string(IsaName(info.param)); });

// ---- ops at the active level ---------------------------------------------------------------

TEST(RmsNormTest, RowsAndHeads) {
  std::mt19937 rng(3);
  const int64_t rows = 3, n = 96;
  const std::vector<float> x = Random(rows * n, rng), w = Random(n, rng);
  std::vector<float> y(x.size());
  RmsNorm({.x = x.data(), .w = w.data(), .y = y.data(), .n_rows = rows, .n = n, .eps = 1e-5f});
  for (int64_t r = 0; r < rows; ++r) {
    double ss = 0;
    for (int64_t i = 0; i < n; ++i) ss += double{x[r * n + i]} * x[r * n + i];
    const double inv = 1.0 / std::sqrt(ss / n + 1e-5);
    for (int64_t i = 0; i < n; ++i) ASSERT_NEAR(y[r * n + i], x[r * n + i] * inv * w[i], 1e-5);
  }
  // Per head in place: (tokens 3, heads 4, head_dim 24) with one weight of 24.
  std::vector<float> h = x;
  RmsNormHeads(h.data(), w.data(), 3, 4, 24, 1e-6f);
  for (int64_t r = 0; r < 12; ++r) {
    double ss = 0;
    for (int64_t i = 0; i < 24; ++i) ss += double{x[r * 24 + i]} * x[r * 24 + i];
    const double inv = 1.0 / std::sqrt(ss / 24 + 1e-6);
    for (int64_t i = 0; i < 24; ++i) ASSERT_NEAR(h[r * 24 + i], x[r * 24 + i] * inv * w[i], 1e-5);
  }
}

TEST(RopeTest, NormAndNeoxAtExplicitPositions) {
  std::mt19937 rng(4);
  const int64_t n_tokens = 4, n_heads = 3, head_dim = 20, n_rot = 16;
  const std::vector<int32_t> pos = {0, 5, 1000, 77};  // not contiguous
  const std::vector<float> factors = {1, 1, 2, 3, 4, 8, 8, 8};
  for (RopeLayout layout : {RopeLayout::kNorm, RopeLayout::kNeox}) {
    for (const float* ff : {static_cast<const float*>(nullptr), factors.data()}) {
      const RopeParams p{.layout = layout, .n_rot = n_rot, .freq_base = 500000.0f,
                         .freq_scale = 0.25f, .freq_factors = ff};
      RopeTable table;
      ASSERT_TRUE(BuildRopeTable(p, pos, &table).ok());
      const std::vector<float> x = Random(n_tokens * n_heads * head_dim, rng);
      std::vector<float> y = x;
      ASSERT_TRUE(ApplyRope(table, y.data(), n_tokens, n_heads, head_dim).ok());
      for (int64_t t = 0; t < n_tokens; ++t) {
        for (int64_t h = 0; h < n_heads; ++h) {
          const float* xv = x.data() + (t * n_heads + h) * head_dim;
          const float* yv = y.data() + (t * n_heads + h) * head_dim;
          for (int64_t i = 0; i < n_rot / 2; ++i) {
            double theta = pos[t] * 0.25 * std::pow(500000.0, -2.0 * i / n_rot);
            if (ff != nullptr) theta /= ff[i];
            const int64_t a = layout == RopeLayout::kNorm ? 2 * i : i;
            const int64_t b = layout == RopeLayout::kNorm ? 2 * i + 1 : i + n_rot / 2;
            ASSERT_NEAR(yv[a], xv[a] * std::cos(theta) - xv[b] * std::sin(theta), 1e-5);
            ASSERT_NEAR(yv[b], xv[a] * std::sin(theta) + xv[b] * std::cos(theta), 1e-5);
          }
          for (int64_t i = n_rot; i < head_dim; ++i) ASSERT_EQ(yv[i], xv[i]);  // pass through
        }
      }
    }
  }
  RopeTable table;
  EXPECT_FALSE(BuildRopeTable({.n_rot = 7}, pos, &table).ok());
  ASSERT_TRUE(BuildRopeTable({.n_rot = 32}, pos, &table).ok());
  std::vector<float> x(4 * 16);
  EXPECT_FALSE(ApplyRope(table, x.data(), 4, 1, 16).ok());  // n_rot > head_dim
}

TEST(SoftmaxTest, RowsWithMasks) {
  std::vector<float> x = {1, 2, 3, -std::numeric_limits<float>::infinity(), -1000, 0,
                          -std::numeric_limits<float>::infinity(),
                          -std::numeric_limits<float>::infinity()};
  SoftmaxRows(x.data(), 2, 4);
  const double z = std::exp(1.0) + std::exp(2.0) + std::exp(3.0);
  EXPECT_NEAR(x[0], std::exp(1.0) / z, 1e-6);
  EXPECT_NEAR(x[2], std::exp(3.0) / z, 1e-6);
  EXPECT_EQ(x[3], 0.0f);
  EXPECT_NEAR(x[5], 1.0, 1e-6);
  EXPECT_EQ(x[4], 0.0f);
  std::vector<float> all_masked(3, -std::numeric_limits<float>::infinity());
  SoftmaxRows(all_masked.data(), 1, 3);
  EXPECT_EQ(all_masked[1], 0.0f);
}

// Weights under 2^-102 are 0 and the rest normal floats, the large ones as exact as before: an
// LCF encoder's positional pooling puts a band of each row right at the edge of the f32 range.
TEST(SoftmaxTest, NoSubnormalWeights) {
  const int64_t n = 2688;
  std::vector<float> x(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    const double d = double(i) / double(n) - 0.3;
    x[static_cast<size_t>(i)] = static_cast<float>(-2000.0 * d * d);
  }
  const std::vector<float> x0 = x;
  SoftmaxRows(x.data(), 1, n);
  double z = 0;
  for (float v : x0) z += std::exp(double(v) - 0.0);
  const double kCut = std::ldexp(1.0, -102);
  int zeroed = 0;
  for (int64_t i = 0; i < n; ++i) {
    const float got = x[static_cast<size_t>(i)];
    const double want = std::exp(double(x0[static_cast<size_t>(i)])) / z;
    ASSERT_TRUE(got == 0.0f || got >= kCut) << "i=" << i << " got " << got;
    if (got == 0.0f) {
      ++zeroed;
      ASSERT_LT(want, 2.0 * kCut * double(n)) << "i=" << i;  // under 2^-126 before the scale
    } else {
      ASSERT_NEAR(got, want, 1e-5 * want) << "i=" << i;
    }
  }
  EXPECT_GT(zeroed, 0);  // the row reaches far below the cut: some weights must be 0
}

TEST(ActivationsTest, SwiGluAndGeGluOverThePool) {
  std::mt19937 rng(5);
  backend::cpu::ThreadPool pool(2);
  const int64_t rows = 5, n = 300;
  const std::vector<float> g = Random(rows * n, rng, -8, 8), u = Random(rows * n, rng);
  for (auto kind : {GatedActivation::kSilu, GatedActivation::kGeluTanh}) {
    std::vector<float> out(g.size());
    GatedMul({.kind = kind, .gate = g.data(), .up = u.data(), .out = out.data(), .n_rows = rows,
              .n = n}, &pool);
    for (size_t i = 0; i < g.size(); ++i) {
      const double f = kind == GatedActivation::kSilu ? Silu(g[i]) : GeluTanh(g[i]);
      ASSERT_NEAR(out[i], f * u[i], 1e-5);
    }
  }
}

TEST(ActivationsTest, UngatedGeluInPlaceAcrossChunks) {
  std::mt19937 rng(9);
  for (int64_t n : {1, 255, 256, 257, 1000}) {
    const std::vector<float> x = Random(n, rng, -8, 8);
    std::vector<float> y = x;
    GeluTanhInPlace(y.data(), n);
    for (int64_t i = 0; i < n; ++i) ASSERT_NEAR(y[i], GeluTanh(x[i]), 1e-5) << "n " << n;
  }
}

TEST(EmbeddingTest, QuantisedRowsScaledAndBadIdsNamed) {
  std::mt19937 rng(6);
  for (gguf::TensorType type : testing::kAllTypes) {
    const int64_t n_embd = 256, n_vocab = 9;
    const std::vector<uint8_t> table = testing::RandomWeights(type, n_vocab, n_embd, rng);
    const std::vector<int32_t> ids = {3, 0, 8, 3};
    std::vector<float> out(ids.size() * n_embd), row(n_embd);
    ASSERT_TRUE(EmbeddingLookup({.type = type, .table = table.data(), .n_vocab = n_vocab,
                                 .n_embd = n_embd, .ids = ids, .scale = 16.0f,
                                 .out = out.data()}).ok());
    const size_t rb = *gguf::RowBytes(type, n_embd);
    for (size_t t = 0; t < ids.size(); ++t) {
      ASSERT_TRUE(gguf::DequantizeRow(type, table.data() + rb * ids[t], row.data(), n_embd).ok());
      for (int64_t i = 0; i < n_embd; ++i) ASSERT_EQ(out[t * n_embd + i], row[i] * 16.0f);
    }
    const std::vector<int32_t> bad = {1, 9};
    absl::Status s = EmbeddingLookup({.type = type, .table = table.data(), .n_vocab = n_vocab,
                                      .n_embd = n_embd, .ids = bad, .scale = 1.0f,
                                      .out = out.data()});
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(s.message().find("position 1"), std::string::npos) << s;
  }
}

TEST(ElementwiseTest, AddAndScale) {
  std::vector<float> y = {1, 2, 3}, x = {10, 20, 30};
  AddInPlace(y.data(), x.data(), 3);
  EXPECT_EQ(y, (std::vector<float>{11, 22, 33}));
  ScaleInPlace(y.data(), 0.5f, 3);
  EXPECT_EQ(y, (std::vector<float>{5.5f, 11, 16.5f}));
}

}  // namespace
}  // namespace cachewire::kernels
