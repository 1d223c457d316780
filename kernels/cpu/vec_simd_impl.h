// Internal to the CPU kernels: the SIMD bodies of the vec_table.h primitives, written once over
// a register type V that vec_avx2.cc (8 lanes) and vec_avx512.cc (16 lanes) define with their
// intrinsics. Include only from those files: each is compiled with its own target flags and
// instantiates these templates with its own anonymous-namespace V, so nothing leaks across levels.
//
// V provides: R (register), kW (lanes), Zero, Set1, Load, Store, LoadN/StoreN (first n < kW
// lanes, the rest zero / untouched), Add, Sub, Mul, Div, Fma(a, b, c) = a * b + c, Min, Max,
// Round (to nearest even), Ldexp(y, n) = y * 2^n for integral n in [-126, 127], Sum (horizontal),
// Head(y, n) (first n lanes of y, the rest 0) and ZeroBelow(y, x, t): y where x >= t, else 0.
#pragma once

#include <algorithm>
#include <cstdint>

#include "kernels/cpu/vec_table.h"

namespace cachewire::kernels::cpu_detail::simd {

// exp(x) in f32: Cephes range reduction x = n ln2 + r and a degree-6 polynomial, ~1 ulp.
// Inputs below -87.3 (including -inf) give 0; above 88 they are clamped (e^88 = 1.6e38).
template <typename V>
inline typename V::R Exp(typename V::R x) {
  using R = typename V::R;
  const R lo = V::Set1(-87.33654f);
  const R xc = V::Min(V::Max(x, lo), V::Set1(88.0f));
  const R n = V::Round(V::Mul(xc, V::Set1(1.44269504088896341f)));
  R r = V::Fma(n, V::Set1(-0.693359375f), xc);
  r = V::Fma(n, V::Set1(2.12194440e-4f), r);
  R y = V::Set1(1.9875691500E-4f);
  y = V::Fma(y, r, V::Set1(1.3981999507E-3f));
  y = V::Fma(y, r, V::Set1(8.3334519073E-3f));
  y = V::Fma(y, r, V::Set1(4.1665795894E-2f));
  y = V::Fma(y, r, V::Set1(1.6666665459E-1f));
  y = V::Fma(y, r, V::Set1(5.0000001201E-1f));
  y = V::Fma(y, V::Mul(r, r), V::Add(r, V::Set1(1.0f)));
  return V::ZeroBelow(V::Ldexp(y, n), x, lo);
}

template <typename V>
float Dot(const float* a, const float* b, int64_t n) {
  using R = typename V::R;
  R acc0 = V::Zero(), acc1 = V::Zero();
  int64_t i = 0;
  for (; i + 2 * V::kW <= n; i += 2 * V::kW) {
    acc0 = V::Fma(V::Load(a + i), V::Load(b + i), acc0);
    acc1 = V::Fma(V::Load(a + i + V::kW), V::Load(b + i + V::kW), acc1);
  }
  for (; i + V::kW <= n; i += V::kW) acc0 = V::Fma(V::Load(a + i), V::Load(b + i), acc0);
  if (i < n) {
    const int rest = static_cast<int>(n - i);
    acc1 = V::Fma(V::LoadN(a + i, rest), V::LoadN(b + i, rest), acc1);
  }
  return V::Sum(V::Add(acc0, acc1));
}

template <typename V>
float SumSq(const float* x, int64_t n) {
  return Dot<V>(x, x, n);
}

// Applies y[i] = f(x[i], i) over n lanes, with a masked tail.
template <typename V, typename F>
inline void Map(int64_t n, float* y, F f) {
  int64_t i = 0;
  for (; i + V::kW <= n; i += V::kW) V::Store(y + i, f(i, V::kW));
  if (i < n) {
    const int rest = static_cast<int>(n - i);
    V::StoreN(y + i, f(i, rest), rest);
  }
}

template <typename V>
inline typename V::R LoadAt(const float* p, int64_t i, int lanes) {
  return lanes == V::kW ? V::Load(p + i) : V::LoadN(p + i, lanes);
}

template <typename V>
void ScaleMul(const float* x, float s, const float* w, float* y, int64_t n) {
  const typename V::R vs = V::Set1(s);
  if (w == nullptr) {
    Map<V>(n, y, [&](int64_t i, int l) { return V::Mul(LoadAt<V>(x, i, l), vs); });
  } else {
    Map<V>(n, y, [&](int64_t i, int l) {
      return V::Mul(V::Mul(LoadAt<V>(x, i, l), vs), LoadAt<V>(w, i, l));
    });
  }
}

template <typename V>
float Max(const float* x, int64_t n) {
  typename V::R acc = V::Set1(x[0]);
  int64_t i = 0;
  for (; i + V::kW <= n; i += V::kW) acc = V::Max(acc, V::Load(x + i));
  float lanes[V::kW];
  V::Store(lanes, acc);
  float m = lanes[0];
  for (int j = 1; j < V::kW; ++j) m = std::max(m, lanes[j]);
  for (; i < n; ++i) m = std::max(m, x[i]);
  return m;
}

template <typename V>
float ExpSubSum(float* x, float m, int64_t n) {
  const typename V::R vm = V::Set1(m);
  typename V::R sum = V::Zero();
  Map<V>(n, x, [&](int64_t i, int l) {
    const typename V::R e = Exp<V>(V::Sub(LoadAt<V>(x, i, l), vm));
    sum = V::Add(sum, l == V::kW ? e : V::Head(e, l));  // lanes past n hold exp(-m): drop them
    return e;
  });
  return V::Sum(sum);
}

// x / (1 + exp(-z)) * u, with z = x for SiLU and z = 2 sqrt(2/pi) (x + 0.044715 x^3) for GELU.
template <typename V, bool kGelu>
void GatedMul(const float* g, const float* u, float* out, int64_t n) {
  using R = typename V::R;
  const R one = V::Set1(1.0f);
  Map<V>(n, out, [&](int64_t i, int l) {
    const R x = LoadAt<V>(g, i, l);
    R z = x;
    if constexpr (kGelu) {
      const R x3 = V::Mul(V::Mul(x, x), x);
      z = V::Mul(V::Set1(2.0f * 0.7978845608028654f), V::Fma(V::Set1(0.044715f), x3, x));
    }
    const R e = Exp<V>(V::Sub(V::Zero(), z));
    return V::Mul(V::Div(x, V::Add(one, e)), LoadAt<V>(u, i, l));
  });
}

// Head widths up to 8 registers (128 floats at AVX-512, 64 at AVX2) keep each key row in
// registers while every query row is dotted with it: one load of the key for all rows, and the
// rows' reductions overlap. Other widths take one Dot per (row, key).
template <typename V>
void Scores(const float* q, int64_t q_stride, int n_q, const float* k, int64_t k_stride, int n_k,
            int64_t d, float scale, float* s) {
  using R = typename V::R;
  if (d % V::kW == 0 && d <= 8 * V::kW) {
    const int nc = static_cast<int>(d / V::kW);
    for (int j = 0; j < n_k; ++j) {
      R kr[8];
      const float* kj = k + j * k_stride;
      for (int c = 0; c < nc; ++c) kr[c] = V::Load(kj + c * V::kW);
      for (int r = 0; r < n_q; ++r) {
        const float* qr = q + r * q_stride;
        R acc = V::Mul(V::Load(qr), kr[0]);
        for (int c = 1; c < nc; ++c) acc = V::Fma(V::Load(qr + c * V::kW), kr[c], acc);
        s[r * n_k + j] = scale * V::Sum(acc);
      }
    }
    return;
  }
  for (int r = 0; r < n_q; ++r) {
    const float* qr = q + r * q_stride;
    for (int j = 0; j < n_k; ++j) s[r * n_k + j] = scale * Dot<V>(qr, k + j * k_stride, d);
  }
}

// Each accumulator row stays in four registers while the block of V rows streams from L1.
template <typename V>
void Accum(const float* p, int64_t p_stride, int n_q, int n_k, const float* v, int64_t v_stride,
           int64_t d, float* acc, int64_t acc_stride) {
  using R = typename V::R;
  constexpr int kW = V::kW;
  for (int r = 0; r < n_q; ++r) {
    const float* pr = p + r * p_stride;
    float* a = acc + r * acc_stride;
    int64_t i = 0;
    for (; i + 4 * kW <= d; i += 4 * kW) {
      R a0 = V::Load(a + i), a1 = V::Load(a + i + kW), a2 = V::Load(a + i + 2 * kW),
        a3 = V::Load(a + i + 3 * kW);
      for (int j = 0; j < n_k; ++j) {
        const R pj = V::Set1(pr[j]);
        const float* vj = v + j * v_stride + i;
        a0 = V::Fma(pj, V::Load(vj), a0);
        a1 = V::Fma(pj, V::Load(vj + kW), a1);
        a2 = V::Fma(pj, V::Load(vj + 2 * kW), a2);
        a3 = V::Fma(pj, V::Load(vj + 3 * kW), a3);
      }
      V::Store(a + i, a0);
      V::Store(a + i + kW, a1);
      V::Store(a + i + 2 * kW, a2);
      V::Store(a + i + 3 * kW, a3);
    }
    for (; i < d; i += kW) {
      const int l = static_cast<int>(d - i < kW ? d - i : kW);
      R a0 = LoadAt<V>(a, i, l);
      for (int j = 0; j < n_k; ++j) a0 = V::Fma(V::Set1(pr[j]), LoadAt<V>(v + j * v_stride, i, l), a0);
      if (l == kW) {
        V::Store(a + i, a0);
      } else {
        V::StoreN(a + i, a0, l);
      }
    }
  }
}

template <typename V>
VecKernels MakeVecKernels() {
  VecKernels t;
  t.dot = Dot<V>;
  t.sum_sq = SumSq<V>;
  t.scale_mul = ScaleMul<V>;
  t.max = Max<V>;
  t.exp_sub_sum = ExpSubSum<V>;
  t.silu_mul = GatedMul<V, false>;
  t.gelu_tanh_mul = GatedMul<V, true>;
  t.scores = Scores<V>;
  t.accum = Accum<V>;
  return t;
}

}  // namespace cachewire::kernels::cpu_detail::simd
