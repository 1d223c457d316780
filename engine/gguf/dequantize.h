// Dequantisation of GGUF tensor rows to f32, and the f16 / bf16 scalar conversions it rests on.
// The CPU reference for every later kernel: simple loops that follow the ggml block layouts
// (tensor_type.cc lists them) and compute in f32 in the same order as ggml does.
#pragma once

#include <cstdint>
#include <span>

#include "absl/status/status.h"
#include "engine/gguf/tensor_type.h"

namespace cachewire::gguf {

// IEEE binary16 <-> f32. F32ToF16 rounds to nearest even; NaN stays NaN, overflow gives inf.
float F16ToF32(uint16_t h);
uint16_t F32ToF16(float f);
// bfloat16 (the top 16 bits of an f32) <-> f32. F32ToBF16 rounds to nearest even.
float BF16ToF32(uint16_t b);
uint16_t F32ToBF16(float f);

// Dequantises `n_elems` elements starting at `src` into dst[0, n_elems).
// `src` must hold RowBytes(type, n_elems) bytes. InvalidArgument when the type is unsupported
// or n_elems is negative or not a whole number of blocks; dst is untouched then.
absl::Status DequantizeRow(TensorType type, const uint8_t* src, float* dst, int64_t n_elems);

// Same with sizes checked: `src.size()` must be exactly the bytes of dst.size() elements.
absl::Status Dequantize(TensorType type, std::span<const uint8_t> src, std::span<float> dst);

}  // namespace cachewire::gguf
