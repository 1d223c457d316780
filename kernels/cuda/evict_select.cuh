// CUDA twin of cache::ChooseKept (engine/cache/eviction.h);
// arguments and semantics in engine/backend/cuda/op_args.h.
#pragma once

#include "engine/backend/cuda/op_args.h"
#include "kernels/cuda/launch_status.cuh"

namespace cachewire::kernels::cuda {

LaunchStatus LaunchEvictSelect(const CwEvictSelectArgs& a, cudaStream_t stream);

}  // namespace cachewire::kernels::cuda
