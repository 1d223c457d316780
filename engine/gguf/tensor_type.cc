// Block geometry of the ggml tensor types cachewire reads (see tensor_type.h).
// One table keyed by on-disk id; everything else (row sizes, names) is derived from it.
#include "engine/gguf/tensor_type.h"

namespace cachewire::gguf {
namespace {

struct Row {
  uint32_t id;
  TensorTypeTraits traits;
};

// Sizes per block, from the ggml block structs:
//   Q4_0: f16 d + 16 B nibbles                         -> 18 B / 32 elems
//   Q8_0: f16 d + 32 x int8                            -> 34 B / 32 elems
//   Q4_K: f16 d, f16 dmin, 12 B scales, 128 B nibbles  -> 144 B / 256 elems
//   Q5_K: Q4_K + 32 B high bits                        -> 176 B / 256 elems
//   Q6_K: 128 B ql, 64 B qh, 16 x int8 scales, f16 d   -> 210 B / 256 elems
constexpr Row kTypes[] = {
    {0, {"F32", 1, 4}},       {1, {"F16", 1, 2}},       {2, {"Q4_0", 32, 18}},
    {8, {"Q8_0", 32, 34}},    {12, {"Q4_K", 256, 144}}, {13, {"Q5_K", 256, 176}},
    {14, {"Q6_K", 256, 210}}, {30, {"BF16", 1, 2}},
};

}  // namespace

std::optional<TensorTypeTraits> TraitsOf(uint32_t type_id) {
  for (const Row& row : kTypes) {
    if (row.id == type_id) return row.traits;
  }
  return std::nullopt;
}

std::string_view TensorTypeName(TensorType type) {
  std::optional<TensorTypeTraits> traits = TraitsOf(static_cast<uint32_t>(type));
  return traits ? traits->name : std::string_view("?");
}

std::optional<size_t> RowBytes(TensorType type, int64_t n_elems) {
  std::optional<TensorTypeTraits> traits = TraitsOf(static_cast<uint32_t>(type));
  if (!traits || n_elems < 0 || n_elems % traits->block_elems != 0) return std::nullopt;
  const uint64_t n_blocks = static_cast<uint64_t>(n_elems / traits->block_elems);
  uint64_t bytes = 0;
  if (__builtin_mul_overflow(n_blocks, static_cast<uint64_t>(traits->block_bytes), &bytes) ||
      bytes > SIZE_MAX) {
    return std::nullopt;
  }
  return static_cast<size_t>(bytes);
}

}  // namespace cachewire::gguf
