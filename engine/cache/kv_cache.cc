// FullKvCache (kv_cache.h): every entry up to n_ctx, stored per layer as
// (kv-head, capacity, head_dim) so that one head's keys are contiguous rows for attention.
// Positions (and token indices, the same numbers) are one array shared by all (layer, kv-head):
// without eviction every head holds the same entries. Capacity doubles (copying each head's
// rows) until it reaches n_ctx.
#include "engine/cache/kv_cache.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "engine/cache/step_state.h"
#include "engine/common/status_macros.h"

namespace cachewire::cache {
namespace {

constexpr int64_t kMinCapacity = 64;

// Storage of `capacity` entries per (layer, kv-head): keys, values, position and token index.
size_t BytesAt(const KvCacheShape& shape, int64_t capacity) {
  return static_cast<size_t>(capacity) *
         (static_cast<size_t>(shape.n_layer * shape.n_head_kv) *
              static_cast<size_t>(shape.head_dim_k + shape.head_dim_v) * sizeof(float) +
          sizeof(int32_t) + sizeof(int64_t));
}

class FullKvCache final : public KvCache {
 public:
  FullKvCache(const KvCacheShape& shape, CacheReservation reservation)
      : shape_(shape), reservation_(std::move(reservation)),
        layers_(static_cast<size_t>(shape.n_layer)),
        step_(shape.n_layer) {}

  const KvCacheShape& shape() const override { return shape_; }
  int64_t n_past() const override { return n_past_; }

  KvHeadView View(int64_t il, int64_t kv_head) const override {
    const Layer& layer = layers_[static_cast<size_t>(il)];
    KvHeadView v;
    v.n = n_past_ + (step_.appended(il) ? step_.n_tokens() : 0);
    if (capacity_ == 0) return v;
    v.k = layer.k.data() + kv_head * capacity_ * shape_.head_dim_k;
    v.v = layer.v.data() + kv_head * capacity_ * shape_.head_dim_v;
    v.pos = pos_.data();
    v.token = token_.data();
    v.k_stride = shape_.head_dim_k;
    v.v_stride = shape_.head_dim_v;
    return v;
  }

  size_t bytes() const override { return BytesAt(shape_, capacity_); }
  int32_t NextPosition(int64_t) const override { return static_cast<int32_t>(n_past_); }
  int64_t Room() const override { return shape_.n_ctx - n_past_; }
  int64_t MaxStepTokens() const override { return Room(); }

  CacheStats Stats() const override {
    CacheStats s;
    s.n_tokens = n_past_;
    s.n_head_kv = shape_.n_head_kv;
    s.entries_per_layer.assign(static_cast<size_t>(shape_.n_layer), n_past_ * shape_.n_head_kv);
    s.entries = n_past_ * shape_.n_head_kv * shape_.n_layer;
    s.max_entries = shape_.n_ctx;
    s.bytes = bytes();
    s.reserved_bytes = reservation_.bytes();
    return s;
  }

  absl::Status Pin(int64_t, std::span<const PinnedKv>) override {
    return absl::FailedPreconditionError(
        "kv cache: pinned entries need a bounded cache policy (the full cache has none)");
  }

  absl::Status Overwrite(std::span<const EntryOverwrite> entries) override {
    CW_RETURN_IF_ERROR(CheckOverwrite(*this, step_.open(), entries));
    const int64_t dk = shape_.head_dim_k, dv = shape_.head_dim_v;
    for (const EntryOverwrite& e : entries) {
      Layer& layer = layers_[static_cast<size_t>(e.il)];
      std::copy_n(e.k, dk, layer.k.data() + (e.kv_head * capacity_ + e.row) * dk);
      std::copy_n(e.v, dv, layer.v.data() + (e.kv_head * capacity_ + e.row) * dv);
    }
    return absl::OkStatus();
  }

  absl::Status BeginStep(int64_t n_tokens) override {
    CW_RETURN_IF_ERROR(step_.CheckCanBegin());
    if (n_tokens <= 0) {
      return absl::InvalidArgumentError(absl::StrCat("kv cache: step of ", n_tokens, " tokens"));
    }
    if (n_tokens > shape_.n_ctx - n_past_) {
      return absl::ResourceExhaustedError(absl::StrCat(
          "kv cache: ", n_past_, " + ", n_tokens, " tokens would exceed n_ctx ", shape_.n_ctx));
    }
    Reserve(n_past_ + n_tokens);
    step_.Begin(n_tokens);
    return absl::OkStatus();
  }

  absl::Status Append(int64_t il, std::span<const int32_t> positions, const float* k,
                      const float* v) override {
    CW_RETURN_IF_ERROR(step_.CheckAppend(il, positions, n_past_, k, v));
    const int64_t n_step = step_.n_tokens();
    Layer& layer = layers_[static_cast<size_t>(il)];
    const int64_t dk = shape_.head_dim_k, dv = shape_.head_dim_v, n_kv = shape_.n_head_kv;
    for (int64_t t = 0; t < n_step; ++t) {
      const int64_t slot = n_past_ + t;
      for (int64_t h = 0; h < n_kv; ++h) {
        std::memcpy(layer.k.data() + (h * capacity_ + slot) * dk, k + (t * n_kv + h) * dk,
                    static_cast<size_t>(dk) * sizeof(float));
        std::memcpy(layer.v.data() + (h * capacity_ + slot) * dv, v + (t * n_kv + h) * dv,
                    static_cast<size_t>(dv) * sizeof(float));
      }
    }
    step_.MarkAppended(il);
    return absl::OkStatus();
  }

  absl::Status Commit() override {
    CW_RETURN_IF_ERROR(step_.CheckCommit());
    n_past_ += step_.n_tokens();
    step_.Close();
    return absl::OkStatus();
  }

