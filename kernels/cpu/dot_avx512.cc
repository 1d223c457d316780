// AVX-512 kernels (built with -mavx512f -mavx512bw -mavx512vl -mavx512vnni -mavx512bf16; dot.cc
// calls Avx512Kernels() only when cpuid reports all of them).
//
// Int8 dots run on VNNI. Q8_0/Q4_0 take two 32-element blocks per 512-bit register and use
// vpdpbusd (unsigned x signed bytes, 4 products per int32 lane) with the sign trick done through
// a byte mask: |w| x (sign(w) * a); activations never hold -128, so negating them cannot wrap.
// The K-quants have unsigned 4-6 bit weights, so vpmaddubsw gives exact int16 pair sums and
// vpdpwssd multiplies them by the 16-bit sub-block scales and accumulates in one instruction.
// Float weights are widened to f32 and use 512-bit FMA; tails use masked loads.
//
// As in dot_avx2.cc, only Avx512Kernels() is visible outside this file.
#include <immintrin.h>

#include "kernels/cpu/dot_table.h"

namespace cachewire::kernels::cpu_detail {
namespace {

inline float F16(uint16_t h) { return _cvtsh_ss(h); }

template <typename T>
inline const T* RowAt(const void* x, size_t stride, int t) {
  return reinterpret_cast<const T*>(static_cast<const char*>(x) + static_cast<size_t>(t) * stride);
}

inline __m256i Load256(const void* p) { return _mm256_loadu_si256(static_cast<const __m256i*>(p)); }

// [lo | hi] as one 512-bit register.
inline __m512i Join(__m256i lo, __m256i hi) {
  return _mm512_inserti64x4(_mm512_castsi256_si512(lo), hi, 1);
}

inline float HsumPs256(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

// ---- quantisers (bit-identical to dot_scalar.cc) ------------------------------------------

void QuantizeQ8_0(const float* x, void* y_void, int64_t n) {
  auto* y = static_cast<BlockQ8_0*>(y_void);
  for (int64_t b = 0; b < n / kQK8_0; ++b, x += kQK8_0) {
    const __m512 v0 = _mm512_loadu_ps(x);
    const __m512 v1 = _mm512_loadu_ps(x + 16);
    const float d =
        _mm512_reduce_max_ps(_mm512_max_ps(_mm512_abs_ps(v0), _mm512_abs_ps(v1))) / 127.0f;
    const __m512 id = _mm512_set1_ps(d != 0.0f ? 1.0f / d : 0.0f);
    y[b].d = static_cast<uint16_t>(_cvtss_sh(d, _MM_FROUND_TO_NEAREST_INT));
    // cvtps rounds to nearest even; values are within [-127, 127] so the truncating narrow is
    // exact.
    const __m128i q0 = _mm512_cvtepi32_epi8(_mm512_cvtps_epi32(_mm512_mul_ps(v0, id)));
    const __m128i q1 = _mm512_cvtepi32_epi8(_mm512_cvtps_epi32(_mm512_mul_ps(v1, id)));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(y[b].qs), _mm256_set_m128i(q1, q0));
  }
}

void QuantizeQ8_K(const float* x, void* y_void, int64_t n) {
  auto* y = static_cast<BlockQ8_K*>(y_void);
  for (int64_t b = 0; b < n / kQK_K; ++b, x += kQK_K) {
    __m512 amax = _mm512_setzero_ps();
    for (int k = 0; k < kQK_K; k += 16) {
      amax = _mm512_max_ps(amax, _mm512_abs_ps(_mm512_loadu_ps(x + k)));
    }
    const float d = _mm512_reduce_max_ps(amax) / 127.0f;
    const __m512 id = _mm512_set1_ps(d != 0.0f ? 1.0f / d : 0.0f);
    y[b].d = d;
    for (int k = 0; k < kQK_K; k += 16) {
      const __m512i c = _mm512_cvtps_epi32(_mm512_mul_ps(_mm512_loadu_ps(x + k), id));
      y[b].bsums[k / 16] = static_cast<int16_t>(_mm512_reduce_add_epi32(c));
      _mm_storeu_si128(reinterpret_cast<__m128i*>(y[b].qs + k), _mm512_cvtepi32_epi8(c));
    }
  }
}

// ---- float weights x f32 activations ------------------------------------------------------

struct LoadF32 {
  static __m512 Load16(const void* w, int64_t i) {
    return _mm512_loadu_ps(static_cast<const float*>(w) + i);
  }
  static __m512 LoadPart(const void* w, int64_t i, __mmask16 k) {
    return _mm512_maskz_loadu_ps(k, static_cast<const float*>(w) + i);
  }
};
struct LoadF16 {
  static __m512 Load16(const void* w, int64_t i) {
    return _mm512_cvtph_ps(Load256(static_cast<const uint16_t*>(w) + i));
  }
  static __m512 LoadPart(const void* w, int64_t i, __mmask16 k) {
    return _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(k, static_cast<const uint16_t*>(w) + i));
  }
};
struct LoadBF16 {
  static __m512 Widen(__m256i h) {
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
  }
  static __m512 Load16(const void* w, int64_t i) {
    return Widen(Load256(static_cast<const uint16_t*>(w) + i));
  }
  static __m512 LoadPart(const void* w, int64_t i, __mmask16 k) {
    return Widen(_mm256_maskz_loadu_epi16(k, static_cast<const uint16_t*>(w) + i));
  }
};

template <typename Load>
struct FloatKernel {
  template <int NT>
  static void Run(int64_t n, const void* w, const void* x, size_t stride, float* out) {
    const float* xs[NT];
    __m512 acc[NT][2];
    for (int t = 0; t < NT; ++t) {
      xs[t] = RowAt<float>(x, stride, t);
      acc[t][0] = acc[t][1] = _mm512_setzero_ps();
    }
    int64_t i = 0;
    for (; i + 32 <= n; i += 32) {
      const __m512 w0 = Load::Load16(w, i);
      const __m512 w1 = Load::Load16(w, i + 16);
      for (int t = 0; t < NT; ++t) {
        acc[t][0] = _mm512_fmadd_ps(w0, _mm512_loadu_ps(xs[t] + i), acc[t][0]);
        acc[t][1] = _mm512_fmadd_ps(w1, _mm512_loadu_ps(xs[t] + i + 16), acc[t][1]);
      }
    }
    for (; i < n; i += 16) {
      const __mmask16 k = n - i >= 16 ? static_cast<__mmask16>(0xffff)
                                      : static_cast<__mmask16>((1u << (n - i)) - 1);
      const __m512 w0 = Load::LoadPart(w, i, k);
      for (int t = 0; t < NT; ++t) {
        acc[t][0] = _mm512_fmadd_ps(w0, _mm512_maskz_loadu_ps(k, xs[t] + i), acc[t][0]);
      }
    }
    for (int t = 0; t < NT; ++t) out[t] = _mm512_reduce_add_ps(_mm512_add_ps(acc[t][0], acc[t][1]));
  }
};

// ---- Q8_0 / Q4_0 weights x Q8_0 activations -----------------------------------------------

// Signed weights in element order: Values() of one block (256-bit, for an odd last block) and
// Pair() of two consecutive blocks (512-bit, lanes 0-31 block b, 32-63 block b + 1).
struct UnpackQ8_0 {
  using Block = BlockQ8_0;
  static __m256i Values(const Block& blk) { return Load256(blk.qs); }
  static __m512i Pair(const Block& b0, const Block& b1) {
    return Join(Load256(b0.qs), Load256(b1.qs));
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
  static __m512i Pair(const Block& b0, const Block& b1) {
    // 128-bit lanes [b0, b1, b0 >> 4, b1 >> 4] reordered to [b0 lo, b0 hi, b1 lo, b1 hi]: one
    // shift, mask and lane shuffle for both blocks.
    const __m256i raw = _mm256_set_m128i(_mm_loadu_si128(reinterpret_cast<const __m128i*>(b1.qs)),
                                         _mm_loadu_si128(reinterpret_cast<const __m128i*>(b0.qs)));
    const __m512i both = Join(raw, _mm256_srli_epi16(raw, 4));
    const __m512i q = _mm512_and_si512(_mm512_shuffle_i64x2(both, both, _MM_SHUFFLE(3, 1, 2, 0)),
                                       _mm512_set1_epi8(0x0f));
    return _mm512_sub_epi8(q, _mm512_set1_epi8(8));
  }
};

template <typename Unpack>
struct Block32Kernel {
  template <int NT>
  static void Run(int64_t n, const void* w_void, const void* x, size_t stride, float* out) {
    const auto* w = static_cast<const typename Unpack::Block*>(w_void);
    const int64_t nb = n / kQK8_0;
    const BlockQ8_0* xs[NT];
    __m512 acc[NT];
    for (int t = 0; t < NT; ++t) {
      xs[t] = RowAt<BlockQ8_0>(x, stride, t);
      acc[t] = _mm512_setzero_ps();
    }
    const __m512i zero = _mm512_setzero_si512();
    int64_t b = 0;
    for (; b + 2 <= nb; b += 2) {
      const __m512i q = Unpack::Pair(w[b], w[b + 1]);
      const __m512i abs_q = _mm512_abs_epi8(q);
      const __mmask64 neg = _mm512_movepi8_mask(q);
      const float dw0 = F16(w[b].d), dw1 = F16(w[b + 1].d);
      for (int t = 0; t < NT; ++t) {
        const __m512i a = Join(Load256(xs[t][b].qs), Load256(xs[t][b + 1].qs));
        const __m512i signed_a = _mm512_mask_sub_epi8(a, neg, zero, a);
        const __m512 p = _mm512_cvtepi32_ps(_mm512_dpbusd_epi32(zero, abs_q, signed_a));
        // Lanes 0-7 hold block b's partial sums, 8-15 block b + 1's.
        const __m512 d = _mm512_mask_blend_ps(0xff00, _mm512_set1_ps(dw0 * F16(xs[t][b].d)),
                                              _mm512_set1_ps(dw1 * F16(xs[t][b + 1].d)));
        acc[t] = _mm512_fmadd_ps(d, p, acc[t]);
      }
    }
    float tail[NT] = {};
    if (b < nb) {  // odd block count: the last block on 256-bit VNNI
      const __m256i q = Unpack::Values(w[b]);
      const __m256i abs_q = _mm256_sign_epi8(q, q);
      const float dw = F16(w[b].d);
      for (int t = 0; t < NT; ++t) {
        const __m256i a = _mm256_sign_epi8(Load256(xs[t][b].qs), q);
        const __m256i p = _mm256_dpbusd_epi32(_mm256_setzero_si256(), abs_q, a);
        tail[t] = dw * F16(xs[t][b].d) * HsumPs256(_mm256_cvtepi32_ps(p));
      }
    }
    for (int t = 0; t < NT; ++t) out[t] = _mm512_reduce_add_ps(acc[t]) + tail[t];
  }
};

// ---- K-quants x Q8_K activations ----------------------------------------------------------

// Int16 lanes 0-15 = s0, 16-31 = s1: scales of the two 32-element halves of a 64-element group.
inline __m512i ScalePair(int s0, int s1) {
  return _mm512_mask_blend_epi16(0xffff0000u, _mm512_set1_epi16(static_cast<int16_t>(s0)),
                                 _mm512_set1_epi16(static_cast<int16_t>(s1)));
}

template <typename Block, bool kHasHighBit>
struct Q45KKernel {
  template <int NT>
  static void Run(int64_t n, const void* w_void, const void* x, size_t stride, float* out) {
    const auto* w = static_cast<const Block*>(w_void);
    const BlockQ8_K* xs[NT];
    __m512 acc[NT];
    __m256 acc_mins[NT];
    for (int t = 0; t < NT; ++t) {
      xs[t] = RowAt<BlockQ8_K>(x, stride, t);
      acc[t] = _mm512_setzero_ps();
      acc_mins[t] = _mm256_setzero_ps();
    }
    const __m512i m4 = _mm512_set1_epi8(0x0f);
    const __m512i one = _mm512_set1_epi8(1);
    for (int64_t b = 0; b < n / kQK_K; ++b) {
      uint8_t sc[8], m[8];
      UnpackScalesMinsK4(w[b].scales, sc, m);
      __m512i sumi[NT];
      for (int t = 0; t < NT; ++t) sumi[t] = _mm512_setzero_si512();
      // Fifth bits: lanes 0-31 see qh, lanes 32-63 see qh >> 1, so bit 0 of each byte is the
      // bit of sub-block 2g (low half) and 2g + 1 (high half) after shifting right by 2g.
      __m512i h = _mm512_setzero_si512();
      if constexpr (kHasHighBit) {
        const __m256i qh = Load256(w[b].qh);
        h = Join(qh, _mm256_srli_epi16(qh, 1));
      }
      for (int g = 0; g < 4; ++g) {
        const __m256i packed = Load256(w[b].qs + 32 * g);
        // [low nibbles = sub-block 2g | high nibbles = sub-block 2g + 1]: the order of the 64
        // activations of this group.
        __m512i q = _mm512_and_si512(Join(packed, _mm256_srli_epi16(packed, 4)), m4);
        if constexpr (kHasHighBit) {
          q = _mm512_or_si512(q, _mm512_slli_epi16(_mm512_and_si512(h, one), 4));
          h = _mm512_srli_epi16(h, 2);
        }
        const __m512i scv = ScalePair(sc[2 * g], sc[2 * g + 1]);
        for (int t = 0; t < NT; ++t) {
          const __m512i a = _mm512_loadu_si512(xs[t][b].qs + 64 * g);
          sumi[t] = _mm512_dpwssd_epi32(sumi[t], _mm512_maddubs_epi16(q, a), scv);
        }
      }
      // mins16[k] = m[k / 2] pairs each 16-element bsum with its 32-element sub-block's min.
      const __m128i m8 = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(m));
      const __m256i mins16 = _mm256_cvtepu8_epi16(_mm_unpacklo_epi8(m8, m8));
      const float dw = F16(w[b].d), dmin = F16(w[b].dmin);
      for (int t = 0; t < NT; ++t) {
        const float dx = xs[t][b].d;
        acc[t] = _mm512_fmadd_ps(_mm512_set1_ps(dw * dx), _mm512_cvtepi32_ps(sumi[t]), acc[t]);
        const __m256i mins = _mm256_madd_epi16(Load256(xs[t][b].bsums), mins16);
        acc_mins[t] =
            _mm256_fmadd_ps(_mm256_set1_ps(dmin * dx), _mm256_cvtepi32_ps(mins), acc_mins[t]);
      }
    }
    for (int t = 0; t < NT; ++t) out[t] = _mm512_reduce_add_ps(acc[t]) - HsumPs256(acc_mins[t]);
  }
};

// Int16 lane i of a 64-element Q6_K group belongs to sub-block base + i / 8.
alignas(64) constexpr int16_t kQuarterOfLane[32] = {0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1,
                                                    2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3};

struct Q6KKernel {
  template <int NT>
  static void Run(int64_t n, const void* w_void, const void* x, size_t stride, float* out) {
    const auto* w = static_cast<const BlockQ6_K*>(w_void);
    const BlockQ8_K* xs[NT];
    __m512 acc[NT];
    __m256 acc_off[NT];
    for (int t = 0; t < NT; ++t) {
      xs[t] = RowAt<BlockQ8_K>(x, stride, t);
      acc[t] = _mm512_setzero_ps();
      acc_off[t] = _mm256_setzero_ps();
    }
    const __m512i m4 = _mm512_set1_epi8(0x0f);
    const __m512i m30 = _mm512_set1_epi8(0x30);
    const __m512i lane_quarter = _mm512_load_si512(kQuarterOfLane);
    for (int64_t b = 0; b < n / kQK_K; ++b) {
      const __m256i sc16 =
          _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(w[b].scales)));
      const __m512i sc16_wide = _mm512_castsi256_si512(sc16);  // only lanes 0-15 are indexed
      __m512i sumi[NT];
      for (int t = 0; t < NT; ++t) sumi[t] = _mm512_setzero_si512();
      for (int half = 0; half < 2; ++half) {
        const __m512i ql = _mm512_loadu_si512(w[b].ql + 64 * half);
        const __m256i hh = Load256(w[b].qh + 32 * half);
        // Elements 0-63 of the half: low nibbles of ql[0, 64) with qh bits 0-1 (first 32) and
        // bits 2-3 (next 32) moved to bits 4-5. Elements 64-127: high nibbles, bits 4-5, 6-7.
        const __m512i h01 = Join(_mm256_slli_epi16(hh, 4), _mm256_slli_epi16(hh, 2));
        const __m512i h23 = Join(hh, _mm256_srli_epi16(hh, 2));
        const __m512i q01 = _mm512_or_si512(_mm512_and_si512(ql, m4), _mm512_and_si512(h01, m30));
        const __m512i q23 = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(ql, 4), m4),
                                            _mm512_and_si512(h23, m30));
        const __m512i base = _mm512_set1_epi16(static_cast<int16_t>(8 * half));
        const __m512i idx01 = _mm512_add_epi16(lane_quarter, base);
        const __m512i idx23 = _mm512_add_epi16(idx01, _mm512_set1_epi16(4));
        const __m512i sc01 = _mm512_permutexvar_epi16(idx01, sc16_wide);
        const __m512i sc23 = _mm512_permutexvar_epi16(idx23, sc16_wide);
        for (int t = 0; t < NT; ++t) {
          const int8_t* a = xs[t][b].qs + 128 * half;
          sumi[t] =
              _mm512_dpwssd_epi32(sumi[t], _mm512_maddubs_epi16(q01, _mm512_loadu_si512(a)), sc01);
          sumi[t] = _mm512_dpwssd_epi32(
              sumi[t], _mm512_maddubs_epi16(q23, _mm512_loadu_si512(a + 64)), sc23);
        }
      }
      // q was used unsigned: the -32 offset is 32 * sum_k sc[k] * bsums[k], applied below.
      const float dw = F16(w[b].d);
      for (int t = 0; t < NT; ++t) {
        const __m256 d = _mm256_set1_ps(dw * xs[t][b].d);
        acc[t] =
            _mm512_fmadd_ps(_mm512_set1_ps(dw * xs[t][b].d), _mm512_cvtepi32_ps(sumi[t]), acc[t]);
        const __m256i off = _mm256_madd_epi16(Load256(xs[t][b].bsums), sc16);
        acc_off[t] = _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(off), acc_off[t]);
      }
    }
    for (int t = 0; t < NT; ++t) {
      out[t] = _mm512_reduce_add_ps(acc[t]) - 32.0f * HsumPs256(acc_off[t]);
    }
  }
};

}  // namespace

IsaKernels Avx512Kernels() {
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
