// Internal to engine/model: a read-only host copy of a device session's cache, behind the
// cache::KvCache interface, for what reads a session's cache through Session::kv_cache(): the
// LCF encoder, the C2C export and the import summary. Refresh downloads every committed entry
// (keys exactly as stored, rotated for their positions; values; positions; token indices, -1
// for pins) and the counts and statistics of that moment; the copy then answers View,
// NextPosition, n_past, shape, Stats and bytes as the CPU cache would have. Its mutators refuse
// (FailedPrecondition): the session's own Pin and Overwrite edit the device cache.
//
// Downloading the whole cache costs a copy of it per call, which LCF and C2C pay once per
// handoff; the forward never reads it. Without rows, Refresh fills only counts and token
// indices (what cache::CheckOverwrite reads).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "absl/status/status.h"
#include "engine/cache/cache_stats.h"
#include "engine/cache/kv_cache.h"

namespace cachewire::model {

class DeviceCache;

class DeviceSnapshot final : public cache::KvCache {
 public:
  // Replaces the contents with `cache`'s committed entries (no step may be open); `stats` is
  // what Stats() answers (the session's, with its pool reservation).
  absl::Status Refresh(const DeviceCache& cache, const cache::CacheStats& stats, bool rows);

  const cache::KvCacheShape& shape() const override { return shape_; }
  int64_t n_past() const override { return n_past_; }
  cache::KvHeadView View(int64_t il, int64_t kv_head) const override;
  size_t bytes() const override { return stats_.bytes; }
  int32_t NextPosition(int64_t il) const override { return next_pos_[static_cast<size_t>(il)]; }
  int64_t Room() const override { return room_; }
  int64_t MaxStepTokens() const override { return max_step_; }
  cache::CacheStats Stats() const override { return stats_; }

  absl::Status BeginStep(int64_t) override { return ReadOnly("BeginStep"); }
  absl::Status Append(int64_t, std::span<const int32_t>, const float*, const float*) override {
    return ReadOnly("Append");
  }
  absl::Status Commit() override { return ReadOnly("Commit"); }
  void Rollback() override {}  // never has a step open
  void Clear() override {}     // nothing to forget: the session's Clear edits the device cache
  absl::Status Pin(int64_t, std::span<const cache::PinnedKv>) override { return ReadOnly("Pin"); }
  absl::Status Overwrite(std::span<const cache::EntryOverwrite>) override {
    return ReadOnly("Overwrite");
  }

 private:
  struct Head {
    std::vector<float> k;  // (n, head_dim_k)
    std::vector<float> v;  // (n, head_dim_v)
    std::vector<int32_t> pos;
    std::vector<int64_t> token;
  };
  static absl::Status ReadOnly(const char* what);

  cache::KvCacheShape shape_;
  int64_t n_past_ = 0;
  int64_t room_ = 0;
  int64_t max_step_ = 0;
  std::vector<int32_t> next_pos_;  // (n_layer)
  std::vector<Head> heads_;        // (n_layer * n_head_kv)
  cache::CacheStats stats_;
};

}  // namespace cachewire::model
