// KvRows (kv_rows.h): row moves with std::copy/copy_backward per head, key shifts through
// kernels::ApplyRopeRow over runs of rows that moved by the same distance.
#include "engine/cache/kv_rows.h"

#include <algorithm>
#include <numeric>

#include "engine/common/status_macros.h"
#include "kernels/key_norms.h"

namespace cachewire::cache {

KvRows::KvRows(const KvCacheShape& shape, const kernels::RopeParams& rope, int64_t window_in,
               int64_t cap_in)
    : window(window_in), cap(cap_in), shape_(shape), rope_(rope) {
  if (rope.freq_factors != nullptr) {
    freq_factors_.assign(rope.freq_factors, rope.freq_factors + rope.n_rot / 2);
  }
  const size_t rows = static_cast<size_t>(shape.n_head_kv * cap);
  k_.resize(rows * static_cast<size_t>(shape.head_dim_k));
  v_.resize(rows * static_cast<size_t>(shape.head_dim_v));
  token_.resize(rows);
  if (ring()) {
    pos_.resize(static_cast<size_t>(cap));
  } else {
    norm_.resize(rows);
  }
}

size_t KvRows::BytesFor(const KvCacheShape& shape, bool ring, int64_t cap) {
  const size_t rows = static_cast<size_t>(shape.n_head_kv * cap);
  size_t b = rows * (static_cast<size_t>(shape.head_dim_k + shape.head_dim_v) * sizeof(float) +
                     sizeof(int64_t));
  b += ring ? static_cast<size_t>(cap) * sizeof(int32_t) : rows * sizeof(float);
  return b;
}

kernels::RopeParams KvRows::Rope() const {
  kernels::RopeParams p = rope_;
  p.freq_factors = freq_factors_.empty() ? nullptr : freq_factors_.data();
  return p;
}

KvHeadView KvRows::View(int64_t h) const {
  KvHeadView v;
  v.k = k_.data() + h * cap * shape_.head_dim_k;
  v.v = v_.data() + h * cap * shape_.head_dim_v;
  v.pos = ring() ? pos_.data() : nullptr;
  v.token = token_.data() + h * cap;
  v.k_stride = shape_.head_dim_k;
  v.v_stride = shape_.head_dim_v;
  return v;
}

void KvRows::SetNorm(int64_t h, int64_t slot) {
  kernels::KeyL2Norms(K(h, slot), 1, shape_.head_dim_k, shape_.head_dim_k,
                      &norm_[static_cast<size_t>(h * cap + slot)]);
}

void KvRows::Overwrite(int64_t h, int64_t slot, const float* k, const float* v) {
  std::copy_n(k, shape_.head_dim_k, K(h, slot));
  std::copy_n(v, shape_.head_dim_v, V(h, slot));
  if (!ring()) SetNorm(h, slot);
}

void KvRows::Write(int64_t n_rows, const float* k, const float* v, int64_t token0, int32_t pos0) {
  const int64_t dk = shape_.head_dim_k, dv = shape_.head_dim_v, n_kv = shape_.n_head_kv;
  for (int64_t t = 0; t < n_rows; ++t) {
    const int64_t slot = n + t;
    for (int64_t h = 0; h < n_kv; ++h) {
      std::copy_n(k + (t * n_kv + h) * dk, dk, K(h, slot));
      std::copy_n(v + (t * n_kv + h) * dv, dv, V(h, slot));
      token_[static_cast<size_t>(h * cap + slot)] = token0 + t;
      if (!ring()) SetNorm(h, slot);
    }
    if (ring()) pos_[static_cast<size_t>(slot)] = pos0 + static_cast<int32_t>(t);
  }
}

void KvRows::Move(int64_t h, int64_t from, int64_t to, int64_t count) {
  if (count <= 0 || from == to) return;
  const int64_t dk = shape_.head_dim_k, dv = shape_.head_dim_v;
  auto move = [&](auto* base, int64_t width) {
    auto* src = base + from * width;
    auto* dst = base + to * width;
    if (to < from) {
      std::copy(src, src + count * width, dst);
    } else {
      std::copy_backward(src, src + count * width, dst + count * width);
    }
  };
  move(k_.data() + h * cap * dk, dk);
  move(v_.data() + h * cap * dv, dv);
  move(token_.data() + h * cap, 1);
  if (!ring()) move(norm_.data() + h * cap, 1);
}

void KvRows::DropOldest(int64_t n_drop) {
  if (n_drop <= 0) return;
  for (int64_t h = 0; h < shape_.n_head_kv; ++h) Move(h, pins + n_drop, pins, n - pins - n_drop);
  std::copy(pos_.begin() + pins + n_drop, pos_.begin() + n, pos_.begin() + pins);
  n -= n_drop;
}

absl::Status KvRows::SetRingPins(int64_t count, const float* k, const float* v, int32_t pos,
                                 kernels::RopeTable* table) {
  const int64_t dk = shape_.head_dim_k, dv = shape_.head_dim_v, n_kv = shape_.n_head_kv;
  const int64_t n_own = n - pins;
  if (count != pins) {  // the ring's own entries move to follow the new pins (positions stay)
    for (int64_t h = 0; h < n_kv; ++h) Move(h, pins, count, n_own);
    if (count < pins) {
      std::copy(pos_.begin() + pins, pos_.begin() + n, pos_.begin() + count);
    } else {
      std::copy_backward(pos_.begin() + pins, pos_.begin() + n, pos_.begin() + count + n_own);
    }
  }
  pins = count;
  n = count + n_own;
  if (count == 0) return absl::OkStatus();
  shift_pos_.assign(static_cast<size_t>(count), pos);
  CW_RETURN_IF_ERROR(kernels::BuildRopeTable(Rope(), shift_pos_, table));
  for (int64_t h = 0; h < n_kv; ++h) {
    for (int64_t t = 0; t < count; ++t) {
      std::copy_n(k + (t * n_kv + h) * dk, dk, K(h, t));
      std::copy_n(v + (t * n_kv + h) * dv, dv, V(h, t));
      token_[static_cast<size_t>(h * cap + t)] = -1;
    }
    CW_RETURN_IF_ERROR(kernels::ApplyRope(*table, K(h, 0), count, 1, dk));
  }
  std::fill(pos_.begin(), pos_.begin() + count, pos);
  return absl::OkStatus();
}

absl::Status KvRows::ShiftPositions(int64_t delta, kernels::RopeTable* table) {
  shift_pos_.assign(1, static_cast<int32_t>(delta));
  CW_RETURN_IF_ERROR(kernels::BuildRopeTable(Rope(), shift_pos_, table));
  for (int64_t h = 0; h < shape_.n_head_kv && n > 0; ++h) {
    CW_RETURN_IF_ERROR(kernels::ApplyRopeRow(*table, 0, K(h, 0), n, 1, shape_.head_dim_k));
  }
  for (int64_t i = 0; i < n; ++i) pos_[static_cast<size_t>(i)] += static_cast<int32_t>(delta);
  return absl::OkStatus();
}

absl::Status KvRows::BuildBackShiftTable(int64_t max_back, kernels::RopeTable* table) {
  // Row r shifts by -r.
  shift_pos_.resize(static_cast<size_t>(std::max<int64_t>(max_back, 0) + 1));
  for (size_t r = 0; r < shift_pos_.size(); ++r) shift_pos_[r] = -static_cast<int32_t>(r);
  return kernels::BuildRopeTable(Rope(), shift_pos_, table);
}

absl::Status KvRows::Compact(int64_t h, std::span<const int32_t> kept,
                             const kernels::RopeTable& table) {
  const int64_t n_kept = static_cast<int64_t>(kept.size());
  // Runs of consecutive kept slots move by the same distance: one copy and one shift per run.
  for (int64_t j = 0; j < n_kept;) {
    const int64_t from = kept[static_cast<size_t>(j)];
    int64_t len = 1;
    while (j + len < n_kept && kept[static_cast<size_t>(j + len)] == from + len) ++len;
    const int64_t back = from - j;
    if (back != 0) {
      Move(h, from, j, len);
      CW_RETURN_IF_ERROR(kernels::ApplyRopeRow(table, back, K(h, j), len, 1, shape_.head_dim_k));
    }
    j += len;
  }
  return absl::OkStatus();
}

absl::Status KvRows::Remove(int64_t at, int64_t count, kernels::RopeTable* table) {
  if (count <= 0) return absl::OkStatus();
  shift_pos_.assign(1, static_cast<int32_t>(-count));
  CW_RETURN_IF_ERROR(kernels::BuildRopeTable(Rope(), shift_pos_, table));
  const int64_t n_after = n - at - count;
  for (int64_t h = 0; h < shape_.n_head_kv; ++h) {
    Move(h, at + count, at, n_after);
    if (n_after > 0) {
      CW_RETURN_IF_ERROR(kernels::ApplyRopeRow(*table, 0, K(h, at), n_after, 1, shape_.head_dim_k));
    }
  }
  n -= count;
  return absl::OkStatus();
}

absl::Status KvRows::Insert(int64_t at, int64_t count, const float* k, const float* v,
                            kernels::RopeTable* table) {
  if (count <= 0) return absl::OkStatus();
  const int64_t dk = shape_.head_dim_k, dv = shape_.head_dim_v, n_kv = shape_.n_head_kv;
  const int64_t n_after = n - at;
  // Later entries move up by count.
  shift_pos_.assign(1, static_cast<int32_t>(count));
  CW_RETURN_IF_ERROR(kernels::BuildRopeTable(Rope(), shift_pos_, table));
  for (int64_t h = 0; h < n_kv; ++h) {
    Move(h, at, at + count, n_after);
    if (n_after > 0) {
      CW_RETURN_IF_ERROR(kernels::ApplyRopeRow(*table, 0, K(h, at + count), n_after, 1, dk));
    }
  }
  // The new entries, rotated for positions at .. at + count - 1.
  shift_pos_.resize(static_cast<size_t>(count));
  std::iota(shift_pos_.begin(), shift_pos_.end(), static_cast<int32_t>(at));
  CW_RETURN_IF_ERROR(kernels::BuildRopeTable(Rope(), shift_pos_, table));
  for (int64_t h = 0; h < n_kv; ++h) {
    for (int64_t t = 0; t < count; ++t) {
      std::copy_n(k + (t * n_kv + h) * dk, dk, K(h, at + t));
      std::copy_n(v + (t * n_kv + h) * dv, dv, V(h, at + t));
      token_[static_cast<size_t>(h * cap + at + t)] = -1;
    }
    CW_RETURN_IF_ERROR(kernels::ApplyRope(*table, K(h, at), count, 1, dk));
    for (int64_t t = 0; t < count; ++t) SetNorm(h, at + t);
  }
  n += count;
  return absl::OkStatus();
}

}  // namespace cachewire::cache
