// Gated activations of the feed-forward block: SwiGLU (Llama) out = silu(gate) * up and GeGLU
// (Gemma 3) out = gelu_tanh(gate) * up, with silu(x) = x / (1 + e^-x) and the tanh GELU written
// as x / (1 + e^(-2u)), u = sqrt(2/pi) (x + 0.044715 x^3) (the same function; one exp per value).
#pragma once

#include <cstdint>

#include "engine/backend/cpu/thread_pool.h"

namespace cachewire::kernels {

enum class GatedActivation { kSilu, kGeluTanh };

struct GatedArgs {
  GatedActivation kind = GatedActivation::kSilu;
  const float* gate = nullptr;  // (n_rows, n)
  const float* up = nullptr;    // (n_rows, n)
  float* out = nullptr;         // (n_rows, n); may be gate or up
  int64_t n_rows = 0;
  int64_t n = 0;
};

// Rows are split over `pool` when there are several (prefill); pool may be null.
void GatedMul(const GatedArgs& args, backend::cpu::ThreadPool* pool);

// x = gelu_tanh(x), n values in place, with GatedMul's SIMD exp: the ungated GELU of the
// adapters' MLPs (a scalar std::tanh there was a third of an LCF decode).
void GeluTanhInPlace(float* x, int64_t n);

}  // namespace cachewire::kernels
