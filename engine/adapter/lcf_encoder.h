// The LCF encoder (lcf_adapter.h says what it computes), run without ever widening an item to r.
//
// Every sharer entry x = [k; v] (n = dk + dv values) becomes u = g * z / rho, z = W_l x + b_lh,
// rho = rms(z), and the attention pooling is linear in u. So with the queries fixed, head h's
// score of slot m folds into the narrow x:
//     s = (A_l x + c_lh) / rho,           A_l = (P * g) W_l,  c_lh = (P * g) . b_lh
// (P = Q_h W_k,h / sqrt(dh), one row per (head, slot)), rho^2 = (x^T W_l^T W_l x + 2 (W_l^T b_lh)
// . x + |b_lh|^2) / r + eps comes from a Gram matrix, and the pooled values need only the
// softmax-weighted sums of the x's:
//     sum_i a_i W_v,h u_i = W_v,h (g * (sum_l W_l X_l + sum_lh b_lh w_lh)),
//     X_l = sum over layer l's entries of (a_i / rho_i) x_i,
//     w_lh = sum over (l, h)'s entries of a_i / rho_i.
// Per entry that is about 2 (H M) n + n^2 multiply-adds, against r n + 2 (H M) r for projecting
// each entry to r first: 4x less at the agents' sizes (n = 64, r = 256, H M = 128), the same
// function up to rounding (tools/train/lcf_adapter.py encode_folded is the torch twin; the golden
// files come from the plain encode).
//
// A per-token adapter (LcfWeights::per_token) pools nothing: its slot for each sharer token sent
// (token_selection.h) is the sum of W_l x + b_lh over that token's entries, plus that of
// W'_l x + b'_lh (enc.prev) over its predecessor's.
#pragma once

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/adapter/lcf_weights.h"

namespace cachewire::cache {
class KvCache;
}
namespace cachewire::model {
class Model;
}

namespace cachewire::adapter {

class LcfEncoder {
 public:
  // Folds the weights once; `w` is read here only.
  explicit LcfEncoder(const LcfWeights& w);

  // M * r slot values, slot-major (per-token: one slot per token sent, at most M, in text
  // order). FailedPrecondition when the cache holds no entry to read.
  // Thread-safe (scratch is per thread); the cache must not change during the call.
  absl::StatusOr<std::vector<float>> Encode(const model::Model& sharer,
                                            const cache::KvCache& cache) const;

 private:
  struct Scratch;
  absl::Status Gather(const model::Model& m, const cache::KvCache& c, Scratch& s) const;
  absl::Status Score(Scratch& s) const;  // scores and 1 / rho per item
  absl::StatusOr<std::vector<float>> PoolValues(Scratch& s) const;
  absl::StatusOr<std::vector<float>> EncodeTokens(Scratch& s) const;
  // scores (H M, I) -= p_h (where_i - (m + 0.5) / M)^2 (positional pooling).
  void AddPositionBias(const float* where, int64_t n_items, float* scores) const;

  bool per_token_ = false;
  int64_t r_ = 0, n_slots_ = 0, heads_ = 0, n_in_ = 0, n_kv_heads_ = 0;
  std::vector<Affine> in_;          // per sharer layer: W_l (r, n), b (n_kv_heads, r)
  std::vector<Affine> prev_;        // per-token: the previous token's, the same shapes
  std::vector<float> score_w_;      // per layer: A_l (H M, n)
  std::vector<float> score_b_;      // per (layer, kv-head): c_lh (H M)
  std::vector<float> gram_;         // per layer: W_l^T W_l / r (n, n)
  std::vector<float> gram_b_;       // per (layer, kv-head): 2 W_l^T b_lh / r (n)
  std::vector<float> bias_sq_;      // per (layer, kv-head): |b_lh|^2 / r + eps
  std::vector<float> value_w_;      // W_v with its columns scaled by g (r, r)
  Affine out_;                      // enc.out
  std::vector<float> pos_;          // enc.pos (empty: no positional pooling)
};

}  // namespace cachewire::adapter
