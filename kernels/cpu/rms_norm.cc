// RMSNorm (kernels/rms_norm.h): one sum of squares and one scaled multiply per row, both from the
// active ISA's vector table. Rows are short (n_embd or head_dim), so one thread does them all;
// in decode this is a few hundred nanoseconds beside milliseconds of matmul.
#include "kernels/rms_norm.h"

#include <cmath>

#include "kernels/cpu/vec_table.h"

namespace cachewire::kernels {

void RmsNorm(const RmsNormArgs& a) {
  if (a.n_rows <= 0 || a.n <= 0) return;
  const cpu_detail::VecKernels& vk = cpu_detail::ActiveVecKernels();
  for (int64_t r = 0; r < a.n_rows; ++r) {
    const float* x = a.x + r * a.n;
    const float mean_sq = vk.sum_sq(x, a.n) / static_cast<float>(a.n);
    const float inv = 1.0f / std::sqrt(mean_sq + a.eps);
    vk.scale_mul(x, inv, a.w, a.y + r * a.n, a.n);
  }
}

}  // namespace cachewire::kernels
