// Key L2 norms with the twin's exact arithmetic (kernels/cpu/key_norms.cc): one thread per row
// sums the squares in double in index order, so every norm is the twin's bit for bit (squares
// of floats are exact in double; the adds and the sqrt are IEEE round-to-nearest on both).
// A warp-wide tree would reorder the sum and could move a norm by an ulp, changing which of
// two near-equal keys is evicted. A warp reads 32 rows at a time, each row's lines staying in
// L1 across the loop, so the strided walk costs little beside the keys' one pass from memory.
#include "kernels/cuda/key_norms.cuh"

namespace cachewire::kernels::cuda {
namespace {

constexpr int kThreads = 128;

// k: (n, k_stride); norms: (n).
__global__ void KeyNormsKernel(const float* k, int64_t n, int64_t k_stride, int64_t head_dim,
                               float* norms) {
  const int64_t r = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (r >= n) return;
  const float* row = k + r * k_stride;
  double ss = 0;
  for (int64_t i = 0; i < head_dim; ++i) {
    const double v = row[i];
    ss = __dadd_rn(ss, __dmul_rn(v, v));
  }
  norms[r] = static_cast<float>(sqrt(ss));
}

}  // namespace

LaunchStatus LaunchKeyNorms(const CwKeyNormsArgs& a, cudaStream_t stream) {
  if (a.n < 0) return InvalidArg("n < 0");
  if (a.head_dim < 0) return InvalidArg("head_dim < 0");
  if (a.k_stride < a.head_dim) return InvalidArg("k_stride < head_dim");
  if (a.n == 0) return Ok();
  if (a.k == nullptr || a.norms == nullptr) return InvalidArg("k or norms is null");
  KeyNormsKernel<<<GridFor(a.n, kThreads), kThreads, 0, stream>>>(a.k, a.n, a.k_stride, a.head_dim,
                                                                  a.norms);
  return AfterLaunch("KeyNormsKernel");
}

}  // namespace cachewire::kernels::cuda
