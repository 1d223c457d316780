#include "engine/adapter/lcf_weights.h"

#include "engine/adapter/adapter_tensors.h"

#include <algorithm>
#include <string>

#include "engine/common/status_macros.h"
#include "engine/gguf/dequantize.h"
#include "engine/gguf/gguf_file.h"
#include "engine/gguf/str_cat.h"
#include "kernels/matmul.h"

namespace cachewire::adapter {
namespace {

// A (n_out, n_in) weight "<prefix>.weight" and, unless bias_dims is empty, "<prefix>.bias".
absl::StatusOr<Affine> ReadAffine(const AdapterTensors& r, const std::string& prefix, int64_t n_in,
                                  int64_t n_out, std::vector<int64_t> bias_dims) {
  Affine a;
  a.n_in = n_in;
  a.n_out = n_out;
  CW_ASSIGN_OR_RETURN(a.w, r.Read(prefix + ".weight", {n_in, n_out}));
  if (!bias_dims.empty()) {
    CW_ASSIGN_OR_RETURN(a.b, r.Read(prefix + ".bias", bias_dims));
  }
  return a;
}

}  // namespace

absl::Status ApplyAffine(const Affine& a, const float* x, int64_t n_rows, float* y,
                         int64_t bias_row) {
  kernels::MatmulArgs args{.w_type = gguf::TensorType::kF32, .w = a.w.data(), .n_out = a.n_out,
                           .n_in = a.n_in, .x = x, .n_tokens = n_rows, .y = y, .isa = std::nullopt};
  CW_RETURN_IF_ERROR(kernels::Matmul(args, nullptr));
  if (!a.b.empty()) {
    const float* b = a.b.data() + bias_row * a.n_out;
    for (int64_t t = 0; t < n_rows; ++t) {
      float* row = y + t * a.n_out;
      for (int64_t o = 0; o < a.n_out; ++o) row[o] += b[o];
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<LcfWeights> LoadLcfWeights(const gguf::File& file, const ModelIdentity& sharer,
                                          const ModelIdentity& receiver) {
  const AdapterTensors r(file);
  LcfWeights w;
  CW_ASSIGN_OR_RETURN(w.n_slots, r.Count("cachewire.lcf.n_slots", 4096));
  CW_ASSIGN_OR_RETURN(w.slot_dim, r.Count("cachewire.lcf.slot_dim", 16384));
  CW_ASSIGN_OR_RETURN(w.pool_heads, r.Count("cachewire.lcf.pool_heads", 1024));
  CW_ASSIGN_OR_RETURN(w.ff_dim, r.Count("cachewire.lcf.ff_dim", 65536));
  if (w.slot_dim % w.pool_heads != 0) {
    return absl::InvalidArgumentError(gguf::Cat(file.path(), ": cachewire.lcf.pool_heads: ",
                                                w.pool_heads, " does not divide slot_dim ", w.slot_dim));
  }
  const int64_t R = w.slot_dim;
  for (int64_t il = 0; il < sharer.n_layer; ++il) {
    CW_ASSIGN_OR_RETURN(Affine a, ReadAffine(r, gguf::Cat("enc.in.", il), sharer.head_dim_k + sharer.head_dim_v,
                                               R, {R, sharer.n_head_kv}));
    w.enc_in.push_back(std::move(a));
  }
  CW_ASSIGN_OR_RETURN(w.enc_norm, r.Read("enc.norm.weight", {R}));
  CW_ASSIGN_OR_RETURN(w.enc_query, r.Read("enc.query.weight", {R, w.n_slots}));
  CW_ASSIGN_OR_RETURN(w.pool_k, ReadAffine(r, "enc.pool_k", R, R, {}));
  CW_ASSIGN_OR_RETURN(w.pool_v, ReadAffine(r, "enc.pool_v", R, R, {}));
  CW_ASSIGN_OR_RETURN(w.enc_out, ReadAffine(r, "enc.out", R, R, {R}));
  CW_ASSIGN_OR_RETURN(w.dec_norm, r.Read("dec.norm.weight", {R}));
  CW_ASSIGN_OR_RETURN(w.dec_up, ReadAffine(r, "dec.up", R, w.ff_dim, {w.ff_dim}));
  CW_ASSIGN_OR_RETURN(w.dec_down, ReadAffine(r, "dec.down", w.ff_dim, R, {R}));
  for (int64_t il = 0; il < receiver.n_layer; ++il) {
    if (file.FindTensor(gguf::Cat("dec.k.", il, ".weight")) == nullptr) continue;
    CW_ASSIGN_OR_RETURN(Affine k, ReadAffine(r, gguf::Cat("dec.k.", il), R, receiver.n_head_kv * receiver.head_dim_k,
                                               {receiver.n_head_kv * receiver.head_dim_k}));
    CW_ASSIGN_OR_RETURN(Affine v, ReadAffine(r, gguf::Cat("dec.v.", il), R, receiver.n_head_kv * receiver.head_dim_v,
                                               {receiver.n_head_kv * receiver.head_dim_v}));
    w.receiver_layers.push_back(il);
    w.dec_k.push_back(std::move(k));
    w.dec_v.push_back(std::move(v));
  }
  if (w.receiver_layers.empty()) return r.TensorError("dec.k.<layer>.weight", "no receiver layer has one");
  return w;
}

}  // namespace cachewire::adapter
