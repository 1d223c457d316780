// DeviceCache's edits between steps (device_cache.h): C2C rewrites in place and LCF pins, each
// the CPU cache's operation (KvCache::Overwrite, BoundedKvCache::Pin, KvRows::SetRingPins /
// Remove / Insert) redone with backend ops in the same order, so over CpuOps the rows keep the
// CPU cache's bits.
#include <algorithm>

#include "engine/common/status_macros.h"
#include "engine/model/device_cache.h"
#include "engine/model/device_snapshot.h"

namespace cachewire::model {
namespace {

size_t F32(int64_t count) { return static_cast<size_t>(count) * sizeof(float); }

}  // namespace

absl::Status DeviceCache::MoveEntries(Layer& l, int64_t from, int64_t to, int64_t count) {
  if (count <= 0 || from == to) return absl::OkStatus();
  const int32_t* iota = iota_.as<int32_t>();
  float* tmp = tmp_.as<float>();
  // Through the scratch buffer: the ranges may overlap, gather_rows' source and target not.
  const auto move = [&](float* base, int64_t len) -> absl::Status {
    CW_RETURN_IF_ERROR(
        ops_->Run(CwGatherRowsArgs{base + from * len, len, iota, count, len, tmp, len}));
    return ops_->Run(CwGatherRowsArgs{tmp, len, iota, count, len, base + to * len, len});
  };
  const int64_t dk = hp_.head_dim_k, dv = hp_.head_dim_v;
  for (int64_t h = 0; h < hp_.n_head_kv; ++h) {
    CW_RETURN_IF_ERROR(move(l.k.as<float>() + h * l.cap * dk, dk));
    CW_RETURN_IF_ERROR(move(l.v.as<float>() + h * l.cap * dv, dv));
    if (l.norm.data() != nullptr) CW_RETURN_IF_ERROR(move(l.norm.as<float>() + h * l.cap, 1));
    if (l.token.empty()) continue;  // a full cache's slot is its token index
    int64_t* token = l.token.data() + h * l.cap;
    if (to < from) {
      std::copy(token + from, token + from + count, token + to);
    } else {
      std::copy_backward(token + from, token + from + count, token + to + count);
    }
  }
  return absl::OkStatus();
}

absl::Status DeviceCache::Overwrite(std::span<const cache::EntryOverwrite> entries) {
  // The checks read only counts and token indices: a snapshot without rows serves them.
  DeviceSnapshot index;
  CW_RETURN_IF_ERROR(index.Refresh(*this, Stats(), /*rows=*/false));
  CW_RETURN_IF_ERROR(cache::CheckOverwrite(index, step_open(), entries));
  const int64_t dk = hp_.head_dim_k, dv = hp_.head_dim_v;
  for (const cache::EntryOverwrite& e : entries) {
    Layer& l = layers_[static_cast<size_t>(e.il)];
    const int64_t slot = e.kv_head * l.cap + e.row;
    float* k = l.k.as<float>() + slot * dk;
    CW_RETURN_IF_ERROR(ops_->CopyIn(k, e.k, F32(dk)));
    CW_RETURN_IF_ERROR(ops_->CopyIn(l.v.as<float>() + slot * dv, e.v, F32(dv)));
    if (l.norm.data() != nullptr) {  // eviction ranks the new key (KvRows::Overwrite)
      CW_RETURN_IF_ERROR(ops_->Run(CwKeyNormsArgs{k, 1, dk, dk, l.norm.as<float>() + slot}));
    }
  }
  return absl::OkStatus();
}

absl::Status DeviceCache::Pin(int64_t n_pinned, std::span<const cache::PinnedKv> pins) {
  if (!bounded()) {
    return absl::FailedPreconditionError(
        "kv cache: pinned entries need a bounded cache policy (the full cache has none)");
  }
  if (step_open()) return absl::InvalidArgumentError("kv cache: Pin while a step is open");
  CW_RETURN_IF_ERROR(cache::CheckPin(policy_, hp_.n_layer, n_pinned, pins));
  // Checked: from here only backend errors could fail.
  const int64_t n_kv = hp_.n_head_kv;
  bool evicted = false;
  int64_t new_begin = 0;
  for (size_t i = 0; i < layers_.size(); ++i) {
    const int64_t il = static_cast<int64_t>(i);
    Layer& l = layers_[i];
    if (n_pinned > 0) {
      CW_RETURN_IF_ERROR(
          ops_->CopyIn(pin_k_.data(), pins[i].k, F32(n_pinned * n_kv * hp_.head_dim_k)));
      CW_RETURN_IF_ERROR(
          ops_->CopyIn(pin_v_.data(), pins[i].v, F32(n_pinned * n_kv * hp_.head_dim_v)));
    }
    if (l.window > 0) {  // at the ring's last position: in view of the next window - 1 tokens
      CW_RETURN_IF_ERROR(SetRingPins(il, n_pinned, std::max<int32_t>(0, NextPosition(il) - 1)));
      continue;
    }
    CW_RETURN_IF_ERROR(RemoveEntries(il, pin_begin_, n_pinned_));  // the previous pins
    if (l.n + n_pinned > l.cap) {  // make room: evict the middle down to budget - n_pinned
      CW_RETURN_IF_ERROR(Evict(il, policy_.budget - n_pinned, policy_.n_sink));
      evicted = true;
    }
    // After the sinks taken so far (BoundedKvCache::Pin: the first n_sink + n_pinned slots
    // stay protected either way).
    new_begin = std::min(policy_.n_sink, l.n);
    CW_RETURN_IF_ERROR(InsertPins(il, new_begin, n_pinned));
  }
  if (evicted) ++n_compactions_;
  pin_begin_ = new_begin;
  n_pinned_ = n_pinned;
  return absl::OkStatus();
}

// KvRows::SetRingPins: the ring's own entries follow the new pins (positions stay); the pins
// take slots [0, count), all at `pos`, keys rotated for it.
absl::Status DeviceCache::SetRingPins(int64_t il, int64_t count, int32_t pos) {
  Layer& l = layers_[static_cast<size_t>(il)];
  const int64_t n_own = l.n - l.pins, n_kv = hp_.n_head_kv;
  const int64_t dk = hp_.head_dim_k, dv = hp_.head_dim_v;
  if (count != l.pins) {
    CW_RETURN_IF_ERROR(MoveEntries(l, l.pins, count, n_own));
    std::vector<int32_t>& p = l.host_pos;
    if (count < l.pins) {
      std::copy(p.begin() + l.pins, p.begin() + l.n, p.begin() + count);
    } else {
      std::copy_backward(p.begin() + l.pins, p.begin() + l.n, p.begin() + count + n_own);
    }
  }
  l.pins = count;
  l.n = count + n_own;
  std::fill(l.host_pos.begin(), l.host_pos.begin() + count, pos);
  CW_RETURN_IF_ERROR(ops_->CopyIn(l.pos.data(), l.host_pos.data(), F32(l.n)));
  const int32_t* iota = iota_.as<int32_t>();
  for (int64_t h = 0; h < n_kv && count > 0; ++h) {
    float* head_k = l.k.as<float>() + h * l.cap * dk;
    CW_RETURN_IF_ERROR(ops_->Run(
        CwGatherRowsArgs{pin_k_.as<float>() + h * dk, n_kv * dk, iota, count, dk, head_k, dk}));
    CW_RETURN_IF_ERROR(
        ops_->Run(CwGatherRowsArgs{pin_v_.as<float>() + h * dv, n_kv * dv, iota, count, dv,
                                   l.v.as<float>() + h * l.cap * dv, dv}));
    CW_RETURN_IF_ERROR(RotateRows(il, head_k, count, 0, l.pos.as<int32_t>()));
    std::fill_n(l.token.data() + h * l.cap, count, int64_t{-1});
  }
  return absl::OkStatus();
}

// KvRows::Remove: every head drops slots [at, at + count), later entries move down (keys
// rotated back by count).
absl::Status DeviceCache::RemoveEntries(int64_t il, int64_t at, int64_t count) {
  if (count <= 0) return absl::OkStatus();
  Layer& l = layers_[static_cast<size_t>(il)];
  const int64_t n_after = l.n - at - count, dk = hp_.head_dim_k;
  CW_RETURN_IF_ERROR(MoveEntries(l, at + count, at, n_after));
  for (int64_t h = 0; h < hp_.n_head_kv && n_after > 0; ++h) {
    CW_RETURN_IF_ERROR(RotateRows(il, l.k.as<float>() + (h * l.cap + at) * dk, n_after,
                                  -static_cast<int32_t>(count)));
  }
  l.n -= count;
  return absl::OkStatus();
}

// KvRows::Insert: every head opens slots [at, at + count) (later entries move up, rotated
// along) and fills them with the staged pins, rotated for positions at .. at + count - 1.
absl::Status DeviceCache::InsertPins(int64_t il, int64_t at, int64_t count) {
  if (count <= 0) return absl::OkStatus();
  Layer& l = layers_[static_cast<size_t>(il)];
  const int64_t n_after = l.n - at, n_kv = hp_.n_head_kv;
  const int64_t dk = hp_.head_dim_k, dv = hp_.head_dim_v;
  CW_RETURN_IF_ERROR(MoveEntries(l, at, at + count, n_after));
  for (int64_t h = 0; h < n_kv && n_after > 0; ++h) {
    CW_RETURN_IF_ERROR(RotateRows(il, l.k.as<float>() + (h * l.cap + at + count) * dk, n_after,
                                  static_cast<int32_t>(count)));
  }
  const int32_t* iota = iota_.as<int32_t>();
  for (int64_t h = 0; h < n_kv; ++h) {
    float* k = l.k.as<float>() + (h * l.cap + at) * dk;
    CW_RETURN_IF_ERROR(ops_->Run(
        CwGatherRowsArgs{pin_k_.as<float>() + h * dk, n_kv * dk, iota, count, dk, k, dk}));
    CW_RETURN_IF_ERROR(
        ops_->Run(CwGatherRowsArgs{pin_v_.as<float>() + h * dv, n_kv * dv, iota, count, dv,
                                   l.v.as<float>() + (h * l.cap + at) * dv, dv}));
    CW_RETURN_IF_ERROR(RotateRows(il, k, count, 0, iota + at));  // slot i is at position i
    CW_RETURN_IF_ERROR(
        ops_->Run(CwKeyNormsArgs{k, count, dk, dk, l.norm.as<float>() + h * l.cap + at}));
    std::fill_n(l.token.data() + h * l.cap + at, count, int64_t{-1});
  }
  l.n += count;
  return absl::OkStatus();
}

}  // namespace cachewire::model
