// CUDA twin of kernels::SoftmaxRows (kernels/softmax.h);
// arguments and semantics in engine/backend/cuda/op_args.h.
#pragma once

#include "engine/backend/cuda/op_args.h"
#include "kernels/cuda/launch_status.cuh"

namespace cachewire::kernels::cuda {

LaunchStatus LaunchSoftmax(const CwSoftmaxArgs& a, cudaStream_t stream);

}  // namespace cachewire::kernels::cuda
