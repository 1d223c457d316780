// CUDA dequantisation of GGUF rows to f32 on the device. The CPU twin is
// gguf::DequantizeRow (engine/gguf/dequantize.h); tests run both on the same bytes.
#pragma once

#include <cstdint>

#include <cuda_runtime.h>

namespace cachewire::kernels::cuda {

// True for the types this kernel handles (F32, F16, BF16, Q8_0, Q4_0 so far).
bool DequantizeSupported(uint32_t type);

// d_src: n_rows rows of n_per_row elements in GGUF layout, back to back (device memory);
// d_dst: (n_rows, n_per_row) f32 (device memory). n_per_row must be a whole number of blocks.
cudaError_t LaunchDequantizeRows(uint32_t type, const void* d_src, int64_t n_rows,
                                 int64_t n_per_row, float* d_dst, cudaStream_t stream);

}  // namespace cachewire::kernels::cuda
