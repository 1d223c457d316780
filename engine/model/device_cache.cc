// DeviceCache (device_cache.h): storage per layer as (kv-head, capacity, head_dim) in backend
// memory, like the CPU caches, so one head's keys are contiguous rows for attention; the
// eviction batch and ring trimming of cache::BoundedKvCache (bounded_kv_cache.cc, kv_rows.cc)
// redone with backend ops.
#include "engine/model/device_cache.h"

#include <algorithm>
#include <limits>
#include <numeric>

#include "engine/common/status_macros.h"
#include "engine/gguf/str_cat.h"

namespace cachewire::model {
namespace {

size_t F32(int64_t count) { return static_cast<size_t>(count) * sizeof(float); }

// Per layer: 0 for a policy (or full) layer, else the sliding window its ring keeps.
int64_t LayerWindow(const HParams& hp, const DeviceCacheParams& p, int64_t il) {
  return p.policy.bounded && hp.IsLocalLayer(il) ? hp.sliding_window : 0;
}

// Rows of Pin's staging buffers (one at least: a buffer is never empty).
int64_t PinRows(const cache::CachePolicy& p) {
  return std::max<int64_t>(1, p.bounded ? p.max_pinned() : 0);
}

// Entries per kv head: a ring's window - 1, one step and the most pins; a policy layer's
// budget + slack (pins count against the budget); a full cache's n_ctx.
int64_t LayerCap(const HParams& hp, const DeviceCacheParams& p, int64_t il) {
  if (!p.policy.bounded) return p.n_ctx;
  const int64_t w = LayerWindow(hp, p, il);
  return w > 0 ? p.policy.ring_entries(w) + p.policy.max_pinned() : p.policy.max_entries();
}

int64_t MaxCap(const HParams& hp, const DeviceCacheParams& p) {
  int64_t m = 0;
  for (int64_t il = 0; il < hp.n_layer; ++il) m = std::max(m, LayerCap(hp, p, il));
  return m;
}

}  // namespace

size_t DeviceCache::BytesFor(const HParams& hp, const DeviceCacheParams& p) {
  const int64_t n_kv = hp.n_head_kv;
  size_t b = 0;
  for (int64_t il = 0; il < hp.n_layer; ++il) {
    const int64_t cap = LayerCap(hp, p, il);
    b += F32(n_kv * cap * (hp.head_dim_k + hp.head_dim_v));
    if (p.policy.bounded) b += LayerWindow(hp, p, il) > 0 ? F32(cap) : F32(n_kv * cap);
  }
  const int64_t m = MaxCap(hp, p);
  b += F32(m);  // iota
  if (p.policy.bounded) {
    b += F32(m * std::max(hp.head_dim_k, hp.head_dim_v)) + F32(m) + 8;
    b += F32(PinRows(p.policy) * n_kv * (hp.head_dim_k + hp.head_dim_v));  // Pin's staging
  }
  return b;
}

absl::StatusOr<std::unique_ptr<DeviceCache>> DeviceCache::Create(backend::Ops& ops,
                                                                 const HParams& hp,
                                                                 const DeviceCacheParams& p) {
  if (p.policy.bounded && static_cast<int64_t>(p.rope.size()) != hp.n_layer) {
    return absl::InvalidArgumentError(
        gguf::Cat("device cache: rope for ", p.rope.size(), " of ", hp.n_layer, " layers"));
  }
  std::unique_ptr<DeviceCache> c(new DeviceCache(ops, hp, p));
  const int64_t n_kv = hp.n_head_kv;
  for (int64_t il = 0; il < hp.n_layer; ++il) {
    Layer& l = c->layers_.emplace_back();
    l.window = LayerWindow(hp, p, il);
    l.cap = LayerCap(hp, p, il);
    CW_ASSIGN_OR_RETURN(l.k, ops.Alloc(F32(n_kv * l.cap * hp.head_dim_k)));
    CW_ASSIGN_OR_RETURN(l.v, ops.Alloc(F32(n_kv * l.cap * hp.head_dim_v)));
    if (!p.policy.bounded) continue;
    l.token.assign(static_cast<size_t>(n_kv * l.cap), 0);
    if (l.window > 0) {
      CW_ASSIGN_OR_RETURN(l.pos, ops.Alloc(F32(l.cap)));
      l.host_pos.assign(static_cast<size_t>(l.cap), 0);
    } else {
      CW_ASSIGN_OR_RETURN(l.norm, ops.Alloc(F32(n_kv * l.cap)));
    }
  }
  const int64_t m = MaxCap(hp, p);
  CW_ASSIGN_OR_RETURN(c->iota_, ops.Alloc(F32(m)));
  std::vector<int32_t> iota(static_cast<size_t>(m));
  std::iota(iota.begin(), iota.end(), 0);
  CW_RETURN_IF_ERROR(ops.CopyIn(c->iota_.data(), iota.data(), F32(m)));
  if (p.policy.bounded) {
    CW_ASSIGN_OR_RETURN(c->tmp_, ops.Alloc(F32(m * std::max(hp.head_dim_k, hp.head_dim_v))));
    CW_ASSIGN_OR_RETURN(c->kept_, ops.Alloc(F32(m)));
    CW_ASSIGN_OR_RETURN(c->n_kept_, ops.Alloc(sizeof(int64_t)));
    const int64_t pins = PinRows(p.policy);
    CW_ASSIGN_OR_RETURN(c->pin_k_, ops.Alloc(F32(pins * n_kv * hp.head_dim_k)));
    CW_ASSIGN_OR_RETURN(c->pin_v_, ops.Alloc(F32(pins * n_kv * hp.head_dim_v)));
  }
  c->bytes_ = BytesFor(hp, p);
  return c;
}

int64_t DeviceCache::n_ctx() const {
  return bounded() ? std::numeric_limits<int64_t>::max() : n_ctx_;
}

int64_t DeviceCache::Room() const {
  return bounded() ? std::numeric_limits<int64_t>::max() : n_ctx_ - n_past_;
}

int64_t DeviceCache::MaxStepTokens() const { return bounded() ? policy_.slack : Room(); }

cache::CacheStats DeviceCache::Stats() const {
  cache::CacheStats s;
  s.bounded = bounded();
  s.n_tokens = n_past_;
  s.n_head_kv = hp_.n_head_kv;
  for (const Layer& l : layers_) {
    s.entries_per_layer.push_back(l.n * hp_.n_head_kv);
    s.entries += l.n * hp_.n_head_kv;
    s.pinned_entries += (l.window > 0 ? l.pins : n_pinned_) * hp_.n_head_kv;
  }
  s.max_entries = bounded() ? policy_.max_entries() : n_ctx_;
  s.bytes = bytes_;
  s.n_evicted = n_evicted_;
  s.n_compactions = n_compactions_;
  s.n_pinned = n_pinned_;
  return s;
}

int64_t DeviceCache::RingCapMax() const {
  int64_t m = 0;
  for (const Layer& l : layers_) m = std::max(m, policy_.ring_entries(l.window));
  return m;
}

absl::Status DeviceCache::BeginStep(int64_t n) {
  if (n_step_ != 0) return absl::InvalidArgumentError("device cache: a step is already open");
  if (n <= 0 || n > MaxStepTokens()) {
    return absl::InvalidArgumentError(
        gguf::Cat("device cache: step of ", n, " tokens; at most ", MaxStepTokens(), " fit"));
  }
  if (bounded()) {  // BoundedKvCache::BeginStep, in the same order
    bool evicted = false;
    for (size_t il = 0; il < layers_.size(); ++il) {
      Layer& l = layers_[il];
      if (l.window > 0) {
        if (l.n - l.pins + n > policy_.ring_entries(l.window)) {
          CW_RETURN_IF_ERROR(DropOldest(l, l.n - l.pins - (l.window - 1)));
        }
      } else if (l.n + n > l.cap) {
        CW_RETURN_IF_ERROR(
            Evict(static_cast<int64_t>(il), policy_.budget, policy_.n_sink + n_pinned_));
        evicted = true;
      }
    }
    if (evicted) ++n_compactions_;
    if (RingCapMax() > 0 && n_past_ - ring_base_ + n > ring_rebase_at_) {
      CW_RETURN_IF_ERROR(RebaseRings());
    }
  }
  n_step_ = n;
  return absl::OkStatus();
}

int32_t DeviceCache::NextPosition(int64_t il) const {
  if (!bounded()) return static_cast<int32_t>(n_past_);
  const Layer& l = layers_[static_cast<size_t>(il)];
  return static_cast<int32_t>(l.window > 0 ? n_past_ - ring_base_ : l.n);
}

absl::Status DeviceCache::Append(int64_t il, const float* k, const float* v) {
  Layer& l = layers_[static_cast<size_t>(il)];
  const int64_t n_kv = hp_.n_head_kv, dk = hp_.head_dim_k, dv = hp_.head_dim_v;
  const int32_t* iota = iota_.as<int32_t>();
  for (int64_t h = 0; h < n_kv; ++h) {
    float* head_k = l.k.as<float>() + (h * l.cap + l.n) * dk;
    float* head_v = l.v.as<float>() + (h * l.cap + l.n) * dv;
    CW_RETURN_IF_ERROR(
        ops_->Run(CwGatherRowsArgs{k + h * dk, n_kv * dk, iota, n_step_, dk, head_k, dk}));
    CW_RETURN_IF_ERROR(
        ops_->Run(CwGatherRowsArgs{v + h * dv, n_kv * dv, iota, n_step_, dv, head_v, dv}));
    if (l.norm.data() != nullptr) {  // taken once, as KvRows::Write does, then moved along
      CW_RETURN_IF_ERROR(
          ops_->Run(CwKeyNormsArgs{head_k, n_step_, dk, dk, l.norm.as<float>() + h * l.cap + l.n}));
    }
  }
  if (!l.token.empty()) {  // bounded: every head's new rows come from the step's tokens
    for (int64_t h = 0; h < n_kv; ++h) {
      int64_t* token = l.token.data() + h * l.cap + l.n;
      for (int64_t t = 0; t < n_step_; ++t) token[t] = n_past_ + t;
    }
  }
  if (l.window > 0) {
    const int32_t p0 = NextPosition(il);
    int32_t* host = l.host_pos.data() + l.n;
    for (int64_t t = 0; t < n_step_; ++t) host[t] = p0 + static_cast<int32_t>(t);
    CW_RETURN_IF_ERROR(ops_->CopyIn(l.pos.as<int32_t>() + l.n, host, F32(n_step_)));
  }
  return absl::OkStatus();
}

void DeviceCache::Records(int64_t il, std::vector<CwAttentionKv>* out) const {
  const Layer& l = layers_[static_cast<size_t>(il)];
  const int64_t dk = hp_.head_dim_k, dv = hp_.head_dim_v;
  const int32_t* pos = l.window > 0 ? l.pos.as<int32_t>() : iota_.as<int32_t>();
  out->resize(static_cast<size_t>(hp_.n_head_kv));
  for (int64_t h = 0; h < hp_.n_head_kv; ++h) {
    (*out)[static_cast<size_t>(h)] = {l.k.as<float>() + h * l.cap * dk,
                                      l.v.as<float>() + h * l.cap * dv,
                                      pos,
                                      l.n + n_step_,
                                      dk,
                                      dv};
  }
}

void DeviceCache::Commit() {
  for (Layer& l : layers_) l.n += n_step_;
  n_past_ += n_step_;
  n_step_ = 0;
}

void DeviceCache::Rollback() { n_step_ = 0; }

void DeviceCache::Clear() {
  Rollback();
  for (Layer& l : layers_) l.n = l.pins = 0;
  n_past_ = ring_base_ = 0;
  n_evicted_ = n_compactions_ = 0;
  n_pinned_ = pin_begin_ = 0;
}

// ---- eviction, ring trimming, rebasing ----------------------------------------------------

absl::Status DeviceCache::GatherInPlace(float* rows, int64_t row_len, const int32_t* idx,
                                        int64_t count) {
  if (count <= 0) return absl::OkStatus();
  float* tmp = tmp_.as<float>();
  CW_RETURN_IF_ERROR(ops_->Run(CwGatherRowsArgs{rows, row_len, idx, count, row_len, tmp, row_len}));
  return ops_->Run(
      CwGatherRowsArgs{tmp, row_len, iota_.as<int32_t>(), count, row_len, rows, row_len});
}

absl::Status DeviceCache::RotateRows(int64_t il, float* k_rows, int64_t n_rows, int32_t shift,
                                     const int32_t* pos) {
  const kernels::RopeParams& p = rope_[static_cast<size_t>(il)];
  return ops_->Run(CwRopeArgs{k_rows, pos, shift, n_rows, 1, hp_.head_dim_k,
                              p.layout == kernels::RopeLayout::kNeox ? 1 : 0, p.n_rot, p.freq_base,
                              p.freq_scale, p.freq_factors});
}

// BoundedKvCache::Evict + KvRows::Compact: every kv head of policy layer il down to n_keep.
absl::Status DeviceCache::Evict(int64_t il, int64_t n_keep, int64_t head) {
  Layer& l = layers_[static_cast<size_t>(il)];
  const int64_t dk = hp_.head_dim_k, dv = hp_.head_dim_v;
  const bool by_norm = policy_.l2 && il >= policy_.l2_skip_layers;
  int64_t n_left = l.n;
  for (int64_t h = 0; h < hp_.n_head_kv; ++h) {
    float* norms = l.norm.as<float>() + h * l.cap;
    CW_RETURN_IF_ERROR(
        ops_->Run(CwEvictSelectArgs{by_norm ? norms : nullptr, l.n, n_keep, head, policy_.window,
                                    kept_.as<int32_t>(), n_kept_.as<int64_t>()}));
    int64_t n_kept = 0;
    CW_RETURN_IF_ERROR(ops_->CopyOut(&n_kept, n_kept_.data(), sizeof(n_kept)));
    if (n_kept < 0 || n_kept > l.n) {
      return absl::InternalError(
          gguf::Cat("device cache: evict_select kept ", n_kept, " of ", l.n));
    }
    host_kept_.resize(static_cast<size_t>(n_kept));
    CW_RETURN_IF_ERROR(ops_->CopyOut(host_kept_.data(), kept_.data(), F32(n_kept)));
    float* head_k = l.k.as<float>() + h * l.cap * dk;
    CW_RETURN_IF_ERROR(GatherInPlace(head_k, dk, kept_.as<int32_t>(), n_kept));
    CW_RETURN_IF_ERROR(
        GatherInPlace(l.v.as<float>() + h * l.cap * dv, dv, kept_.as<int32_t>(), n_kept));
    CW_RETURN_IF_ERROR(GatherInPlace(norms, 1, kept_.as<int32_t>(), n_kept));
    int64_t* token = l.token.data() + h * l.cap;  // kept slots ascend: j <= kept[j]
    for (int64_t j = 0; j < n_kept; ++j) token[j] = token[host_kept_[static_cast<size_t>(j)]];
    // Runs of consecutive kept slots moved by the same distance: one rotation back per run.
    for (int64_t j = 0; j < n_kept;) {
      const int64_t from = host_kept_[static_cast<size_t>(j)];
      int64_t len = 1;
      while (j + len < n_kept && host_kept_[static_cast<size_t>(j + len)] == from + len) ++len;
      const int64_t back = from - j;
      if (back != 0) {
        CW_RETURN_IF_ERROR(RotateRows(il, head_k + j * dk, len, -static_cast<int32_t>(back)));
      }
      j += len;
    }
    n_evicted_ += l.n - n_kept;
    n_left = n_kept;
  }
  l.n = n_left;
  return absl::OkStatus();
}

// KvRows::DropOldest: the n_drop oldest entries after the pins go, positions along.
absl::Status DeviceCache::DropOldest(Layer& l, int64_t n_drop) {
  if (n_drop <= 0) return absl::OkStatus();
  const int64_t from = l.pins + n_drop, left = l.n - n_drop;
  CW_RETURN_IF_ERROR(MoveEntries(l, from, l.pins, l.n - from));
  std::copy(l.host_pos.begin() + from, l.host_pos.begin() + l.n, l.host_pos.begin() + l.pins);
  l.n = left;
  return ops_->CopyIn(l.pos.data(), l.host_pos.data(), F32(left));
}

// BoundedKvCache::RebaseRings + KvRows::ShiftPositions: every ring entry moves back by the same
// distance (its key rotated along), the oldest to a position >= 0.
absl::Status DeviceCache::RebaseRings() {
  const int64_t shift = n_past_ - ring_base_ - RingCapMax();
  for (size_t il = 0; il < layers_.size(); ++il) {
    Layer& l = layers_[il];
    if (l.window <= 0) continue;
    for (int64_t h = 0; h < hp_.n_head_kv && l.n > 0; ++h) {
      CW_RETURN_IF_ERROR(RotateRows(static_cast<int64_t>(il),
                                    l.k.as<float>() + h * l.cap * hp_.head_dim_k, l.n,
                                    -static_cast<int32_t>(shift)));
    }
    for (int64_t i = 0; i < l.n; ++i)
      l.host_pos[static_cast<size_t>(i)] -= static_cast<int32_t>(shift);
    CW_RETURN_IF_ERROR(ops_->CopyIn(l.pos.data(), l.host_pos.data(), F32(l.n)));
  }
  ring_base_ += shift;
  return absl::OkStatus();
}

}  // namespace cachewire::model
