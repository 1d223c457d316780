// The open forward step of a KvCache (kv_cache.h): how many tokens it holds and which layers
// have appended theirs. Every cache implementation keeps its step here, so the protocol's checks
// (BeginStep once, each layer appended once with the step's row count, Commit after all layers)
// and their error messages are written once.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "absl/status/status.h"
#include "engine/gguf/str_cat.h"

namespace cachewire::cache {

class StepState {
 public:
  explicit StepState(int64_t n_layer) : appended_(static_cast<size_t>(n_layer), false) {}

  bool open() const { return n_tokens_ > 0; }
  int64_t n_tokens() const { return n_tokens_; }  // 0 when no step is open
  bool appended(int64_t il) const { return appended_[static_cast<size_t>(il)]; }

  absl::Status CheckCanBegin() const {
    if (open()) return absl::InvalidArgumentError("kv cache: a step is already open");
    return absl::OkStatus();
  }
  void Begin(int64_t n_tokens) {
    n_tokens_ = n_tokens;
    std::fill(appended_.begin(), appended_.end(), false);
  }
  // Layer il may append n_rows rows of k and v now.
  // The rows' positions must run from `first` (the layer's NextPosition) up by one.
  absl::Status CheckAppend(int64_t il, std::span<const int32_t> positions, int64_t first,
                           const float* k, const float* v) const {
    if (!open()) return absl::InvalidArgumentError("kv cache: Append without BeginStep");
    const int64_t n_layer = static_cast<int64_t>(appended_.size());
    const int64_t n_rows = static_cast<int64_t>(positions.size());
    if (il < 0 || il >= n_layer || appended(il) || n_rows != n_tokens_ || k == nullptr ||
        v == nullptr) {
      return absl::InvalidArgumentError(gguf::Cat("kv cache: bad Append to layer ", il, " of ",
                                                  n_rows, " rows (step of ", n_tokens_, ")"));
    }
    for (int64_t t = 0; t < n_rows; ++t) {
      if (positions[static_cast<size_t>(t)] != first + t) {
        return absl::InvalidArgumentError(
            gguf::Cat("kv cache: layer ", il, " row ", t, " at position ",
                      positions[static_cast<size_t>(t)], ", expected ", first + t));
      }
    }
    return absl::OkStatus();
  }
  void MarkAppended(int64_t il) { appended_[static_cast<size_t>(il)] = true; }
  // Every layer has appended: the step may be committed.
  absl::Status CheckCommit() const {
    if (!open()) return absl::InvalidArgumentError("kv cache: Commit without BeginStep");
    for (size_t il = 0; il < appended_.size(); ++il) {
      if (!appended_[il]) {
        return absl::InvalidArgumentError(
            gguf::Cat("kv cache: Commit before layer ", il, " was appended"));
      }
    }
    return absl::OkStatus();
  }
  void Close() { Begin(0); }

 private:
  std::vector<bool> appended_;  // (n_layer) appended in the open step
  int64_t n_tokens_ = 0;        // tokens of the open step, 0 when none
};

}  // namespace cachewire::cache
