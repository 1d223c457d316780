// Byte-level BPE (tokenizer.ggml.model "gpt2"): one pre-token's bytes are spelled in GPT-2's
// byte alphabet, then adjacent symbols merge lowest merge rank first, leftmost on ties: the
// algorithm of Hugging Face's BPE model. With ignore_merges (Llama 3), a pre-token whose
// spelling is itself a token is emitted whole without merging.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "engine/tokenizer/vocab.h"

namespace cachewire::tokenizer {

struct BpeOptions {
  bool ignore_merges = false;
  size_t cache_bytes = 8u << 20;  // word cache budget (keys + ids); 0 disables it
};

class BpeTokenizer {
 public:
  // Reusable buffers of one Encode call (no allocation per word once warm).
  struct Scratch {
    std::string spelled;  // the word in the byte alphabet (ignore_merges lookup)
    std::vector<int32_t> id, prev, next;
    struct Item {
      int32_t rank, left, right, left_id, right_id;
    };
    std::vector<Item> heap;
  };

  // `vocab` must outlive the tokenizer. Merges naming pieces absent from the vocabulary are
  // skipped (Hugging Face refuses such files; llama.cpp ignores them).
  static absl::StatusOr<std::unique_ptr<BpeTokenizer>> Create(const Vocab& vocab,
                                                              BpeOptions options);

  // Appends the ids of one pre-token (raw bytes, any content). Thread-safe.
  void EncodeWord(std::string_view word, Scratch* scratch, std::vector<int32_t>* out) const;

 private:
  struct MergeRule {
    int32_t rank;
    int32_t id;
  };
  BpeTokenizer(const Vocab& vocab, BpeOptions options) : vocab_(vocab), options_(options) {}
  static uint64_t PairKey(int32_t a, int32_t b) {
    return (static_cast<uint64_t>(static_cast<uint32_t>(a)) << 32) | static_cast<uint32_t>(b);
  }
  void Merge(std::string_view word, Scratch* s, std::vector<int32_t>* out) const;
  bool CacheLookup(std::string_view word, std::vector<int32_t>* out) const;
  void CacheInsert(std::string_view word, const int32_t* ids, size_t n) const;

  const Vocab& vocab_;
  BpeOptions options_;
  int32_t byte_token_[256];                        // byte -> id of its byte-alphabet piece, or -1
  absl::flat_hash_map<uint64_t, MergeRule> merges_;     // (left id, right id) -> rank, result

  // Word cache: keys live in key_arena_ (reserved once, never reallocated, so the views stay
  // valid); ids in id_arena_. Cleared as a whole when the budget is spent.
  struct CacheEntry {
    uint32_t offset, count;
  };
  mutable absl::Mutex mu_;
  mutable std::vector<char> key_arena_ ABSL_GUARDED_BY(mu_);
  mutable std::vector<int32_t> id_arena_ ABSL_GUARDED_BY(mu_);
  mutable absl::flat_hash_map<std::string_view, CacheEntry> cache_ ABSL_GUARDED_BY(mu_);
};

}  // namespace cachewire::tokenizer
