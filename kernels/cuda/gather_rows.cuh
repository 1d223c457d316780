// CUDA twin of the bounded cache's compaction (engine/cache/bounded_kv_cache.cc);
// arguments and semantics in engine/backend/cuda/op_args.h.
#pragma once

#include "engine/backend/cuda/op_args.h"
#include "kernels/cuda/launch_status.cuh"

namespace cachewire::kernels::cuda {

LaunchStatus LaunchGatherRows(const CwGatherRowsArgs& a, cudaStream_t stream);

}  // namespace cachewire::kernels::cuda
