#include "engine/adapter/lcf_adapter.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <utility>
#include <vector>

#include "engine/adapter/lcf_weights.h"
#include "engine/adapter/unrotated_rows.h"
#include "engine/cache/kv_cache.h"
#include "engine/common/status_macros.h"
#include "engine/gguf/gguf_file.h"
#include "engine/gguf/str_cat.h"
#include "engine/model/model.h"
#include "kernels/gemm_f32.h"
#include "kernels/rope.h"
#include "kernels/softmax.h"

namespace cachewire::adapter {
namespace {

constexpr float kNormEps = 1e-6f;  // lcf_adapter.py NORM_EPS

void RmsNormRows(float* x, const float* w, int64_t n_rows, int64_t n) {
  for (int64_t t = 0; t < n_rows; ++t) {
    float* row = x + t * n;
    double ss = 0.0;
    for (int64_t i = 0; i < n; ++i) ss += double(row[i]) * row[i];
    const float scale = 1.0f / std::sqrt(static_cast<float>(ss / double(n)) + kNormEps);
    for (int64_t i = 0; i < n; ++i) row[i] = row[i] * scale * w[i];
  }
}

float GeluTanh(float x) {
  constexpr float kSqrt2OverPi = 0.7978845608028654f;
  return 0.5f * x * (1.0f + std::tanh(kSqrt2OverPi * (x + 0.044715f * x * x * x)));
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

// The window a layer's queries see (0: the whole context).
int64_t SlidingWindow(const model::HParams& hp, int64_t il) {
  return hp.IsLocalLayer(il) ? hp.sliding_window : 0;
}

}  // namespace

struct LcfAdapter::Impl {
  std::string path;
  std::string name;
  ModelIdentity sharer;
  ModelIdentity receiver;
  LcfWeights w;
  int64_t n_params = 0;

  // Buffers of one Encode, kept per thread across calls: sized by the sharer's cache (a scores
  // matrix of H * M * items floats is about 1 MB at 2k items), fresh ones each call cost more
  // in page faults and zeroing than the products themselves.
  // Past kKeptScratchBytes (a large model's cache) they are released after the call, so that
  // one big export does not hold the memory for the thread's lifetime.
  struct Scratch {
    std::vector<float> items, keys, values, kv, scores, au, pooled;
    std::vector<float> where;  // per item: its token's place in the text, t / T
    std::vector<int64_t> rows;
    kernels::RopeTable table;

