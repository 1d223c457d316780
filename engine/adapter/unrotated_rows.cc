// Cache rows with keys un-rotated (see unrotated_rows.h).
#include "engine/adapter/unrotated_rows.h"

#include <algorithm>
#include <string>

#include "engine/common/status_macros.h"

namespace cachewire::adapter {

bool UnrotationTable::Same(const Entry& e, const kernels::RopeParams& rope) {
  if (rope.layout != e.rope.layout || rope.n_rot != e.rope.n_rot ||
      rope.freq_base != e.rope.freq_base || rope.freq_scale != e.rope.freq_scale ||
      (rope.freq_factors == nullptr) != e.factors.empty()) {
    return false;
  }
  return rope.freq_factors == nullptr ||
         std::equal(e.factors.begin(), e.factors.end(), rope.freq_factors);
}

absl::StatusOr<const kernels::RopeTable*> UnrotationTable::Covering(
    const kernels::RopeParams& rope, int32_t max_pos) {
  Entry* entry = nullptr;
  for (Entry& e : entries_) {
    if (Same(e, rope)) entry = &e;
  }
  if (entry != nullptr && max_pos < entry->by_position.n_tokens) {
    entry->last_used = ++clock_;
    return &entry->by_position;
  }
  if (entry == nullptr) {
    if (entries_.size() < kMaxRopes) {
      entries_.reserve(kMaxRopes);  // entries never move: their factors stay where rope points
      entry = &entries_.emplace_back();
    } else {
      entry = &*std::min_element(entries_.begin(), entries_.end(),
                                 [](const Entry& a, const Entry& b) {
                                   return a.last_used < b.last_used;
                                 });
    }
    entry->rope = rope;
    entry->factors.clear();
    if (rope.freq_factors != nullptr && rope.n_rot > 0) {
      entry->factors.assign(rope.freq_factors, rope.freq_factors + rope.n_rot / 2);
    }
  }
  entry->rope.freq_factors = entry->factors.empty() ? nullptr : entry->factors.data();
  entry->by_position.n_tokens = 0;  // unusable until built
  // Room for a cache that keeps growing: twice what is asked, within the cap.
  const int32_t rows = std::min(kMaxCachedPositions, std::max(2 * (max_pos + 1), 512));
  back_.resize(static_cast<size_t>(rows));
  for (int32_t p = 0; p < rows; ++p) back_[static_cast<size_t>(p)] = -p;
  CW_RETURN_IF_ERROR(kernels::BuildRopeTable(entry->rope, back_, &entry->by_position));
  entry->last_used = ++clock_;
  return &entry->by_position;
}

absl::Status UnrotationTable::Unrotate(const kernels::RopeParams& rope,
                                       std::span<const int32_t> positions, float* x,
                                       int64_t head_dim) {
  if (positions.empty()) return absl::OkStatus();
  const auto [lo, hi] = std::minmax_element(positions.begin(), positions.end());
  if (*lo < 0) {
    return absl::FailedPreconditionError("cache: an entry at negative position " +
                                         std::to_string(*lo));
  }
  const int64_t n = static_cast<int64_t>(positions.size());
  if (*hi >= kMaxCachedPositions) {
    back_.resize(positions.size());
    for (size_t i = 0; i < positions.size(); ++i) back_[i] = -positions[i];
    CW_RETURN_IF_ERROR(kernels::BuildRopeTable(rope, back_, &per_call_));
    return kernels::ApplyRope(per_call_, x, n, 1, head_dim);
  }
  CW_ASSIGN_OR_RETURN(const kernels::RopeTable* table, Covering(rope, *hi));
  for (int64_t i = 0; i < n; ++i) {
    CW_RETURN_IF_ERROR(kernels::ApplyRopeRow(*table, positions[static_cast<size_t>(i)],
                                             x + i * head_dim, 1, 1, head_dim));
  }
  return absl::OkStatus();
}

absl::Status AppendUnrotatedRows(const cache::KvHeadView& view, std::span<const int64_t> rows,
                                 const kernels::RopeParams& rope, int64_t head_dim_k,
                                 int64_t head_dim_v, std::vector<float>* k, std::vector<float>* v,
                                 UnrotationTable* table) {
  if (rows.empty()) return absl::OkStatus();
  const size_t k0 = k->size();
  std::vector<int32_t> positions;
  positions.reserve(rows.size());
  for (int64_t e : rows) {
    k->insert(k->end(), view.k + e * view.k_stride, view.k + e * view.k_stride + head_dim_k);
    v->insert(v->end(), view.v + e * view.v_stride, view.v + e * view.v_stride + head_dim_v);
    positions.push_back(view.pos[e]);
  }
  return table->Unrotate(rope, positions, k->data() + k0, head_dim_k);
}

}  // namespace cachewire::adapter
