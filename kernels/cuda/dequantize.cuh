// CUDA twin of gguf::DequantizeRow (engine/gguf/dequantize.h): GGUF rows to f32 on the device;
// arguments in engine/backend/cuda/op_args.h.
#pragma once

#include <cstdint>

#include "engine/backend/cuda/op_args.h"
#include "kernels/cuda/launch_status.cuh"

namespace cachewire::kernels::cuda {

// True for the types this kernel handles: those of quant_decode.cuh (F32, F16, BF16, Q8_0, Q4_0,
// Q4_K, Q6_K). A row that is not a whole number of blocks is refused ("n_per_row").
bool DequantizeSupported(uint32_t type);

LaunchStatus LaunchDequantize(const CwDequantizeArgs& a, cudaStream_t stream);

}  // namespace cachewire::kernels::cuda
