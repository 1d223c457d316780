// AVX-512 f32 vector primitives (vec_table.h): 16-lane registers for vec_simd_impl.h, tails by
// mask registers. Built with the AVX-512 flags of dot_avx512.cc; vec.cc calls Avx512VecKernels()
// only when cpuid reports them.
#include <immintrin.h>

#include "kernels/cpu/vec_simd_impl.h"

namespace cachewire::kernels::cpu_detail {
namespace {

struct Avx512 {
  using R = __m512;
  static constexpr int kW = 16;
  static __mmask16 Mask(int n) { return static_cast<__mmask16>((1u << n) - 1u); }
  static R Zero() { return _mm512_setzero_ps(); }
  static R Set1(float v) { return _mm512_set1_ps(v); }
  static R Load(const float* p) { return _mm512_loadu_ps(p); }
  static void Store(float* p, R v) { _mm512_storeu_ps(p, v); }
  static R LoadN(const float* p, int n) { return _mm512_maskz_loadu_ps(Mask(n), p); }
  static void StoreN(float* p, R v, int n) { _mm512_mask_storeu_ps(p, Mask(n), v); }
  static R Head(R v, int n) { return _mm512_maskz_mov_ps(Mask(n), v); }
  static R Add(R a, R b) { return _mm512_add_ps(a, b); }
  static R Sub(R a, R b) { return _mm512_sub_ps(a, b); }
  static R Mul(R a, R b) { return _mm512_mul_ps(a, b); }
  static R Div(R a, R b) { return _mm512_div_ps(a, b); }
  static R Fma(R a, R b, R c) { return _mm512_fmadd_ps(a, b, c); }
  static R Min(R a, R b) { return _mm512_min_ps(a, b); }
  static R Max(R a, R b) { return _mm512_max_ps(a, b); }
  static R Round(R v) { return _mm512_roundscale_ps(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }
  static R Ldexp(R y, R n) { return _mm512_scalef_ps(y, n); }
  static float Sum(R v) { return _mm512_reduce_add_ps(v); }
  static R ZeroBelow(R y, R x, R t) {
    return _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(x, t, _CMP_GE_OQ), y);
  }
};

}  // namespace

VecKernels Avx512VecKernels() { return simd::MakeVecKernels<Avx512>(); }

}  // namespace cachewire::kernels::cpu_detail
