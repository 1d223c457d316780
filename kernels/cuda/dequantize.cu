// Dequantisation on the device: one thread per run of a block (quant_decode.cuh), 8 elements
// for the quantised types, 1 for the float types. Rows are back to back and each is a whole
// number of blocks, so the n_rows rows form one flat run of blocks.
#include "kernels/cuda/dequantize.cuh"
#include "kernels/cuda/quant_decode.cuh"

namespace cachewire::kernels::cuda {
namespace {

constexpr int kThreads = 256;

// src: n_runs * kRun elements of whole blocks; dst: (n_runs * kRun) floats.
template <uint32_t kType>
__global__ void DequantizeKernel(const uint8_t* src, int64_t n_runs, float* dst) {
  constexpr int kRun = quant::Block<kType>::kRun;
  const int64_t run = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (run >= n_runs) return;
  float v[kRun];
  quant::DecodeRun<kType>(src, run, v);
#pragma unroll
  for (int k = 0; k < kRun; ++k) dst[run * kRun + k] = v[k];
}

}  // namespace

bool DequantizeSupported(uint32_t type) { return quant::Supported(type); }

LaunchStatus LaunchDequantize(const CwDequantizeArgs& a, cudaStream_t stream) {
  const quant::Layout layout = quant::LayoutOf(a.type);
  if (layout.elems == 0) return InvalidArg("type not supported on CUDA");
  if (a.n_rows < 0) return InvalidArg("n_rows < 0");
  if (a.n_per_row < 0) return InvalidArg("n_per_row < 0");
  if (a.n_per_row % layout.elems != 0) {
    return InvalidArg("n_per_row is not a whole number of blocks");
  }
  const int64_t n = a.n_rows * a.n_per_row;
  if (n == 0) return Ok();
  if (a.src == nullptr) return InvalidArg("src is null");
  if (a.dst == nullptr) return InvalidArg("dst is null");
  const int64_t n_runs = n / layout.run;
  if ((n_runs + kThreads - 1) / kThreads > 0x7fffffff) {
    return InvalidArg("n_rows above the grid limit");
  }
  return quant::WithType(a.type, "type not supported on CUDA", [&](auto tag) {
    constexpr uint32_t kType = decltype(tag)::kValue;
    DequantizeKernel<kType><<<GridFor(n_runs, kThreads), kThreads, 0, stream>>>(
        static_cast<const uint8_t*>(a.src), n_runs, a.dst);
    return AfterLaunch("DequantizeKernel");
  });
}

}  // namespace cachewire::kernels::cuda
