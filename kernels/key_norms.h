// The bounded cache's key L2 norms (CACHE.md): eviction drops the middle entries of highest
// norm first, so every norm must come out the same wherever it is computed. The sum of squares
// runs in double in index order (each float square is exact in double), then one sqrt and one
// rounding to float; the CUDA twin (kernels/cuda/key_norms.cu) keeps that order, bit for bit.
#pragma once

#include <cstdint>

namespace cachewire::kernels {

// norms[r] = sqrt(sum_{i < head_dim} k[r][i]^2) for each of n rows of k: (n, k_stride), the
// first head_dim floats of a row being its key; norms: (n).
void KeyL2Norms(const float* k, int64_t n, int64_t k_stride, int64_t head_dim, float* norms);

}  // namespace cachewire::kernels
