// backend::Ops on host memory with the CPU kernels: the CUDA backend's twin. The device model
// run over it computes what the CPU model computes, so the device model's forward is tested on
// any machine, and a GPU run differs from it only inside the ops (which the twin tests cover).
#pragma once

#include <memory>

#include "engine/backend/ops.h"

namespace cachewire::backend {

// n_threads: the kernels' thread pool (the caller included); 0 = one per hardware thread.
std::unique_ptr<Ops> NewCpuOps(int n_threads = 0);

}  // namespace cachewire::backend
