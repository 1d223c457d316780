// BoundedKvCache (bounded_kv_cache.h): storage per layer as (kv-head, capacity, head_dim) so one
// head's keys are contiguous rows for attention; the step protocol of kv_cache.h; eviction
// batches and ring trimming in BeginStep; pins. Row moves and RoPE shifts are in kv_rows.h.
#include "engine/cache/bounded_kv_cache.h"

#include <algorithm>
#include <limits>
#include <numeric>
#include <utility>

#include "engine/cache/eviction.h"
#include "engine/cache/kv_rows.h"
#include "engine/cache/step_state.h"
#include "engine/common/status_macros.h"
#include "engine/gguf/str_cat.h"

namespace cachewire::cache {
namespace {

// A ring's storage: its own entries and room for pins.
int64_t RingCapFor(const CacheLayerSpec& spec, const CachePolicy& policy) {
  return spec.sliding_window > 0 ? policy.ring_entries(spec.sliding_window) + policy.max_pinned()
                                 : 0;
}

int64_t RingCapMax(const std::vector<KvRows>& layers, const CachePolicy& policy) {
  int64_t m = 0;
  for (const KvRows& l : layers) m = std::max(m, policy.ring_entries(l.window));
  return m;
}

class BoundedKvCache final : public KvCache {
 public:
  BoundedKvCache(const BoundedKvCacheParams& p, CacheReservation reservation)
      : shape_(p.shape),
        policy_(p.policy),
        reservation_(std::move(reservation)),
        ring_rebase_at_(p.ring_rebase_at),
        step_(p.shape.n_layer) {
    shape_.n_ctx = std::numeric_limits<int64_t>::max();
    const int64_t cap = policy_.max_entries();
    iota_.resize(static_cast<size_t>(cap));
    std::iota(iota_.begin(), iota_.end(), 0);
    layers_.reserve(p.layers.size());
    for (const CacheLayerSpec& spec : p.layers) {
      const int64_t w = spec.sliding_window;
      layers_.emplace_back(shape_, spec.rope, w, w > 0 ? RingCapFor(spec, policy_) : cap);
    }
  }

  // ---- reading --------------------------------------------------------------------------
  const KvCacheShape& shape() const override { return shape_; }
  int64_t n_past() const override { return n_past_; }

  KvHeadView View(int64_t il, int64_t kv_head) const override {
    const KvRows& l = layers_[static_cast<size_t>(il)];
    KvHeadView v = l.View(kv_head);
    v.n = l.n + (step_.appended(il) ? step_.n_tokens() : 0);
    if (!l.ring()) v.pos = iota_.data();
    return v;
  }

  size_t bytes() const override {
    size_t b = iota_.size() * sizeof(int32_t);
    for (const KvRows& l : layers_) b += l.bytes();
    return b;
  }

  int32_t NextPosition(int64_t il) const override {
    const KvRows& l = layers_[static_cast<size_t>(il)];
    return static_cast<int32_t>(l.ring() ? n_past_ - ring_base_ : l.n);
  }
  int64_t Room() const override { return std::numeric_limits<int64_t>::max(); }
  int64_t MaxStepTokens() const override { return policy_.slack; }

  CacheStats Stats() const override {
    CacheStats s;
    s.bounded = true;
    s.n_tokens = n_past_;
    s.n_head_kv = shape_.n_head_kv;
    for (const KvRows& l : layers_) {
      s.entries_per_layer.push_back(l.n * shape_.n_head_kv);
      s.entries += l.n * shape_.n_head_kv;
      s.pinned_entries += (l.ring() ? l.pins : n_pinned_) * shape_.n_head_kv;
    }
    s.max_entries = policy_.max_entries();
    s.bytes = bytes();
    s.reserved_bytes = reservation_.bytes();
    s.n_evicted = n_evicted_;
    s.n_compactions = n_compactions_;
    s.n_pinned = n_pinned_;
    return s;
  }

  // ---- one forward step -----------------------------------------------------------------
  absl::Status BeginStep(int64_t n_tokens) override {
    CW_RETURN_IF_ERROR(step_.CheckCanBegin());
    if (n_tokens <= 0 || n_tokens > policy_.slack) {
      return absl::InvalidArgumentError(gguf::Cat("kv cache: step of ", n_tokens,
                                                  " tokens; a bounded cache takes 1 to slack (",
                                                  policy_.slack, ") tokens per step"));
    }
    bool evicted = false;
    for (size_t il = 0; il < layers_.size(); ++il) {
      KvRows& l = layers_[il];
      if (l.ring()) {
        if (l.n - l.pins + n_tokens <= policy_.ring_entries(l.window)) continue;
        l.DropOldest(l.n - l.pins - (l.window - 1));
      } else if (l.n + n_tokens > l.cap) {
        CW_RETURN_IF_ERROR(
            Evict(static_cast<int64_t>(il), policy_.budget, policy_.n_sink + n_pinned_));
        evicted = true;
      }
    }
    if (evicted) ++n_compactions_;
    if (RingCapMax(layers_, policy_) > 0 && n_past_ - ring_base_ + n_tokens > ring_rebase_at_) {
      CW_RETURN_IF_ERROR(RebaseRings());
    }
    step_.Begin(n_tokens);
    return absl::OkStatus();
  }

