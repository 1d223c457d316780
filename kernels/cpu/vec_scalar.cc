// Scalar f32 vector primitives (vec_table.h): the reference level, plain loops in f32 with the
// same formulas as the SIMD files (silu(x) = x / (1 + e^-x), gelu_tanh(x) = x / (1 + e^-2u)).
#include <algorithm>
#include <cmath>
#include <limits>

#include "kernels/cpu/vec_table.h"

namespace cachewire::kernels::cpu_detail {
namespace {

constexpr float kGeluC = 0.7978845608028654f;  // sqrt(2 / pi)

float Dot(const float* a, const float* b, int64_t n) {
  float acc[8] = {};
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    for (int j = 0; j < 8; ++j) acc[j] += a[i + j] * b[i + j];
  }
  float s = ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
  for (; i < n; ++i) s += a[i] * b[i];
  return s;
}

float SumSq(const float* x, int64_t n) { return Dot(x, x, n); }

void ScaleMul(const float* x, float s, const float* w, float* y, int64_t n) {
  if (w == nullptr) {
    for (int64_t i = 0; i < n; ++i) y[i] = x[i] * s;
  } else {
    for (int64_t i = 0; i < n; ++i) y[i] = x[i] * s * w[i];
  }
}

float Max(const float* x, int64_t n) { return *std::max_element(x, x + n); }

float ExpSubSum(float* x, float m, int64_t n) {
  float sum = 0.0f;
  for (int64_t i = 0; i < n; ++i) {
    const float d = x[i] - m;  // 0 below -87.33654 (-inf included), as the SIMD exp: no subnormals
    x[i] = d < -87.33654f ? 0.0f : std::exp(d);
    sum += x[i];
  }
  return sum;
}

void SiluMul(const float* g, const float* u, float* out, int64_t n) {
  for (int64_t i = 0; i < n; ++i) out[i] = g[i] / (1.0f + std::exp(-g[i])) * u[i];
}

void GeluTanhMul(const float* g, const float* u, float* out, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    const float x = g[i];
    const float z = 2.0f * kGeluC * (x + 0.044715f * x * x * x);
    out[i] = x / (1.0f + std::exp(-z)) * u[i];
  }
}

void Scores(const float* q, int64_t q_stride, int n_q, const float* k, int64_t k_stride, int n_k,
            int64_t d, float scale, float* s) {
  for (int r = 0; r < n_q; ++r) {
    for (int j = 0; j < n_k; ++j) s[r * n_k + j] = scale * Dot(q + r * q_stride, k + j * k_stride, d);
  }
}

void Accum(const float* p, int64_t p_stride, int n_q, int n_k, const float* v, int64_t v_stride,
           int64_t d, float* acc, int64_t acc_stride) {
  for (int r = 0; r < n_q; ++r) {
    float* a = acc + r * acc_stride;
    for (int j = 0; j < n_k; ++j) {
      const float pj = p[r * p_stride + j];
      if (pj == 0.0f) continue;
      const float* vj = v + j * v_stride;
      for (int64_t i = 0; i < d; ++i) a[i] += pj * vj[i];
    }
  }
}

}  // namespace

VecKernels ScalarVecKernels() {
  VecKernels t;
  t.dot = Dot;
  t.sum_sq = SumSq;
  t.scale_mul = ScaleMul;
  t.max = Max;
  t.exp_sub_sum = ExpSubSum;
  t.silu_mul = SiluMul;
  t.gelu_tanh_mul = GeluTanhMul;
  t.scores = Scores;
  t.accum = Accum;
  return t;
}

}  // namespace cachewire::kernels::cpu_detail
