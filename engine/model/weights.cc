// LoadWeights (weights.h): tensor lookup by llama.cpp's names, shape and type checks, f32 copies
// of the vectors.
#include "engine/model/weights.h"

#include <string>

#include "engine/common/status_macros.h"
#include "engine/gguf/dequantize.h"
#include "engine/gguf/str_cat.h"
#include "kernels/dot.h"

namespace cachewire::model {
namespace {

std::string ShapeString(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += gguf::Cat(i ? ", " : "", shape[i]);
  return s + "]";
}

class Loader {
 public:
  Loader(const gguf::File& file, Weights* w) : file_(file), w_(w) {}

  absl::Status Error(std::string_view name, std::string_view what) const {
    return absl::InvalidArgumentError(gguf::Cat(file_.path(), ": ", name, ": ", what));
  }

  // The tensor `name` with ggml shape `shape`; NotFound-style error naming it when absent.
  absl::StatusOr<const gguf::TensorInfo*> Find(const std::string& name,
                                               const std::vector<int64_t>& shape) const {
    const gguf::TensorInfo* t = file_.FindTensor(name);
    if (t == nullptr) return Error(name, "missing tensor");
    if (t->shape != shape) {
      return Error(name, gguf::Cat("shape ", ShapeString(t->shape), ", expected ",
                                   ShapeString(shape)));
    }
    return t;
  }

  // ggml shape [n_in, n_out], a type the matmul kernels multiply.
  absl::StatusOr<Matrix> Mat(const std::string& name, int64_t n_in, int64_t n_out) const {
    CW_ASSIGN_OR_RETURN(const gguf::TensorInfo* t, Find(name, {n_in, n_out}));
    absl::StatusOr<kernels::DotKernels> k = kernels::GetDotKernels(t->type);
    if (!k.ok()) return Error(name, std::string(k.status().message()));
    if (n_in % k->block_elems != 0) {
      return Error(name, gguf::Cat("row of ", n_in, " is not a whole number of blocks"));
    }
    return Matrix{t->type, t->data, n_in, n_out};
  }

  // ggml shape [n], copied to f32.
  absl::StatusOr<const float*> Vec(const std::string& name, int64_t n) const {
    CW_ASSIGN_OR_RETURN(const gguf::TensorInfo* t, Find(name, {n}));
    auto v = std::make_unique<std::vector<float>>(static_cast<size_t>(n));
    if (absl::Status s = gguf::DequantizeRow(t->type, t->data, v->data(), n); !s.ok()) {
      return Error(name, std::string(s.message()));
    }
    const float* p = v->data();
    w_->owned.push_back(std::move(v));
    return p;
  }

 private:
  const gguf::File& file_;
  Weights* w_;
};

}  // namespace

absl::StatusOr<Weights> LoadWeights(const gguf::File& file, const HParams& hp) {
  Weights w;
  const Loader ld(file, &w);
  const int64_t d = hp.n_embd, n_q = hp.n_head * hp.head_dim_k;
  const int64_t n_k = hp.n_head_kv * hp.head_dim_k, n_v = hp.n_head_kv * hp.head_dim_v;
  const int64_t n_attn_out = hp.n_head * hp.head_dim_v;
  const bool gemma = hp.arch == Arch::kGemma3;

  CW_ASSIGN_OR_RETURN(w.token_embd, ld.Mat("token_embd.weight", d, hp.n_vocab));
  CW_ASSIGN_OR_RETURN(w.output_norm, ld.Vec("output_norm.weight", d));
  if (hp.tied_output) {
    w.output = w.token_embd;
  } else {
    CW_ASSIGN_OR_RETURN(w.output, ld.Mat("output.weight", d, hp.n_vocab));
  }
  if (hp.has_rope_freq_factors) {
    CW_ASSIGN_OR_RETURN(w.rope_freqs, ld.Vec("rope_freqs.weight", hp.n_rot / 2));
  }
  w.layers.resize(static_cast<size_t>(hp.n_layer));
  for (int64_t il = 0; il < hp.n_layer; ++il) {
    LayerWeights& l = w.layers[static_cast<size_t>(il)];
    const std::string p = gguf::Cat("blk.", il, ".");
    CW_ASSIGN_OR_RETURN(l.attn_norm, ld.Vec(p + "attn_norm.weight", d));
    CW_ASSIGN_OR_RETURN(l.wq, ld.Mat(p + "attn_q.weight", d, n_q));
    CW_ASSIGN_OR_RETURN(l.wk, ld.Mat(p + "attn_k.weight", d, n_k));
    CW_ASSIGN_OR_RETURN(l.wv, ld.Mat(p + "attn_v.weight", d, n_v));
    CW_ASSIGN_OR_RETURN(l.wo, ld.Mat(p + "attn_output.weight", n_attn_out, d));
    CW_ASSIGN_OR_RETURN(l.ffn_norm, ld.Vec(p + "ffn_norm.weight", d));
    CW_ASSIGN_OR_RETURN(l.gate, ld.Mat(p + "ffn_gate.weight", d, hp.n_ff));
    CW_ASSIGN_OR_RETURN(l.up, ld.Mat(p + "ffn_up.weight", d, hp.n_ff));
    CW_ASSIGN_OR_RETURN(l.down, ld.Mat(p + "ffn_down.weight", hp.n_ff, d));
    if (gemma) {
      CW_ASSIGN_OR_RETURN(l.q_norm, ld.Vec(p + "attn_q_norm.weight", hp.head_dim_k));
      CW_ASSIGN_OR_RETURN(l.k_norm, ld.Vec(p + "attn_k_norm.weight", hp.head_dim_k));
      CW_ASSIGN_OR_RETURN(l.post_attn_norm, ld.Vec(p + "post_attention_norm.weight", d));
      CW_ASSIGN_OR_RETURN(l.post_ffw_norm, ld.Vec(p + "post_ffw_norm.weight", d));
    }
  }
  return w;
}

}  // namespace cachewire::model
