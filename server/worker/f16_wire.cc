// f32 <-> f16 for summary chunks (see f16_wire.h). Decoding reuses the kernels' exact
// Fp16ToFp32; encoding is written here because only the wire needs it.
#include "server/worker/f16_wire.h"

#include <cmath>
#include <cstring>

#include "kernels/quant_blocks.h"

namespace cachewire::server::worker {

uint16_t Fp32ToFp16(float value) {
  uint32_t bits;
  std::memcpy(&bits, &value, sizeof bits);
  const auto sign = static_cast<uint16_t>((bits >> 16) & 0x8000u);
  const uint32_t magnitude = bits & 0x7fffffffu;
  if (magnitude >= 0x7f800000u) {  // infinity, or NaN (kept quiet and non-zero)
    return sign | 0x7c00u | (magnitude > 0x7f800000u ? 0x0200u : 0u);
  }
  // 65520 is halfway between 65504 (the largest f16) and 65536: ties go to the even
  // mantissa, which is the overflow.
  if (magnitude >= 0x477ff000u) return sign | 0x7c00u;
  if (magnitude < 0x38800000u) {  // below 2^-14: an f16 subnormal (or zero)
    float a;
    std::memcpy(&a, &magnitude, sizeof a);
    // Subnormal units are 2^-24; scaling by a power of two is exact, and nearbyint rounds to
    // even in the default mode. 0x400 (a carry into the exponent) is the right encoding too.
    return sign | static_cast<uint16_t>(std::nearbyint(a * 16777216.0f));
  }
  const uint32_t exponent = (magnitude >> 23) - 112;  // rebias 127 -> 15
  const uint32_t mantissa = magnitude & 0x7fffffu;
  uint32_t half = (exponent << 10) | (mantissa >> 13);
  const uint32_t dropped = mantissa & 0x1fffu;
  if (dropped > 0x1000u || (dropped == 0x1000u && (half & 1u))) ++half;  // may carry: fine
  return sign | static_cast<uint16_t>(half);
}

int64_t AppendF16(std::span<const float> values, std::string* out) {
  int64_t first_bad = -1;
  out->reserve(out->size() + 2 * values.size());
  for (size_t i = 0; i < values.size(); ++i) {
    const uint16_t h = Fp32ToFp16(values[i]);
    if (first_bad < 0 && (h & 0x7c00u) == 0x7c00u) first_bad = static_cast<int64_t>(i);
    out->push_back(static_cast<char>(h & 0xffu));
    out->push_back(static_cast<char>(h >> 8));
  }
  return first_bad;
}

int64_t DecodeF16(std::string_view bytes, float* out) {
  int64_t first_bad = -1;
  const size_t n = bytes.size() / 2;
  for (size_t i = 0; i < n; ++i) {
    const auto lo = static_cast<uint8_t>(bytes[2 * i]);
    const auto hi = static_cast<uint8_t>(bytes[2 * i + 1]);
    const uint16_t h = static_cast<uint16_t>(lo | (hi << 8));
    out[i] = kernels::Fp16ToFp32(h);
    if (first_bad < 0 && (h & 0x7c00u) == 0x7c00u) first_bad = static_cast<int64_t>(i);
  }
  return first_bad;
}

}  // namespace cachewire::server::worker
