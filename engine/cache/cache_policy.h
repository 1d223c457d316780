// How a session's KV cache is bounded (CACHE.md): attention sinks + a recent window kept,
// the middle evicted in batches by key L2 norm (or oldest first), or no bound at all.
//
//   CachePolicy p{.bounded = true, .window = 256, .budget = 1024};   // l2 on, 4 sinks
//   CW_RETURN_IF_ERROR(p.Validate());
//
// Sizes count entries per (layer, kv-head): every token adds one entry to each. A bounded cache
// holds at most budget + slack entries there; reaching that, it evicts down to budget at once.
// The first n_sink entries, the last `window` ones and pinned entries are never evicted. Layers
// the model itself limits to a sliding window keep a ring of that window instead (no policy).
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/status.h"

namespace cachewire::cache {

struct CachePolicy {
  // false: every entry is kept up to the session's n_ctx (the full cache); the rest is unused.
  bool bounded = false;
  int64_t n_sink = 4;          // first entries never evicted (StreamingLLM's attention sinks)
  int64_t window = 256;        // last entries never evicted
  int64_t budget = 1024;       // entries kept after an eviction batch, pinned ones included
  int64_t slack = 128;         // entries added between batches; also the most tokens one step holds
  bool l2 = true;              // middle evicted by highest key L2 norm first (else oldest first)
  int64_t l2_skip_layers = 2;  // the first layers evict oldest first even with l2 on

  // InvalidArgument naming the field: a negative size, budget <= 0 or slack <= 0 when bounded,
  // n_sink + window > budget, budget + slack beyond int32 positions.
  absl::Status Validate() const;

  // Most entries one (layer, kv-head) may hold: budget + slack (bounded only).
  int64_t max_entries() const { return budget + slack; }
  // Most entries a Pin may import: budget - n_sink - window (the room besides the protected
  // sinks and window); a ring makes room for them too.
  int64_t max_pinned() const { return std::max<int64_t>(0, budget - n_sink - window); }
  // A sliding-window layer's ring: its own entries, window - 1 and one step (0 for a layer
  // without a window).
  int64_t ring_entries(int64_t layer_window) const {
    return layer_window > 0 ? layer_window - 1 + slack : 0;
  }

  static CachePolicy Unbounded() { return CachePolicy{}; }
  // "unbounded" or "bounded budget=... slack=... n_sink=... window=... l2=on skip=2" (for logs).
  std::string ToString() const;
};

}  // namespace cachewire::cache
