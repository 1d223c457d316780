// Which entries of one (layer, kv-head) survive an eviction batch (CACHE.md): a pure function
// of the entry count, the protected head and tail, and the keys' L2 norms.
//
// Slots [0, n_head) hold the sinks and pinned entries, [n - n_tail, n) the recent window; both
// are always kept. Of the middle, n - n_keep entries go: with norms, the highest key L2 norm
// first (Devoto et al. 2024: low-norm keys draw the attention), ties to the older entry; without,
// the oldest first (StreamingLLM). A NaN norm counts as +inf (evicted first).
#pragma once

#include <cstdint>
#include <vector>

namespace cachewire::cache {

struct EvictionArgs {
  int64_t n_entries = 0;            // entries held
  int64_t n_keep = 0;               // entries to keep (clamped to what the protected slots need)
  int64_t n_head = 0;               // first slots never evicted (sinks, then pinned entries)
  int64_t n_tail = 0;               // last slots never evicted (the recent window)
  const float* key_norm = nullptr;  // (n_entries) L2 norm of each key, or null: oldest first
};

// Fills `kept` with the surviving slots in ascending order. `order` is scratch (reused).
void ChooseKept(const EvictionArgs& args, std::vector<int32_t>* kept, std::vector<int32_t>* order);

}  // namespace cachewire::cache
