// The token table of a tokenizer: pieces, scores, types, merges and special ids, loaded from the
// tokenizer.ggml.* keys of a GGUF (the keys llama.cpp defines) or built in memory for tests.
// Everything is validated once here (array lengths agree, ids in range, known model kind) so the
// tokenizers can index without checks.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"

namespace cachewire::gguf {
class File;
}

namespace cachewire::tokenizer {

// tokenizer.ggml.token_type values (llama.cpp's llama_token_type).
enum class TokenType : uint8_t {
  kUndefined = 0, kNormal = 1, kUnknown = 2, kControl = 3, kUserDefined = 4, kUnused = 5,
  kByte = 6,
};

// tokenizer.ggml.model: "llama" (SentencePiece-style) or "gpt2" (byte-level BPE).
enum class VocabKind { kSpm, kBpe };

// Everything a vocabulary holds; the in-memory way to build one (tests, tools).
struct VocabParams {
  std::string source = "<memory>";   // names the origin in errors (the GGUF path)
  VocabKind kind = VocabKind::kBpe;
  std::string pre = "default";       // tokenizer.ggml.pre (BPE pre-tokenizer name)
  std::vector<std::string> tokens;
  std::vector<float> scores;         // empty: all 0
  std::vector<TokenType> types;      // empty: all kNormal
  std::vector<std::string> merges;   // "left right", rank = index (BPE only)
  int32_t bos = -1, eos = -1, eot = -1, unk = -1, pad = -1;  // -1: none
  bool add_bos = false;
  bool add_eos = false;
  bool add_space_prefix = false;     // SPM: prepend "▁" to each text fragment
  std::string chat_template;
};

class Vocab {
 public:
  // Reads the tokenizer.ggml.* keys; errors name the file and the key.
  static absl::StatusOr<std::unique_ptr<Vocab>> FromGguf(const gguf::File& file);
  // Validates `params` and builds the lookup index.
  static absl::StatusOr<std::unique_ptr<Vocab>> Create(VocabParams params);

  const std::string& source() const { return p_.source; }
  VocabKind kind() const { return p_.kind; }
  const std::string& pre() const { return p_.pre; }
  int32_t n_tokens() const { return static_cast<int32_t>(p_.tokens.size()); }
  bool valid_id(int64_t id) const { return id >= 0 && id < n_tokens(); }
  // Unchecked accessors: callers pass ids in [0, n_tokens()).
  std::string_view token(int32_t id) const { return p_.tokens[id]; }
  float score(int32_t id) const { return p_.scores[id]; }
  TokenType type(int32_t id) const { return p_.types[id]; }
  // Split by the special-token pass before the model runs (llama.cpp: CONTROL, USER_DEFINED,
  // UNKNOWN; USER_DEFINED always, the others only when parsing special tokens).
  bool is_special(int32_t id) const {
    TokenType t = p_.types[id];
    return t == TokenType::kControl || t == TokenType::kUserDefined || t == TokenType::kUnknown;
  }

  // The id whose piece is exactly `text`, or -1. With duplicate pieces the lowest id wins.
  int32_t Find(std::string_view text) const {
    auto it = index_.find(text);
    return it == index_.end() ? -1 : it->second;
  }

  // Merges as (left, right) views into the merge strings; rank = index.
  const std::vector<std::pair<std::string_view, std::string_view>>& merges() const {
    return merge_pairs_;
  }

  int32_t bos() const { return p_.bos; }
  int32_t eos() const { return p_.eos; }
  int32_t eot() const { return p_.eot; }
  int32_t unk() const { return p_.unk; }
  int32_t pad() const { return p_.pad; }
  bool add_bos() const { return p_.add_bos; }
  bool add_eos() const { return p_.add_eos; }
  bool add_space_prefix() const { return p_.add_space_prefix; }
  const std::string& chat_template() const { return p_.chat_template; }

 private:
  explicit Vocab(VocabParams params) : p_(std::move(params)) {}
  absl::Status Build();

  VocabParams p_;
  absl::flat_hash_map<std::string_view, int32_t> index_;  // keys view into p_.tokens
  std::vector<std::pair<std::string_view, std::string_view>> merge_pairs_;  // into p_.merges
};

}  // namespace cachewire::tokenizer
