// DeviceSnapshot (device_snapshot.h), and DeviceCache::ReadHead, the cache's side of it.
#include "engine/model/device_snapshot.h"

#include <algorithm>
#include <numeric>
#include <string>

#include "engine/common/status_macros.h"
#include "engine/model/device_cache.h"

namespace cachewire::model {

absl::Status DeviceCache::ReadHead(int64_t il, int64_t h, std::vector<int32_t>* pos,
                                   std::vector<int64_t>* token, float* k, float* v) const {
  const Layer& l = layers_[static_cast<size_t>(il)];
  const size_t n = static_cast<size_t>(l.n);
  if (l.window > 0) {
    pos->assign(l.host_pos.begin(), l.host_pos.begin() + l.n);
  } else {  // a policy layer's (or a full cache's) slot is its position
    pos->resize(n);
    std::iota(pos->begin(), pos->end(), 0);
  }
  if (l.token.empty()) {  // a full cache: slot = token index
    token->resize(n);
    std::iota(token->begin(), token->end(), int64_t{0});
  } else {
    const auto first = l.token.begin() + h * l.cap;
    token->assign(first, first + l.n);
  }
  const int64_t dk = hp_.head_dim_k, dv = hp_.head_dim_v;
  if (k != nullptr && n > 0) {
    CW_RETURN_IF_ERROR(ops_->CopyOut(k, l.k.as<float>() + h * l.cap * dk,
                                     static_cast<size_t>(l.n * dk) * sizeof(float)));
    CW_RETURN_IF_ERROR(ops_->CopyOut(v, l.v.as<float>() + h * l.cap * dv,
                                     static_cast<size_t>(l.n * dv) * sizeof(float)));
  }
  return absl::OkStatus();
}

absl::Status DeviceSnapshot::Refresh(const DeviceCache& c, const cache::CacheStats& stats,
                                     bool rows) {
  if (c.step_open()) return absl::FailedPreconditionError("device cache: a step is open");
  const HParams& hp = c.hparams();
  shape_ = {.n_layer = hp.n_layer,
            .n_head_kv = hp.n_head_kv,
            .head_dim_k = hp.head_dim_k,
            .head_dim_v = hp.head_dim_v,
            .n_ctx = c.n_ctx()};
  n_past_ = c.n_past();
  room_ = c.Room();
  max_step_ = c.MaxStepTokens();
  stats_ = stats;
  next_pos_.resize(static_cast<size_t>(hp.n_layer));
  heads_.resize(static_cast<size_t>(hp.n_layer * hp.n_head_kv));
  for (int64_t il = 0; il < hp.n_layer; ++il) {
    next_pos_[static_cast<size_t>(il)] = c.NextPosition(il);
    const size_t n = static_cast<size_t>(c.Entries(il));
    for (int64_t h = 0; h < hp.n_head_kv; ++h) {
      Head& head = heads_[static_cast<size_t>(il * hp.n_head_kv + h)];
      head.k.resize(rows ? n * static_cast<size_t>(hp.head_dim_k) : 0);
      head.v.resize(rows ? n * static_cast<size_t>(hp.head_dim_v) : 0);
      CW_RETURN_IF_ERROR(c.ReadHead(il, h, &head.pos, &head.token, rows ? head.k.data() : nullptr,
                                    rows ? head.v.data() : nullptr));
    }
  }
  return absl::OkStatus();
}

cache::KvHeadView DeviceSnapshot::View(int64_t il, int64_t kv_head) const {
  const Head& head = heads_[static_cast<size_t>(il * shape_.n_head_kv + kv_head)];
  cache::KvHeadView v;
  v.n = static_cast<int64_t>(head.pos.size());
  v.k = head.k.empty() ? nullptr : head.k.data();
  v.v = head.v.empty() ? nullptr : head.v.data();
  v.pos = head.pos.data();
  v.token = head.token.data();
  v.k_stride = shape_.head_dim_k;
  v.v_stride = shape_.head_dim_v;
  return v;
}

absl::Status DeviceSnapshot::ReadOnly(const char* what) {
  return absl::FailedPreconditionError(
      std::string("device session cache: ") + what +
      " refused: kv_cache() is a read-only snapshot (edit through the session)");
}

}  // namespace cachewire::model
