// GGUF tensor element types: ids as stored in files, block geometry, and names.
// Block layouts follow the published ggml formats; dequantisation lives in dequantize.h.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace cachewire::gguf {

// Values are the on-disk ggml type ids.
enum class TensorType : uint32_t {
  kF32 = 0,
  kF16 = 1,
  kQ4_0 = 2,
  kQ8_0 = 8,
  kQ4_K = 12,
  kQ5_K = 13,
  kQ6_K = 14,
  kBF16 = 30,
};

struct TensorTypeTraits {
  std::string_view name;  // "F32", "Q4_K", ...
  int64_t block_elems;    // elements per block (1 for float types)
  size_t block_bytes;     // bytes per block
};

// Traits of a supported type, or nullopt for an id this project does not read.
std::optional<TensorTypeTraits> TraitsOf(uint32_t type_id);

// "Q4_K" etc. for a supported type, "?" otherwise.
std::string_view TensorTypeName(TensorType type);

// Bytes of a row of `n_elems` elements; nullopt if n_elems is not a whole number of blocks.
std::optional<size_t> RowBytes(TensorType type, int64_t n_elems);

}  // namespace cachewire::gguf
