// Matmul with the weights dequantised on the fly (quant_decode.cuh) and f32 activations.
//
// One warp per output row: the lanes take consecutive runs of the row (8 elements of a quantised
// block, or 1 float), so a warp's loads cover whole blocks, and accumulate in f32 before a
// butterfly reduction. Decode is bound by weight bandwidth, so each weight run, once decoded,
// is multiplied with a group of up to kTokenGroup token rows; more tokens loop over groups,
// re-reading the row from cache rather than from memory.
#include "kernels/cuda/matmul.cuh"
#include "kernels/cuda/quant_decode.cuh"

namespace cachewire::kernels::cuda {
namespace {

constexpr int kWarpsPerBlock = 4;
constexpr int kThreads = 32 * kWarpsPerBlock;
constexpr int kTokenGroup = 8;

// w: (n_out, n_in) rows of row_bytes; x: (n_tokens, n_in); y: (n_tokens, n_out).
template <uint32_t kType>
__global__ void __launch_bounds__(kThreads)
    MatmulKernel(const uint8_t* w, int64_t row_bytes, int64_t n_out, int64_t n_in, const float* x,
                 int64_t n_tokens, float* y) {
  constexpr int kRun = quant::Block<kType>::kRun;
  const int lane = static_cast<int>(threadIdx.x % 32);
  const int64_t o = static_cast<int64_t>(blockIdx.x) * kWarpsPerBlock + threadIdx.x / 32;
  if (o >= n_out) return;  // o is the same for the whole warp: no lane of a shuffle is missing
  const uint8_t* row = w + o * row_bytes;
  const int64_t n_runs = n_in / kRun;

  for (int64_t t0 = 0; t0 < n_tokens; t0 += kTokenGroup) {
    const int nt = static_cast<int>(n_tokens - t0 < kTokenGroup ? n_tokens - t0 : kTokenGroup);
    const float* xg = x + t0 * n_in;  // (nt, n_in)
    float acc[kTokenGroup];
#pragma unroll
    for (int t = 0; t < kTokenGroup; ++t) acc[t] = 0.0f;

    for (int64_t run = lane; run < n_runs; run += 32) {
      float v[kRun];
      quant::DecodeRun<kType>(row, run, v);
      const float* xr = xg + run * kRun;
      // Fully unrolled with a uniform guard, so acc stays in registers.
#pragma unroll
      for (int t = 0; t < kTokenGroup; ++t) {
        if (t < nt) {
#pragma unroll
          for (int k = 0; k < kRun; ++k) acc[t] = fmaf(v[k], __ldg(xr + t * n_in + k), acc[t]);
        }
      }
    }

#pragma unroll
    for (int t = 0; t < kTokenGroup; ++t) {
#pragma unroll
      for (int offset = 16; offset > 0; offset /= 2) {
        acc[t] += __shfl_xor_sync(0xffffffffu, acc[t], offset);
      }
    }
    if (lane == 0) {
#pragma unroll
      for (int t = 0; t < kTokenGroup; ++t) {
        if (t < nt) y[(t0 + t) * n_out + o] = acc[t];
      }
    }
  }
}

}  // namespace

// The checks and their order mirror kernels::Matmul (kernels/cpu/matmul.cc): sizes first (n_in
// must be positive there too), buffers only when there is work, then the type and block count.
LaunchStatus LaunchMatmul(const CwMatmulArgs& a, cudaStream_t stream) {
  if (a.n_out < 0) return InvalidArg("n_out < 0");
  if (a.n_in <= 0) return InvalidArg("n_in <= 0");
  if (a.n_tokens < 0) return InvalidArg("n_tokens < 0");
  if (a.n_out > 0 && a.n_tokens > 0) {
    if (a.w == nullptr) return InvalidArg("w is null");
    if (a.x == nullptr) return InvalidArg("x is null");
    if (a.y == nullptr) return InvalidArg("y is null");
  }
  const quant::Layout layout = quant::LayoutOf(a.w_type);
  if (layout.elems == 0) return InvalidArg("w_type not supported on CUDA");
  if (a.n_in % layout.elems != 0) return InvalidArg("n_in is not a whole number of blocks");
  if (a.n_out == 0 || a.n_tokens == 0) return Ok();
  const int64_t blocks = (a.n_out + kWarpsPerBlock - 1) / kWarpsPerBlock;
  if (blocks > 0x7fffffff) return InvalidArg("n_out above the grid limit");
  const int64_t row_bytes = a.n_in / layout.elems * layout.bytes;
  return quant::WithType(a.w_type, "w_type not supported on CUDA", [&](auto tag) {
    constexpr uint32_t kType = decltype(tag)::kValue;
    MatmulKernel<kType><<<static_cast<unsigned>(blocks), kThreads, 0, stream>>>(
        static_cast<const uint8_t*>(a.w), row_bytes, a.n_out, a.n_in, a.x, a.n_tokens, a.y);
    return AfterLaunch("MatmulKernel");
  });
}

}  // namespace cachewire::kernels::cuda
