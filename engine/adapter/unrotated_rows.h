// Reading cache entries the way the adapters need them: keys un-rotated (after QK-norm, before
// RoPE), as the LCF encoder and the C2C fuser take them. A cache stores each key rotated for its
// entry's position; rotating by minus that position takes it back.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "engine/cache/kv_cache.h"
#include "kernels/rope.h"

namespace cachewire::adapter {

// The rotations that undo RoPE, by position, kept across calls. An export reads every layer's
// kept entries, and their positions repeat across layers, heads and exports: one cos/sin per
// (position, pair) for a RoPE instead of one per entry (double-precision sincos and its table
// were ~8% of an LCF export at 448 entries x 6 layers). A few RoPEs are kept at once (Gemma 3's
// local and global layers differ). Positions past kMaxCachedPositions (a long-context model's
// full cache) get a table of their own per call instead, so the memory stays bounded.
class UnrotationTable {
 public:
  static constexpr int32_t kMaxCachedPositions = 8192;
  static constexpr size_t kMaxRopes = 4;

  // Rotates n rows of x (row i: `head_dim` values at x + i * head_dim) by minus positions[i].
  // FailedPrecondition for a negative position (a cache never stores one).
  absl::Status Unrotate(const kernels::RopeParams& rope, std::span<const int32_t> positions,
                        float* x, int64_t head_dim);

 private:
  struct Entry {
    kernels::RopeParams rope;        // freq_factors pointing into factors
    std::vector<float> factors;      // a copy: the caller's may not outlive this table
    kernels::RopeTable by_position;  // row p rotates by -p
    uint64_t last_used = 0;
  };
  static bool Same(const Entry& e, const kernels::RopeParams& rope);
  absl::StatusOr<const kernels::RopeTable*> Covering(const kernels::RopeParams& rope,
                                                    int32_t max_pos);

  std::vector<Entry> entries_;
  uint64_t clock_ = 0;
  kernels::RopeTable per_call_;  // for positions past kMaxCachedPositions
  std::vector<int32_t> back_;    // scratch: minus each position
};

// Appends rows `rows` of one (layer, kv-head) `view`, in that order, to *k (head_dim_k values
// each, un-rotated with `rope`) and *v (head_dim_v each).
absl::Status AppendUnrotatedRows(const cache::KvHeadView& view, std::span<const int64_t> rows,
                                 const kernels::RopeParams& rope, int64_t head_dim_k,
                                 int64_t head_dim_v, std::vector<float>* k, std::vector<float>* v,
                                 UnrotationTable* table);

}  // namespace cachewire::adapter
