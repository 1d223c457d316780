// Packed block structs of the GGUF weight types the CPU kernels read, and of the two activation
// formats they multiply against (Q8_0 and Q8_K), plus inline f16 / bf16 decoding.
//
// The structs mirror the on-disk ggml block layouts byte for byte (static_asserts below), so a
// weight row of a mapped GGUF file is read as an array of them. All fields are 1- or 2-byte
// aligned, so a row only has to start on an even address (GGUF aligns tensor data to 32 bytes).
// Q8_K holds a float and is our own activation format, always allocated by the kernels' callers.
#pragma once

#include <cstdint>
#include <cstring>

namespace cachewire::kernels {

// Elements per block.
inline constexpr int64_t kQK8_0 = 32;  // Q8_0 and Q4_0
inline constexpr int64_t kQK_K = 256;  // K-quant superblocks and Q8_K

// ---- weight blocks ------------------------------------------------------------------------

// Q8_0: value = d * qs[i].
struct BlockQ8_0 {
  uint16_t d;  // f16 scale
  int8_t qs[kQK8_0];
};
static_assert(sizeof(BlockQ8_0) == 34);

// Q4_0: value = d * (q - 8); byte k holds element k in its low nibble, element k + 16 in its high.
struct BlockQ4_0 {
  uint16_t d;  // f16 scale
  uint8_t qs[kQK8_0 / 2];
};
static_assert(sizeof(BlockQ4_0) == 18);

// Q4_K: 8 sub-blocks of 32, value = d * sc[j] * q - dmin * m[j]; sc/m are 6-bit, packed in
// `scales` (see UnpackScalesMinsK4). Group g of 64 elements is qs[32g, 32g + 32): low nibbles
// are sub-block 2g, high nibbles sub-block 2g + 1.
struct BlockQ4_K {
  uint16_t d;     // f16 super-scale of the sub-block scales
  uint16_t dmin;  // f16 super-scale of the sub-block mins
  uint8_t scales[12];
  uint8_t qs[kQK_K / 2];
};
static_assert(sizeof(BlockQ4_K) == 144);

// Q5_K: Q4_K plus a fifth bit per element: bit 2g of qh[l] belongs to element l of sub-block
// 2g, bit 2g + 1 to element l of sub-block 2g + 1.
struct BlockQ5_K {
  uint16_t d;
  uint16_t dmin;
  uint8_t scales[12];
  uint8_t qh[kQK_K / 8];
  uint8_t qs[kQK_K / 2];
};
static_assert(sizeof(BlockQ5_K) == 176);

// Q6_K: 16 sub-blocks of 16, value = d * scales[e / 16] * (q - 32), q 6-bit. Each half of 128
// elements uses 64 bytes of ql and 32 of qh: element l (l < 32) takes ql[l] low nibble and qh[l]
// bits 0-1, l + 32 ql[l + 32] low / bits 2-3, l + 64 ql[l] high / bits 4-5, l + 96 ql[l + 32]
// high / bits 6-7.
struct BlockQ6_K {
  uint8_t ql[kQK_K / 2];
  uint8_t qh[kQK_K / 4];
  int8_t scales[kQK_K / 16];
  uint16_t d;
};
static_assert(sizeof(BlockQ6_K) == 210);

// ---- activation blocks --------------------------------------------------------------------
// Q8_0 activations reuse BlockQ8_0. Quantisers keep every q in [-127, 127] (never -128), which
// the sign-trick int8 dots rely on.

// Q8_K: value = d * qs[i]; bsums[k] = sum of qs[16k, 16k + 16), used by the K-quant dots to
// apply the mins (Q4_K, Q5_K) and the -32 offset (Q6_K) once per 16 elements.
struct BlockQ8_K {
  float d;
  int8_t qs[kQK_K];
  int16_t bsums[kQK_K / 16];
};
static_assert(sizeof(BlockQ8_K) == 292);

// ---- scalar helpers -----------------------------------------------------------------------

// These helpers are always inlined: the ISA files include this header under -mavx2 / -mavx512*
// flags, and an out-of-line copy compiled there could be the one the linker keeps for the
// scalar path, which must run on any x86-64.

// IEEE binary16 -> f32, exact (every f16 is an f32). The SIMD files convert with F16C instead.
[[gnu::always_inline]] inline float Fp16ToFp32(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  const uint32_t exp = (h >> 10) & 0x1fu;
  uint32_t mant = h & 0x3ffu;
  uint32_t bits;
  if (exp == 0x1f) {  // inf / NaN
    bits = sign | 0x7f800000u | (mant << 13);
  } else if (exp != 0) {  // normal
    bits = sign | ((exp + 112) << 23) | (mant << 13);
  } else if (mant == 0) {  // signed zero
    bits = sign;
  } else {  // subnormal: renormalise
    int e = -1;
    do {
      ++e;
      mant <<= 1;
    } while ((mant & 0x400u) == 0);
    bits = sign | (static_cast<uint32_t>(112 - e) << 23) | ((mant & 0x3ffu) << 13);
  }
  float f;
  std::memcpy(&f, &bits, sizeof f);
  return f;
}

// bfloat16 is the top half of an f32.
[[gnu::always_inline]] inline float Bf16ToFp32(uint16_t b) {
  const uint32_t bits = static_cast<uint32_t>(b) << 16;
  float f;
  std::memcpy(&f, &bits, sizeof f);
  return f;
}

// Unpacks the 12 packed bytes of Q4_K / Q5_K into 8 six-bit scales and 8 six-bit mins.
// Sub-blocks 0-3 keep scale / min in the low 6 bits of bytes 0-3 / 4-7; sub-blocks 4-7 take
// their low 4 bits from the nibbles of bytes 8-11 and their top 2 bits from the spare top bits
// of bytes 0-3 (scales) and 4-7 (mins). Working on 32-bit words handles 4 sub-blocks at once.
[[gnu::always_inline]] inline void UnpackScalesMinsK4(const uint8_t packed[12], uint8_t sc[8],
                                                      uint8_t m[8]) {
  uint32_t w[3];
  std::memcpy(w, packed, 12);
  const uint32_t sc_lo = w[0] & 0x3f3f3f3fu;
  const uint32_t m_lo = w[1] & 0x3f3f3f3fu;
  const uint32_t sc_hi = (w[2] & 0x0f0f0f0fu) | ((w[0] >> 2) & 0x30303030u);
  const uint32_t m_hi = ((w[2] >> 4) & 0x0f0f0f0fu) | ((w[1] >> 2) & 0x30303030u);
  std::memcpy(sc, &sc_lo, 4);
  std::memcpy(sc + 4, &sc_hi, 4);
  std::memcpy(m, &m_lo, 4);
  std::memcpy(m + 4, &m_hi, 4);
}

}  // namespace cachewire::kernels
