// Softmax over rows, in place, in f32 with the max subtracted first; -inf entries (masked) give
// exactly 0. Attention does its own streaming softmax (attention.h); this is the plain op for
// everything else (sampling probabilities, tests, adapters).
#pragma once

#include <cstdint>

namespace cachewire::kernels {

// x: (n_rows, n). A row that is all -inf becomes all 0. Weights under 2^-102 (of a row summing
// to 1) are 0: the rest stay clear of subnormal floats, and so do their products with anything
// above 2^-24. A subnormal operand costs an x86 core a microcode assist of ~100 cycles: at 0.5%
// of an LCF encoder's pooling weights they made its pooling product several times slower.
void SoftmaxRows(float* x, int64_t n_rows, int64_t n);

}  // namespace cachewire::kernels
