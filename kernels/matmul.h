// CPU matrix multiply of GGUF weights with f32 activations: the projection op of the forward
// pass, built on the row dot kernels of dot.h.
//
//   Y[t][o] = sum_i W[o][i] * X[t][i]
//
// Decode (n_tokens = 1) is bound by memory bandwidth: each weight byte is streamed once, split
// over threads by output rows. Prefill is bound by compute: weights are taken in blocks of rows
// small enough to stay in L2 and each row is multiplied with up to kMaxDotRows token rows per
// kernel call, so its blocks are loaded and unpacked once per group of tokens.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "absl/status/status.h"
#include "engine/backend/cpu/thread_pool.h"
#include "engine/gguf/tensor_type.h"
#include "kernels/dot.h"

namespace cachewire::kernels {

struct MatmulArgs {
  gguf::TensorType w_type = gguf::TensorType::kF32;
  const void* w = nullptr;  // (n_out, n_in) raw GGUF rows, RowBytes(w_type, n_in) bytes apart
  int64_t n_out = 0;
  int64_t n_in = 0;          // a whole number of w_type blocks
  const float* x = nullptr;  // (n_tokens, n_in)
  int64_t n_tokens = 0;
  float* y = nullptr;         // (n_tokens, n_out), fully overwritten
  std::optional<CpuIsa> isa;  // kernel level; ActiveIsa() when unset
};

// The activations quantised once per call (n_tokens rows in the weight type's ActFormat). Keep
// one per caller thread and pass it in to reuse its allocation across calls.
struct MatmulScratch {
  std::vector<uint8_t> act;
};

// Computes args.y. `pool` may be null (runs on the calling thread); `scratch` may be null (a
// thread-local buffer is used). InvalidArgument for an unsupported weight type, n_in not a
// whole number of blocks, negative sizes, null buffers, or an ISA level above the CPU's.
absl::Status Matmul(const MatmulArgs& args, backend::cpu::ThreadPool* pool,
                    MatmulScratch* scratch = nullptr);

}  // namespace cachewire::kernels
