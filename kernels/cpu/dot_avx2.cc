// AVX2 + FMA + F16C kernels (built with -mavx2 -mfma -mf16c; dot.cc calls AVX2Kernels() only
// when cpuid reports those features).
//
// Int8 dots use the maddubs sign trick: _mm256_maddubs_epi16 multiplies unsigned by signed
// bytes, so a signed weight w and activation a become |w| and sign(w) * a, which leaves every
// product unchanged. No pair sum saturates int16: |w| <= 128 and |a| <= 127 (the quantisers never
// emit -128), and the K-quant weights are unsigned 4-6 bit values. Each kernel takes up to
// kMaxDotRows activation rows so a weight block is loaded and unpacked once for all of them.
//
// Nothing here may be an out-of-line function visible to other files except AVX2Kernels():
// anything the linker could share with the scalar path must not contain AVX2 code.
#include <immintrin.h>

#include "kernels/cpu/dot_table.h"

namespace cachewire::kernels::cpu_detail {
namespace {

inline float HsumPs(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

inline int HsumEpi32(__m256i v) {
  __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
  s = _mm_add_epi32(s, _mm_unpackhi_epi64(s, s));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 1));
  return _mm_cvtsi128_si32(s);
}

inline float HmaxPs(__m256 v) {
  __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  m = _mm_max_ps(m, _mm_movehl_ps(m, m));
  m = _mm_max_ss(m, _mm_movehdup_ps(m));
  return _mm_cvtss_f32(m);
}

inline float F16(uint16_t h) { return _cvtsh_ss(h); }

template <typename T>
inline const T* RowAt(const void* x, size_t stride, int t) {
  return reinterpret_cast<const T*>(static_cast<const char*>(x) + static_cast<size_t>(t) * stride);
}

// Sum of 8 int8 pair products of (|w|, sign(w) * a) per int32 lane.
inline __m256i DotI8(__m256i abs_w, __m256i w_sign_src, __m256i a) {
  const __m256i p16 = _mm256_maddubs_epi16(abs_w, _mm256_sign_epi8(a, w_sign_src));
  return _mm256_madd_epi16(p16, _mm256_set1_epi16(1));
}

// Rounds 32 floats (already scaled) to int8 in element order. cvtps rounds to nearest even,
// as nearbyint does in the scalar quantiser.
inline __m256i PackToI8(__m256i c0, __m256i c1, __m256i c2, __m256i c3) {
  const __m256i p = _mm256_packs_epi16(_mm256_packs_epi32(c0, c1), _mm256_packs_epi32(c2, c3));
  // packs works per 128-bit lane; restore element order.
  return _mm256_permutevar8x32_epi32(p, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
}

// ---- quantisers (bit-identical to dot_scalar.cc) ------------------------------------------

void QuantizeQ8_0(const float* x, void* y_void, int64_t n) {
  auto* y = static_cast<BlockQ8_0*>(y_void);
  const __m256 sign = _mm256_set1_ps(-0.0f);
  for (int64_t b = 0; b < n / kQK8_0; ++b, x += kQK8_0) {
    __m256 v[4];
    __m256 amax = _mm256_setzero_ps();
    for (int k = 0; k < 4; ++k) {
      v[k] = _mm256_loadu_ps(x + 8 * k);
      amax = _mm256_max_ps(amax, _mm256_andnot_ps(sign, v[k]));
    }
    const float d = HmaxPs(amax) / 127.0f;
    const __m256 id = _mm256_set1_ps(d != 0.0f ? 1.0f / d : 0.0f);
    y[b].d = static_cast<uint16_t>(_cvtss_sh(d, _MM_FROUND_TO_NEAREST_INT));
    __m256i c[4];
    for (int k = 0; k < 4; ++k) c[k] = _mm256_cvtps_epi32(_mm256_mul_ps(v[k], id));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(y[b].qs), PackToI8(c[0], c[1], c[2], c[3]));
  }
}

void QuantizeQ8_K(const float* x, void* y_void, int64_t n) {
  auto* y = static_cast<BlockQ8_K*>(y_void);
  const __m256 sign = _mm256_set1_ps(-0.0f);
  for (int64_t b = 0; b < n / kQK_K; ++b, x += kQK_K) {
    __m256 amax = _mm256_setzero_ps();
    for (int k = 0; k < kQK_K; k += 8) {
      amax = _mm256_max_ps(amax, _mm256_andnot_ps(sign, _mm256_loadu_ps(x + k)));
    }
    const float d = HmaxPs(amax) / 127.0f;
    const __m256 id = _mm256_set1_ps(d != 0.0f ? 1.0f / d : 0.0f);
    y[b].d = d;
    for (int k = 0; k < kQK_K; k += 32) {
      __m256i c[4];
      for (int j = 0; j < 4; ++j) {
        c[j] = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(x + k + 8 * j), id));
      }
      y[b].bsums[k / 16] = static_cast<int16_t>(HsumEpi32(_mm256_add_epi32(c[0], c[1])));
      y[b].bsums[k / 16 + 1] = static_cast<int16_t>(HsumEpi32(_mm256_add_epi32(c[2], c[3])));
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(y[b].qs + k),
                          PackToI8(c[0], c[1], c[2], c[3]));
    }
  }
}

