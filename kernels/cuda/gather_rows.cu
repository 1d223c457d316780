// Row gather for the bounded cache's compaction: one block per destination row, its threads
// copying the row's floats (coalesced on both sides). A plain copy, so bit for bit.
#include <cstdint>

#include "kernels/cuda/gather_rows.cuh"

namespace cachewire::kernels::cuda {
namespace {

constexpr int kThreads = 128;

// src: (?, src_stride), idx: (n), dst: (n, dst_stride); block i writes dst row i.
__global__ void GatherRowsKernel(const float* src, int64_t src_stride, const int32_t* idx,
                                 int64_t row_len, float* dst, int64_t dst_stride) {
  const int64_t i = blockIdx.x;
  const int32_t from = idx[i];
  float* out = dst + i * dst_stride;
  // The record carries no count of src rows, so only a negative index is caught here (the
  // caller checks the rest); its row is written as 0 rather than read from before src.
  if (from < 0) {
    for (int64_t c = threadIdx.x; c < row_len; c += blockDim.x) out[c] = 0.0f;
    return;
  }
  const float* in = src + static_cast<int64_t>(from) * src_stride;
  for (int64_t c = threadIdx.x; c < row_len; c += blockDim.x) out[c] = in[c];
}

}  // namespace

LaunchStatus LaunchGatherRows(const CwGatherRowsArgs& a, cudaStream_t stream) {
  if (a.n < 0) return InvalidArg("n < 0");
  if (a.n > INT32_MAX) return InvalidArg("n > 2^31 - 1");
  if (a.row_len < 0) return InvalidArg("row_len < 0");
  if (a.src_stride < a.row_len) return InvalidArg("src_stride < row_len");
  if (a.dst_stride < a.row_len) return InvalidArg("dst_stride < row_len");
  if (a.n == 0 || a.row_len == 0) return Ok();
  if (a.src == nullptr || a.idx == nullptr || a.dst == nullptr) {
    return InvalidArg("src, idx or dst is null");
  }
  GatherRowsKernel<<<static_cast<unsigned>(a.n), kThreads, 0, stream>>>(
      a.src, a.src_stride, a.idx, a.row_len, a.dst, a.dst_stride);
  return AfterLaunch("GatherRowsKernel");
}

}  // namespace cachewire::kernels::cuda
