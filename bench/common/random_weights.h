// Random but valid GGUF weight matrices for the benchmarks: float types hold values in [-1, 1],
// quantised types random bytes (every bit pattern of quants and sub-scales is a valid block)
// with small f16 super-scales, so products stay finite.
#pragma once

#include <cstdint>
#include <cstring>
#include <random>
#include <vector>

#include "engine/gguf/dequantize.h"
#include "engine/gguf/tensor_type.h"

namespace cachewire::bench {

// (n_out, n_in) rows of `type`.
inline std::vector<uint8_t> MakeWeights(gguf::TensorType type, int64_t n_out, int64_t n_in,
                                        std::mt19937& rng) {
  const size_t row = *gguf::RowBytes(type, n_in);
  std::vector<uint8_t> w(row * static_cast<size_t>(n_out));
  std::uniform_int_distribution<uint32_t> bits;
  for (size_t i = 0; i + 4 <= w.size(); i += 4) {
    const uint32_t v = bits(rng);
    std::memcpy(w.data() + i, &v, 4);
  }
  const uint16_t scale = gguf::F32ToF16(1.0f / 1024);
  auto put16 = [&](size_t off, uint16_t v) { std::memcpy(w.data() + off, &v, 2); };
  const size_t n = static_cast<size_t>(n_in * n_out);
  std::uniform_real_distribution<float> unit(-1.0f, 1.0f);
  switch (type) {
    case gguf::TensorType::kF32:
      for (size_t i = 0; i < n; ++i) {
        const float v = unit(rng);
        std::memcpy(w.data() + 4 * i, &v, 4);
      }
      break;
    case gguf::TensorType::kF16:
      for (size_t i = 0; i < n; ++i) put16(2 * i, gguf::F32ToF16(unit(rng)));
      break;
    case gguf::TensorType::kBF16:
      for (size_t i = 0; i < n; ++i) put16(2 * i, gguf::F32ToBF16(unit(rng)));
      break;
    case gguf::TensorType::kQ8_0:
    case gguf::TensorType::kQ4_0: {
      const size_t bb = type == gguf::TensorType::kQ8_0 ? 34 : 18;
      for (size_t b = 0; b < n / 32; ++b) put16(b * bb, scale);
      break;
    }
    case gguf::TensorType::kQ4_K:
    case gguf::TensorType::kQ5_K: {
      const size_t bb = type == gguf::TensorType::kQ4_K ? 144 : 176;
      for (size_t b = 0; b < n / 256; ++b) {
        put16(b * bb, scale);
        put16(b * bb + 2, scale);
      }
      break;
    }
    case gguf::TensorType::kQ6_K:
      for (size_t b = 0; b < n / 256; ++b) put16(b * 210 + 208, scale);
      break;
  }
  return w;
}

}  // namespace cachewire::bench
