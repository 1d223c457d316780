// Rotary position embedding at explicit positions (a cache may hold non-contiguous ones).
//
// Pair i < n_rot/2 of a head turns by angle pos * freq_scale * base^(-2i/n_rot) / factor[i]:
//   kNorm (ggml NORM, GGUF llama): pairs (x[2i], x[2i+1]);
//   kNeox (ggml NEOX, gemma3):     pairs (x[i], x[i + n_rot/2]).
// Dimensions past n_rot pass through. Angles are computed in double once per (token, pair) into a
// table that every head and every layer with the same parameters reuses.
//
// The angle is linear in the position, so rotating an already rotated vector by a table row built
// for position d moves it from position p to p + d: a bounded cache shifts its stored keys that
// way when compaction re-indexes them (ApplyRopeRow).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "absl/status/status.h"

namespace cachewire::kernels {

enum class RopeLayout { kNorm, kNeox };

struct RopeParams {
  RopeLayout layout = RopeLayout::kNorm;
  int64_t n_rot = 0;                   // even, > 0
  float freq_base = 10000.0f;
  float freq_scale = 1.0f;             // linear scaling: positions multiplied by this
  const float* freq_factors = nullptr;  // (n_rot/2) divisors of each frequency, or null
};

// cos and sin of every (token, pair): (n_tokens, n_rot/2, 2), built for `positions`.
struct RopeTable {
  RopeLayout layout = RopeLayout::kNorm;
  int64_t n_rot = 0;
  int64_t n_tokens = 0;
  std::vector<float> cos_sin;  // (n_tokens, n_rot/2, 2); reused across calls (no realloc once big)
};

// Fills `table` (keeping its allocation). InvalidArgument for an odd or non-positive n_rot, a
// non-positive base or scale.
absl::Status BuildRopeTable(const RopeParams& params, std::span<const int32_t> positions,
                            RopeTable* table);

// Rotates x: (n_tokens, n_heads, head_dim) in place with the table's row t for token t.
// InvalidArgument when n_tokens differs from the table's or n_rot > head_dim.
absl::Status ApplyRope(const RopeTable& table, float* x, int64_t n_tokens, int64_t n_heads,
                       int64_t head_dim);

// Rotates every row of x: (n_tokens, n_heads, head_dim) in place by the table's one row
// `table_row` (a position shift shared by all those rows). InvalidArgument for a row outside the
// table or n_rot > head_dim.
absl::Status ApplyRopeRow(const RopeTable& table, int64_t table_row, float* x, int64_t n_tokens,
                          int64_t n_heads, int64_t head_dim);

}  // namespace cachewire::kernels
