// The CUDA backend plugin: implements the C table of plugin_api.h on top of the CUDA runtime
// and the kernels in kernels/cuda/. Loaded with dlopen by engine/backend/cuda_loader.cc.
#include <cstdio>
#include <cstring>

#include <cuda_runtime.h>

#include "engine/backend/cuda/plugin_api.h"
#include "kernels/cuda/dequantize.cuh"

namespace {

int Fail(cudaError_t e, const char* what, char* err, size_t err_len) {
  if (err != nullptr && err_len > 0) {
    std::snprintf(err, err_len, "%s: %s", what, cudaGetErrorString(e));
  }
  return static_cast<int>(e);
}

int DeviceCount(int* count, char* err, size_t err_len) {
  *count = 0;
  const cudaError_t e = cudaGetDeviceCount(count);
  // No driver or no device is the normal state of a CPU machine: report zero devices.
  if (e == cudaErrorNoDevice || e == cudaErrorInsufficientDriver) {
    *count = 0;
    Fail(e, "cudaGetDeviceCount", err, err_len);
    return 0;
  }
  if (e != cudaSuccess) return Fail(e, "cudaGetDeviceCount", err, err_len);
  return 0;
}

int DeviceInfo(int device, char* name, size_t name_len, int* cc_major, int* cc_minor, char* err,
               size_t err_len) {
  cudaDeviceProp prop{};
  const cudaError_t e = cudaGetDeviceProperties(&prop, device);
  if (e != cudaSuccess) return Fail(e, "cudaGetDeviceProperties", err, err_len);
  std::snprintf(name, name_len, "%s", prop.name);
  *cc_major = prop.major;
  *cc_minor = prop.minor;
  return 0;
}

int DequantizeRows(int device, uint32_t type, const void* src, size_t src_bytes, int64_t n_rows,
                   int64_t n_per_row, float* dst, char* err, size_t err_len) {
  if (!cachewire::kernels::cuda::DequantizeSupported(type)) {
    return Fail(cudaErrorInvalidValue, "dequantize_rows: tensor type not supported on CUDA yet",
                err, err_len);
  }
  cudaError_t e = cudaSetDevice(device);
  if (e != cudaSuccess) return Fail(e, "cudaSetDevice", err, err_len);
  const size_t dst_bytes = static_cast<size_t>(n_rows * n_per_row) * sizeof(float);
  void* d_src = nullptr;
  float* d_dst = nullptr;
  int rc = 0;
  if ((e = cudaMalloc(&d_src, src_bytes)) != cudaSuccess) return Fail(e, "cudaMalloc", err, err_len);
  if ((e = cudaMalloc(&d_dst, dst_bytes)) != cudaSuccess) {
    rc = Fail(e, "cudaMalloc", err, err_len);
  } else if ((e = cudaMemcpy(d_src, src, src_bytes, cudaMemcpyHostToDevice)) != cudaSuccess) {
    rc = Fail(e, "cudaMemcpy to device", err, err_len);
  } else if ((e = cachewire::kernels::cuda::LaunchDequantizeRows(type, d_src, n_rows, n_per_row,
                                                                 d_dst, nullptr)) != cudaSuccess) {
    rc = Fail(e, "dequantize kernel", err, err_len);
  } else if ((e = cudaMemcpy(dst, d_dst, dst_bytes, cudaMemcpyDeviceToHost)) != cudaSuccess) {
    rc = Fail(e, "cudaMemcpy to host", err, err_len);
  }
  cudaFree(d_src);
  cudaFree(d_dst);
  return rc;
}

const CwCudaApi kApi = {CACHEWIRE_CUDA_ABI_VERSION, DeviceCount, DeviceInfo, DequantizeRows};

}  // namespace

extern "C" __attribute__((visibility("default"))) const CwCudaApi* cachewire_cuda_api(void) {
  return &kApi;
}
