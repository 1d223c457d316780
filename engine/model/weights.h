// The tensors of a llama / gemma3 model as views into the GGUF mapping, checked once at load.
//
// Matrices stay in their GGUF type (the matmul kernels read every type directly); norm vectors
// and RoPE frequency factors are small, so they are copied to f32 whatever their stored type.
// Every check names the file and the tensor: a missing tensor, a wrong shape (with the expected
// one), or a type no kernel multiplies.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/gguf/gguf_file.h"
#include "engine/gguf/tensor_type.h"
#include "engine/model/hparams.h"

namespace cachewire::model {

// A weight matrix y = W x: (n_out, n_in) rows of raw GGUF data (ggml shape [n_in, n_out]).
struct Matrix {
  gguf::TensorType type = gguf::TensorType::kF32;
  const void* data = nullptr;
  int64_t n_in = 0;
  int64_t n_out = 0;
};

struct LayerWeights {
  const float* attn_norm = nullptr;  // (n_embd)
  Matrix wq;                         // (n_head * head_dim_k, n_embd)
  Matrix wk;                         // (n_head_kv * head_dim_k, n_embd)
  Matrix wv;                         // (n_head_kv * head_dim_v, n_embd)
  Matrix wo;                         // (n_embd, n_head * head_dim_v)
  const float* ffn_norm = nullptr;   // (n_embd)
  Matrix gate;                       // (n_ff, n_embd)
  Matrix up;                         // (n_ff, n_embd)
  Matrix down;                       // (n_embd, n_ff)
  // gemma3 only (null for llama)
  const float* q_norm = nullptr;          // (head_dim_k)
  const float* k_norm = nullptr;          // (head_dim_k)
  const float* post_attn_norm = nullptr;  // (n_embd)
  const float* post_ffw_norm = nullptr;   // (n_embd)
};

struct Weights {
  Matrix token_embd;                   // (n_vocab, n_embd)
  const float* output_norm = nullptr;  // (n_embd)
  Matrix output;                       // (n_vocab, n_embd); token_embd when tied
  const float* rope_freqs = nullptr;   // (n_rot / 2) divisors, or null
  std::vector<LayerWeights> layers;    // (n_layer)
  // Storage of the f32 vectors above (each inner vector's buffer never moves).
  std::vector<std::unique_ptr<std::vector<float>>> owned;
};

// Views of every tensor the architecture needs, with shapes checked against `hp`.
absl::StatusOr<Weights> LoadWeights(const gguf::File& file, const HParams& hp);

}  // namespace cachewire::model
