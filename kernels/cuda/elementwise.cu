// The residual add and the scale on the device: one thread per element.
#include "kernels/cuda/elementwise.cuh"

namespace cachewire::kernels::cuda {
namespace {

constexpr int kThreads = 256;

__global__ void AddKernel(float* y, const float* x, int64_t n) {
  const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i < n) y[i] += x[i];
}

__global__ void ScaleKernel(float* x, float s, int64_t n) {
  const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i < n) x[i] *= s;
}

}  // namespace

LaunchStatus LaunchAdd(const CwAddArgs& a, cudaStream_t stream) {
  if (a.n < 0) return InvalidArg("n < 0");
  if (a.n == 0) return Ok();
  if (a.y == nullptr || a.x == nullptr) return InvalidArg("y or x is null");
  AddKernel<<<GridFor(a.n, kThreads), kThreads, 0, stream>>>(a.y, a.x, a.n);
  return AfterLaunch("AddKernel");
}

LaunchStatus LaunchScale(const CwScaleArgs& a, cudaStream_t stream) {
  if (a.n < 0) return InvalidArg("n < 0");
  if (a.n == 0) return Ok();
  if (a.x == nullptr) return InvalidArg("x is null");
  ScaleKernel<<<GridFor(a.n, kThreads), kThreads, 0, stream>>>(a.x, a.s, a.n);
  return AfterLaunch("ScaleKernel");
}

}  // namespace cachewire::kernels::cuda
