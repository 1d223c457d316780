// Finds and loads the CUDA backend plugin (libcachewire_cuda.so) at run time.
//
// Search order: $CACHEWIRE_CUDA_PLUGIN, then beside the running executable, then ../lib
// relative to it. A missing plugin, a missing driver or no device are ordinary outcomes on a
// CPU machine: they come back as a status whose message says which, so callers fall back to
// the CPU backend and tests skip with that message.
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "engine/backend/cuda/plugin_api.h"

namespace cachewire::backend {

struct CudaPlugin {
  const CwCudaApi* api = nullptr;
  std::string path;  // where it was loaded from
};

// Loads the plugin once per process (later calls return the same result).
// NotFound: no plugin file; FailedPrecondition: the plugin loaded but has an ABI mismatch.
absl::StatusOr<CudaPlugin> LoadCudaPlugin();

// The plugin and at least one device; Unavailable (with the reason) otherwise.
absl::StatusOr<CudaPlugin> CudaDeviceOrReason();

}  // namespace cachewire::backend
