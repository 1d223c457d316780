// AVX2 + FMA f32 vector primitives (vec_table.h): 8-lane registers for vec_simd_impl.h, tails by
// vmaskmov. Built with the AVX2 flags of dot_avx2.cc; vec.cc calls Avx2VecKernels() only when
// cpuid reports them.
#include <immintrin.h>

#include "kernels/cpu/vec_simd_impl.h"

namespace cachewire::kernels::cpu_detail {
namespace {

struct Avx2 {
  using R = __m256;
  static constexpr int kW = 8;
  // Lane i is all-ones when i < n.
  static __m256i Mask(int n) {
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
  }
  static R Zero() { return _mm256_setzero_ps(); }
  static R Set1(float v) { return _mm256_set1_ps(v); }
  static R Load(const float* p) { return _mm256_loadu_ps(p); }
  static void Store(float* p, R v) { _mm256_storeu_ps(p, v); }
  static R LoadN(const float* p, int n) { return _mm256_maskload_ps(p, Mask(n)); }
  static void StoreN(float* p, R v, int n) { _mm256_maskstore_ps(p, Mask(n), v); }
  static R Head(R v, int n) { return _mm256_and_ps(v, _mm256_castsi256_ps(Mask(n))); }
  static R Add(R a, R b) { return _mm256_add_ps(a, b); }
  static R Sub(R a, R b) { return _mm256_sub_ps(a, b); }
  static R Mul(R a, R b) { return _mm256_mul_ps(a, b); }
  static R Div(R a, R b) { return _mm256_div_ps(a, b); }
  static R Fma(R a, R b, R c) { return _mm256_fmadd_ps(a, b, c); }
  static R Min(R a, R b) { return _mm256_min_ps(a, b); }
  static R Max(R a, R b) { return _mm256_max_ps(a, b); }
  static R Round(R v) { return _mm256_round_ps(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }
  // n is integral in [-126, 127]: build 2^n from its biased exponent bits.
  static R Ldexp(R y, R n) {
    const __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
    return _mm256_mul_ps(y, _mm256_castsi256_ps(e));
  }
  static float Sum(R v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
  }
  static R ZeroBelow(R y, R x, R t) { return _mm256_and_ps(y, _mm256_cmp_ps(x, t, _CMP_GE_OQ)); }
};

}  // namespace

VecKernels Avx2VecKernels() { return simd::MakeVecKernels<Avx2>(); }

}  // namespace cachewire::kernels::cpu_detail
