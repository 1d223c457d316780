// Softmax over rows, in place, in f32 with the max subtracted first; -inf entries (masked) give
// exactly 0. Attention does its own streaming softmax (attention.h); this is the plain op for
// everything else (sampling probabilities, tests, adapters).
#pragma once

#include <cstdint>

namespace cachewire::kernels {

// x: (n_rows, n). A row that is all -inf becomes all 0.
void SoftmaxRows(float* x, int64_t n_rows, int64_t n);

}  // namespace cachewire::kernels
