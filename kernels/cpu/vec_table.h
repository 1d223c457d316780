// Internal to the CPU kernels: the f32 vector primitives the non-matmul ops stand on (dots and
// sums of squares for norms and attention scores, axpy for attention values, exp for softmax and
// the gated activations), one table per ISA level, dispatched like dot.h's tables.
//
// vec_scalar.cc, vec_avx2.cc and vec_avx512.cc each fill one table and are compiled with their
// own target flags; vec.cc builds a level's table only after cpuid said the CPU runs it. The ops
// in kernels/*.h fetch ActiveVecKernels() once per call, so dispatch costs one indirect call
// per row, never per element.
#pragma once

#include <cstdint>

#include "kernels/dot.h"

namespace cachewire::kernels::cpu_detail {

struct VecKernels {
  // sum_i a[i] * b[i]
  float (*dot)(const float* a, const float* b, int64_t n) = nullptr;
  // sum_i x[i]^2
  float (*sum_sq)(const float* x, int64_t n) = nullptr;
  // y[i] = x[i] * s * w[i] (w may be null: y[i] = x[i] * s); y may alias x
  void (*scale_mul)(const float* x, float s, const float* w, float* y, int64_t n) = nullptr;
  // max_i x[i], n > 0
  float (*max)(const float* x, int64_t n) = nullptr;
  // x[i] = exp(x[i] - m) (-inf gives 0); returns the sum of the results
  float (*exp_sub_sum)(float* x, float m, int64_t n) = nullptr;
  // out[i] = silu(g[i]) * u[i] / gelu_tanh(g[i]) * u[i]; out may alias g or u
  void (*silu_mul)(const float* g, const float* u, float* out, int64_t n) = nullptr;
  void (*gelu_tanh_mul)(const float* g, const float* u, float* out, int64_t n) = nullptr;
  // Attention tiles. s[r * n_k + j] = scale * dot(q + r * q_stride, k + j * k_stride, d)
  void (*scores)(const float* q, int64_t q_stride, int n_q, const float* k, int64_t k_stride,
                 int n_k, int64_t d, float scale, float* s) = nullptr;
  // acc[r * acc_stride + i] += sum_j p[r * p_stride + j] * v[j * v_stride + i], i < d
  void (*accum)(const float* p, int64_t p_stride, int n_q, int n_k, const float* v,
                int64_t v_stride, int64_t d, float* acc, int64_t acc_stride) = nullptr;
};

VecKernels ScalarVecKernels();
VecKernels Avx2VecKernels();
VecKernels Avx512VecKernels();

// The table of a level (must be <= DetectedIsa()), and of ActiveIsa().
const VecKernels& GetVecKernels(CpuIsa isa);
const VecKernels& ActiveVecKernels();

}  // namespace cachewire::kernels::cpu_detail