  void Rollback() override { step_.Close(); }

  void Clear() override {
    Rollback();
    n_past_ = 0;
  }

 private:
  struct Layer {
    std::vector<float> k;  // (n_head_kv, capacity, head_dim_k)
    std::vector<float> v;  // (n_head_kv, capacity, head_dim_v)
  };

  // Grows every layer to hold `need` entries per head (doubling, capped at n_ctx).
  void Reserve(int64_t need) {
    if (need <= capacity_) return;
    int64_t cap = std::max(kMinCapacity, capacity_);
    while (cap < need) cap *= 2;
    cap = std::min(cap, shape_.n_ctx);
    const int64_t n_kv = shape_.n_head_kv;
    for (Layer& layer : layers_) {
      layer.k = Regrow(layer.k, cap, shape_.head_dim_k, n_kv);
      layer.v = Regrow(layer.v, cap, shape_.head_dim_v, n_kv);
    }
    pos_.resize(static_cast<size_t>(cap));
    token_.resize(static_cast<size_t>(cap));
    for (int64_t i = capacity_; i < cap; ++i) {
      pos_[static_cast<size_t>(i)] = static_cast<int32_t>(i);
      token_[static_cast<size_t>(i)] = i;
    }
    capacity_ = cap;
  }

  // (n_kv, capacity_, d) -> (n_kv, cap, d), keeping the first n_past_ rows of each head.
  std::vector<float> Regrow(const std::vector<float>& old, int64_t cap, int64_t d,
                            int64_t n_kv) const {
    std::vector<float> grown(static_cast<size_t>(n_kv * cap * d));
    for (int64_t h = 0; h < n_kv && capacity_ > 0; ++h) {
      std::copy_n(old.data() + h * capacity_ * d, n_past_ * d, grown.data() + h * cap * d);
    }
    return grown;
  }

  KvCacheShape shape_;
  CacheReservation reservation_;  // n_ctx entries' bytes in the worker's pool, if any
  std::vector<Layer> layers_;   // (n_layer)
  std::vector<int32_t> pos_;    // (capacity) position of each slot (= slot), shared by all heads
  std::vector<int64_t> token_;  // (capacity) token index of each slot (= slot)
  StepState step_;              // the open forward step
  int64_t capacity_ = 0;
  int64_t n_past_ = 0;
};

}  // namespace

absl::Status CheckPin(const CachePolicy& policy, int64_t n_layer, int64_t n_pinned,
                      std::span<const PinnedKv> pins) {
  const int64_t most = policy.max_pinned();
  if (n_pinned < 0 || n_pinned > most) {
    return absl::InvalidArgumentError(
        absl::StrCat("n_pinned: ", n_pinned, " outside [0, budget - n_sink - window = ", most,
                     "]"));
  }
  if (static_cast<int64_t>(pins.size()) != n_layer) {
    return absl::InvalidArgumentError(
        absl::StrCat("layers: ", pins.size(), " given for ", n_layer, " layers"));
  }
  for (size_t il = 0; il < pins.size() && n_pinned > 0; ++il) {
    if (pins[il].k == nullptr || pins[il].v == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat("layers[", il, "]: null k or v"));
    }
  }
  return absl::OkStatus();
}

absl::Status CheckOverwrite(const KvCache& cache, bool step_open,
                            std::span<const EntryOverwrite> entries) {
  if (step_open) return absl::InvalidArgumentError("kv cache: overwrite during an open step");
  const KvCacheShape& shape = cache.shape();
  for (size_t i = 0; i < entries.size(); ++i) {
    const EntryOverwrite& e = entries[i];
    if (e.il < 0 || e.il >= shape.n_layer || e.kv_head < 0 || e.kv_head >= shape.n_head_kv) {
      return absl::InvalidArgumentError(absl::StrCat("kv cache: overwrite ", i, ": layer ", e.il,
                                                     " kv-head ", e.kv_head, " out of range"));
    }
    const KvHeadView view = cache.View(e.il, e.kv_head);
    if (e.row < 0 || e.row >= view.n) {
      return absl::InvalidArgumentError(absl::StrCat("kv cache: overwrite ", i, ": row ", e.row,
                                                     " not in [0, ", view.n, ")"));
    }
    if (view.token != nullptr && view.token[e.row] < 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("kv cache: overwrite ", i, ": row ", e.row, " is a pinned entry"));
    }
    if (e.k == nullptr || e.v == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat("kv cache: overwrite ", i, ": null k or v"));
    }
  }
  return absl::OkStatus();
}

size_t FullKvCacheMaxBytes(const KvCacheShape& shape) { return BytesAt(shape, shape.n_ctx); }

absl::StatusOr<std::unique_ptr<KvCache>> NewFullKvCache(const KvCacheShape& shape,
                                                       std::shared_ptr<CachePool> pool) {
  if (shape.n_layer <= 0 || shape.n_head_kv <= 0 || shape.head_dim_k <= 0 ||
      shape.head_dim_v <= 0 || shape.n_ctx <= 0 ||
      shape.n_ctx > std::numeric_limits<int32_t>::max()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "kv cache: invalid shape n_layer=", shape.n_layer, " n_head_kv=", shape.n_head_kv,
        " head_dim=", shape.head_dim_k, "/", shape.head_dim_v, " n_ctx=", shape.n_ctx));
  }
  CacheReservation reservation;
  if (pool != nullptr) {
    absl::StatusOr<CacheReservation> r = pool->Reserve(FullKvCacheMaxBytes(shape));
    if (!r.ok()) return r.status();
    reservation = std::move(*r);
  }
  return std::unique_ptr<KvCache>(new FullKvCache(shape, std::move(reservation)));
}

}  // namespace cachewire::cache
