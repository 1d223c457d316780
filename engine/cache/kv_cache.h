// A session's KV cache: per (layer, kv-head) arrays of entries, each a key, a value and the
// position its key was rotated for.
//
// The interface is what the forward pass needs from any cache policy. Today's implementation,
// FullKvCache, keeps every entry up to n_ctx; the bounded cache of CACHE.md (attention sinks +
// L2-norm eviction) will implement the same interface, which is why positions are stored
// explicitly per entry (after eviction a (layer, kv-head) holds non-contiguous positions, and
// different heads may keep different entries) and why attention takes masks from them.
//
// One forward step: BeginStep(n) checks capacity and reserves; Append(il, ...) adds the step's
// entries of layer il (visible at once to View(il, ...), so the step's queries see their own
// keys); Commit() makes them permanent and advances n_past, Rollback() drops them. Only these
// mutate; everything else is a read.
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

namespace cachewire::cache {

struct KvCacheShape {
  int64_t n_layer = 0;
  int64_t n_head_kv = 0;
  int64_t head_dim_k = 0;
  int64_t head_dim_v = 0;
  int64_t n_ctx = 0;  // most tokens the session may hold
};

// Entries of one (layer, kv-head): row i is a key, a value and its position.
struct KvHeadView {
  const float* k = nullptr;      // (n, k_stride)
  const float* v = nullptr;      // (n, v_stride)
  const int32_t* pos = nullptr;  // (n)
  int64_t n = 0;
  int64_t k_stride = 0;
  int64_t v_stride = 0;
};

class KvCache {
 public:
  virtual ~KvCache() = default;

  // ---- reading --------------------------------------------------------------------------
  virtual const KvCacheShape& shape() const = 0;
  // Tokens committed so far; the next token's position.
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

  // ---- one forward step (the only mutators besides Clear) ---------------------------------
  // Opens a step of n_tokens at positions n_past .. n_past + n_tokens - 1, reserving room.
  // ResourceExhausted (nothing changed) when n_past + n_tokens > n_ctx; InvalidArgument for
  // n_tokens <= 0 or a step already open.
  virtual absl::Status BeginStep(int64_t n_tokens) = 0;
  // Adds the open step's entries of layer il: k (n_tokens, n_head_kv, head_dim_k) and
  // v (n_tokens, n_head_kv, head_dim_v), rows in step order, at `positions` (n_tokens).
  // InvalidArgument without an open step, for a wrong count or a layer appended twice.
  virtual absl::Status Append(int64_t il, std::span<const int32_t> positions, const float* k,
                              const float* v) = 0;
  // Keeps the step's entries (every layer must have been appended) and advances n_past.
  virtual absl::Status Commit() = 0;
  // Drops the open step's entries; no-op without one.
  virtual void Rollback() = 0;
  // Forgets everything: n_past 0, storage kept for reuse.
  virtual void Clear() = 0;
};

// Every entry kept, up to shape.n_ctx tokens; storage grows geometrically as tokens arrive (so
// a session with a large n_ctx costs only what it uses). InvalidArgument for a non-positive
// dimension or n_ctx above INT32_MAX (positions are int32).
absl::StatusOr<std::unique_ptr<KvCache>> NewFullKvCache(const KvCacheShape& shape);

}  // namespace cachewire::cache