    void ReleaseIfLarge() {
      size_t bytes = rows.capacity() * sizeof(int64_t);
      for (const auto* v : {&items, &keys, &values, &kv, &scores, &au, &pooled, &where}) {
        bytes += v->capacity() * sizeof(float);
      }
      if (bytes > kKeptScratchBytes) *this = Scratch();
    }
  };
  static constexpr size_t kKeptScratchBytes = size_t{32} << 20;
  // Items (entries of every (layer, kv-head)) projected to width r, then RMS-normed, into
  // scratch.items.
  absl::Status Items(const model::Model& m, const cache::KvCache& c, Scratch& scratch) const;
  absl::StatusOr<std::vector<float>> Pool(Scratch& scratch) const;
  // scores (H * M, I) -= p_h (where_i - (m + 0.5) / M)^2 (positional pooling).
  void AddPositionBias(const float* where, int64_t n_items, float* scores) const;
  void PrepareQueryKeys();
  std::vector<float> query_keys;  // (H, M, r): head h's queries times its key projection
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
  impl->PrepareQueryKeys();
  for (const gguf::TensorInfo& t : file->tensors()) impl->n_params += t.n_elements();
  return std::unique_ptr<LcfAdapter>(new LcfAdapter(std::move(impl)));
}

const std::string& LcfAdapter::name() const { return impl_->name; }
const std::string& LcfAdapter::path() const { return impl_->path; }
int64_t LcfAdapter::n_slots() const { return impl_->w.n_slots; }
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

// ---- encoder ------------------------------------------------------------------------------

absl::Status LcfAdapter::Impl::Items(const model::Model& m, const cache::KvCache& c,
                                     Scratch& scratch) const {
  const model::HParams& hp = m.hparams();
  const int64_t dk = hp.head_dim_k, dv = hp.head_dim_v, R = w.slot_dim;
  std::vector<float>& items = scratch.items;
  std::vector<int64_t>& rows = scratch.rows;
  items.clear();
  scratch.where.clear();
  const float n_past = static_cast<float>(std::max<int64_t>(1, c.n_past()));
  for (int64_t il = 0; il < hp.n_layer; ++il) {
    const int64_t window = SlidingWindow(hp, il);
    const int32_t next = c.NextPosition(il);
    for (int64_t h = 0; h < hp.n_head_kv; ++h) {
      const cache::KvHeadView view = c.View(il, h);
      rows.clear();
      for (int64_t e = 0; e < view.n; ++e) {
        if (view.token != nullptr && view.token[e] < 0) continue;        // pinned: not the sharer's
        if (window > 0 && view.pos[e] <= next - window) continue;        // out of the next query's view
        rows.push_back(e);
      }
      const int64_t n = static_cast<int64_t>(rows.size());
      if (n == 0) continue;
      if (!w.enc_pos.empty()) {  // only positional pooling reads the items' places
        for (int64_t e : rows) {  // a full cache has no token array: its positions are the tokens
          const float t = static_cast<float>(view.token != nullptr ? view.token[e] : view.pos[e]);
          scratch.where.push_back(t / n_past);
        }
      }
      scratch.keys.clear();
      scratch.values.clear();
      CW_RETURN_IF_ERROR(AppendUnrotatedRows(view, rows, m.LayerRope(il), dk, dv, &scratch.keys,
                                             &scratch.values, &scratch.table));
      std::vector<float>& kv = scratch.kv;  // rows [k; v]
      kv.resize(static_cast<size_t>(n * (dk + dv)));
      for (int64_t e = 0; e < n; ++e) {
        std::copy_n(scratch.keys.data() + e * dk, dk, kv.data() + e * (dk + dv));
        std::copy_n(scratch.values.data() + e * dv, dv, kv.data() + e * (dk + dv) + dk);
      }
      const size_t at = items.size();
      items.resize(at + static_cast<size_t>(n * R));
      CW_RETURN_IF_ERROR(ApplyAffine(w.enc_in[static_cast<size_t>(il)], kv.data(), n,
                                     items.data() + at, h));
    }
  }
  if (items.empty()) {
    return absl::FailedPreconditionError("session_id: the session's cache holds no entries to export");
  }
  RmsNormRows(items.data(), w.enc_norm.data(), static_cast<int64_t>(items.size()) / R, R);
  return absl::OkStatus();
}

// Attention pooling, re-associated so that nothing is projected per item: with the queries
// fixed, head h's scores Q_h (u W_k,h^T)^T are (Q_h W_k,h) u^T, and its output A_h (u W_v,h^T)
// is (A_h u) W_v,h^T. Q_h W_k,h is computed once at load (query_keys); per call that leaves two
// (H M) x I x r products instead of projecting every item twice (I x r x r): about half the
// work at the agents' sizes, and the same function (tests bound the rounding).
absl::StatusOr<std::vector<float>> LcfAdapter::Impl::Pool(Scratch& s) const {
  const int64_t R = w.slot_dim, M = w.n_slots, H = w.pool_heads, dh = R / H, HM = H * M;
  const int64_t I = static_cast<int64_t>(s.items.size()) / R;
  const float* u = s.items.data();  // (I, R)
  s.scores.resize(static_cast<size_t>(HM * I));
  s.au.resize(static_cast<size_t>(HM * R));
  s.pooled.resize(static_cast<size_t>(M * R));
  // scores (HM, I) = query_keys (HM, R) u^T / sqrt(dh)
  CW_RETURN_IF_ERROR(kernels::GemmF32({.m = HM, .n = I, .k = R, .a = query_keys.data(), .lda = R,
                                       .b = u, .ldb = R, .trans_b = true, .c = s.scores.data(),
                                       .ldc = I, .alpha = 1.0f / std::sqrt(float(dh))}));
  if (!w.enc_pos.empty()) AddPositionBias(s.where.data(), I, s.scores.data());
  kernels::SoftmaxRows(s.scores.data(), HM, I);
  // au (HM, R) = scores u
  CW_RETURN_IF_ERROR(kernels::GemmF32({.m = HM, .n = R, .k = I, .a = s.scores.data(), .lda = I,
                                       .b = u, .ldb = R, .c = s.au.data(), .ldc = R}));
  // Head h's outputs (M, dh) = au_h W_v,h^T, written into its columns of pooled (M, R).
  for (int64_t hh = 0; hh < H; ++hh) {
    CW_RETURN_IF_ERROR(kernels::GemmF32(
        {.m = M, .n = dh, .k = R, .a = s.au.data() + hh * M * R, .lda = R,
         .b = w.pool_v.w.data() + hh * dh * R, .ldb = R, .trans_b = true,
         .c = s.pooled.data() + hh * dh, .ldc = R}));
  }
  std::vector<float> slots(static_cast<size_t>(M * R));
  CW_RETURN_IF_ERROR(ApplyAffine(w.enc_out, s.pooled.data(), M, slots.data()));
  return slots;
}

void LcfAdapter::Impl::AddPositionBias(const float* where, int64_t n_items, float* scores) const {
  const int64_t M = w.n_slots;
  for (int64_t hh = 0; hh < w.pool_heads; ++hh) {
    const float p = w.enc_pos[static_cast<size_t>(hh)];
    if (p == 0.0f) continue;
    for (int64_t m = 0; m < M; ++m) {
      const float centre = (static_cast<float>(m) + 0.5f) / static_cast<float>(M);
      float* row = scores + (hh * M + m) * n_items;
      for (int64_t i = 0; i < n_items; ++i) {
        const float d = where[i] - centre;
        row[i] -= p * (d * d);
      }
    }
  }
}

void LcfAdapter::Impl::PrepareQueryKeys() {
  const int64_t R = w.slot_dim, M = w.n_slots, H = w.pool_heads, dh = R / H;
  query_keys.assign(static_cast<size_t>(H * M * R), 0.0f);
  for (int64_t hh = 0; hh < H; ++hh) {
    for (int64_t m = 0; m < M; ++m) {
      float* out = query_keys.data() + (hh * M + m) * R;
      for (int64_t d = 0; d < dh; ++d) {
        const float q = w.enc_query[m * R + hh * dh + d];
        const float* wk = w.pool_k.w.data() + (hh * dh + d) * R;  // row hh*dh+d of W_k
        for (int64_t r = 0; r < R; ++r) out[r] += q * wk[r];
      }
    }
  }
}

absl::StatusOr<std::vector<float>> LcfAdapter::Encode(const model::Model& sharer,
                                                      const model::Session& session) const {
  CW_RETURN_IF_ERROR(CheckShape(impl_->sharer, sharer.hparams(), "sharer"));
  const cache::KvCache* cache = session.kv_cache();
  if (cache == nullptr) return absl::FailedPreconditionError("session_id: the session exposes no cache");
  thread_local Impl::Scratch scratch;
  absl::Status items = impl_->Items(sharer, *cache, scratch);
  absl::StatusOr<std::vector<float>> slots =
      items.ok() ? impl_->Pool(scratch) : absl::StatusOr<std::vector<float>>(items);
  scratch.ReleaseIfLarge();
  return slots;
}

// ---- decoder ------------------------------------------------------------------------------

absl::StatusOr<std::vector<std::vector<float>>> LcfAdapter::Decode(std::span<const float> slots) const {
  const LcfWeights& w = impl_->w;
  const int64_t M = w.n_slots, R = w.slot_dim;
  if (static_cast<int64_t>(slots.size()) != M * R) {
    return absl::InvalidArgumentError(gguf::Cat("slots: ", slots.size(), " values, expected n_slots * slot_dim = ", M * R));
  }
  for (size_t i = 0; i < slots.size(); ++i) {
    if (!std::isfinite(slots[i])) return absl::InvalidArgumentError(gguf::Cat("slots: value ", i, " is not finite"));
  }
  std::vector<float> y(slots.begin(), slots.end()), t(y);
  RmsNormRows(t.data(), w.dec_norm.data(), M, R);
  std::vector<float> up(static_cast<size_t>(M * w.ff_dim)), down(y.size());
  CW_RETURN_IF_ERROR(ApplyAffine(w.dec_up, t.data(), M, up.data()));
  for (float& a : up) a = GeluTanh(a);
  CW_RETURN_IF_ERROR(ApplyAffine(w.dec_down, up.data(), M, down.data()));
  for (size_t i = 0; i < y.size(); ++i) y[i] += down[i];
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
  const int64_t M = impl_->w.n_slots;
  const int64_t n_k = hp.n_head_kv * hp.head_dim_k;
  std::vector<cache::PinnedKv> pins(static_cast<size_t>(hp.n_layer));
  for (size_t il = 0; il < layers.size(); ++il) {
    if (layers[il].empty()) continue;
    pins[il] = {layers[il].data(), layers[il].data() + M * n_k};
  }
  return session.Pin(M, pins);
}

}  // namespace cachewire::adapter
