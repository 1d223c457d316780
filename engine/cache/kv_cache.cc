// FullKvCache (kv_cache.h): every entry up to n_ctx, stored per layer as
// (kv-head, capacity, head_dim) so that one head's keys are contiguous rows for attention.
// Positions are one array shared by all (layer, kv-head): without eviction every head holds the
// same entries. Capacity doubles (copying each head's rows) until it reaches n_ctx.
#include "engine/cache/kv_cache.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <vector>

#include "absl/strings/str_cat.h"

namespace cachewire::cache {
namespace {

constexpr int64_t kMinCapacity = 64;

class FullKvCache final : public KvCache {
 public:
  explicit FullKvCache(const KvCacheShape& shape)
      : shape_(shape), layers_(static_cast<size_t>(shape.n_layer)),
        appended_(static_cast<size_t>(shape.n_layer), false) {}

  const KvCacheShape& shape() const override { return shape_; }
  int64_t n_past() const override { return n_past_; }

  KvHeadView View(int64_t il, int64_t kv_head) const override {
    const Layer& layer = layers_[static_cast<size_t>(il)];
    KvHeadView v;
    v.n = n_past_ + (appended_[static_cast<size_t>(il)] ? n_step_ : 0);
    if (capacity_ == 0) return v;
    v.k = layer.k.data() + kv_head * capacity_ * shape_.head_dim_k;
    v.v = layer.v.data() + kv_head * capacity_ * shape_.head_dim_v;
    v.pos = pos_.data();
    v.k_stride = shape_.head_dim_k;
    v.v_stride = shape_.head_dim_v;
    return v;
  }

  size_t bytes() const override {
    return static_cast<size_t>(capacity_) *
           (static_cast<size_t>(shape_.n_layer * shape_.n_head_kv) *
                static_cast<size_t>(shape_.head_dim_k + shape_.head_dim_v) * sizeof(float) +
            sizeof(int32_t));
  }

  absl::Status BeginStep(int64_t n_tokens) override {
    if (n_step_ > 0) return absl::InvalidArgumentError("kv cache: a step is already open");
    if (n_tokens <= 0) {
      return absl::InvalidArgumentError(absl::StrCat("kv cache: step of ", n_tokens, " tokens"));
    }
    if (n_tokens > shape_.n_ctx - n_past_) {
      return absl::ResourceExhaustedError(absl::StrCat(
          "kv cache: ", n_past_, " + ", n_tokens, " tokens would exceed n_ctx ", shape_.n_ctx));
    }
    Reserve(n_past_ + n_tokens);
    n_step_ = n_tokens;
    std::fill(appended_.begin(), appended_.end(), false);
    return absl::OkStatus();
  }

  absl::Status Append(int64_t il, std::span<const int32_t> positions, const float* k,
                      const float* v) override {
    if (n_step_ == 0) return absl::InvalidArgumentError("kv cache: Append without BeginStep");
    if (il < 0 || il >= shape_.n_layer || appended_[static_cast<size_t>(il)] ||
        static_cast<int64_t>(positions.size()) != n_step_) {
      return absl::InvalidArgumentError(absl::StrCat("kv cache: bad Append to layer ", il, " of ",
                                                     positions.size(), " rows (step of ",
                                                     n_step_, ")"));
    }
    Layer& layer = layers_[static_cast<size_t>(il)];
    const int64_t dk = shape_.head_dim_k, dv = shape_.head_dim_v, n_kv = shape_.n_head_kv;
    for (int64_t t = 0; t < n_step_; ++t) {
      const int64_t slot = n_past_ + t;
      for (int64_t h = 0; h < n_kv; ++h) {
        std::memcpy(layer.k.data() + (h * capacity_ + slot) * dk, k + (t * n_kv + h) * dk,
                    static_cast<size_t>(dk) * sizeof(float));
        std::memcpy(layer.v.data() + (h * capacity_ + slot) * dv, v + (t * n_kv + h) * dv,
                    static_cast<size_t>(dv) * sizeof(float));
      }
      pos_[static_cast<size_t>(slot)] = positions[static_cast<size_t>(t)];
    }
    appended_[static_cast<size_t>(il)] = true;
    return absl::OkStatus();
  }

  absl::Status Commit() override {
    if (n_step_ == 0) return absl::InvalidArgumentError("kv cache: Commit without BeginStep");
    for (int64_t il = 0; il < shape_.n_layer; ++il) {
      if (!appended_[static_cast<size_t>(il)]) {
        return absl::InvalidArgumentError(absl::StrCat("kv cache: Commit before layer ", il,
                                                       " was appended"));
      }
    }
    n_past_ += n_step_;
    n_step_ = 0;
    std::fill(appended_.begin(), appended_.end(), false);
    return absl::OkStatus();
  }

  void Rollback() override {
    n_step_ = 0;
    std::fill(appended_.begin(), appended_.end(), false);
  }

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
  std::vector<Layer> layers_;   // (n_layer)
  std::vector<int32_t> pos_;    // (capacity) position of each slot, shared by all heads
  std::vector<bool> appended_;  // (n_layer) appended in the open step
  int64_t capacity_ = 0;
  int64_t n_past_ = 0;
  int64_t n_step_ = 0;  // tokens of the open step, 0 when none
};

}  // namespace

absl::StatusOr<std::unique_ptr<KvCache>> NewFullKvCache(const KvCacheShape& shape) {
  if (shape.n_layer <= 0 || shape.n_head_kv <= 0 || shape.head_dim_k <= 0 ||
      shape.head_dim_v <= 0 || shape.n_ctx <= 0 ||
      shape.n_ctx > std::numeric_limits<int32_t>::max()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "kv cache: invalid shape n_layer=", shape.n_layer, " n_head_kv=", shape.n_head_kv,
        " head_dim=", shape.head_dim_k, "/", shape.head_dim_v, " n_ctx=", shape.n_ctx));
  }
  return std::unique_ptr<KvCache>(new FullKvCache(shape));
}

}  // namespace cachewire::cache
