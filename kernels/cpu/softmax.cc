// SoftmaxRows (kernels/softmax.h): max, then exp(x - max) and its sum in one SIMD pass, then a
// scale by 1 / sum.
#include "kernels/softmax.h"

#include <algorithm>
#include <limits>

#include "kernels/cpu/vec_table.h"

namespace cachewire::kernels {

void SoftmaxRows(float* x, int64_t n_rows, int64_t n) {
  if (n_rows <= 0 || n <= 0) return;
  const cpu_detail::VecKernels& vk = cpu_detail::ActiveVecKernels();
  for (int64_t r = 0; r < n_rows; ++r) {
    float* row = x + r * n;
    const float m = vk.max(row, n);
    if (m == -std::numeric_limits<float>::infinity()) {
      std::fill(row, row + n, 0.0f);
      continue;
    }
    const float sum = vk.exp_sub_sum(row, m, n);
    vk.scale_mul(row, 1.0f / sum, nullptr, row, n);
  }
}

}  // namespace cachewire::kernels
