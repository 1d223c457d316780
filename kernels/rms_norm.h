// RMSNorm over rows: y = x / sqrt(mean(x^2) + eps) * w. The same op normalises the residual
// stream (rows = tokens, n = n_embd) and, as Gemma 3's QK-norm, every head of Q and K on its own
// (rows = tokens * heads, n = head_dim, one weight shared by all heads): RmsNormHeads.
#pragma once

#include <cstdint>

namespace cachewire::kernels {

struct RmsNormArgs {
  const float* x = nullptr;  // (n_rows, n)
  const float* w = nullptr;  // (n); null multiplies by 1
  float* y = nullptr;        // (n_rows, n); may be x (in place)
  int64_t n_rows = 0;
  int64_t n = 0;
  float eps = 1e-6f;
};

// Sums of squares in f32 (SIMD at the active ISA level). Does nothing for n_rows or n <= 0.
void RmsNorm(const RmsNormArgs& args);

// Per-head form, in place: x is (n_tokens, n_heads, head_dim), w is (head_dim).
inline void RmsNormHeads(float* x, const float* w, int64_t n_tokens, int64_t n_heads,
                         int64_t head_dim, float eps) {
  RmsNorm({.x = x, .w = w, .y = x, .n_rows = n_tokens * n_heads, .n = head_dim, .eps = eps});
}

}  // namespace cachewire::kernels
