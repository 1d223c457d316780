// Row dequantisation for the GGUF tensor types of tensor_type.h, plus f16/bf16 conversions.
// Plain scalar loops: this is the reference the kernels are tested against, not the fast path.
// Arithmetic is f32 in ggml's order (d * scale first, then * q, then - min) so results match
// ggml and the numpy reference (tools/reference/dequant_reference.py) to the last bit unless the
// compiler contracts to FMA.
#include "engine/gguf/dequantize.h"

#include <bit>
#include <cstring>

#include "engine/gguf/str_cat.h"

namespace cachewire::gguf {

// ---------------------------------------------------------------------------------------------
// Scalar conversions
// ---------------------------------------------------------------------------------------------

float F16ToF32(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  const uint32_t exp = (h >> 10) & 0x1Fu;
  uint32_t mant = h & 0x3FFu;
  uint32_t bits = 0;
  if (exp == 0x1F) {  // inf / NaN: keep the payload
    bits = sign | 0x7F800000u | (mant << 13);
  } else if (exp != 0) {  // normal: rebias 15 -> 127
    bits = sign | ((exp + 112) << 23) | (mant << 13);
  } else if (mant == 0) {  // +-0
    bits = sign;
  } else {  // subnormal mant * 2^-24: normalise into an f32 normal
    uint32_t shifts = 0;
    while ((mant & 0x400u) == 0) {
      mant <<= 1;
      ++shifts;
    }
    bits = sign | ((113 - shifts) << 23) | ((mant & 0x3FFu) << 13);
  }
  return std::bit_cast<float>(bits);
}

uint16_t F32ToF16(float f) {
  // Round-to-nearest-even via integer rounding for normals and an FPU add for subnormals
  // (the "denorm magic" trick: adding 0.5 leaves the f16 subnormal in the low mantissa bits).
  constexpr uint32_t kF32Inf = 255u << 23;
  constexpr uint32_t kF16Overflow = (127u + 16) << 23;  // 65536: everything above is inf/NaN
  constexpr uint32_t kDenormMagic = ((127u - 15) + (23 - 10) + 1) << 23;
  uint32_t u = std::bit_cast<uint32_t>(f);
  const uint32_t sign = u & 0x80000000u;
  u ^= sign;
  uint16_t out = 0;
  if (u >= kF16Overflow) {
    out = u > kF32Inf ? 0x7E00 : 0x7C00;
  } else if (u < (113u << 23)) {  // below 2^-14: f16 subnormal or zero
    const float sum = std::bit_cast<float>(u) + std::bit_cast<float>(kDenormMagic);
    out = static_cast<uint16_t>(std::bit_cast<uint32_t>(sum) - kDenormMagic);
  } else {
    const uint32_t mant_odd = (u >> 13) & 1u;
    u += (static_cast<uint32_t>(15 - 127) << 23) + 0xFFFu + mant_odd;
    out = static_cast<uint16_t>(u >> 13);
  }
  return static_cast<uint16_t>(out | (sign >> 16));
}

float BF16ToF32(uint16_t b) { return std::bit_cast<float>(static_cast<uint32_t>(b) << 16); }

uint16_t F32ToBF16(float f) {
  const uint32_t u = std::bit_cast<uint32_t>(f);
  if ((u & 0x7FFFFFFFu) > 0x7F800000u) return static_cast<uint16_t>((u >> 16) | 0x40u);  // qNaN
  return static_cast<uint16_t>((u + 0x7FFFu + ((u >> 16) & 1u)) >> 16);
}

// ---------------------------------------------------------------------------------------------
// Blocks. Each function dequantises n_blocks whole blocks from src into dst.
// ---------------------------------------------------------------------------------------------

namespace {

uint16_t LoadU16(const uint8_t* p) {
  uint16_t v;
  std::memcpy(&v, p, 2);
  return v;
}

// Q4_0, 18 B -> 32 elems: f16 d | qs[16]; y[j] = (lo(qs[j]) - 8) * d, y[j + 16] = (hi - 8) * d.
void Q4_0(const uint8_t* src, float* y, int64_t n_blocks) {
  for (int64_t b = 0; b < n_blocks; ++b, src += 18, y += 32) {
    const float d = F16ToF32(LoadU16(src));
    const uint8_t* qs = src + 2;
    for (int j = 0; j < 16; ++j) {
      y[j] = static_cast<float>((qs[j] & 0x0F) - 8) * d;
      y[j + 16] = static_cast<float>((qs[j] >> 4) - 8) * d;
    }
  }
}

// Q8_0, 34 B -> 32 elems: f16 d | int8 qs[32]; y = qs * d.
void Q8_0(const uint8_t* src, float* y, int64_t n_blocks) {
  for (int64_t b = 0; b < n_blocks; ++b, src += 34, y += 32) {
    const float d = F16ToF32(LoadU16(src));
    for (int j = 0; j < 32; ++j) y[j] = static_cast<float>(static_cast<int8_t>(src[2 + j])) * d;
  }
}

// The K-quants' 12 scale bytes pack 8 (scale, min) pairs of 6 bits each:
//   j < 4: scale = q[j] & 63,                          min = q[j + 4] & 63
//   j >= 4: scale = (q[j + 4] & 15) | (q[j - 4] >> 6) << 4, min = (q[j + 4] >> 4) | (q[j] >> 6) <<
//   4
void ScaleMinK4(int j, const uint8_t* q, uint8_t* scale, uint8_t* min) {
  if (j < 4) {
    *scale = q[j] & 63;
    *min = q[j + 4] & 63;
  } else {
    *scale = static_cast<uint8_t>((q[j + 4] & 0x0F) | ((q[j - 4] >> 6) << 4));
    *min = static_cast<uint8_t>((q[j + 4] >> 4) | ((q[j] >> 6) << 4));
  }
}

// Q4_K, 144 B -> 256 elems: f16 d | f16 dmin | scales[12] | qs[128].
// Four chunks of 64 elems share 32 bytes of qs: low nibbles with sub-block 2c, high with 2c+1;
// y = d * scale * q - dmin * min.
void Q4_K(const uint8_t* src, float* y, int64_t n_blocks) {
  for (int64_t b = 0; b < n_blocks; ++b, src += 144) {
    const float d = F16ToF32(LoadU16(src));
    const float dmin = F16ToF32(LoadU16(src + 2));
    const uint8_t* scales = src + 4;
    const uint8_t* q = src + 16;
    for (int c = 0; c < 4; ++c, q += 32) {
      uint8_t sc = 0, m = 0;
      ScaleMinK4(2 * c, scales, &sc, &m);
      const float d1 = d * sc, m1 = dmin * m;
      ScaleMinK4(2 * c + 1, scales, &sc, &m);
      const float d2 = d * sc, m2 = dmin * m;
      for (int l = 0; l < 32; ++l) *y++ = d1 * static_cast<float>(q[l] & 0x0F) - m1;
      for (int l = 0; l < 32; ++l) *y++ = d2 * static_cast<float>(q[l] >> 4) - m2;
    }
  }
}

// Q5_K, 176 B -> 256 elems: f16 d | f16 dmin | scales[12] | qh[32] | qs[128].
// As Q4_K, with a fifth bit per element from qh: chunk c uses bits 2c (low) and 2c+1 (high).
void Q5_K(const uint8_t* src, float* y, int64_t n_blocks) {
  for (int64_t b = 0; b < n_blocks; ++b, src += 176) {
    const float d = F16ToF32(LoadU16(src));
    const float dmin = F16ToF32(LoadU16(src + 2));
    const uint8_t* scales = src + 4;
    const uint8_t* qh = src + 16;
    const uint8_t* ql = src + 48;
    for (int c = 0; c < 4; ++c, ql += 32) {
      uint8_t sc = 0, m = 0;
      ScaleMinK4(2 * c, scales, &sc, &m);
      const float d1 = d * sc, m1 = dmin * m;
      ScaleMinK4(2 * c + 1, scales, &sc, &m);
      const float d2 = d * sc, m2 = dmin * m;
      const uint8_t u1 = static_cast<uint8_t>(1u << (2 * c)),
                    u2 = static_cast<uint8_t>(2u << (2 * c));
      for (int l = 0; l < 32; ++l) {
        *y++ = d1 * static_cast<float>((ql[l] & 0x0F) + ((qh[l] & u1) ? 16 : 0)) - m1;
      }
      for (int l = 0; l < 32; ++l) {
        *y++ = d2 * static_cast<float>((ql[l] >> 4) + ((qh[l] & u2) ? 16 : 0)) - m2;
      }
    }
  }
}

// Q6_K, 210 B -> 256 elems: ql[128] | qh[64] | int8 scales[16] | f16 d.
// Two halves of 128 elems, each from 64 B of ql, 32 B of qh and 8 scales; within a half,
// element l + 32k (k = 0..3) takes nibble (k >= 2 ? high : low) of ql[l + 32 (k & 1)] and
// bits 2k..2k+1 of qh[l]; q is 6 bits minus 32; scale index = l / 16 + 2k.
void Q6_K(const uint8_t* src, float* y, int64_t n_blocks) {
  for (int64_t b = 0; b < n_blocks; ++b, src += 210) {
    const float d = F16ToF32(LoadU16(src + 208));
    const uint8_t* ql = src;
    const uint8_t* qh = src + 128;
    const int8_t* sc = reinterpret_cast<const int8_t*>(src + 192);
    for (int half = 0; half < 2; ++half, y += 128, ql += 64, qh += 32, sc += 8) {
      for (int l = 0; l < 32; ++l) {
        const int is = l / 16;
        const int q1 = ((ql[l] & 0x0F) | (((qh[l] >> 0) & 3) << 4)) - 32;
        const int q2 = ((ql[l + 32] & 0x0F) | (((qh[l] >> 2) & 3) << 4)) - 32;
        const int q3 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
        const int q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
        y[l + 0] = d * static_cast<float>(sc[is + 0]) * static_cast<float>(q1);
        y[l + 32] = d * static_cast<float>(sc[is + 2]) * static_cast<float>(q2);
        y[l + 64] = d * static_cast<float>(sc[is + 4]) * static_cast<float>(q3);
        y[l + 96] = d * static_cast<float>(sc[is + 6]) * static_cast<float>(q4);
      }
    }
  }
}

}  // namespace

absl::Status DequantizeRow(TensorType type, const uint8_t* src, float* dst, int64_t n_elems) {
  const std::optional<TensorTypeTraits> traits = TraitsOf(static_cast<uint32_t>(type));
  if (!traits) {
    return absl::InvalidArgumentError(
        Cat("DequantizeRow: unsupported tensor type id ", static_cast<uint32_t>(type)));
  }
  if (n_elems < 0 || n_elems % traits->block_elems != 0) {
    return absl::InvalidArgumentError(Cat("DequantizeRow: ", n_elems, " elements is not ",
                                          "a whole number of ", traits->name, " blocks (",
                                          traits->block_elems, " each)"));
  }
  const int64_t n_blocks = n_elems / traits->block_elems;
  switch (type) {
    case TensorType::kF32:
      if (n_elems > 0) std::memcpy(dst, src, static_cast<size_t>(n_elems) * 4);
      break;
    case TensorType::kF16:
      for (int64_t i = 0; i < n_elems; ++i) dst[i] = F16ToF32(LoadU16(src + 2 * i));
      break;
    case TensorType::kBF16:
      for (int64_t i = 0; i < n_elems; ++i) dst[i] = BF16ToF32(LoadU16(src + 2 * i));
      break;
    case TensorType::kQ4_0: Q4_0(src, dst, n_blocks); break;
    case TensorType::kQ8_0: Q8_0(src, dst, n_blocks); break;
    case TensorType::kQ4_K: Q4_K(src, dst, n_blocks); break;
    case TensorType::kQ5_K: Q5_K(src, dst, n_blocks); break;
    case TensorType::kQ6_K: Q6_K(src, dst, n_blocks); break;
  }
  return absl::OkStatus();
}

absl::Status Dequantize(TensorType type, std::span<const uint8_t> src, std::span<float> dst) {
  const int64_t n_elems = static_cast<int64_t>(dst.size());
  const std::optional<size_t> need = RowBytes(type, n_elems);
  if (need && *need != src.size()) {
    return absl::InvalidArgumentError(Cat("Dequantize: ", n_elems, " ", TensorTypeName(type),
                                          " elements need ", *need, " bytes, got ", src.size()));
  }
  return DequantizeRow(type, src.data(), dst.data(), n_elems);
}

}  // namespace cachewire::gguf
