// UploadWeights (device_weights.h).
#include "engine/model/device_weights.h"

#include <map>
#include <optional>

#include "engine/common/status_macros.h"
#include "engine/gguf/tensor_type.h"
#include "engine/model/forward.h"

namespace cachewire::model {
namespace {

class Uploader {
 public:
  Uploader(backend::Ops& ops, DeviceWeights& out) : ops_(ops), out_(out) {}

  // The same host bytes are uploaded once (a tied output projection is token_embd).
  absl::StatusOr<const void*> Bytes(const void* host, size_t bytes) {
    if (host == nullptr) return nullptr;
    if (auto it = uploaded_.find(host); it != uploaded_.end()) return it->second;
    CW_ASSIGN_OR_RETURN(backend::Buffer buf, ops_.Alloc(bytes));
    CW_RETURN_IF_ERROR(ops_.CopyIn(buf.data(), host, bytes));
    const void* data = buf.data();
    out_.storage.push_back(std::move(buf));
    out_.bytes += bytes;
    uploaded_[host] = data;
    return data;
  }

  absl::StatusOr<const float*> Vector(const float* host, int64_t n) {
    CW_ASSIGN_OR_RETURN(const void* p, Bytes(host, static_cast<size_t>(n) * sizeof(float)));
    return static_cast<const float*>(p);
  }

  absl::StatusOr<DeviceMatrix> Matrix(const model::Matrix& m) {
    const std::optional<size_t> row = gguf::RowBytes(m.type, m.n_in);
    if (!row.has_value()) {  // LoadWeights checked this already; kept for a clear message
      return absl::InvalidArgumentError("weights: a row of a matrix is not whole blocks");
    }
    CW_ASSIGN_OR_RETURN(const void* p, Bytes(m.data, *row * static_cast<size_t>(m.n_out)));
    return DeviceMatrix{static_cast<uint32_t>(m.type), p, m.n_in, m.n_out};
  }

 private:
  backend::Ops& ops_;
  DeviceWeights& out_;
  std::map<const void*, const void*> uploaded_;
};

}  // namespace

absl::StatusOr<DeviceWeights> UploadWeights(const Weights& w, const HParams& hp,
                                            backend::Ops& ops) {
  DeviceWeights d;
  Uploader up(ops, d);
  const int64_t n_embd = hp.n_embd, dk = hp.head_dim_k;
  CW_ASSIGN_OR_RETURN(d.token_embd, up.Matrix(w.token_embd));
  CW_ASSIGN_OR_RETURN(d.output, up.Matrix(w.output));
  CW_ASSIGN_OR_RETURN(d.output_norm, up.Vector(w.output_norm, n_embd));
  CW_ASSIGN_OR_RETURN(d.rope_freqs, up.Vector(w.rope_freqs, hp.n_rot / 2));
  for (int64_t il = 0; il < hp.n_layer; ++il) {
    kernels::RopeParams& p = d.rope.emplace_back(LayerRopeParams(hp, w, il));
    if (p.freq_factors != nullptr) p.freq_factors = d.rope_freqs;
  }
  for (const LayerWeights& l : w.layers) {
    DeviceLayer& dl = d.layers.emplace_back();
    CW_ASSIGN_OR_RETURN(dl.attn_norm, up.Vector(l.attn_norm, n_embd));
    CW_ASSIGN_OR_RETURN(dl.wq, up.Matrix(l.wq));
    CW_ASSIGN_OR_RETURN(dl.wk, up.Matrix(l.wk));
    CW_ASSIGN_OR_RETURN(dl.wv, up.Matrix(l.wv));
    CW_ASSIGN_OR_RETURN(dl.wo, up.Matrix(l.wo));
    CW_ASSIGN_OR_RETURN(dl.ffn_norm, up.Vector(l.ffn_norm, n_embd));
    CW_ASSIGN_OR_RETURN(dl.gate, up.Matrix(l.gate));
    CW_ASSIGN_OR_RETURN(dl.up, up.Matrix(l.up));
    CW_ASSIGN_OR_RETURN(dl.down, up.Matrix(l.down));
    CW_ASSIGN_OR_RETURN(dl.q_norm, up.Vector(l.q_norm, dk));
    CW_ASSIGN_OR_RETURN(dl.k_norm, up.Vector(l.k_norm, dk));
    CW_ASSIGN_OR_RETURN(dl.post_attn_norm, up.Vector(l.post_attn_norm, n_embd));
    CW_ASSIGN_OR_RETURN(dl.post_ffw_norm, up.Vector(l.post_ffw_norm, n_embd));
  }
  return d;
}

}  // namespace cachewire::model