// ---- float weights x f32 activations ------------------------------------------------------

struct LoadF32 {
  static __m256 Load8(const void* w, int64_t i) {
    return _mm256_loadu_ps(static_cast<const float*>(w) + i);
  }
  static float Load1(const void* w, int64_t i) { return static_cast<const float*>(w)[i]; }
};
struct LoadF16 {
  static __m256 Load8(const void* w, int64_t i) {
    return _mm256_cvtph_ps(
        _mm_loadu_si128(reinterpret_cast<const __m128i*>(static_cast<const uint16_t*>(w) + i)));
  }
  static float Load1(const void* w, int64_t i) { return F16(static_cast<const uint16_t*>(w)[i]); }
};
struct LoadBF16 {
  static __m256 Load8(const void* w, int64_t i) {
    const __m128i h =
        _mm_loadu_si128(reinterpret_cast<const __m128i*>(static_cast<const uint16_t*>(w) + i));
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
  }
  static float Load1(const void* w, int64_t i) {
    return _mm_cvtss_f32(_mm_castsi128_ps(
        _mm_cvtsi32_si128(static_cast<int>(static_cast<const uint16_t*>(w)[i]) << 16)));
  }
};

template <typename Load>
struct FloatKernel {
  template <int NT>
  static void Run(int64_t n, const void* w, const void* x, size_t stride, float* out) {
    const float* xs[NT];
    __m256 acc[NT][2];
    for (int t = 0; t < NT; ++t) {
      xs[t] = RowAt<float>(x, stride, t);
      acc[t][0] = acc[t][1] = _mm256_setzero_ps();
    }
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
      const __m256 w0 = Load::Load8(w, i);
      const __m256 w1 = Load::Load8(w, i + 8);
      for (int t = 0; t < NT; ++t) {
        acc[t][0] = _mm256_fmadd_ps(w0, _mm256_loadu_ps(xs[t] + i), acc[t][0]);
        acc[t][1] = _mm256_fmadd_ps(w1, _mm256_loadu_ps(xs[t] + i + 8), acc[t][1]);
      }
    }
    for (; i + 8 <= n; i += 8) {
      const __m256 w0 = Load::Load8(w, i);
      for (int t = 0; t < NT; ++t) {
        acc[t][0] = _mm256_fmadd_ps(w0, _mm256_loadu_ps(xs[t] + i), acc[t][0]);
      }
    }
    for (int t = 0; t < NT; ++t) {
      float sum = HsumPs(_mm256_add_ps(acc[t][0], acc[t][1]));
      for (int64_t j = i; j < n; ++j) sum += Load::Load1(w, j) * xs[t][j];
      out[t] = sum;
    }
  }
};

// ---- Q8_0 / Q4_0 weights x Q8_0 activations -----------------------------------------------

// Signed 32 weights of block b, in element order.
struct UnpackQ8_0 {
  using Block = BlockQ8_0;
  static __m256i Values(const Block& blk) {
    return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk.qs));
  }
};
struct UnpackQ4_0 {
  using Block = BlockQ4_0;
  static __m256i Values(const Block& blk) {
    const __m128i raw = _mm_loadu_si128(reinterpret_cast<const __m128i*>(blk.qs));
    const __m256i q =
        _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(raw, 4), raw), _mm256_set1_epi8(0x0f));
    return _mm256_sub_epi8(q, _mm256_set1_epi8(8));
  }
};

