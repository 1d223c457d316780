// Sequence (see sequence.h).
#include "engine/scheduler/sequence.h"

#include <utility>

namespace cachewire::scheduler {

Sequence::Sequence(std::unique_ptr<model::Session> session) : session_(std::move(session)) {
  UpdateSnapshot();
}

void Sequence::AddTokens(std::span<const int32_t> ids) {
  std::lock_guard<std::mutex> lock(mu_);
  tokens_.insert(tokens_.end(), ids.begin(), ids.end());
  snapshot_.n_tokens = static_cast<int64_t>(tokens_.size());
}

void Sequence::AddInput(std::span<const int32_t> ids) {
  if (ids.empty()) return;
  input_starts_.push_back(static_cast<int64_t>(tokens_.size()));
  AddTokens(ids);
}

void Sequence::MarkFed(int64_t n) {
  n_fed_ += n;
  has_logits_ = true;
}

void Sequence::UpdateSnapshot() {
  SequenceSnapshot s;
  s.n_past = session_->n_past();
  s.n_ctx = session_->n_ctx();
  s.cache_bytes = static_cast<int64_t>(session_->cache_bytes());
  cache::CacheStats stats = session_->cache_stats();
  s.entries = stats.entries;
  s.entries_per_layer = std::move(stats.entries_per_layer);
  s.evictions = stats.n_evicted;
  s.pinned = stats.pinned_entries;
  std::lock_guard<std::mutex> lock(mu_);
  s.n_tokens = static_cast<int64_t>(tokens_.size());
  snapshot_ = s;
}

std::vector<int32_t> Sequence::CopyTokens() const {
  std::lock_guard<std::mutex> lock(mu_);
  return tokens_;
}

SequenceSnapshot Sequence::Snapshot() const {
  std::lock_guard<std::mutex> lock(mu_);
  return snapshot_;
}

}  // namespace cachewire::scheduler
