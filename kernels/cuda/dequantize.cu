// Element-parallel dequantisation kernels: one thread per output element, reading its block's
// scale and its quant. Simple on purpose: the CPU twin comparison is what this proves first;
// fused dequant-matmul kernels come with the CUDA matmul.
#include "kernels/cuda/dequantize.cuh"

#include <cuda_bf16.h>
#include <cuda_fp16.h>

namespace cachewire::kernels::cuda {
namespace {

constexpr uint32_t kF32 = 0, kF16 = 1, kQ4_0 = 2, kQ8_0 = 8, kBF16 = 30;
constexpr int kThreads = 256;

__device__ float HalfBits(const uint8_t* p) {
  const uint16_t bits = static_cast<uint16_t>(p[0] | (p[1] << 8));
  return __half2float(__ushort_as_half(bits));
}

__global__ void DequantizeKernel(uint32_t type, const uint8_t* src, int64_t n, float* dst) {
  const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= n) return;
  switch (type) {
    case kF32: dst[i] = reinterpret_cast<const float*>(src)[i]; break;
    case kF16: dst[i] = HalfBits(src + 2 * i); break;
    case kBF16: {
      const uint32_t bits = static_cast<uint32_t>(src[2 * i] | (src[2 * i + 1] << 8)) << 16;
      dst[i] = __uint_as_float(bits);
      break;
    }
    case kQ8_0: {  // block: f16 d, int8 q[32]
      const uint8_t* block = src + (i / 32) * 34;
      dst[i] = HalfBits(block) * static_cast<float>(static_cast<int8_t>(block[2 + i % 32]));
      break;
    }
    case kQ4_0: {  // block: f16 d, 16 bytes; element j<16 in the low nibble of byte j
      const uint8_t* block = src + (i / 32) * 18;
      const int j = static_cast<int>(i % 32);
      const uint8_t byte = block[2 + (j & 15)];
      const int q = j < 16 ? (byte & 0x0F) : (byte >> 4);
      dst[i] = HalfBits(block) * static_cast<float>(q - 8);
      break;
    }
    default: break;
  }
}

}  // namespace

bool DequantizeSupported(uint32_t type) {
  return type == kF32 || type == kF16 || type == kBF16 || type == kQ8_0 || type == kQ4_0;
}

cudaError_t LaunchDequantizeRows(uint32_t type, const void* d_src, int64_t n_rows,
                                 int64_t n_per_row, float* d_dst, cudaStream_t stream) {
  if (!DequantizeSupported(type) || n_rows < 0 || n_per_row < 0) return cudaErrorInvalidValue;
  // Rows are back to back and every supported row is a whole number of blocks, so the rows
  // form one flat run of elements.
  const int64_t n = n_rows * n_per_row;
  if (n == 0) return cudaSuccess;
  const int64_t blocks = (n + kThreads - 1) / kThreads;
  DequantizeKernel<<<static_cast<unsigned>(blocks), kThreads, 0, stream>>>(
      type, static_cast<const uint8_t*>(d_src), n, d_dst);
  return cudaGetLastError();
}

}  // namespace cachewire::kernels::cuda
