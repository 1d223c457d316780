// Hyperparameters of a supported architecture, read from GGUF metadata and tensor shapes only.
//
// Keys follow llama.cpp's names (`<arch>.embedding_length`, ...). A missing required key, a
// value out of range or a tensor whose shape contradicts the metadata is an error naming the
// file and the key, so a bad model fails at load with a message instead of inside a forward.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/gguf/gguf_file.h"

namespace cachewire::model {

enum class Arch { kLlama, kGemma3 };
const char* ArchName(Arch arch);

struct HParams {
  Arch arch = Arch::kLlama;
  int64_t n_vocab = 0;
  int64_t n_ctx_train = 0;
  int64_t n_embd = 0;
  int64_t n_layer = 0;
  int64_t n_ff = 0;
  int64_t n_head = 0;
  int64_t n_head_kv = 0;
  int64_t head_dim_k = 0;     // per-head width of queries and keys
  int64_t head_dim_v = 0;     // per-head width of values
  int64_t n_rot = 0;          // dimensions RoPE rotates (<= head_dim_k)
  float rms_eps = 1e-5f;
  float rope_freq_base = 10000.0f;
  float rope_freq_scale = 1.0f;   // linear position scaling (1 / factor)
  bool rope_neox = false;         // rotate pairs (i, i + n_rot/2) instead of (2i, 2i+1)
  bool has_rope_freq_factors = false;  // `rope_freqs.weight` divides each frequency (Llama 3.1+)
  float attn_scale = 0.0f;        // multiplies q·k; 1/sqrt(head_dim_k) unless the family says so
  bool tied_output = false;       // output projection reuses token_embd.weight

  // Gemma 3: local sliding-window layers with their own RoPE base, and a global layer every
  // `swa_period` layers (the last of each period).
  int64_t sliding_window = 0;     // 0: every layer attends to the whole context
  int64_t swa_period = 0;
  float rope_freq_base_local = 10000.0f;
  bool embed_scale_sqrt = false;  // embeddings multiplied by sqrt(n_embd)

  bool IsLocalLayer(int64_t il) const {
    return sliding_window > 0 && swa_period > 0 && (il % swa_period) != swa_period - 1;
  }
  int64_t n_gqa() const { return n_head / n_head_kv; }
};

absl::StatusOr<HParams> LoadHParams(const gguf::File& file);

}  // namespace cachewire::model