  absl::Status Append(int64_t il, std::span<const int32_t> positions, const float* k,
                      const float* v) override {
    const bool layer_ok = il >= 0 && il < shape_.n_layer;  // CheckAppend refuses the others
    const int32_t p0 = layer_ok ? NextPosition(il) : 0;
    CW_RETURN_IF_ERROR(step_.CheckAppend(il, positions, p0, k, v));
    const int64_t n_step = step_.n_tokens();
    layers_[static_cast<size_t>(il)].Write(n_step, k, v, n_past_, p0);
    step_.MarkAppended(il);
    return absl::OkStatus();
  }

  absl::Status Commit() override {
    CW_RETURN_IF_ERROR(step_.CheckCommit());
    for (KvRows& l : layers_) l.n += step_.n_tokens();
    n_past_ += step_.n_tokens();
    Rollback();
    return absl::OkStatus();
  }

  void Rollback() override { step_.Close(); }

  void Clear() override {
    Rollback();
    for (KvRows& l : layers_) l.n = l.pins = 0;
    n_past_ = ring_base_ = 0;
    n_pinned_ = pin_begin_ = 0;
    n_evicted_ = n_compactions_ = 0;
  }

  // ---- rewriting entries in place (a C2C fusion) ------------------------------------------
  absl::Status Overwrite(std::span<const EntryOverwrite> entries) override {
    CW_RETURN_IF_ERROR(CheckOverwrite(*this, step_.open(), entries));
    for (const EntryOverwrite& e : entries) {
      layers_[static_cast<size_t>(e.il)].Overwrite(e.kv_head, e.row, e.k, e.v);
    }
    return absl::OkStatus();
  }

  // ---- pins -------------------------------------------------------------------------------
  absl::Status Pin(int64_t n_pinned, std::span<const PinnedKv> pins) override {
    if (step_.open()) return absl::InvalidArgumentError("kv cache: Pin while a step is open");
    CW_RETURN_IF_ERROR(CheckPin(policy_, shape_.n_layer, n_pinned, pins));
    // Checked: from here nothing fails (only internal RoPE-table errors could).
    bool evicted = false;
    int64_t new_begin = 0;
    for (size_t il = 0; il < layers_.size(); ++il) {
      KvRows& l = layers_[il];
      if (l.ring()) {  // at the ring's last position: in view of the next window - 1 tokens
        const int32_t at = std::max<int32_t>(0, NextPosition(static_cast<int64_t>(il)) - 1);
        CW_RETURN_IF_ERROR(l.SetRingPins(n_pinned, pins[il].k, pins[il].v, at, &table_));
        continue;
      }
      CW_RETURN_IF_ERROR(l.Remove(pin_begin_, n_pinned_, &table_));  // the previous pins
      if (l.n + n_pinned > l.cap) {  // make room: evict the middle down to budget - n_pinned
        CW_RETURN_IF_ERROR(
            Evict(static_cast<int64_t>(il), policy_.budget - n_pinned, policy_.n_sink));
        evicted = true;
      }
      // After the sinks taken so far (with fewer than n_sink tokens, later ones follow the pins
      // and are sinks too: the first n_sink + n_pinned slots stay protected either way).
      new_begin = std::min(policy_.n_sink, l.n);
      CW_RETURN_IF_ERROR(l.Insert(new_begin, n_pinned, pins[il].k, pins[il].v, &table_));
    }
    if (evicted) ++n_compactions_;
    pin_begin_ = new_begin;
    n_pinned_ = n_pinned;
    return absl::OkStatus();
  }

 private:
  // Evicts every kv head of bounded layer il down to n_keep entries, the first `head` slots
  // and the last `window` protected.
  absl::Status Evict(int64_t il, int64_t n_keep, int64_t head) {
    KvRows& l = layers_[static_cast<size_t>(il)];
    const bool by_norm = policy_.l2 && il >= policy_.l2_skip_layers;
    CW_RETURN_IF_ERROR(l.BuildBackShiftTable(l.n - n_keep, &table_));
    int64_t n_left = l.n;
    for (int64_t h = 0; h < shape_.n_head_kv; ++h) {
      ChooseKept({.n_entries = l.n,
                  .n_keep = n_keep,
                  .n_head = head,
                  .n_tail = policy_.window,
                  .key_norm = by_norm ? l.Norms(h) : nullptr},
                 &kept_, &order_);
      CW_RETURN_IF_ERROR(l.Compact(h, kept_, table_));
      n_evicted_ += l.n - static_cast<int64_t>(kept_.size());
      n_left = static_cast<int64_t>(kept_.size());
    }
    l.n = n_left;
    return absl::OkStatus();
  }

