// What a session's KV cache holds, for the daemons to report (GetSession, Append replies,
// metrics; the fields map onto cachewire.v1.CacheStats) and for the cache benchmark: entries
// per layer, bytes, evictions, pinned entries.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace cachewire::cache {

struct CacheStats {
  bool bounded = false;   // evicts under a policy (else keeps everything)
  int64_t n_tokens = 0;   // tokens streamed through the cache (n_past)
  int64_t n_head_kv = 0;
  // (n_layer) entries held by each layer, summed over its kv heads.
  std::vector<int64_t> entries_per_layer{};
  int64_t entries = 0;      // summed over every (layer, kv-head)
  // Most entries one policy-bounded (layer, kv-head) may hold (budget + slack); n_ctx if full.
  int64_t max_entries = 0;
  size_t bytes = 0;           // storage allocated now
  size_t reserved_bytes = 0;  // held in the worker's pool (0 without one)
  int64_t n_evicted = 0;      // entries evicted, summed over every (layer, kv-head)
  int64_t n_compactions = 0;  // eviction batches
  int64_t n_pinned = 0;       // pinned entries per (layer, kv-head) of the policy-bounded layers
  int64_t pinned_entries = 0;  // pinned entries held, summed over every (layer, kv-head)
};

}  // namespace cachewire::cache