template <typename Unpack>
struct Block32Kernel {
  template <int NT>
  static void Run(int64_t n, const void* w_void, const void* x, size_t stride, float* out) {
    const auto* w = static_cast<const typename Unpack::Block*>(w_void);
    const BlockQ8_0* xs[NT];
    __m256 acc[NT];
    for (int t = 0; t < NT; ++t) {
      xs[t] = RowAt<BlockQ8_0>(x, stride, t);
      acc[t] = _mm256_setzero_ps();
    }
    for (int64_t b = 0; b < n / kQK8_0; ++b) {
      const __m256i q = Unpack::Values(w[b]);
      const __m256i abs_q = _mm256_sign_epi8(q, q);
      const float dw = F16(w[b].d);
      for (int t = 0; t < NT; ++t) {
        const __m256i a = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(xs[t][b].qs));
        const __m256 p = _mm256_cvtepi32_ps(DotI8(abs_q, q, a));
        acc[t] = _mm256_fmadd_ps(_mm256_set1_ps(dw * F16(xs[t][b].d)), p, acc[t]);
      }
    }
    for (int t = 0; t < NT; ++t) out[t] = HsumPs(acc[t]);
  }
};

// ---- K-quants x Q8_K activations ----------------------------------------------------------

// Int16 vector whose lanes 0-7 hold s0 and 8-15 hold s1: the scales of two 16-element halves of
// a maddubs result.
inline __m256i ScalePair(int s0, int s1) {
  return _mm256_set_m128i(_mm_set1_epi16(static_cast<int16_t>(s1)),
                          _mm_set1_epi16(static_cast<int16_t>(s0)));
}

// Q4_K and Q5_K share everything but the fifth bit.
template <typename Block, bool kHasHighBit>
struct Q45KKernel {
  template <int NT>
  static void Run(int64_t n, const void* w_void, const void* x, size_t stride, float* out) {
    const auto* w = static_cast<const Block*>(w_void);
    const BlockQ8_K* xs[NT];
    __m256 acc[NT];
    for (int t = 0; t < NT; ++t) {
      xs[t] = RowAt<BlockQ8_K>(x, stride, t);
      acc[t] = _mm256_setzero_ps();
    }
    const __m256i m4 = _mm256_set1_epi8(0x0f);
    const __m256i one = _mm256_set1_epi8(1);
    for (int64_t b = 0; b < n / kQK_K; ++b) {
      uint8_t sc[8], m[8];
      UnpackScalesMinsK4(w[b].scales, sc, m);
      __m256i sumi[NT];
      for (int t = 0; t < NT; ++t) sumi[t] = _mm256_setzero_si256();
      __m256i h = _mm256_setzero_si256();
      if constexpr (kHasHighBit) h = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w[b].qh));
      for (int g = 0; g < 4; ++g) {
        const __m256i q = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w[b].qs + 32 * g));
        __m256i lo = _mm256_and_si256(q, m4);
        __m256i hi = _mm256_and_si256(_mm256_srli_epi16(q, 4), m4);
        if constexpr (kHasHighBit) {
          // Bit 2g of qh[l] -> bit 4 of element l of sub-block 2g; bit 2g + 1 likewise for 2g + 1.
          lo = _mm256_or_si256(lo, _mm256_slli_epi16(_mm256_and_si256(h, one), 4));
          hi = _mm256_or_si256(
              hi, _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(h, 1), one), 4));
          h = _mm256_srli_epi16(h, 2);
        }
        const __m256i s_lo = _mm256_set1_epi16(sc[2 * g]);
        const __m256i s_hi = _mm256_set1_epi16(sc[2 * g + 1]);
        for (int t = 0; t < NT; ++t) {
          const int8_t* a = xs[t][b].qs + 64 * g;
          const __m256i a_lo = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(a));
          const __m256i a_hi = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(a + 32));
          const __m256i p_lo = _mm256_madd_epi16(_mm256_maddubs_epi16(lo, a_lo), s_lo);
          const __m256i p_hi = _mm256_madd_epi16(_mm256_maddubs_epi16(hi, a_hi), s_hi);
          sumi[t] = _mm256_add_epi32(sumi[t], _mm256_add_epi32(p_lo, p_hi));
        }
      }
      // mins16[k] = m[k / 2], matching bsums[k] (16 elements) to sub-block k / 2 (32 elements).
      const __m128i m8 = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(m));
      const __m256i mins16 = _mm256_cvtepu8_epi16(_mm_unpacklo_epi8(m8, m8));
      const float dw = F16(w[b].d), dmin = F16(w[b].dmin);
      for (int t = 0; t < NT; ++t) {
        const float dx = xs[t][b].d;
        const __m256i bs = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(xs[t][b].bsums));
        const __m256 mins = _mm256_cvtepi32_ps(_mm256_madd_epi16(bs, mins16));
        acc[t] = _mm256_fmadd_ps(_mm256_set1_ps(dw * dx), _mm256_cvtepi32_ps(sumi[t]), acc[t]);
        acc[t] = _mm256_fnmadd_ps(_mm256_set1_ps(dmin * dx), mins, acc[t]);
      }
    }
    for (int t = 0; t < NT; ++t) out[t] = HsumPs(acc[t]);
  }
};

