// RMSNorm on the device: one block per row, a block-wide sum of squares, then the scaled
// multiply. y may be x: each thread rewrites only the elements it read, after the reduction.
#include "kernels/cuda/block_reduce.cuh"
#include "kernels/cuda/rms_norm.cuh"

namespace cachewire::kernels::cuda {
namespace {

__global__ void RmsNormKernel(const float* x, const float* w, float* y, int64_t n, float eps) {
  __shared__ float scratch[kRowThreads / 32];
  const float* xr = x + static_cast<int64_t>(blockIdx.x) * n;
  float* yr = y + static_cast<int64_t>(blockIdx.x) * n;
  float ss = 0.0f;
  for (int64_t i = threadIdx.x; i < n; i += blockDim.x) ss += xr[i] * xr[i];
  ss = BlockReduce(ss, SumOp{}, 0.0f, scratch);
  // The twin's order: mean first, then 1 / sqrt (not rsqrtf, whose error is larger).
  const float inv = 1.0f / sqrtf(ss / static_cast<float>(n) + eps);
  for (int64_t i = threadIdx.x; i < n; i += blockDim.x) {
    yr[i] = w != nullptr ? xr[i] * inv * w[i] : xr[i] * inv;
  }
}

}  // namespace

LaunchStatus LaunchRmsNorm(const CwRmsNormArgs& a, cudaStream_t stream) {
  if (a.n_rows < 0) return InvalidArg("n_rows < 0");
  if (a.n < 0) return InvalidArg("n < 0");
  if (a.n_rows == 0 || a.n == 0) return Ok();
  if (a.x == nullptr || a.y == nullptr) return InvalidArg("x or y is null");
  if (a.n_rows > 0x7fffffff) return InvalidArg("n_rows above the grid limit");
  RmsNormKernel<<<static_cast<unsigned>(a.n_rows), kRowThreads, 0, stream>>>(a.x, a.w, a.y, a.n,
                                                                             a.eps);
  return AfterLaunch("RmsNormKernel");
}

}  // namespace cachewire::kernels::cuda
