// Cache rows with keys un-rotated (see unrotated_rows.h).
#include "engine/adapter/unrotated_rows.h"

#include "engine/common/status_macros.h"

namespace cachewire::adapter {

absl::Status AppendUnrotatedRows(const cache::KvHeadView& view, std::span<const int64_t> rows,
                                 const kernels::RopeParams& rope, int64_t head_dim_k,
                                 int64_t head_dim_v, std::vector<float>* k, std::vector<float>* v,
                                 kernels::RopeTable* table) {
  if (rows.empty()) return absl::OkStatus();
  const size_t k0 = k->size();
  std::vector<int32_t> back;  // minus each row's position: rotating by it un-rotates
  back.reserve(rows.size());
  for (int64_t e : rows) {
    k->insert(k->end(), view.k + e * view.k_stride, view.k + e * view.k_stride + head_dim_k);
    v->insert(v->end(), view.v + e * view.v_stride, view.v + e * view.v_stride + head_dim_v);
    back.push_back(-view.pos[e]);
  }
  CW_RETURN_IF_ERROR(kernels::BuildRopeTable(rope, back, table));
  return kernels::ApplyRope(*table, k->data() + k0, static_cast<int64_t>(rows.size()), 1,
                            head_dim_k);
}

}  // namespace cachewire::adapter
