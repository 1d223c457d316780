// The tensors of an LCF adapter file, dequantised to f32 and checked against the two models'
// identities at load (tools/train/lcf_adapter.py names and shapes them; lcf_adapter.h says what
// they compute). Small (well under a million parameters), so f32 costs nothing and keeps the
// encoder and decoder bit-comparable with the torch reference.
#pragma once

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/adapter/affine.h"
#include "engine/adapter/model_identity.h"

namespace cachewire::gguf {
class File;
}

namespace cachewire::adapter {

// The RMS norms' epsilon, the encoder's and the decoder's (lcf_adapter.py NORM_EPS).
inline constexpr float kLcfNormEps = 1e-6f;

struct LcfWeights {
  // Per-token adapters (cachewire.lcf.per_token) send one slot per sharer token, n_slots the
  // most, and have no pooling tensors (enc.norm, enc.query, enc.pool_*, enc.out, enc.pos).
  bool per_token = false;
  int64_t n_slots = 0;     // M (per-token: the most slots)
  int64_t slot_dim = 0;    // r
  int64_t pool_heads = 0;  // divides r
  int64_t ff_dim = 0;
  std::vector<Affine> enc_in;        // per sharer layer: (r, dk + dv), bias (n_head_kv, r)
  std::vector<Affine> enc_prev;      // per-token adapters: the same, for the previous token
  // Pooling adapters only:
  std::vector<float> enc_norm;       // (r)
  std::vector<float> enc_query;      // (M, r)
  Affine pool_k, pool_v;             // (r, r), no bias
  Affine enc_out;                    // (r, r)
  std::vector<float> enc_pos;        // (pool_heads) positional pooling precisions; empty: none
  std::vector<float> dec_norm;       // (r)
  Affine dec_up;                     // (ff, r)
  Affine dec_down;                   // (r, ff); per-token adapters have none
  Affine dec_mid;                    // (ff, ff); per-token adapters only
  std::vector<int64_t> receiver_layers;  // layers that take pins, ascending
  std::vector<Affine> dec_k, dec_v;      // per such layer: (n_head_kv * d, r; per-token: ff)
};

// InvalidArgument naming the file and the key or tensor for anything missing, mistyped or of
// the wrong shape.
absl::StatusOr<LcfWeights> LoadLcfWeights(const gguf::File& file, const ModelIdentity& sharer,
                                          const ModelIdentity& receiver);

}  // namespace cachewire::adapter
