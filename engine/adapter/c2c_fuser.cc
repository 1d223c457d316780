#include "engine/adapter/c2c_fuser.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <utility>
#include <vector>

#include "engine/adapter/c2c_weights.h"
#include "engine/common/status_macros.h"
#include "engine/gguf/gguf_file.h"
#include "engine/gguf/str_cat.h"
#include "kernels/activations.h"

namespace cachewire::adapter {
namespace {

constexpr std::string_view kArchitecture = "cachewire.c2c";

float Sigmoid(float x) { return 1.0f / (1.0f + std::exp(-x)); }

// Tokens in `values` when each token holds n_heads * dim of them; -1 when not a whole number.
int64_t Tokens(std::span<const float> values, int64_t n_heads, int64_t dim) {
  const auto row = static_cast<size_t>(n_heads * dim);
  return values.size() % row == 0 ? static_cast<int64_t>(values.size() / row) : -1;
}

}  // namespace

struct C2cFuser::Impl {
  std::string path;
  std::string name;
  ModelIdentity sharer;
  ModelIdentity receiver;
  C2cWeights w;
  int64_t n_params = 0;
};

C2cFuser::C2cFuser(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
C2cFuser::~C2cFuser() = default;

absl::StatusOr<std::unique_ptr<C2cFuser>> C2cFuser::Load(const std::string& path) {
  CW_ASSIGN_OR_RETURN(std::unique_ptr<gguf::File> file, gguf::File::Open(path));
  return FromFile(*file);
}

absl::StatusOr<std::unique_ptr<C2cFuser>> C2cFuser::FromBuffer(std::string name,
                                                               std::span<const uint8_t> bytes) {
  CW_ASSIGN_OR_RETURN(std::unique_ptr<gguf::File> file, gguf::File::FromBuffer(std::move(name), bytes));
  return FromFile(*file);
}

absl::StatusOr<std::unique_ptr<C2cFuser>> C2cFuser::FromFile(const gguf::File& file) {
  const std::string& path = file.path();
  auto arch = file.GetString("general.architecture");
  if (!arch.ok() || *arch != kArchitecture) {
    return absl::InvalidArgumentError(gguf::Cat(
        path, ": general.architecture: ", arch.ok() ? gguf::Cat("'", *arch, "'") : "missing",
        ", expected '", kArchitecture, "'"));
  }
  auto impl = std::make_unique<Impl>();
  impl->path = path;
  auto name = file.GetString("general.name");
  if (!name.ok() || name->empty()) {
    return absl::InvalidArgumentError(gguf::Cat(path, ": general.name: missing or empty"));
  }
  impl->name = std::string(*name);
  CW_ASSIGN_OR_RETURN(impl->sharer, IdentityFromAdapter(file, "cachewire.sharer"));
  CW_ASSIGN_OR_RETURN(impl->receiver, IdentityFromAdapter(file, "cachewire.receiver"));
  CW_ASSIGN_OR_RETURN(impl->w, LoadC2cWeights(file, impl->sharer, impl->receiver));
  for (const gguf::TensorInfo& t : file.tensors()) impl->n_params += t.n_elements();
  return std::unique_ptr<C2cFuser>(new C2cFuser(std::move(impl)));
}

const std::string& C2cFuser::name() const { return impl_->name; }
const std::string& C2cFuser::path() const { return impl_->path; }
int64_t C2cFuser::hidden() const { return impl_->w.hidden; }
int64_t C2cFuser::head_groups() const { return impl_->w.head_groups; }
int64_t C2cFuser::n_params() const { return impl_->n_params; }
const ModelIdentity& C2cFuser::sharer() const { return impl_->sharer; }
const ModelIdentity& C2cFuser::receiver() const { return impl_->receiver; }
const std::vector<int64_t>& C2cFuser::layer_map() const { return impl_->w.layer_map; }

absl::Status C2cFuser::CheckSharer(const ModelIdentity& model) const {
  return CheckIdentity(impl_->sharer, model, gguf::Cat("fuser ", impl_->name), "sharer");
}
absl::Status C2cFuser::CheckReceiver(const ModelIdentity& model) const {
  return CheckIdentity(impl_->receiver, model, gguf::Cat("fuser ", impl_->name), "receiver");
}

absl::StatusOr<C2cFusedKv> C2cFuser::FuseLayer(int64_t il, const C2cLayerEntries& in) const {
  const ModelIdentity& r = impl_->receiver;
  const ModelIdentity& s = impl_->sharer;
  if (il < 0 || il >= r.n_layer) {
    return absl::InvalidArgumentError(gguf::Cat("layer ", il, " outside the receiver's [0, ", r.n_layer, ")"));
  }
  const int64_t n = Tokens(in.receiver_k, r.n_head_kv, r.head_dim_k);
  if (n < 0) return absl::InvalidArgumentError("receiver_k: not a whole number of tokens");
  const struct {
    const char* what;
    std::span<const float> values;
    int64_t heads, dim;
  } parts[] = {{"receiver_v", in.receiver_v, r.n_head_kv, r.head_dim_v},
               {"sharer_k", in.sharer_k, s.n_head_kv, s.head_dim_k},
               {"sharer_v", in.sharer_v, s.n_head_kv, s.head_dim_v}};
  for (const auto& p : parts) {
    if (Tokens(p.values, p.heads, p.dim) != n) {
      return absl::InvalidArgumentError(gguf::Cat(p.what, ": ", p.values.size(), " values, expected ", n,
                                                  " tokens of ", p.heads, " x ", p.dim));
    }
  }
  C2cFusedKv out{{in.receiver_k.begin(), in.receiver_k.end()}, {in.receiver_v.begin(), in.receiver_v.end()}};
  if (n == 0) return out;
  const C2cLayerWeights& lw = impl_->w.layers[static_cast<size_t>(il)];
  const int64_t G = impl_->w.head_groups;
  const int64_t hr = r.n_head_kv / G, hs = s.n_head_kv / G;  // heads per group
  const int64_t dkr = r.head_dim_k, dvr = r.head_dim_v, dks = s.head_dim_k, dvs = s.head_dim_v;
  std::vector<float> x(static_cast<size_t>(n * lw.in.n_in));        // (n, n_in) one group's inputs
  std::vector<float> h(static_cast<size_t>(n * lw.in.n_out));       // (n, hidden)
  std::vector<float> d(static_cast<size_t>(n * lw.out.n_out));      // (n, n_out) = [dk; dv]
  for (int64_t g = 0; g < G; ++g) {
    // A group's heads sit side by side in a token's row, so each part is one contiguous copy.
    for (int64_t t = 0; t < n; ++t) {
      float* row = x.data() + t * lw.in.n_in;
      row = std::copy_n(in.receiver_k.data() + (t * G + g) * hr * dkr, hr * dkr, row);
      row = std::copy_n(in.receiver_v.data() + (t * G + g) * hr * dvr, hr * dvr, row);
      row = std::copy_n(in.sharer_k.data() + (t * G + g) * hs * dks, hs * dks, row);
      std::copy_n(in.sharer_v.data() + (t * G + g) * hs * dvs, hs * dvs, row);
    }
    CW_RETURN_IF_ERROR(ApplyAffine(lw.in, x.data(), n, h.data(), g));
    kernels::GeluTanhInPlace(h.data(), static_cast<int64_t>(h.size()));
    CW_RETURN_IF_ERROR(ApplyAffine(lw.out, h.data(), n, d.data()));
    for (int64_t j = 0; j < hr; ++j) {
      const int64_t head = g * hr + j;
      const float gk = Sigmoid(lw.gate[static_cast<size_t>(head)]);
      const float gv = Sigmoid(lw.gate[static_cast<size_t>(r.n_head_kv + head)]);
      for (int64_t t = 0; t < n; ++t) {
        const float* dt = d.data() + t * lw.out.n_out;
        float* k = out.k.data() + (t * r.n_head_kv + head) * dkr;
        float* v = out.v.data() + (t * r.n_head_kv + head) * dvr;
        for (int64_t i = 0; i < dkr; ++i) k[i] += gk * dt[j * dkr + i];
        for (int64_t i = 0; i < dvr; ++i) v[i] += gv * dt[hr * dkr + j * dvr + i];
      }
    }
  }
  return out;
}

}  // namespace cachewire::adapter