  // Restarts ring positions near 0 (they count tokens, which would pass int32 on a long
  // stream): every ring entry moves back by the same distance, the oldest to position >= 0.
  absl::Status RebaseRings() {
    const int64_t shift = n_past_ - ring_base_ - RingCapMax(layers_, policy_);
    for (KvRows& l : layers_) {
      if (l.ring()) CW_RETURN_IF_ERROR(l.ShiftPositions(-shift, &table_));
    }
    ring_base_ += shift;
    return absl::OkStatus();
  }

  KvCacheShape shape_;
  CachePolicy policy_;
  CacheReservation reservation_;
  int64_t ring_rebase_at_;
  std::vector<KvRows> layers_;  // (n_layer)
  std::vector<int32_t> iota_;   // (budget + slack) positions of a bounded layer's slots
  StepState step_;              // the open forward step
  int64_t n_past_ = 0;
  int64_t ring_base_ = 0;  // ring positions are token index - ring_base_
  int64_t pin_begin_ = 0;  // slot of the first pinned entry (= sinks taken before it)
  int64_t n_pinned_ = 0;
  int64_t n_evicted_ = 0;
  int64_t n_compactions_ = 0;
  std::vector<int32_t> kept_, order_;  // eviction scratch
  kernels::RopeTable table_;           // RoPE-shift scratch
};

}  // namespace

size_t BoundedKvCacheMaxBytes(const BoundedKvCacheParams& p) {
  const int64_t cap = p.policy.max_entries();
  size_t b = static_cast<size_t>(cap) * sizeof(int32_t);
  for (const CacheLayerSpec& spec : p.layers) {
    const int64_t w = spec.sliding_window;
    b += KvRows::BytesFor(p.shape, w > 0, w > 0 ? RingCapFor(spec, p.policy) : cap);
  }
  return b;
}

absl::StatusOr<std::unique_ptr<KvCache>> NewBoundedKvCache(const BoundedKvCacheParams& p) {
  const KvCacheShape& s = p.shape;
  if (s.n_layer <= 0 || s.n_head_kv <= 0 || s.head_dim_k <= 0 || s.head_dim_v <= 0) {
    return absl::InvalidArgumentError(gguf::Cat("kv cache: invalid shape n_layer=", s.n_layer,
                                                " n_head_kv=", s.n_head_kv,
                                                " head_dim=", s.head_dim_k, "/", s.head_dim_v));
  }
  CW_RETURN_IF_ERROR(p.policy.Validate());
  if (!p.policy.bounded) {
    return absl::InvalidArgumentError("cache policy: bounded must be set for a bounded cache");
  }
  if (static_cast<int64_t>(p.layers.size()) != s.n_layer) {
    return absl::InvalidArgumentError(
        gguf::Cat("layers: ", p.layers.size(), " given for ", s.n_layer, " layers"));
  }
  for (size_t il = 0; il < p.layers.size(); ++il) {
    const CacheLayerSpec& l = p.layers[il];
    if (l.sliding_window < 0 || l.sliding_window > (int64_t{1} << 24)) {
      return absl::InvalidArgumentError(
          gguf::Cat("layers[", il, "].sliding_window: ", l.sliding_window));
    }
    kernels::RopeTable probe;
    const int32_t zero = 0;
    if (absl::Status st = kernels::BuildRopeTable(l.rope, {&zero, 1}, &probe);
        !st.ok() || l.rope.n_rot > s.head_dim_k) {
      return absl::InvalidArgumentError(gguf::Cat("layers[", il, "].rope: n_rot ", l.rope.n_rot,
                                                  " for head_dim ", s.head_dim_k, " ",
                                                  st.message()));
    }
  }
  int64_t ring_cap_max = 0;
  for (const CacheLayerSpec& l : p.layers) {
    ring_cap_max = std::max(ring_cap_max, p.policy.ring_entries(l.sliding_window));
  }
  if (p.ring_rebase_at > (int64_t{1} << 30) ||
      p.ring_rebase_at < 2 * (ring_cap_max + p.policy.slack)) {
    return absl::InvalidArgumentError(gguf::Cat(
        "ring_rebase_at: ", p.ring_rebase_at,
        " outside [2 * (largest ring + slack) = ", 2 * (ring_cap_max + p.policy.slack), ", 2^30]"));
  }
  CacheReservation reservation;
  if (p.pool != nullptr) {
    CW_ASSIGN_OR_RETURN(reservation, p.pool->Reserve(BoundedKvCacheMaxBytes(p)));
  }
  return std::unique_ptr<KvCache>(new BoundedKvCache(p, std::move(reservation)));
}

}  // namespace cachewire::cache
