// AddInPlace / ScaleInPlace (kernels/elementwise.h). The add is a plain loop GCC vectorises at
// -O3; both run on n_tokens * n_embd floats, far below a matmul's cost.
#include "kernels/elementwise.h"

#include "kernels/cpu/vec_table.h"

namespace cachewire::kernels {

void AddInPlace(float* __restrict y, const float* __restrict x, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] += x[i];
}

void ScaleInPlace(float* x, float s, int64_t n) {
  if (n > 0) cpu_detail::ActiveVecKernels().scale_mul(x, s, nullptr, x, n);
}

}  // namespace cachewire::kernels
