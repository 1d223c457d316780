#include "engine/adapter/lcf_adapter.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <utility>
#include <vector>

#include "engine/adapter/lcf_encoder.h"
#include "engine/adapter/lcf_weights.h"
#include "engine/cache/kv_cache.h"
#include "engine/common/status_macros.h"
#include "engine/gguf/gguf_file.h"
#include "engine/gguf/str_cat.h"
#include "kernels/activations.h"
#include "engine/model/model.h"

namespace cachewire::adapter {
namespace {

void RmsNormRows(float* x, const float* w, int64_t n_rows, int64_t n) {
  for (int64_t t = 0; t < n_rows; ++t) {
    float* row = x + t * n;
    double ss = 0.0;
    for (int64_t i = 0; i < n; ++i) ss += double(row[i]) * row[i];
    const float scale = 1.0f / std::sqrt(static_cast<float>(ss / double(n)) + kLcfNormEps);
    for (int64_t i = 0; i < n; ++i) row[i] = row[i] * scale * w[i];
  }
}

// The cache shape the adapter's tensors were sized for must be the model's, whatever the
// caller checked: a mismatch here would read or write out of bounds.
absl::Status CheckShape(const ModelIdentity& want, const model::HParams& hp, std::string_view side) {
  if (want.n_layer != hp.n_layer || want.n_head_kv != hp.n_head_kv ||
      want.head_dim_k != hp.head_dim_k || want.head_dim_v != hp.head_dim_v) {
    return absl::FailedPreconditionError(
        gguf::Cat("adapter: ", side, " model's cache shape differs from the adapter's"));
  }
  return absl::OkStatus();
}

}  // namespace

struct LcfAdapter::Impl {
  std::string path;
  std::string name;
  ModelIdentity sharer;
  ModelIdentity receiver;
  LcfWeights w;
  int64_t n_params = 0;

