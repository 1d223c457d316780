// CUDA twins of kernels::AddInPlace and ScaleInPlace (kernels/elementwise.h); arguments in
// engine/backend/cuda/op_args.h.
#pragma once

#include "engine/backend/cuda/op_args.h"
#include "kernels/cuda/launch_status.cuh"

namespace cachewire::kernels::cuda {

LaunchStatus LaunchAdd(const CwAddArgs& a, cudaStream_t stream);
LaunchStatus LaunchScale(const CwScaleArgs& a, cudaStream_t stream);

}  // namespace cachewire::kernels::cuda
