// SentencePiece-style BPE (tokenizer.ggml.model "llama"), as llama.cpp runs it: the text is cut
// into UTF-8 characters, and the adjacent pair whose concatenation is a token with the highest
// score merges first (leftmost on ties) until no pair is a token. Characters left that are not
// tokens fall back to their <0xXX> byte tokens, or to unk when the vocabulary has none.
//
// Speed: a merge can only cross the boundary between two characters if some token holds that
// pair of characters side by side. The text is cut at every other boundary and each chunk
// merges on its own (same result: chunks cannot interact), which keeps the heap small on long
// fragments (SentencePiece fragments are whole texts between special tokens).
#pragma once

#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "engine/tokenizer/vocab.h"

namespace cachewire::tokenizer {

class SpmTokenizer {
 public:
  // Reusable buffers of one Encode call.
  struct Scratch {
    struct Symbol {
      int32_t start, len, prev, next;
    };
    std::vector<Symbol> symbols;
    struct Bigram {
      float score;
      int32_t left, right, len;
    };
    std::vector<Bigram> heap;
    bool last_unk = false;  // the last id emitted in this fragment was a fallback unk
  };

  // `vocab` must outlive the tokenizer.
  static absl::StatusOr<std::unique_ptr<SpmTokenizer>> Create(const Vocab& vocab);

  // Appends the ids of `text`, already escaped (spaces as U+2581, prefix added). Thread-safe.
  void Encode(std::string_view text, Scratch* scratch, std::vector<int32_t>* out) const;

 private:
  explicit SpmTokenizer(const Vocab& vocab) : vocab_(vocab) {}
  // The id a merge may produce for `piece`, or -1 (control, byte, unused and unknown tokens
  // are never the result of a merge).
  int32_t MergeTarget(std::string_view piece) const;
  // Merges text[begin, end) (whole characters) and appends its ids.
  void EncodeChunk(std::string_view text, size_t begin, size_t end, Scratch* s,
                   std::vector<int32_t>* out) const;
  // Key of two adjacent characters; invalid bytes map above U+10FFFF.
  static uint64_t PairKey(uint32_t a, uint32_t b) { return (uint64_t{a} << 32) | b; }
  static uint32_t CharKey(std::string_view text, size_t pos, size_t* len);

  const Vocab& vocab_;
  int32_t byte_token_[256];  // <0xXX> ids, -1 when absent
  absl::flat_hash_set<uint64_t> joinable_;  // character pairs adjacent inside some token
};

}  // namespace cachewire::tokenizer
