// SGEMM through cuBLAS for the adapters' dense layers. cuBLAS is column-major: the row-major
// c (m, n) is column-major c^T (n, m) = b a^T, where the row-major b (n, k) read column-major is
// b^T (hence CUBLAS_OP_T) and the row-major a (m, k) read column-major is a^T (CUBLAS_OP_N).
// FP32 math (cuBLAS's default; no TF32), so the twin comparison stays tight.
#include <cublas_v2.h>

#include <climits>
#include <utility>
#include <vector>

#include "kernels/cuda/gemm_f32.cuh"

namespace cachewire::kernels::cuda {
namespace {

// One handle per (thread, device): a cuBLAS handle is tied to the device current at creation
// and is not safe to share between threads. Handles live as long as their thread; they are not
// destroyed at thread exit because that may run after the CUDA context is gone.
cublasStatus_t HandleFor(cublasHandle_t* out) {
  thread_local std::vector<std::pair<int, cublasHandle_t>> handles;
  int device = 0;
  if (cudaGetDevice(&device) != cudaSuccess) return CUBLAS_STATUS_NOT_INITIALIZED;
  for (const auto& [d, h] : handles) {
    if (d == device) {
      *out = h;
      return CUBLAS_STATUS_SUCCESS;
    }
  }
  cublasHandle_t h = nullptr;
  const cublasStatus_t st = cublasCreate(&h);
  if (st != CUBLAS_STATUS_SUCCESS) return st;
  handles.emplace_back(device, h);
  *out = h;
  return st;
}

}  // namespace

LaunchStatus LaunchGemmF32(const CwGemmF32Args& a, cudaStream_t stream) {
  if (a.m < 0 || a.n < 0 || a.k < 0) return InvalidArg("m, n or k < 0");
  if (a.m > INT_MAX || a.n > INT_MAX || a.k > INT_MAX) return InvalidArg("m, n or k above 2^31");
  if (a.m == 0 || a.n == 0) return Ok();
  if (a.c == nullptr) return InvalidArg("c is null");
  if (a.k > 0 && (a.a == nullptr || a.b == nullptr)) return InvalidArg("a or b is null");
  cublasHandle_t handle = nullptr;
  if (HandleFor(&handle) != CUBLAS_STATUS_SUCCESS) return {cudaErrorUnknown, "cublasCreate"};
  if (cublasSetStream(handle, stream) != CUBLAS_STATUS_SUCCESS) {
    return {cudaErrorUnknown, "cublasSetStream"};
  }
  const int m = static_cast<int>(a.m), n = static_cast<int>(a.n), k = static_cast<int>(a.k);
  // k == 0: cuBLAS scales c by beta, which is the product of empty sums.
  const int ld = k > 0 ? k : 1;
  const cublasStatus_t st = cublasSgemm(handle, CUBLAS_OP_T, CUBLAS_OP_N, n, m, k, &a.alpha, a.b,
                                        ld, a.a, ld, &a.beta, a.c, n);
  if (st == CUBLAS_STATUS_INVALID_VALUE) return {cudaErrorInvalidValue, "cublasSgemm"};
  if (st != CUBLAS_STATUS_SUCCESS) return {cudaErrorUnknown, "cublasSgemm"};
  return AfterLaunch("cublasSgemm");
}

}  // namespace cachewire::kernels::cuda
