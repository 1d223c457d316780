// Splits text on the strings of special tokens before the model runs, as llama.cpp and
// Hugging Face do: USER_DEFINED tokens always, CONTROL and UNKNOWN tokens only when special
// tokens are parsed. Matching is leftmost-longest (Hugging Face's added-token matcher) over a
// byte trie, so a long text costs one root-table probe per byte that starts no token.
#pragma once

#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "engine/tokenizer/vocab.h"

namespace cachewire::tokenizer {

// A piece of the input: either raw text (token == -1) or one special token.
struct Fragment {
  std::string_view text;  // the raw text, or the matched token string
  int32_t token = -1;
};

class SpecialTokenSplitter {
 public:
  explicit SpecialTokenSplitter(const Vocab& vocab);

  // Replaces *out with the fragments of `text`; raw fragments are never empty.
  void Split(std::string_view text, bool parse_special, std::vector<Fragment>* out) const;

 private:
  struct Node {
    int32_t token = -1;       // id of the token ending here, or -1
    bool always = false;      // USER_DEFINED: matched even without parse_special
  };
  static uint64_t EdgeKey(int32_t node, unsigned char byte) {
    return (static_cast<uint64_t>(node) << 8) | byte;
  }
  // Length of the longest allowed token starting at text[pos] (0 if none); its id in *id.
  size_t LongestAt(std::string_view text, size_t pos, bool parse_special, int32_t* id) const;

  std::vector<Node> nodes_;                        // nodes_[0] is the root
  int32_t root_child_[256];                        // root's children, -1 when absent
  absl::flat_hash_map<uint64_t, int32_t> edges_;   // (node, byte) -> child, below the root
};

}  // namespace cachewire::tokenizer
