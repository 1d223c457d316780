// A session's KV cache: per (layer, kv-head) arrays of entries, each a key, a value, the
// position its key was rotated for and the token it came from.
//
// The interface is what the forward pass needs from any cache policy. FullKvCache (here) keeps
// every entry up to n_ctx; the bounded cache (bounded_kv_cache.h, CACHE.md: attention sinks +
// L2-norm eviction) implements the same interface. Positions are stored explicitly per entry
// (different heads may keep different entries) and attention takes its masks from them. The
// forward pass takes each layer's query positions from NextPosition(il), not from n_past: a
// bounded cache re-indexes its entries after eviction, so a session streams forever.
//
// One forward step: BeginStep(n) checks capacity and reserves (a bounded cache evicts here);
// Append(il, ...) adds the step's entries of layer il (visible at once to View(il, ...), so the
// step's queries see their own keys); Commit() makes them permanent and advances n_past,
// Rollback() drops them. Only these, Pin, Overwrite and Clear mutate; everything else is a
// read. A cache is used by one thread at a time (the session's owner serialises forwards, pins
// and stats).
//
// Storage is f32: the cache feeds attention without conversions, and keys/values stay bit-exact
// for the LCF encoder and C2C export; prefill and single-token decodes then give the same
// logits. The bounded policy caps the memory a session holds, so halving it with f16 (as
// llama.cpp does) is a later option behind this same interface, not a need today.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "engine/cache/cache_policy.h"
#include "engine/cache/cache_pool.h"
#include "engine/cache/cache_stats.h"

namespace cachewire::cache {

struct KvCacheShape {
  int64_t n_layer = 0;
  int64_t n_head_kv = 0;
  int64_t head_dim_k = 0;
  int64_t head_dim_v = 0;
  int64_t n_ctx = 0;  // most tokens the session may hold (INT64_MAX: a cache that evicts)
};

// Entries of one (layer, kv-head): row i is a key, a value and its position.
struct KvHeadView {
  const float* k = nullptr;      // (n, k_stride)
  const float* v = nullptr;      // (n, v_stride)
  const int32_t* pos = nullptr;  // (n)
  int64_t n = 0;
  int64_t k_stride = 0;
  int64_t v_stride = 0;
  const int64_t* token = nullptr;  // (n) token index each entry came from; -1 when pinned
};

// One layer's pinned entries, keys NOT rotated (the cache rotates them for their positions).
struct PinnedKv {
  const float* k = nullptr;  // (n_pinned, n_head_kv, head_dim_k)
  const float* v = nullptr;  // (n_pinned, n_head_kv, head_dim_v)
};

// New contents of one existing entry (a C2C fusion rewrites the receiver's entries): row `row`
// of View(il, kv_head), its key rotated for that row's position (View's pos[row]) and its value.
struct EntryOverwrite {
  int64_t il = 0;
  int64_t kv_head = 0;
  int64_t row = 0;
  const float* k = nullptr;  // (head_dim_k)
  const float* v = nullptr;  // (head_dim_v)
};

class KvCache {
 public:
  virtual ~KvCache() = default;

  // ---- reading --------------------------------------------------------------------------
  virtual const KvCacheShape& shape() const = 0;
  // Tokens committed so far (streamed through the cache, evicted ones included).
  virtual int64_t n_past() const = 0;
  // Entries of (layer il, kv head), including those appended in the open step. Valid until
  // the next mutating call.
  virtual KvHeadView View(int64_t il, int64_t kv_head) const = 0;
  // Positions of (layer il, kv head)'s entries (the same array View() gives).
  std::span<const int32_t> Positions(int64_t il, int64_t kv_head) const {
    const KvHeadView v = View(il, kv_head);
    return {v.pos, static_cast<size_t>(v.n)};
  }
  // Bytes held (allocated storage, not only the used part).
  virtual size_t bytes() const = 0;
  // The position the next token of layer il takes: the open step's tokens take
  // NextPosition(il) + t. n_past for a full cache; after eviction a bounded cache's positions
  // are re-indexed (so this is smaller than n_past), and layers may differ.
  virtual int32_t NextPosition(int64_t il) const = 0;
  // Tokens that may still be appended (n_ctx - n_past; INT64_MAX for a cache that evicts).
  virtual int64_t Room() const = 0;
  // Most tokens one step may hold (a longer run goes as several steps); <= Room().
  virtual int64_t MaxStepTokens() const = 0;
  virtual CacheStats Stats() const = 0;

