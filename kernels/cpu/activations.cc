// GatedMul (kernels/activations.h): the active ISA's SIMD exp per element, rows over the pool.
#include "kernels/activations.h"

#include "kernels/cpu/vec_table.h"

namespace cachewire::kernels {

void GatedMul(const GatedArgs& a, backend::cpu::ThreadPool* pool) {
  if (a.n_rows <= 0 || a.n <= 0) return;
  const cpu_detail::VecKernels& vk = cpu_detail::ActiveVecKernels();
  const auto fn = a.kind == GatedActivation::kSilu ? vk.silu_mul : vk.gelu_tanh_mul;
  auto row = [&](int64_t r, int) { fn(a.gate + r * a.n, a.up + r * a.n, a.out + r * a.n, a.n); };
  if (pool != nullptr && a.n_rows > 1) {
    pool->ParallelFor(a.n_rows, row);
  } else {
    for (int64_t r = 0; r < a.n_rows; ++r) row(r, 0);
  }
}

}  // namespace cachewire::kernels
