// CUDA twin of kernels::Attention (kernels/attention.h);
// arguments and semantics in engine/backend/cuda/op_args.h.
#pragma once

#include "engine/backend/cuda/op_args.h"
#include "kernels/cuda/launch_status.cuh"

namespace cachewire::kernels::cuda {

LaunchStatus LaunchAttention(const CwAttentionArgs& a, cudaStream_t stream);

}  // namespace cachewire::kernels::cuda
