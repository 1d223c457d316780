// The C ABI between the CPU-only executables and the CUDA backend plugin.
//
// The CUDA backend is a MODULE library loaded with dlopen at run time, for two reasons: one
// build runs on machines with and without a GPU, and cuBLAS's large static TLS must not be
// linked into executables whose other threads start with small stacks (TOOLCHAIN.md, pitfall
// 1). A plain C table of functions keeps the boundary free of C++ ABI concerns. Every function
// returns 0 on success or a CUDA error code, writing a message into `err` (NUL-terminated).
#pragma once

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define CACHEWIRE_CUDA_ABI_VERSION 1u

typedef struct CwCudaApi {
  uint32_t abi_version;  // CACHEWIRE_CUDA_ABI_VERSION of the plugin
  // Number of usable CUDA devices (0 without a driver or device: that is not an error).
  int (*device_count)(int* count, char* err, size_t err_len);
  // Name and compute capability of a device.
  int (*device_info)(int device, char* name, size_t name_len, int* cc_major, int* cc_minor,
                     char* err, size_t err_len);
  // Dequantises n_rows rows of `n_per_row` elements of GGUF type `type` (ggml id) from host
  // memory into host f32 through the device: the first kernel, tested against its CPU twin.
  int (*dequantize_rows)(int device, uint32_t type, const void* src, size_t src_bytes,
                         int64_t n_rows, int64_t n_per_row, float* dst, char* err,
                         size_t err_len);
} CwCudaApi;

// The one exported symbol of the plugin.
const CwCudaApi* cachewire_cuda_api(void);
typedef const CwCudaApi* (*CwCudaApiFn)(void);

#ifdef __cplusplus
}
#endif
