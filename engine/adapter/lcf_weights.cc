#include "engine/adapter/lcf_weights.h"

#include <algorithm>
#include <string>

#include "engine/adapter/adapter_tensors.h"
#include "engine/common/status_macros.h"
#include "engine/gguf/dequantize.h"
#include "engine/gguf/gguf_file.h"
#include "engine/gguf/str_cat.h"

namespace cachewire::adapter {

absl::StatusOr<LcfWeights> LoadLcfWeights(const gguf::File& file, const ModelIdentity& sharer,
                                          const ModelIdentity& receiver) {
  const AdapterTensors r(file);
  LcfWeights w;
  if (file.Find("cachewire.lcf.per_token") != nullptr) {
    auto per_token = file.GetBool("cachewire.lcf.per_token");
    if (!per_token.ok()) return r.KeyError("cachewire.lcf.per_token", "not a boolean");
    w.per_token = *per_token;
  }
  CW_ASSIGN_OR_RETURN(w.n_slots, r.Count("cachewire.lcf.n_slots", 4096));
  CW_ASSIGN_OR_RETURN(w.slot_dim, r.Count("cachewire.lcf.slot_dim", 16384));
  CW_ASSIGN_OR_RETURN(w.pool_heads, r.Count("cachewire.lcf.pool_heads", 1024));
  CW_ASSIGN_OR_RETURN(w.ff_dim, r.Count("cachewire.lcf.ff_dim", 65536));
  if (w.slot_dim % w.pool_heads != 0) {
    return r.KeyError("cachewire.lcf.pool_heads",
                      gguf::Cat(w.pool_heads, " does not divide slot_dim ", w.slot_dim));
  }
  const int64_t R = w.slot_dim;
  const int64_t item = sharer.head_dim_k + sharer.head_dim_v;  // [k; v] of one kv-head
  for (int64_t il = 0; il < sharer.n_layer; ++il) {
    CW_ASSIGN_OR_RETURN(Affine a,
                        ReadAffine(r, gguf::Cat("enc.in.", il, "."), item, R, {R, sharer.n_head_kv}));
    w.enc_in.push_back(std::move(a));
    if (w.per_token) {
      CW_ASSIGN_OR_RETURN(Affine p, ReadAffine(r, gguf::Cat("enc.prev.", il, "."), item, R,
                                               {R, sharer.n_head_kv}));
      w.enc_prev.push_back(std::move(p));
    }
  }
  if (!w.per_token) {
    CW_ASSIGN_OR_RETURN(w.enc_norm, r.Read("enc.norm.weight", {R}));
    CW_ASSIGN_OR_RETURN(w.enc_query, r.Read("enc.query.weight", {R, w.n_slots}));
    CW_ASSIGN_OR_RETURN(w.pool_k, ReadAffine(r, "enc.pool_k.", R, R, {}));
    CW_ASSIGN_OR_RETURN(w.pool_v, ReadAffine(r, "enc.pool_v.", R, R, {}));
    CW_ASSIGN_OR_RETURN(w.enc_out, ReadAffine(r, "enc.out.", R, R, {R}));
    // Optional: adapters without positional pooling have none.
    if (file.FindTensor("enc.pos.weight") != nullptr) {
      CW_ASSIGN_OR_RETURN(w.enc_pos, r.Read("enc.pos.weight", {w.pool_heads}));
    }
  }
  CW_ASSIGN_OR_RETURN(w.dec_norm, r.Read("dec.norm.weight", {R}));
  CW_ASSIGN_OR_RETURN(w.dec_up, ReadAffine(r, "dec.up.", R, w.ff_dim, {w.ff_dim}));
  if (w.per_token) {  // per-token decoders' heads read the ff-wide activations directly
    CW_ASSIGN_OR_RETURN(w.dec_mid, ReadAffine(r, "dec.mid.", w.ff_dim, w.ff_dim, {w.ff_dim}));
  } else {
    CW_ASSIGN_OR_RETURN(w.dec_down, ReadAffine(r, "dec.down.", w.ff_dim, R, {R}));
  }
  const int64_t head_in = w.per_token ? w.ff_dim : R;
  const int64_t n_k = receiver.n_head_kv * receiver.head_dim_k;
  const int64_t n_v = receiver.n_head_kv * receiver.head_dim_v;
  for (int64_t il = 0; il < receiver.n_layer; ++il) {
    if (file.FindTensor(gguf::Cat("dec.k.", il, ".weight")) == nullptr) continue;
    CW_ASSIGN_OR_RETURN(Affine k,
                        ReadAffine(r, gguf::Cat("dec.k.", il, "."), head_in, n_k, {n_k}));
    CW_ASSIGN_OR_RETURN(Affine v,
                        ReadAffine(r, gguf::Cat("dec.v.", il, "."), head_in, n_v, {n_v}));
    w.receiver_layers.push_back(il);
    w.dec_k.push_back(std::move(k));
    w.dec_v.push_back(std::move(v));
  }
  if (w.receiver_layers.empty()) return r.TensorError("dec.k.<layer>.weight", "no receiver layer has one");
  return w;
}

}  // namespace cachewire::adapter
