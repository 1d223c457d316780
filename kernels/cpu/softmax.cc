// SoftmaxRows (kernels/softmax.h): max, then exp(x - max) and its sum in one SIMD pass, then a
// scale by 1 / sum.
#include "kernels/softmax.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>

#include "kernels/cpu/vec_table.h"

namespace cachewire::kernels {
namespace {

constexpr float kLn2 = 0.693147180559945f;

}  // namespace

void SoftmaxRows(float* x, int64_t n_rows, int64_t n) {
  if (n_rows <= 0 || n <= 0) return;
  const cpu_detail::VecKernels& vk = cpu_detail::ActiveVecKernels();
  // exp(x - max) * 2^-k, k = 24 + ceil(log2 n): the exp gives 0 below 2^-126 (never a
  // subnormal), so what is left of a row, normalised, is at least 2^-102. The 2^-k cancels in
  // the normalisation. (bit_width(n - 1) is ceil(log2 n).)
  const float row_shift =
      kLn2 * static_cast<float>(24 + std::bit_width(static_cast<uint64_t>(n - 1)));
  for (int64_t r = 0; r < n_rows; ++r) {
    float* row = x + r * n;
    const float m = vk.max(row, n);
    if (m == -std::numeric_limits<float>::infinity()) {
      std::fill(row, row + n, 0.0f);
      continue;
    }
    // Past 2^20 the max's float spacing would blur the shift: none there.
    const float shift = std::fabs(m) < 1048576.0f ? row_shift : 0.0f;
    const float sum = vk.exp_sub_sum(row, m + shift, n);
    vk.scale_mul(row, 1.0f / sum, nullptr, row, n);
  }
}

}  // namespace cachewire::kernels
