// The bounded KV cache of CACHE.md: attention sinks + recent window + L2-norm (or oldest-first)
// eviction of the middle, in batches, at a memory fixed by the policy whatever the stream length.
//
// Per (layer, kv-head): compact arrays of entries (key, value, token index, key L2 norm) whose
// cache position is their slot. When a step would take a layer past budget + slack entries,
// BeginStep evicts every (layer, kv-head) down to budget in one batch (ChooseKept, eviction.h)
// and re-indexes the kept entries to contiguous positions (StreamingLLM); the next token takes
// the next position. Layers the model limits to a sliding window (Gemma 3's local layers) keep a
// ring of their last window - 1 entries instead, at positions counted from the stream's start.
//
// Keys are stored rotated, as the forward pass appends them, and compaction shifts a moved key
// by its position delta (RoPE by d of a key rotated for p is the key rotated for p + d). The
// alternative, un-rotated storage rotated inside attention, would put a rotation per entry into
// every decode step's attention (and a second kernel variant); shifting costs a few rotations
// per moved entry once per batch of `slack` tokens and leaves attention as it is. Float rounding
// adds ~1e-7 relative per shift to an entry; only middle entries move, and tests bound the drift.
//
// Pinned entries (Pin, imported by an LCF decoder) sit right after the sinks; with them the
// first n_sink + n_pinned slots are protected. A ring holds its pins before its own entries, all
// at the position of its last entry at import time (kv_cache.h, Pin). All storage is allocated at creation (and, with a
// pool, reserved there), so bytes() is flat while streaming.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/cache/cache_policy.h"
#include "engine/cache/cache_pool.h"
#include "engine/cache/kv_cache.h"
#include "kernels/rope.h"

namespace cachewire::cache {

struct CacheLayerSpec {
  // How the forward pass rotates this layer's keys; compaction and pins rotate the same way.
  // rope.freq_factors (if set) is copied at creation.
  kernels::RopeParams rope{};
  int64_t sliding_window = 0;  // > 0: the model limits the layer to this window (ring, no policy)
};

struct BoundedKvCacheParams {
  KvCacheShape shape{};  // n_ctx ignored: the cache streams (its shape().n_ctx is INT64_MAX)
  CachePolicy policy{};  // bounded and valid
  std::vector<CacheLayerSpec> layers{};       // (n_layer)
  std::shared_ptr<CachePool> pool{};          // optional: BoundedKvCacheMaxBytes reserved there
  int64_t ring_rebase_at = int64_t{1} << 30;  // ring positions restart below this (tests lower it)
};

// InvalidArgument naming the field for a bad shape, policy or layer list; ResourceExhausted
// when the pool cannot hold the cache's bytes.
absl::StatusOr<std::unique_ptr<KvCache>> NewBoundedKvCache(const BoundedKvCacheParams& params);

// Bytes the cache allocates (and reserves): the same at creation and after any stream.
size_t BoundedKvCacheMaxBytes(const BoundedKvCacheParams& params);

}  // namespace cachewire::cache
