// Token embedding lookup: each id's row of the GGUF embedding table, dequantised to f32 and
// optionally scaled (Gemma multiplies by sqrt(n_embd)). Only the looked-up rows are touched, so a
// quantised table of any size costs n_tokens rows per forward.
#pragma once

#include <cstdint>
#include <span>

#include "absl/status/status.h"
#include "engine/gguf/tensor_type.h"

namespace cachewire::kernels {

struct EmbeddingArgs {
  gguf::TensorType type = gguf::TensorType::kF32;
  const void* table = nullptr;  // (n_vocab, n_embd) raw GGUF rows
  int64_t n_vocab = 0;
  int64_t n_embd = 0;           // a whole number of `type` blocks
  std::span<const int32_t> ids;  // (n_tokens)
  float scale = 1.0f;
  float* out = nullptr;          // (n_tokens, n_embd)
};

// InvalidArgument naming the position of an id outside [0, n_vocab), or for an unsupported
// type / n_embd not a whole number of blocks; out is unspecified then.
absl::Status EmbeddingLookup(const EmbeddingArgs& args);

}  // namespace cachewire::kernels
