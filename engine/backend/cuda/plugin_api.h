// The C ABI between the CPU-only executables and the CUDA backend plugin.
//
// The CUDA backend is a MODULE library loaded with dlopen at run time, for two reasons: one
// build runs on machines with and without a GPU, and cuBLAS's large static TLS must not be
// linked into executables whose other threads start with small stacks (TOOLCHAIN.md, pitfall
// 1). A plain C table of functions keeps the boundary free of C++ ABI concerns. Every function
// returns 0 on success or a CUDA (or cuBLAS) error code, writing a message that names the call
// or op into `err` (NUL-terminated).
//
// Ops are launched on the calling thread's current device and its default stream, in order; a
// fault inside a kernel surfaces at the next synchronising call (copy to host, synchronize).
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "engine/backend/cuda/op_args.h"

#ifdef __cplusplus
extern "C" {
#endif

#define CACHEWIRE_CUDA_ABI_VERSION 2u

typedef struct CwCudaApi {
  uint32_t abi_version;  // CACHEWIRE_CUDA_ABI_VERSION of the plugin
  // Number of usable CUDA devices (0 without a driver or device: that is not an error).
  int (*device_count)(int* count, char* err, size_t err_len);
  // Name, compute capability and memory of a device.
  int (*device_info)(int device, char* name, size_t name_len, int* cc_major, int* cc_minor,
                     size_t* total_bytes, char* err, size_t err_len);
  // Makes `device` current for the calling thread (every call below works on it).
  int (*set_device)(int device, char* err, size_t err_len);
  // Device memory. free(null) is a no-op.
  int (*malloc)(size_t bytes, void** ptr, char* err, size_t err_len);
  int (*free)(void* ptr, char* err, size_t err_len);
  int (*memset)(void* ptr, int value, size_t bytes, char* err, size_t err_len);
  // Host <-> device copies; to_host waits for the ops before it.
  int (*copy_to_device)(void* dst, const void* src, size_t bytes, char* err, size_t err_len);
  int (*copy_to_host)(void* dst, const void* src, size_t bytes, char* err, size_t err_len);
  // Waits for every op launched so far; reports a fault of any of them.
  int (*synchronize)(char* err, size_t err_len);
  // One op (op_args.h): `args` points to the op's record. Arguments are checked before launch
  // (cudaErrorInvalidValue naming the field); unknown ops give cudaErrorNotSupported.
  int (*run_op)(CwOp op, const void* args, char* err, size_t err_len);
} CwCudaApi;

// The one exported symbol of the plugin.
const CwCudaApi* cachewire_cuda_api(void);
typedef const CwCudaApi* (*CwCudaApiFn)(void);

#ifdef __cplusplus
}
#endif
