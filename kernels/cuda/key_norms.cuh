// CUDA twin of the bounded cache's key L2 norms (engine/cache/kv_rows.cc);
// arguments and semantics in engine/backend/cuda/op_args.h.
#pragma once

#include "engine/backend/cuda/op_args.h"
#include "kernels/cuda/launch_status.cuh"

namespace cachewire::kernels::cuda {

LaunchStatus LaunchKeyNorms(const CwKeyNormsArgs& a, cudaStream_t stream);

}  // namespace cachewire::kernels::cuda
