// What a kernel launcher returns: a CUDA error code and, when it is not cudaSuccess, a static
// string saying what was wrong (the argument field, or the kernel that failed to launch). The
// plugin's dispatch turns it into "op: what: CUDA's message" for the caller.
#pragma once

#include <cuda_runtime.h>

namespace cachewire::kernels::cuda {

struct LaunchStatus {
  cudaError_t code = cudaSuccess;
  const char* what = nullptr;

  bool ok() const { return code == cudaSuccess; }
};

inline LaunchStatus Ok() { return {}; }

// An argument the op cannot take; `field` names it ("n_rows < 0").
inline LaunchStatus InvalidArg(const char* field) { return {cudaErrorInvalidValue, field}; }

// After a <<<...>>> launch: the launch's own error (bad configuration, no device), if any.
inline LaunchStatus AfterLaunch(const char* kernel) {
  const cudaError_t e = cudaGetLastError();
  return e == cudaSuccess ? Ok() : LaunchStatus{e, kernel};
}

// Blocks of `threads` covering n items (at least one block; callers return early for n == 0).
inline unsigned GridFor(long long n, int threads) {
  return static_cast<unsigned>((n + threads - 1) / threads);
}

}  // namespace cachewire::kernels::cuda
