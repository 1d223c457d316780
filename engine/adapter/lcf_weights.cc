#include "engine/adapter/lcf_weights.h"

#include <algorithm>
#include <string>

#include "engine/common/status_macros.h"
#include "engine/gguf/dequantize.h"
#include "engine/gguf/gguf_file.h"
#include "engine/gguf/str_cat.h"
#include "kernels/matmul.h"

namespace cachewire::adapter {
namespace {

// Reads tensor `name` as f32, checking its ggml shape (dims[0] contiguous).
class TensorReader {
 public:
  explicit TensorReader(const gguf::File& file) : file_(file) {}

  absl::StatusOr<std::vector<float>> Read(const std::string& name, std::vector<int64_t> dims) const {
    const gguf::TensorInfo* t = file_.FindTensor(name);
    if (t == nullptr) return Error(name, "missing");
    if (t->shape != dims) {
      std::string want, have;
      for (int64_t d : dims) want += gguf::Cat(want.empty() ? "" : ", ", d);
      for (int64_t d : t->shape) have += gguf::Cat(have.empty() ? "" : ", ", d);
      return Error(name, gguf::Cat("shape [", have, "], expected [", want, "]"));
    }
    if (t->type != gguf::TensorType::kF32 && t->type != gguf::TensorType::kF16) {
      return Error(name, gguf::Cat("type ", gguf::TensorTypeName(t->type), ", expected F32 or F16"));
    }
    std::vector<float> out(static_cast<size_t>(t->n_elements()));
    CW_RETURN_IF_ERROR(gguf::Dequantize(t->type, {t->data, t->n_bytes}, out));
    return out;
  }

  // A (n_out, n_in) weight "<prefix>.weight" and, unless bias_dims is empty, "<prefix>.bias".
  absl::StatusOr<Affine> ReadAffine(const std::string& prefix, int64_t n_in, int64_t n_out,
                                    std::vector<int64_t> bias_dims) const {
    Affine a;
    a.n_in = n_in;
    a.n_out = n_out;
    CW_ASSIGN_OR_RETURN(a.w, Read(prefix + ".weight", {n_in, n_out}));
    if (!bias_dims.empty()) {
      CW_ASSIGN_OR_RETURN(a.b, Read(prefix + ".bias", std::move(bias_dims)));
    }
    return a;
  }

  absl::StatusOr<int64_t> Count(const std::string& key, int64_t most) const {
    auto v = file_.GetInt(key);
    if (!v.ok() || *v <= 0 || *v > most) {
      return absl::InvalidArgumentError(gguf::Cat(file_.path(), ": ", key,
                                                  ": missing or not an integer in [1, ", most, "]"));
    }
    return *v;
  }

  absl::Status Error(const std::string& name, const std::string& what) const {
    return absl::InvalidArgumentError(gguf::Cat(file_.path(), ": tensor ", name, ": ", what));
  }

 private:
  const gguf::File& file_;
};

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
  const TensorReader r(file);
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
    CW_ASSIGN_OR_RETURN(Affine a, r.ReadAffine(gguf::Cat("enc.in.", il), sharer.head_dim_k + sharer.head_dim_v,
                                               R, {R, sharer.n_head_kv}));
    w.enc_in.push_back(std::move(a));
  }
  CW_ASSIGN_OR_RETURN(w.enc_norm, r.Read("enc.norm.weight", {R}));
  CW_ASSIGN_OR_RETURN(w.enc_query, r.Read("enc.query.weight", {R, w.n_slots}));
  CW_ASSIGN_OR_RETURN(w.pool_k, r.ReadAffine("enc.pool_k", R, R, {}));
  CW_ASSIGN_OR_RETURN(w.pool_v, r.ReadAffine("enc.pool_v", R, R, {}));
  CW_ASSIGN_OR_RETURN(w.enc_out, r.ReadAffine("enc.out", R, R, {R}));
  CW_ASSIGN_OR_RETURN(w.dec_norm, r.Read("dec.norm.weight", {R}));
  CW_ASSIGN_OR_RETURN(w.dec_up, r.ReadAffine("dec.up", R, w.ff_dim, {w.ff_dim}));
  CW_ASSIGN_OR_RETURN(w.dec_down, r.ReadAffine("dec.down", w.ff_dim, R, {R}));
  for (int64_t il = 0; il < receiver.n_layer; ++il) {
    if (file.FindTensor(gguf::Cat("dec.k.", il, ".weight")) == nullptr) continue;
    CW_ASSIGN_OR_RETURN(Affine k, r.ReadAffine(gguf::Cat("dec.k.", il), R, receiver.n_head_kv * receiver.head_dim_k,
                                               {receiver.n_head_kv * receiver.head_dim_k}));
    CW_ASSIGN_OR_RETURN(Affine v, r.ReadAffine(gguf::Cat("dec.v.", il), R, receiver.n_head_kv * receiver.head_dim_v,
                                               {receiver.n_head_kv * receiver.head_dim_v}));
    w.receiver_layers.push_back(il);
    w.dec_k.push_back(std::move(k));
    w.dec_v.push_back(std::move(v));
  }
  if (w.receiver_layers.empty()) return r.Error("dec.k.<layer>.weight", "no receiver layer has one");
  return w;
}

}  // namespace cachewire::adapter