struct Q6KKernel {
  template <int NT>
  static void Run(int64_t n, const void* w_void, const void* x, size_t stride, float* out) {
    const auto* w = static_cast<const BlockQ6_K*>(w_void);
    const BlockQ8_K* xs[NT];
    __m256 acc[NT];
    for (int t = 0; t < NT; ++t) {
      xs[t] = RowAt<BlockQ8_K>(x, stride, t);
      acc[t] = _mm256_setzero_ps();
    }
    const __m256i m4 = _mm256_set1_epi8(0x0f);
    const __m256i m3 = _mm256_set1_epi8(0x03);
    const __m256i m30 = _mm256_set1_epi8(0x30);
    for (int64_t b = 0; b < n / kQK_K; ++b) {
      const int8_t* sc = w[b].scales;
      __m256i sumi[NT];
      for (int t = 0; t < NT; ++t) sumi[t] = _mm256_setzero_si256();
      for (int half = 0; half < 2; ++half) {
        const uint8_t* ql = w[b].ql + 64 * half;
        const __m256i ql0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(ql));
        const __m256i ql1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(ql + 32));
        const __m256i hh =
            _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w[b].qh + 32 * half));
        // The four 32-element quarters of this half (layout in quant_blocks.h).
        __m256i q[4];
        q[0] = _mm256_or_si256(_mm256_and_si256(ql0, m4),
                               _mm256_slli_epi16(_mm256_and_si256(hh, m3), 4));
        q[1] = _mm256_or_si256(_mm256_and_si256(ql1, m4),
                               _mm256_and_si256(_mm256_slli_epi16(hh, 2), m30));
        q[2] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql0, 4), m4),
                               _mm256_and_si256(hh, m30));
        q[3] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql1, 4), m4),
                               _mm256_and_si256(_mm256_srli_epi16(hh, 2), m30));
        for (int k = 0; k < 4; ++k) {
          const int s = 8 * half + 2 * k;
          const __m256i scv = ScalePair(sc[s], sc[s + 1]);
          for (int t = 0; t < NT; ++t) {
            const __m256i a = _mm256_loadu_si256(
                reinterpret_cast<const __m256i*>(xs[t][b].qs + 128 * half + 32 * k));
            sumi[t] =
                _mm256_add_epi32(sumi[t], _mm256_madd_epi16(_mm256_maddubs_epi16(q[k], a), scv));
          }
        }
      }
      // q was used unsigned; subtract 32 * sum_k sc[k] * bsums[k] for the -32 offset.
      const __m256i sc16 =
          _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(sc)));
      const float dw = F16(w[b].d);
      for (int t = 0; t < NT; ++t) {
        const __m256i bs = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(xs[t][b].bsums));
        const __m256i off = _mm256_slli_epi32(_mm256_madd_epi16(bs, sc16), 5);
        const __m256 s = _mm256_cvtepi32_ps(_mm256_sub_epi32(sumi[t], off));
        acc[t] = _mm256_fmadd_ps(_mm256_set1_ps(dw * xs[t][b].d), s, acc[t]);
      }
    }
    for (int t = 0; t < NT; ++t) out[t] = HsumPs(acc[t]);
  }
};

}  // namespace

IsaKernels Avx2Kernels() {
  IsaKernels k;
  k.dot[kSlotF32] = Rows<FloatKernel<LoadF32>>;
  k.dot[kSlotF16] = Rows<FloatKernel<LoadF16>>;
  k.dot[kSlotBF16] = Rows<FloatKernel<LoadBF16>>;
  k.dot[kSlotQ8_0] = Rows<Block32Kernel<UnpackQ8_0>>;
  k.dot[kSlotQ4_0] = Rows<Block32Kernel<UnpackQ4_0>>;
  k.dot[kSlotQ4_K] = Rows<Q45KKernel<BlockQ4_K, false>>;
  k.dot[kSlotQ5_K] = Rows<Q45KKernel<BlockQ5_K, true>>;
  k.dot[kSlotQ6_K] = Rows<Q6KKernel>;
  k.quantize_q8_0 = QuantizeQ8_0;
  k.quantize_q8_k = QuantizeQ8_K;
  return k;
}

}  // namespace cachewire::kernels::cpu_detail
