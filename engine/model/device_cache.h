// Internal to engine/model: one session's KV cache in backend memory (device_model.h), full or
// bounded, with the step protocol of cache::KvCache (kv_cache.h) reduced to what the device
// forward needs: BeginStep (a bounded cache evicts here), per-layer positions and attention
// records, Append, Commit or Rollback.
//
// Keys and values (and a bounded layer's key norms) stay in backend memory; the host holds only
// counts, the token index of each bounded entry (moved with its row, as KvRows does; a full
// cache's slot is its token index) and, for ring layers, the positions (uploaded after each
// change, a few ints). The host snapshot that LCF and C2C read (device_snapshot.h) is built
// from these and the rows downloaded.
//
// The bounded cache follows cache::BoundedKvCache (bounded_kv_cache.h) operation for operation,
// so over CpuOps a session keeps the same entries with the same bits:
// - a policy layer's entry at slot i is at position i; past budget + slack entries every kv
//   head is cut down to budget by evict_select (cache::ChooseKept over the norms taken when the
//   keys were appended, moved with their rows and never recomputed, as KvRows does), the kept
//   rows gathered through a scratch buffer back to slots 0, 1, ..., and each run of rows that
//   moved by the same distance rotated back by it with one rope record (pos null, `shift`);
// - a sliding-window layer (Gemma 3's local layers) keeps a ring of its last window - 1 entries
//   at explicit positions counted from the stream's start, the oldest dropped in one move when
//   a step would overflow it, positions rebased (keys rotated along) before they pass 2^30.
// Pins (LCF imports) and rewrites in place (C2C fusion) follow BoundedKvCache::Pin and
// KvCache::Overwrite the same way (device_cache_edits.cc): pins after the sinks of a policy
// layer, rotated for their slots (later entries shifted along), or before a ring's own entries
// at the ring's last position; a rewritten key's norm taken again.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "engine/backend/ops.h"
#include "engine/cache/cache_policy.h"
#include "engine/cache/cache_stats.h"
#include "engine/cache/kv_cache.h"
#include "engine/model/hparams.h"
#include "kernels/rope.h"

namespace cachewire::model {

struct DeviceCacheParams {
  int64_t n_ctx = 0;            // full cache: capacity in tokens; bounded: ignored (it streams)
  cache::CachePolicy policy{};  // valid; bounded or not
  // (n_layer) how each layer rotates its keys (freq_factors in backend memory): compaction
  // shifts stored keys the same way. Only read by a bounded cache.
  std::vector<kernels::RopeParams> rope{};
  int64_t ring_rebase_at = int64_t{1} << 30;  // as BoundedKvCacheParams (tests lower it)
};

class DeviceCache {
 public:
  // Allocates every buffer up front (ResourceExhausted when the backend has no room).
  static absl::StatusOr<std::unique_ptr<DeviceCache>> Create(backend::Ops& ops, const HParams& hp,
                                                             const DeviceCacheParams& params);
  // Bytes Create allocates for these parameters (what a worker's pool reserves).
  static size_t BytesFor(const HParams& hp, const DeviceCacheParams& params);

  bool bounded() const { return policy_.bounded; }
  int64_t n_past() const { return n_past_; }
  int64_t n_ctx() const;  // INT64_MAX for a bounded cache
  size_t bytes() const { return bytes_; }
  int64_t Room() const;           // tokens that may still be appended
  int64_t MaxStepTokens() const;  // most tokens one step holds (slack when bounded)
  cache::CacheStats Stats() const;

  // Opens a step of n tokens (1 <= n <= MaxStepTokens, checked by the caller's request
  // checks): drops the oldest ring entries and runs the eviction batch when needed.
  absl::Status BeginStep(int64_t n);
  // The position the open step's first token takes in layer il (rows follow by one).
  int32_t NextPosition(int64_t il) const;
  bool ring(int64_t il) const { return layers_[static_cast<size_t>(il)].window > 0; }
  // Writes the open step's rows of layer il: k (n, n_head_kv, head_dim_k), v (n, n_head_kv,
  // head_dim_v) in backend memory, keys rotated for NextPosition(il) + t.
  absl::Status Append(int64_t il, const float* k, const float* v);
  // Layer il's entries per kv head, the open step's included (after Append): (n_head_kv).
  void Records(int64_t il, std::vector<CwAttentionKv>* out) const;
  void Commit();    // the step's entries count from now on
  void Rollback();  // the step's entries are forgotten (an eviction already done stays)
  void Clear();     // n_past 0, pins dropped, storage kept
  bool step_open() const { return n_step_ != 0; }

