// Gated activations on the device, one thread per element, with the twin's formulas:
// silu(g) = g / (1 + e^-g) and gelu_tanh(g) = g / (1 + e^-z), z = 2 sqrt(2/pi) (g + 0.044715 g^3).
// out may be gate or up: each element is read before it is written, by the same thread.
#include "kernels/cuda/activations.cuh"

namespace cachewire::kernels::cuda {
namespace {

constexpr int kThreads = 256;
constexpr float kGeluC = 0.7978845608028654f;  // sqrt(2 / pi)

__global__ void GatedKernel(int kind, const float* gate, const float* up, float* out, int64_t n) {
  const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= n) return;
  const float g = gate[i], u = up[i];
  if (kind == 0) {
    out[i] = g / (1.0f + expf(-g)) * u;
  } else {
    const float z = 2.0f * kGeluC * (g + 0.044715f * g * g * g);
    out[i] = g / (1.0f + expf(-z)) * u;
  }
}

}  // namespace

LaunchStatus LaunchGated(const CwGatedArgs& a, cudaStream_t stream) {
  if (a.kind != 0 && a.kind != 1) return InvalidArg("kind is neither 0 (SiLU) nor 1 (GELU)");
  if (a.n_rows < 0) return InvalidArg("n_rows < 0");
  if (a.n < 0) return InvalidArg("n < 0");
  const int64_t n = a.n_rows * a.n;  // rows are back to back: one flat run
  if (n == 0) return Ok();
  if (a.gate == nullptr || a.up == nullptr || a.out == nullptr) {
    return InvalidArg("gate, up or out is null");
  }
  GatedKernel<<<GridFor(n, kThreads), kThreads, 0, stream>>>(a.kind, a.gate, a.up, a.out, n);
  return AfterLaunch("GatedKernel");
}

}  // namespace cachewire::kernels::cuda