  // ---- one forward step (the only mutators besides Clear and Pin) -------------------------
  // Opens a step of n_tokens, reserving room (a bounded cache runs its eviction batch here).
  // ResourceExhausted (nothing changed) when n_tokens > Room(); InvalidArgument for
  // n_tokens <= 0, n_tokens > MaxStepTokens() or a step already open.
  virtual absl::Status BeginStep(int64_t n_tokens) = 0;
  // Adds the open step's entries of layer il: k (n_tokens, n_head_kv, head_dim_k) and
  // v (n_tokens, n_head_kv, head_dim_v), rows in step order, keys rotated for `positions`
  // (n_tokens), which must be NextPosition(il) + t. InvalidArgument without an open step, for a
  // wrong count or position, or a layer appended twice.
  virtual absl::Status Append(int64_t il, std::span<const int32_t> positions, const float* k,
                              const float* v) = 0;
  // Keeps the step's entries (every layer must have been appended) and advances n_past.
  virtual absl::Status Commit() = 0;
  // Drops the open step's entries; no-op without one.
  virtual void Rollback() = 0;
  // Forgets everything (pins included): n_past 0, storage kept for reuse.
  virtual void Clear() = 0;

  // ---- pinned entries (imported by an LCF decoder) --------------------------------------
  // Places n_pinned virtual entries in every (layer, kv-head) right after the sinks, keys
  // rotated for the positions they take; the policy never evicts them. Replaces the previous
  // pins atomically (n_pinned 0 removes them); on error nothing changes. layers: (n_layer).
  // A layer the model limits to a sliding window holds its pins beside its ring, all at the
  // ring's last position (max(0, NextPosition - 1)): they stay in view of the next window - 1
  // tokens (the question and answer that follow an import), then fall out of it like the text.
  // FailedPrecondition for a cache without a bounding policy; InvalidArgument for an open step,
  // a wrong layer count, null buffers, or n_pinned above budget - n_sink - window.
  virtual absl::Status Pin(int64_t n_pinned, std::span<const PinnedKv> layers) = 0;

  // ---- rewriting entries in place (a C2C fusion) ------------------------------------------
  // Replaces the keys and values of existing entries; positions, token indices and order stay
  // (a bounded cache recomputes the key norms its eviction ranks by). Every item is checked
  // before any is written: InvalidArgument for an open step, a layer, kv-head or row outside the
  // committed entries, a pinned row, or null buffers; nothing changes then.
  virtual absl::Status Overwrite(std::span<const EntryOverwrite> entries) = 0;
};

// Overwrite's checks, shared by the cache kinds: every item against the committed entries.
absl::Status CheckOverwrite(const KvCache& cache, bool step_open,
                            std::span<const EntryOverwrite> entries);

// Pin's argument checks, shared by the bounded caches (CPU and device): n_pinned within
// [0, policy.max_pinned()], one PinnedKv per layer, no null buffers when n_pinned > 0.
absl::Status CheckPin(const CachePolicy& policy, int64_t n_layer, int64_t n_pinned,
                      std::span<const PinnedKv> pins);

// Every entry kept, up to shape.n_ctx tokens; storage grows geometrically as tokens arrive (so
// a session with a large n_ctx costs only what it uses). With a pool, the bytes of n_ctx
// entries are reserved up front (ResourceExhausted when the pool lacks them). InvalidArgument
// for a non-positive dimension or n_ctx above INT32_MAX (positions are int32).
absl::StatusOr<std::unique_ptr<KvCache>> NewFullKvCache(const KvCacheShape& shape,
                                                       std::shared_ptr<CachePool> pool = nullptr);

// Bytes a full cache of `shape` holds at n_ctx entries (what it reserves in a pool).
size_t FullKvCacheMaxBytes(const KvCacheShape& shape);

}  // namespace cachewire::cache
