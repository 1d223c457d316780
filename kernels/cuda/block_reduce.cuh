// Sum and max over one thread block, for the row kernels (one block per row): warp shuffles,
// then one value per warp through shared memory. Every thread gets the result.
#pragma once

#include <cuda_runtime.h>

namespace cachewire::kernels::cuda {

inline constexpr int kRowThreads = 256;  // block size of the row kernels (a multiple of 32)

struct SumOp {
  __device__ float operator()(float a, float b) const { return a + b; }
};
struct MaxOp {
  __device__ float operator()(float a, float b) const { return fmaxf(a, b); }
};

template <typename Op>
__device__ float WarpReduce(float v, Op op) {
  for (int offset = 16; offset > 0; offset /= 2) v = op(v, __shfl_xor_sync(0xffffffffu, v, offset));
  return v;
}

// `scratch` holds kRowThreads / 32 floats of shared memory; callable several times in a row
// (the leading barrier keeps a previous call's readers from seeing this call's writes).
template <typename Op>
__device__ float BlockReduce(float v, Op op, float identity, float* scratch) {
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
  v = WarpReduce(v, op);
  __syncthreads();
  if (lane == 0) scratch[warp] = v;
  __syncthreads();
  v = lane < static_cast<int>(blockDim.x / 32) ? scratch[lane] : identity;
  return WarpReduce(v, op);
}

}  // namespace cachewire::kernels::cuda