  // ---- reading between steps (device_snapshot.h) -----------------------------------------
  const HParams& hparams() const { return hp_; }
  int64_t Entries(int64_t il) const { return layers_[static_cast<size_t>(il)].n; }
  // Layer il's committed entries of kv head h: positions and token indices (-1 pinned) to the
  // host vectors, and with k, v non-null the rows downloaded ((n, head_dim) each).
  absl::Status ReadHead(int64_t il, int64_t h, std::vector<int32_t>* pos,
                        std::vector<int64_t>* token, float* k, float* v) const;

  // ---- edits between steps (device_cache_edits.cc) ---------------------------------------
  // KvCache::Overwrite: keys rotated for their rows' positions, every item checked
  // (cache::CheckOverwrite) before any is written; a policy layer's key norm is taken again.
  absl::Status Overwrite(std::span<const cache::EntryOverwrite> entries);
  // KvCache::Pin (BoundedKvCache's semantics): FailedPrecondition for a full cache.
  absl::Status Pin(int64_t n_pinned, std::span<const cache::PinnedKv> layers);

 private:
  struct Layer {
    int64_t window = 0;             // > 0: a ring of this sliding window
    int64_t cap = 0;                // entries per kv head
    int64_t n = 0;                  // committed entries per kv head
    int64_t pins = 0;               // rings: pinned entries at slots [0, pins)
    std::vector<int64_t> token;     // (n_head_kv, cap) bounded: token index, -1 pinned
    backend::Buffer k, v;           // (n_head_kv, cap, head_dim)
    backend::Buffer norm;           // (n_head_kv, cap) key L2 norms; bounded policy layers only
    backend::Buffer pos;            // (cap) positions; rings only (else the shared iota)
    std::vector<int32_t> host_pos;  // (cap) rings: the positions, host copy
  };

  DeviceCache(backend::Ops& ops, const HParams& hp, const DeviceCacheParams& params)
      : ops_(&ops),
        hp_(hp),
        policy_(params.policy),
        rope_(params.rope),
        n_ctx_(params.n_ctx),
        ring_rebase_at_(params.ring_rebase_at) {}

  // Every kv head of policy layer il down to n_keep entries, the first `head` slots and the
  // policy's window protected.
  absl::Status Evict(int64_t il, int64_t n_keep, int64_t head);
  absl::Status DropOldest(Layer& l, int64_t n_drop);
  absl::Status RebaseRings();
  // Rows [0, count) of head_rows (row_len floats each) become the rows idx[0, count) of
  // head_rows, through the scratch buffer (gather_rows must not overlap).
  absl::Status GatherInPlace(float* head_rows, int64_t row_len, const int32_t* idx, int64_t count);
  // Every head's entries [from, from + count) to slot `to` (overlap allowed), keys unchanged;
  // norms and host token indices along.
  absl::Status MoveEntries(Layer& l, int64_t from, int64_t to, int64_t count);
  // Keys rotated by `shift` (pos null) or each row for pos[row] (backend memory).
  absl::Status RotateRows(int64_t il, float* k_rows, int64_t n_rows, int32_t shift,
                          const int32_t* pos = nullptr);
  // Pin's parts (device_cache_edits.cc), the staged pins of layer il in pin_k_ / pin_v_.
  absl::Status SetRingPins(int64_t il, int64_t count, int32_t pos);
  absl::Status RemoveEntries(int64_t il, int64_t at, int64_t count);
  absl::Status InsertPins(int64_t il, int64_t at, int64_t count);
  int64_t RingCapMax() const;  // the largest ring's own entries (pins not counted)

  backend::Ops* ops_;
  HParams hp_;
  cache::CachePolicy policy_;
  std::vector<kernels::RopeParams> rope_;
  int64_t n_ctx_;
  int64_t ring_rebase_at_;
  std::vector<Layer> layers_;  // (n_layer)
  backend::Buffer iota_;       // (largest cap) int32 0, 1, ...: slot positions, gather indices
  backend::Buffer tmp_;        // (largest cap, max head dim) compaction scratch
  backend::Buffer kept_;       // (largest cap) int32 evict_select's output
  backend::Buffer n_kept_;     // (1) int64
  backend::Buffer pin_k_;      // (most pins, n_head_kv, head_dim_k) Pin's staging, bounded only
  backend::Buffer pin_v_;      // (most pins, n_head_kv, head_dim_v)
  std::vector<int32_t> host_kept_;
  size_t bytes_ = 0;
  int64_t n_past_ = 0;
  int64_t n_step_ = 0;     // tokens of the open step (0: none)
  int64_t ring_base_ = 0;  // ring positions are token index - ring_base_
  int64_t n_evicted_ = 0;
  int64_t n_compactions_ = 0;
  int64_t n_pinned_ = 0;   // pins per (layer, kv head) of the policy layers (and of each ring)
  int64_t pin_begin_ = 0;  // policy layers: slot of the first pin (= sinks taken before it)
};

}  // namespace cachewire::model
