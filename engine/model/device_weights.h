// A model's weights copied once into a backend's memory (the GPU for the CUDA backend): the
// matrices in their GGUF types, byte for byte (the matmul kernels dequantise on the fly), the
// norm vectors and RoPE factors as f32. A tied output projection shares token_embd's copy.
#pragma once

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/backend/ops.h"
#include "engine/model/hparams.h"
#include "engine/model/weights.h"
#include "kernels/rope.h"

namespace cachewire::model {

// A matrix in backend memory: (n_out, n_in) raw GGUF rows of `type` (ggml id).
struct DeviceMatrix {
  uint32_t type = 0;
  const void* data = nullptr;
  int64_t n_in = 0;
  int64_t n_out = 0;
};

struct DeviceLayer {
  const float* attn_norm = nullptr;  // (n_embd)
  DeviceMatrix wq, wk, wv, wo;
  const float* ffn_norm = nullptr;  // (n_embd)
  DeviceMatrix gate, up, down;
  // gemma3 only (null for llama)
  const float* q_norm = nullptr;          // (head_dim_k)
  const float* k_norm = nullptr;          // (head_dim_k)
  const float* post_attn_norm = nullptr;  // (n_embd)
  const float* post_ffw_norm = nullptr;   // (n_embd)
};

struct DeviceWeights {
  DeviceMatrix token_embd;             // (n_vocab, n_embd)
  const float* output_norm = nullptr;  // (n_embd)
  DeviceMatrix output;                 // (n_vocab, n_embd)
  const float* rope_freqs = nullptr;   // (n_rot / 2), or null
  std::vector<DeviceLayer> layers;     // (n_layer)
  // How each layer rotates (forward.h's LayerRopeParams, its factors in backend memory).
  std::vector<kernels::RopeParams> rope;  // (n_layer)
  std::vector<backend::Buffer> storage;   // the backend memory the pointers above point into
  size_t bytes = 0;                       // total uploaded
};

// Copies every tensor of `w` into `ops`' memory. ResourceExhausted when it does not fit.
absl::StatusOr<DeviceWeights> UploadWeights(const Weights& w, const HParams& hp, backend::Ops& ops);

}  // namespace cachewire::model
