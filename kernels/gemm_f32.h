// Dense f32 matrix products: the adapters' layers (LCF encoder and decoder, C2C fusers) and the
// CPU twin of the CUDA GEMM_F32 op. They run on OpenBLAS's SGEMM (single-threaded build, its
// kernels picked for the CPU at run time), not on Matmul: Matmul is built for GGUF weight rows
// streamed against a few activation rows, while these products are small square-ish f32 blocks
// where a packed, register-blocked GEMM is several times faster.
//
//   C (m, n) = alpha * op(A) (m, k) * op(B) (k, n) + beta * C,   all row-major
//
// op(A) is A (m, k), or A^T for A stored (k, m); likewise B (k, n), or B^T for B stored (n, k)
// (the layout of a weight matrix W (n_out, n_in): y = x W^T).
#pragma once

#include <cstdint>

#include "absl/status/status.h"

namespace cachewire::kernels {

struct GemmF32Args {
  int64_t m = 0;
  int64_t n = 0;
  int64_t k = 0;
  const float* a = nullptr;
  int64_t lda = 0;  // row stride of A as stored: k, or m when trans_a
  bool trans_a = false;
  const float* b = nullptr;
  int64_t ldb = 0;  // row stride of B as stored: n, or k when trans_b
  bool trans_b = false;
  float* c = nullptr;
  int64_t ldc = 0;  // row stride of C, at least n
  float alpha = 1.0f;
  float beta = 0.0f;  // 0: C is written without being read (may hold NaN), as in BLAS
};

// InvalidArgument naming the field for negative sizes, strides shorter than a row, null
// buffers, or sizes past the BLAS interface's 32-bit integers. k = 0 gives beta * C.
absl::Status GemmF32(const GemmF32Args& args);

// y (n_rows, n_out) = x (n_rows, n_in) W^T for a weight W (n_out, n_in) row-major: a dense layer
// without bias.
absl::Status LinearF32(const float* w, int64_t n_out, int64_t n_in, const float* x, int64_t n_rows,
                       float* y);

}  // namespace cachewire::kernels
