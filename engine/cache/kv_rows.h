// One layer's storage in the bounded cache (bounded_kv_cache.h): the rows of every kv head and
// the row operations that eviction, pins and rings need, each keeping keys rotated for the
// position of the slot they end in.
//
// A policy-bounded layer's entry at slot i is at position i (the cache keeps slots contiguous),
// so moving a key from slot i to slot j rotates it by j - i. A ring layer (sliding window) keeps
// explicit positions, one array for all heads (a ring holds the same tokens in every head), and
// holds its pins first, all at one position (the ring's last when they were imported).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "absl/status/status.h"
#include "engine/cache/kv_cache.h"
#include "kernels/rope.h"

namespace cachewire::cache {

class KvRows {
 public:
  // `cap` entries per kv head; window > 0 makes a ring. rope.freq_factors is copied.
  KvRows(const KvCacheShape& shape, const kernels::RopeParams& rope, int64_t window, int64_t cap);

  static size_t BytesFor(const KvCacheShape& shape, bool ring, int64_t cap);
  size_t bytes() const { return BytesFor(shape_, ring(), cap); }
  bool ring() const { return window > 0; }

  // Head h's rows (n left 0 for the caller to set; pos null for a bounded layer).
  KvHeadView View(int64_t h) const;
  const float* Norms(int64_t h) const { return norm_.data() + h * cap; }  // (cap), bounded only

  // Writes n_rows new entries at slots n .. n + n_rows - 1 of every head (n unchanged):
  // k (n_rows, n_head_kv, head_dim_k), v (n_rows, n_head_kv, head_dim_v), rotated already;
  // tokens token0 + t, positions pos0 + t.
  void Write(int64_t n_rows, const float* k, const float* v, int64_t token0, int32_t pos0);

  // Head h's entry at `slot` takes key k (rotated for its position already) and value v; a
  // bounded layer's key norm follows.
  void Overwrite(int64_t h, int64_t slot, const float* k, const float* v);

  // Ring: drops the n_drop oldest entries after the pins of every head (positions stay).
  void DropOldest(int64_t n_drop);
  // Ring: replaces the pins (slots [0, pins)) by `count` entries of un-rotated
  // k (count, n_head_kv, head_dim_k), v (count, n_head_kv, head_dim_v), all at position `pos`,
  // token index -1; the ring's own entries move along (n changes by count - pins).
  absl::Status SetRingPins(int64_t count, const float* k, const float* v, int32_t pos,
                           kernels::RopeTable* table);
  // Ring: every entry's position (and key) moves by delta.
  absl::Status ShiftPositions(int64_t delta, kernels::RopeTable* table);

  // Bounded: head h keeps the slots `kept` (ascending) at slots 0, 1, ..., each key shifted back
  // by its move; `table` from BuildBackShiftTable with max_back >= the largest move.
  absl::Status Compact(int64_t h, std::span<const int32_t> kept, const kernels::RopeTable& table);
  absl::Status BuildBackShiftTable(int64_t max_back, kernels::RopeTable* table);
  // Bounded: every head drops slots [at, at + count); later entries move down (n -= count).
  absl::Status Remove(int64_t at, int64_t count, kernels::RopeTable* table);
  // Bounded: every head opens slots [at, at + count) (later entries move up) and fills them with
  // un-rotated k (count, n_head_kv, head_dim_k), v (count, n_head_kv, head_dim_v), rotated here
  // for positions at .. at + count - 1, token index -1 (n += count).
  absl::Status Insert(int64_t at, int64_t count, const float* k, const float* v,
                      kernels::RopeTable* table);

  int64_t window = 0;  // > 0: ring of a sliding-window layer
  int64_t cap = 0;     // entries per head
  int64_t n = 0;       // committed entries per head
  int64_t pins = 0;    // ring: pinned entries at slots [0, pins), before the ring's own

 private:
  kernels::RopeParams Rope() const;
  float* K(int64_t h, int64_t slot) { return k_.data() + (h * cap + slot) * shape_.head_dim_k; }
  float* V(int64_t h, int64_t slot) { return v_.data() + (h * cap + slot) * shape_.head_dim_v; }
  // Head h: entries [from, from + count) copied to slot `to` (overlap allowed), keys unchanged.
  void Move(int64_t h, int64_t from, int64_t to, int64_t count);
  void SetNorm(int64_t h, int64_t slot);

  KvCacheShape shape_;
  kernels::RopeParams rope_;
  std::vector<float> freq_factors_;  // (n_rot/2) or empty; rope_.freq_factors points here
  std::vector<float> k_;            // (n_head_kv, cap, head_dim_k), rotated for the slot's position
  std::vector<float> v_;            // (n_head_kv, cap, head_dim_v)
  std::vector<int64_t> token_;      // (n_head_kv, cap) token index, -1 pinned
  std::vector<float> norm_;         // (n_head_kv, cap) key L2 norm; bounded layers only
  std::vector<int32_t> pos_;        // (cap) ring layers only
  std::vector<int32_t> shift_pos_;  // scratch: positions a RoPE table is built for
};

}  // namespace cachewire::cache
