// One session as the scheduler sees it: the model's Session (its KV cache), every token of the
// session in order (its transcript: appended context and generated tokens), how many of those
// the cache has seen, and the logits after the last token the cache saw.
//
//   tokens   (n_tokens)   ids in order; tokens[0, n_fed) are in the cache, the rest are unfed
//   logits   (n_vocab)    after tokens[n_fed - 1]; valid while has_logits()
//
// Tokens can be unfed because a generation keeps its last sampled token out of the cache (the
// loop ends before running it) and because a cancelled append stops between chunks; the next
// job feeds them first. Only the engine thread mutates a Sequence and reads the model Session;
// other threads read the transcript and a snapshot of the cache figures, both under a mutex the
// engine thread holds only to copy them.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <vector>

#include "engine/model/model.h"

namespace cachewire::scheduler {

// Cache figures of a sequence, copied after every forward pass.
struct SequenceSnapshot {
  int64_t n_tokens = 0;  // transcript length
  int64_t n_past = 0;    // tokens the cache has seen
  int64_t n_ctx = 0;     // cache capacity
  int64_t cache_bytes = 0;
  int64_t entries = 0;                     // summed over every (layer, kv-head)
  std::vector<int64_t> entries_per_layer;  // (n_layer) summed over the layer's kv-heads
  int64_t evictions = 0;
  int64_t pinned = 0;
};

class Sequence {
 public:
  explicit Sequence(std::unique_ptr<model::Session> session);

  // ---- engine thread only ------------------------------------------------------------------
  model::Session& session() { return *session_; }
  std::span<const int32_t> tokens() const { return tokens_; }
  int64_t n_fed() const { return n_fed_; }
  std::span<const int32_t> unfed() const {
    return std::span<const int32_t>(tokens_).subspan(static_cast<size_t>(n_fed_));
  }
  void AddTokens(std::span<const int32_t> ids);
  // Appended input (text or rendered chat turns, one tokenizer call): its tokens, and where
  // they start, since a SentencePiece encoder puts a space in front of each call's text.
  void AddInput(std::span<const int32_t> ids);
  // Token index at which each AddInput began, ascending.
  std::span<const int64_t> input_starts() const { return input_starts_; }
  // The cache took the next n unfed tokens; `logits` now follow the last of them.
  void MarkFed(int64_t n);
  std::vector<float>* logits() { return &logits_; }
  bool has_logits() const { return has_logits_; }
  void InvalidateLogits() { has_logits_ = false; }
  // Copies the session's figures into the snapshot other threads read.
  void UpdateSnapshot();

  // ---- any thread --------------------------------------------------------------------------
  std::vector<int32_t> CopyTokens() const;
  SequenceSnapshot Snapshot() const;
  // Closing makes the sequence's queued and running jobs end (Aborted) at their next step.
  void Close() { closed_.store(true); }
  bool closed() const { return closed_.load(); }

 private:
  std::unique_ptr<model::Session> session_;
  std::vector<int32_t> tokens_;  // (n_tokens) guarded by mu_ for writes and foreign reads
  int64_t n_fed_ = 0;
  std::vector<int64_t> input_starts_;
  std::vector<float> logits_;    // (n_vocab)
  bool has_logits_ = false;
  std::atomic<bool> closed_{false};
  mutable std::mutex mu_;
  SequenceSnapshot snapshot_;    // guarded by mu_
};

}  // namespace cachewire::scheduler
