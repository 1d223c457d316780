// Softmax over rows on the device: one block per row, a block-wide max, exp(x - max) and its
// sum, then the scale by 1 / sum. A row that is all -inf becomes all 0 (nothing to normalise).
#include <cmath>

#include "kernels/cuda/block_reduce.cuh"
#include "kernels/cuda/softmax.cuh"

namespace cachewire::kernels::cuda {
namespace {

__global__ void SoftmaxKernel(float* x, int64_t n) {
  __shared__ float scratch[kRowThreads / 32];
  float* row = x + static_cast<int64_t>(blockIdx.x) * n;
  float m = -INFINITY;
  for (int64_t i = threadIdx.x; i < n; i += blockDim.x) m = fmaxf(m, row[i]);
  m = BlockReduce(m, MaxOp{}, -INFINITY, scratch);
  if (m == -INFINITY) {
    for (int64_t i = threadIdx.x; i < n; i += blockDim.x) row[i] = 0.0f;
    return;
  }
  float sum = 0.0f;
  for (int64_t i = threadIdx.x; i < n; i += blockDim.x) {
    const float e = row[i] == -INFINITY ? 0.0f : expf(row[i] - m);
    row[i] = e;
    sum += e;
  }
  sum = BlockReduce(sum, SumOp{}, 0.0f, scratch);
  const float inv = 1.0f / sum;
  for (int64_t i = threadIdx.x; i < n; i += blockDim.x) row[i] *= inv;
}

}  // namespace

LaunchStatus LaunchSoftmax(const CwSoftmaxArgs& a, cudaStream_t stream) {
  if (a.n_rows < 0) return InvalidArg("n_rows < 0");
  if (a.n < 0) return InvalidArg("n < 0");
  if (a.n_rows == 0 || a.n == 0) return Ok();
  if (a.x == nullptr) return InvalidArg("x is null");
  if (a.n_rows > 0x7fffffff) return InvalidArg("n_rows above the grid limit");
  SoftmaxKernel<<<static_cast<unsigned>(a.n_rows), kRowThreads, 0, stream>>>(a.x, a.n);
  return AfterLaunch("SoftmaxKernel");
}

}  // namespace cachewire::kernels::cuda
