// Reading cache entries the way the adapters need them: keys un-rotated (after QK-norm, before
// RoPE), as the LCF encoder and the C2C fuser take them. A cache stores each key rotated for its
// entry's position; rotating by minus that position takes it back.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "absl/status/status.h"
#include "engine/cache/kv_cache.h"
#include "kernels/rope.h"

namespace cachewire::adapter {

// Appends rows `rows` of one (layer, kv-head) `view`, in that order, to *k (head_dim_k values
// each, un-rotated with `rope`) and *v (head_dim_v each). `table` is scratch.
absl::Status AppendUnrotatedRows(const cache::KvHeadView& view, std::span<const int64_t> rows,
                                 const kernels::RopeParams& rope, int64_t head_dim_k,
                                 int64_t head_dim_v, std::vector<float>* k, std::vector<float>* v,
                                 kernels::RopeTable* table);

}  // namespace cachewire::adapter
