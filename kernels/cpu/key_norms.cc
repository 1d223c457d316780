// KeyL2Norms (kernels/key_norms.h): one sequential double sum per row. Called per written row
// (head_dim floats), far below the projections that made the key.
#include "kernels/key_norms.h"

#include <cmath>

namespace cachewire::kernels {

void KeyL2Norms(const float* k, int64_t n, int64_t k_stride, int64_t head_dim, float* norms) {
  for (int64_t r = 0; r < n; ++r) {
    const float* row = k + r * k_stride;
    double ss = 0;
    for (int64_t i = 0; i < head_dim; ++i) ss += double{row[i]} * row[i];
    norms[r] = static_cast<float>(std::sqrt(ss));
  }
}

}  // namespace cachewire::kernels
