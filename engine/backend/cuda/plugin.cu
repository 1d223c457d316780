// The CUDA backend plugin: implements the C table of plugin_api.h on top of the CUDA runtime
// and the kernels in kernels/cuda/. Loaded with dlopen by engine/backend/cuda_loader.cc.
#include <cuda_runtime.h>

#include <cstdio>
#include <cstring>

#include "engine/backend/cuda/plugin_api.h"
#include "kernels/cuda/activations.cuh"
#include "kernels/cuda/attention.cuh"
#include "kernels/cuda/dequantize.cuh"
#include "kernels/cuda/elementwise.cuh"
#include "kernels/cuda/embedding.cuh"
#include "kernels/cuda/evict_select.cuh"
#include "kernels/cuda/gather_rows.cuh"
#include "kernels/cuda/gemm_f32.cuh"
#include "kernels/cuda/key_norms.cuh"
#include "kernels/cuda/matmul.cuh"
#include "kernels/cuda/rms_norm.cuh"
#include "kernels/cuda/rope.cuh"
#include "kernels/cuda/softmax.cuh"

namespace {

namespace kc = cachewire::kernels::cuda;

int Fail(cudaError_t e, const char* what, char* err, size_t err_len) {
  if (err != nullptr && err_len > 0) {
    std::snprintf(err, err_len, "%s: %s", what, cudaGetErrorString(e));
  }
  return static_cast<int>(e);
}

int Check(cudaError_t e, const char* what, char* err, size_t err_len) {
  return e == cudaSuccess ? 0 : Fail(e, what, err, err_len);
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
  return Check(e, "cudaGetDeviceCount", err, err_len);
}

int DeviceInfo(int device, char* name, size_t name_len, int* cc_major, int* cc_minor,
               size_t* total_bytes, char* err, size_t err_len) {
  cudaDeviceProp prop{};
  const cudaError_t e = cudaGetDeviceProperties(&prop, device);
  if (e != cudaSuccess) return Fail(e, "cudaGetDeviceProperties", err, err_len);
  std::snprintf(name, name_len, "%s", prop.name);
  *cc_major = prop.major;
  *cc_minor = prop.minor;
  *total_bytes = prop.totalGlobalMem;
  return 0;
}

int SetDevice(int device, char* err, size_t err_len) {
  return Check(cudaSetDevice(device), "cudaSetDevice", err, err_len);
}

int Malloc(size_t bytes, void** ptr, char* err, size_t err_len) {
  *ptr = nullptr;
  if (bytes == 0) return 0;
  return Check(cudaMalloc(ptr, bytes), "cudaMalloc", err, err_len);
}

int Free(void* ptr, char* err, size_t err_len) {
  return ptr == nullptr ? 0 : Check(cudaFree(ptr), "cudaFree", err, err_len);
}

int Memset(void* ptr, int value, size_t bytes, char* err, size_t err_len) {
  return bytes == 0 ? 0 : Check(cudaMemset(ptr, value, bytes), "cudaMemset", err, err_len);
}

int CopyToDevice(void* dst, const void* src, size_t bytes, char* err, size_t err_len) {
  if (bytes == 0) return 0;
  return Check(cudaMemcpy(dst, src, bytes, cudaMemcpyHostToDevice), "cudaMemcpy to device", err,
               err_len);
}

int CopyToHost(void* dst, const void* src, size_t bytes, char* err, size_t err_len) {
  if (bytes == 0) return 0;
  return Check(cudaMemcpy(dst, src, bytes, cudaMemcpyDeviceToHost), "cudaMemcpy to host", err,
               err_len);
}

int Synchronize(char* err, size_t err_len) {
  return Check(cudaDeviceSynchronize(), "cudaDeviceSynchronize", err, err_len);
}

// The one dispatch switch: op id -> its record type and launcher.
template <typename Args>
const Args& As(const void* args) {
  return *static_cast<const Args*>(args);
}

kc::LaunchStatus Dispatch(CwOp op, const void* a, cudaStream_t s, const char** name) {
  switch (op) {
    case CW_OP_DEQUANTIZE:
      *name = "dequantize";
      return kc::LaunchDequantize(As<CwDequantizeArgs>(a), s);
    case CW_OP_RMS_NORM:
      *name = "rms_norm";
      return kc::LaunchRmsNorm(As<CwRmsNormArgs>(a), s);
    case CW_OP_ROPE:
      *name = "rope";
      return kc::LaunchRope(As<CwRopeArgs>(a), s);
    case CW_OP_SOFTMAX:
      *name = "softmax";
      return kc::LaunchSoftmax(As<CwSoftmaxArgs>(a), s);
    case CW_OP_GATED:
      *name = "gated";
      return kc::LaunchGated(As<CwGatedArgs>(a), s);
    case CW_OP_EMBEDDING:
      *name = "embedding";
      return kc::LaunchEmbedding(As<CwEmbeddingArgs>(a), s);
    case CW_OP_MATMUL:
      *name = "matmul";
      return kc::LaunchMatmul(As<CwMatmulArgs>(a), s);
    case CW_OP_ATTENTION:
      *name = "attention";
      return kc::LaunchAttention(As<CwAttentionArgs>(a), s);
    case CW_OP_KEY_NORMS:
      *name = "key_norms";
      return kc::LaunchKeyNorms(As<CwKeyNormsArgs>(a), s);
    case CW_OP_EVICT_SELECT:
      *name = "evict_select";
      return kc::LaunchEvictSelect(As<CwEvictSelectArgs>(a), s);
    case CW_OP_GATHER_ROWS:
      *name = "gather_rows";
      return kc::LaunchGatherRows(As<CwGatherRowsArgs>(a), s);
    case CW_OP_GEMM_F32:
      *name = "gemm_f32";
      return kc::LaunchGemmF32(As<CwGemmF32Args>(a), s);
    case CW_OP_ADD:
      *name = "add";
      return kc::LaunchAdd(As<CwAddArgs>(a), s);
    case CW_OP_SCALE:
      *name = "scale";
      return kc::LaunchScale(As<CwScaleArgs>(a), s);
  }
  *name = "run_op";
  return {cudaErrorNotSupported, "unknown op id"};
}

int RunOp(CwOp op, const void* args, char* err, size_t err_len) {
  const char* name = "run_op";
  if (args == nullptr) return Fail(cudaErrorInvalidValue, "run_op: null args", err, err_len);
  const kc::LaunchStatus st = Dispatch(op, args, /*stream=*/nullptr, &name);
  if (st.ok()) return 0;
  if (err != nullptr && err_len > 0) {
    std::snprintf(err, err_len, "%s: %s: %s", name, st.what != nullptr ? st.what : "failed",
                  cudaGetErrorString(st.code));
  }
  return static_cast<int>(st.code);
}

const CwCudaApi kApi = {
    CACHEWIRE_CUDA_ABI_VERSION,
    DeviceCount,
    DeviceInfo,
    SetDevice,
    Malloc,
    Free,
    Memset,
    CopyToDevice,
    CopyToHost,
    Synchronize,
    RunOp,
};

}  // namespace

extern "C" __attribute__((visibility("default"))) const CwCudaApi* cachewire_cuda_api(void) {
  return &kApi;
}
