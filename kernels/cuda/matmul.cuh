// CUDA twin of kernels::Matmul (kernels/matmul.h), weights dequantised on the fly;
// arguments and semantics in engine/backend/cuda/op_args.h.
#pragma once

#include "engine/backend/cuda/op_args.h"
#include "kernels/cuda/launch_status.cuh"

namespace cachewire::kernels::cuda {

LaunchStatus LaunchMatmul(const CwMatmulArgs& a, cudaStream_t stream);

}  // namespace cachewire::kernels::cuda