  std::unique_ptr<LcfEncoder> encoder;  // built from w once it is loaded
};

LcfAdapter::LcfAdapter(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
LcfAdapter::~LcfAdapter() = default;

absl::StatusOr<std::unique_ptr<LcfAdapter>> LcfAdapter::Load(const std::string& path) {
  CW_ASSIGN_OR_RETURN(std::unique_ptr<gguf::File> file, gguf::File::Open(path));
  return FromFile(*file);
}

absl::StatusOr<std::unique_ptr<LcfAdapter>> LcfAdapter::FromBuffer(std::string name,
                                                                   std::span<const uint8_t> bytes) {
  CW_ASSIGN_OR_RETURN(std::unique_ptr<gguf::File> file, gguf::File::FromBuffer(std::move(name), bytes));
  return FromFile(*file);
}

absl::StatusOr<std::unique_ptr<LcfAdapter>> LcfAdapter::FromFile(const gguf::File& f) {
  const gguf::File* file = &f;
  const std::string& path = f.path();
  auto arch = file->GetString("general.architecture");
  if (!arch.ok() || *arch != "cachewire.lcf") {
    return absl::InvalidArgumentError(gguf::Cat(
        path, ": general.architecture: ", arch.ok() ? gguf::Cat("'", *arch, "'") : "missing",
        ", expected 'cachewire.lcf'"));
  }
  auto impl = std::make_unique<Impl>();
  impl->path = path;
  auto name = file->GetString("general.name");
  if (!name.ok() || name->empty()) {
    return absl::InvalidArgumentError(gguf::Cat(path, ": general.name: missing or empty"));
  }
  impl->name = std::string(*name);
  CW_ASSIGN_OR_RETURN(impl->sharer, IdentityFromAdapter(*file, "cachewire.sharer"));
  CW_ASSIGN_OR_RETURN(impl->receiver, IdentityFromAdapter(*file, "cachewire.receiver"));
  CW_ASSIGN_OR_RETURN(impl->w, LoadLcfWeights(*file, impl->sharer, impl->receiver));
  impl->encoder = std::make_unique<LcfEncoder>(impl->w);
  for (const gguf::TensorInfo& t : file->tensors()) impl->n_params += t.n_elements();
  return std::unique_ptr<LcfAdapter>(new LcfAdapter(std::move(impl)));
}

const std::string& LcfAdapter::name() const { return impl_->name; }
const std::string& LcfAdapter::path() const { return impl_->path; }
int64_t LcfAdapter::n_slots() const { return impl_->w.n_slots; }
bool LcfAdapter::per_token() const { return impl_->w.per_token; }
int64_t LcfAdapter::slot_dim() const { return impl_->w.slot_dim; }
int64_t LcfAdapter::n_params() const { return impl_->n_params; }
const ModelIdentity& LcfAdapter::sharer() const { return impl_->sharer; }
const ModelIdentity& LcfAdapter::receiver() const { return impl_->receiver; }

absl::Status LcfAdapter::CheckSharer(const ModelIdentity& model) const {
  return CheckIdentity(impl_->sharer, model, gguf::Cat("adapter ", impl_->name), "sharer");
}
absl::Status LcfAdapter::CheckReceiver(const ModelIdentity& model) const {
  return CheckIdentity(impl_->receiver, model, gguf::Cat("adapter ", impl_->name), "receiver");
}

// ---- encoder (lcf_encoder.cc) -------------------------------------------------------------

absl::StatusOr<std::vector<float>> LcfAdapter::Encode(const model::Model& sharer,
                                                      const model::Session& session) const {
  CW_RETURN_IF_ERROR(CheckShape(impl_->sharer, sharer.hparams(), "sharer"));
  const cache::KvCache* cache = session.kv_cache();
  if (cache == nullptr) return absl::FailedPreconditionError("session_id: the session exposes no cache");
  return impl_->encoder->Encode(sharer, *cache);
}

// ---- decoder ------------------------------------------------------------------------------

absl::StatusOr<int64_t> LcfAdapter::SlotCount(size_t n_values) const {
  const LcfWeights& w = impl_->w;
  const int64_t R = w.slot_dim, n = static_cast<int64_t>(n_values);
  if (!w.per_token && n != w.n_slots * R) {
    return absl::InvalidArgumentError(
        gguf::Cat("slots: ", n, " values, expected n_slots * slot_dim = ", w.n_slots * R));
  }
  if (w.per_token && (n % R != 0 || n < R || n > w.n_slots * R)) {
    return absl::InvalidArgumentError(gguf::Cat("slots: ", n, " values, expected 1 to ", w.n_slots,
                                                " slots of slot_dim = ", R));
  }
  return n / R;
}

absl::StatusOr<std::vector<std::vector<float>>> LcfAdapter::Decode(
    std::span<const float> slots) const {
  const LcfWeights& w = impl_->w;
  CW_ASSIGN_OR_RETURN(const int64_t M, SlotCount(slots.size()));
  const int64_t R = w.slot_dim;
  for (size_t i = 0; i < slots.size(); ++i) {
    if (!std::isfinite(slots[i])) return absl::InvalidArgumentError(gguf::Cat("slots: value ", i, " is not finite"));
  }
  std::vector<float> y(slots.begin(), slots.end()), t(y);
  RmsNormRows(t.data(), w.dec_norm.data(), M, R);
  std::vector<float> up(static_cast<size_t>(M * w.ff_dim));
  CW_RETURN_IF_ERROR(ApplyAffine(w.dec_up, t.data(), M, up.data()));
  kernels::GeluTanhInPlace(up.data(), static_cast<int64_t>(up.size()));
  if (w.per_token) {  // a second GELU layer, read by the heads (lcf_adapter.py)
    y.resize(up.size());
    CW_RETURN_IF_ERROR(ApplyAffine(w.dec_mid, up.data(), M, y.data()));
    kernels::GeluTanhInPlace(y.data(), static_cast<int64_t>(y.size()));
  } else {
    std::vector<float> down(y.size());
    CW_RETURN_IF_ERROR(ApplyAffine(w.dec_down, up.data(), M, down.data()));
    for (size_t i = 0; i < y.size(); ++i) y[i] += down[i];
  }
  std::vector<std::vector<float>> layers(static_cast<size_t>(impl_->receiver.n_layer));
  for (size_t j = 0; j < w.receiver_layers.size(); ++j) {
    const Affine& k = w.dec_k[j];
    const Affine& v = w.dec_v[j];
    std::vector<float>& out = layers[static_cast<size_t>(w.receiver_layers[j])];
    out.resize(static_cast<size_t>(M * (k.n_out + v.n_out)));
    CW_RETURN_IF_ERROR(ApplyAffine(k, y.data(), M, out.data()));
    CW_RETURN_IF_ERROR(ApplyAffine(v, y.data(), M, out.data() + M * k.n_out));
  }
  return layers;
}

absl::Status LcfAdapter::Import(const model::Model& receiver, model::Session& session,
                                std::span<const float> slots) const {
  const model::HParams& hp = receiver.hparams();
  CW_RETURN_IF_ERROR(CheckShape(impl_->receiver, hp, "receiver"));
  if (static_cast<int64_t>(impl_->w.receiver_layers.size()) != hp.n_layer) {  // every layer takes pins
    return absl::FailedPreconditionError(gguf::Cat("adapter ", impl_->name, ": writes ",
                                                   impl_->w.receiver_layers.size(), " of the receiver's ",
                                                   hp.n_layer, " layers"));
  }
  CW_ASSIGN_OR_RETURN(std::vector<std::vector<float>> layers, Decode(slots));
  const int64_t M = static_cast<int64_t>(slots.size()) / impl_->w.slot_dim;
  const int64_t n_k = hp.n_head_kv * hp.head_dim_k;
  std::vector<cache::PinnedKv> pins(static_cast<size_t>(hp.n_layer));
  for (size_t il = 0; il < layers.size(); ++il) {
    if (layers[il].empty()) continue;
    pins[il] = {layers[il].data(), layers[il].data() + M * n_k};
  }
  return session.Pin(M, pins);
}

}  // namespace cachewire::adapter
