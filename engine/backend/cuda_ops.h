// backend::Ops on a CUDA device through the plugin (cuda_device.h).
#pragma once

#include <memory>

#include "absl/status/statusor.h"
#include "engine/backend/ops.h"

namespace cachewire::backend {

// Device `ordinal`, made current for the calling thread; Unavailable with the reason (no plugin,
// no driver, no such device) otherwise. Use the Ops from the thread that opened it.
absl::StatusOr<std::unique_ptr<Ops>> OpenCudaOps(int ordinal = 0);

}  // namespace cachewire::backend
