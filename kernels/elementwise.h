// Small element-wise helpers of the forward pass: residual adds and scales.
#pragma once

#include <cstdint>

namespace cachewire::kernels {

// y[i] += x[i], i < n.
void AddInPlace(float* y, const float* x, int64_t n);
// x[i] *= s, i < n.
void ScaleInPlace(float* x, float s, int64_t n);

}  // namespace cachewire::kernels
