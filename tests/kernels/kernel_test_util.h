// Shared by the CPU kernel tests: random weight rows of every GGUF type, random activations, and
// the double-precision reference built on engine/gguf's DequantizeRow (the independent
// reference the kernels are checked against).
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>
#include <vector>

#include "engine/gguf/dequantize.h"
#include "engine/gguf/tensor_type.h"
#include "gtest/gtest.h"
#include "kernels/dot.h"
#include "kernels/quant_blocks.h"

namespace cachewire::kernels::testing {

inline constexpr gguf::TensorType kAllTypes[] = {
    gguf::TensorType::kF32,  gguf::TensorType::kF16,  gguf::TensorType::kBF16,
    gguf::TensorType::kQ8_0, gguf::TensorType::kQ4_0, gguf::TensorType::kQ4_K,
    gguf::TensorType::kQ5_K, gguf::TensorType::kQ6_K,
};

inline int64_t BlockElems(gguf::TensorType type) {
  return gguf::TraitsOf(static_cast<uint32_t>(type))->block_elems;
}

// `n_rows` rows of `n` elements: float types hold values in [-1, 1]; quantised types hold random
// bytes (every bit pattern of qs / qh / scales is a valid block) with f16 super-scales set to
// sane magnitudes so the dequantised values stay around [-1, 1].
inline std::vector<uint8_t> RandomWeights(gguf::TensorType type, int64_t n_rows, int64_t n,
                                          std::mt19937& rng) {
  const size_t row_bytes = *gguf::RowBytes(type, n);
  std::vector<uint8_t> w(row_bytes * static_cast<size_t>(n_rows));
  std::uniform_int_distribution<int> byte(0, 255);
  for (uint8_t& b : w) b = static_cast<uint8_t>(byte(rng));
  std::uniform_real_distribution<float> unit(-1.0f, 1.0f);
  auto scale = [&](float lo, float hi) {
    return gguf::F32ToF16(std::uniform_real_distribution<float>(lo, hi)(rng));
  };
  const size_t n_elems = static_cast<size_t>(n_rows * n);
  auto set_d = [&](auto* blocks, size_t count, float lo, float hi) {
    for (size_t i = 0; i < count; ++i) blocks[i].d = scale(lo, hi);
  };
  switch (type) {
    case gguf::TensorType::kF32:
      for (size_t i = 0; i < n_elems; ++i) {
        const float v = unit(rng);
        std::memcpy(w.data() + 4 * i, &v, 4);
      }
      break;
    case gguf::TensorType::kF16:
    case gguf::TensorType::kBF16:
      for (size_t i = 0; i < n_elems; ++i) {
        const float v = unit(rng);
        const uint16_t h = type == gguf::TensorType::kF16 ? gguf::F32ToF16(v) : gguf::F32ToBF16(v);
        std::memcpy(w.data() + 2 * i, &h, 2);
      }
      break;
    case gguf::TensorType::kQ8_0:
      set_d(reinterpret_cast<BlockQ8_0*>(w.data()), n_elems / 32, 1.0f / 256, 1.0f / 64);
      break;
    case gguf::TensorType::kQ4_0:
      set_d(reinterpret_cast<BlockQ4_0*>(w.data()), n_elems / 32, 1.0f / 16, 1.0f / 4);
      break;
    case gguf::TensorType::kQ4_K: {
      auto* blk = reinterpret_cast<BlockQ4_K*>(w.data());
      set_d(blk, n_elems / 256, 1.0f / 2048, 1.0f / 512);
      for (size_t i = 0; i < n_elems / 256; ++i) blk[i].dmin = scale(1.0f / 4096, 1.0f / 1024);
      break;
    }
    case gguf::TensorType::kQ5_K: {
      auto* blk = reinterpret_cast<BlockQ5_K*>(w.data());
      set_d(blk, n_elems / 256, 1.0f / 4096, 1.0f / 1024);
      for (size_t i = 0; i < n_elems / 256; ++i) blk[i].dmin = scale(1.0f / 4096, 1.0f / 1024);
      break;
    }
    case gguf::TensorType::kQ6_K:
      set_d(reinterpret_cast<BlockQ6_K*>(w.data()), n_elems / 256, 1.0f / 8192, 1.0f / 2048);
      break;
  }
  return w;
}

// Activations around [-1, 1] with occasional outliers, so block scales vary.
inline std::vector<float> RandomActivations(int64_t count, std::mt19937& rng) {
  std::normal_distribution<float> normal(0.0f, 0.5f);
  std::uniform_int_distribution<int> pick(0, 99);
  std::vector<float> x(static_cast<size_t>(count));
  for (float& v : x) v = pick(rng) == 0 ? 8.0f * normal(rng) : normal(rng);
  return x;
}

// f32 values of one activation row in `format` (the quantised values the kernel really used).
inline std::vector<float> DequantizeActivations(ActFormat format, const void* act, int64_t n) {
  std::vector<float> out(static_cast<size_t>(n));
  if (format == ActFormat::kF32) {
    std::memcpy(out.data(), act, static_cast<size_t>(n) * sizeof(float));
  } else if (format == ActFormat::kQ8_0) {  // Q8_0 activations are GGUF Q8_0 blocks
    const absl::Status s = gguf::DequantizeRow(gguf::TensorType::kQ8_0,
                                               static_cast<const uint8_t*>(act), out.data(), n);
    EXPECT_TRUE(s.ok()) << s;
  } else {
    const auto* blk = static_cast<const BlockQ8_K*>(act);
    for (int64_t i = 0; i < n; ++i) out[i] = blk[i / kQK_K].d * blk[i / kQK_K].qs[i % kQK_K];
  }
  return out;
}

struct RefDot {
  double value = 0;
  double abs_terms = 0;  // sum of |w_i * x_i|: the scale of the rounding error allowed
};

inline RefDot ReferenceDot(const std::vector<float>& w, const std::vector<float>& x) {
  RefDot r;
  for (size_t i = 0; i < w.size(); ++i) {
    const double term = static_cast<double>(w[i]) * static_cast<double>(x[i]);
    r.value += term;
    r.abs_terms += std::fabs(term);
  }
  return r;
}

// Row `row` of `w` dequantised by the reference.
inline std::vector<float> DequantizeWeightRow(gguf::TensorType type, const std::vector<uint8_t>& w,
                                              int64_t row, int64_t n) {
  std::vector<float> out(static_cast<size_t>(n));
  const size_t row_bytes = *gguf::RowBytes(type, n);
  const absl::Status s =
      gguf::DequantizeRow(type, w.data() + row_bytes * static_cast<size_t>(row), out.data(), n);
  EXPECT_TRUE(s.ok()) << s;
  return out;
}

// Bound on |x - dequantised q| of a quantised activation, relative to its block's amax: half a
// step of d = amax / 127, plus (Q8_0 only) the f16 rounding of d times |q| <= 127.
inline double QuantStepBound(ActFormat format) {
  if (format == ActFormat::kF32) return 0.0;
  const double f16_rounding = format == ActFormat::kQ8_0 ? 1.0 / 2048 : 0.0;
  return (0.5 / 127 + f16_rounding) * 1.0001;
}

// Elements per block of an activation format.
inline int64_t ActBlock(ActFormat format) {
  return format == ActFormat::kQ8_0 ? kQK8_0 : format == ActFormat::kQ8_K ? kQK_K : 1;
}

}  // namespace cachewire::kernels::testing
