// GatedMul (kernels/activations.h): the active ISA's SIMD exp per element, rows over the pool.
#include "kernels/activations.h"

#include <algorithm>
#include <array>

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

void GeluTanhInPlace(float* x, int64_t n) {
  static constexpr int64_t kChunk = 256;
  static const std::array<float, kChunk> kOnes = [] {
    std::array<float, kChunk> ones;
    ones.fill(1.0f);
    return ones;
  }();
  const cpu_detail::VecKernels& vk = cpu_detail::ActiveVecKernels();
  for (int64_t i = 0; i < n; i += kChunk) {
    vk.gelu_tanh_mul(x + i, kOnes.data(), x + i, std::min(kChunk, n - i));  // gelu(x) * 1
  }
}

}  // namespace cachewire::kernels
