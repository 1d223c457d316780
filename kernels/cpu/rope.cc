// RoPE (kernels/rope.h): angles in double (as the float64 reference does) rounded once to f32
// cos/sin, then a rotation per pair. The per-head loop is O(n_tokens * n_heads * n_rot), tiny
// beside the projections it follows.
#include "kernels/rope.h"

#include <cmath>

#include "engine/gguf/str_cat.h"

namespace cachewire::kernels {

absl::Status BuildRopeTable(const RopeParams& p, std::span<const int32_t> positions,
                            RopeTable* table) {
  if (p.n_rot <= 0 || p.n_rot % 2 != 0 || !(p.freq_base > 0.0f) || !(p.freq_scale > 0.0f)) {
    return absl::InvalidArgumentError(gguf::Cat("rope: n_rot=", p.n_rot, " base=", p.freq_base,
                                                " scale=", p.freq_scale,
                                                " (n_rot must be even and > 0, base and scale > 0)"));
  }
  const int64_t half = p.n_rot / 2;
  table->layout = p.layout;
  table->n_rot = p.n_rot;
  table->n_tokens = static_cast<int64_t>(positions.size());
  table->cos_sin.resize(static_cast<size_t>(table->n_tokens * half * 2));
  // Inverse frequencies (n_rot/2), recomputed per call: n_rot/2 pow()s, negligible.
  double inv_freq[512];
  double* inv = inv_freq;
  std::vector<double> big;
  if (half > 512) {
    big.resize(static_cast<size_t>(half));
    inv = big.data();
  }
  for (int64_t i = 0; i < half; ++i) {
    inv[i] = std::pow(static_cast<double>(p.freq_base),
                      -2.0 * static_cast<double>(i) / static_cast<double>(p.n_rot));
    if (p.freq_factors != nullptr) inv[i] /= static_cast<double>(p.freq_factors[i]);
  }
  for (int64_t t = 0; t < table->n_tokens; ++t) {
    const double pos = static_cast<double>(positions[t]) * static_cast<double>(p.freq_scale);
    float* cs = table->cos_sin.data() + t * half * 2;
    for (int64_t i = 0; i < half; ++i) {
      const double angle = pos * inv[i];
      cs[2 * i] = static_cast<float>(std::cos(angle));
      cs[2 * i + 1] = static_cast<float>(std::sin(angle));
    }
  }
  return absl::OkStatus();
}

namespace {

// Rotates n_rows vectors of head_dim (contiguous) by one table row `cs` (n_rot/2 cos/sin pairs).
void RotateRows(const RopeTable& table, const float* cs, float* x, int64_t n_rows,
                int64_t head_dim) {
  const int64_t half = table.n_rot / 2;
  // NORM pairs (2i, 2i+1); NEOX pairs (i, i + half).
  const int64_t stride = table.layout == RopeLayout::kNorm ? 2 : 1;
  const int64_t other = table.layout == RopeLayout::kNorm ? 1 : half;
  for (int64_t r = 0; r < n_rows; ++r) {
    float* v = x + r * head_dim;
    for (int64_t i = 0; i < half; ++i) {
      float* a = v + i * stride;
      const float x0 = a[0], x1 = a[other];
      a[0] = x0 * cs[2 * i] - x1 * cs[2 * i + 1];
      a[other] = x0 * cs[2 * i + 1] + x1 * cs[2 * i];
    }
  }
}

}  // namespace

absl::Status ApplyRope(const RopeTable& table, float* x, int64_t n_tokens, int64_t n_heads,
                       int64_t head_dim) {
  if (n_tokens != table.n_tokens || table.n_rot > head_dim) {
    return absl::InvalidArgumentError(gguf::Cat("rope: table for ", table.n_tokens, " tokens, n_rot ",
                                                table.n_rot, "; got ", n_tokens,
                                                " tokens of head_dim ", head_dim));
  }
  const int64_t half = table.n_rot / 2;
  for (int64_t t = 0; t < n_tokens; ++t) {
    RotateRows(table, table.cos_sin.data() + t * half * 2, x + t * n_heads * head_dim, n_heads,
               head_dim);
  }
  return absl::OkStatus();
}

absl::Status ApplyRopeRow(const RopeTable& table, int64_t table_row, float* x, int64_t n_tokens,
                          int64_t n_heads, int64_t head_dim) {
  if (table_row < 0 || table_row >= table.n_tokens || table.n_rot > head_dim || n_tokens < 0) {
    return absl::InvalidArgumentError(gguf::Cat("rope: row ", table_row, " of a table for ",
                                                table.n_tokens, " tokens, n_rot ", table.n_rot,
                                                "; got ", n_tokens, " tokens of head_dim ",
                                                head_dim));
  }
  const int64_t half = table.n_rot / 2;
  RotateRows(table, table.cos_sin.data() + table_row * half * 2, x, n_tokens * n_heads, head_dim);
  return absl::OkStatus();
}

}  // namespace cachewire::kernels
