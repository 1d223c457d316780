// cuBLAS SGEMM for the adapters' dense layers: the CUDA twin of kernels::Matmul with F32
// weights (kernels/matmul.h); arguments in engine/backend/cuda/op_args.h.
#pragma once

#include "engine/backend/cuda/op_args.h"
#include "kernels/cuda/launch_status.cuh"

namespace cachewire::kernels::cuda {

// Uses one cuBLAS handle per (thread, device), created on first use.
LaunchStatus LaunchGemmF32(const CwGemmF32Args& a, cudaStream_t stream);

}  // namespace cachewire::kernels::cuda
