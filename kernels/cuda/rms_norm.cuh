// CUDA twin of kernels::RmsNorm (kernels/rms_norm.h);
// arguments and semantics in engine/backend/cuda/op_args.h.
#pragma once

#include "engine/backend/cuda/op_args.h"
#include "kernels/cuda/launch_status.cuh"

namespace cachewire::kernels::cuda {

LaunchStatus LaunchRmsNorm(const CwRmsNormArgs& a, cudaStream_t stream);

}  // namespace cachewire::kernels::cuda
