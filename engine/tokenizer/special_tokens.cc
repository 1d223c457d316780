// Special-token splitting over a byte trie (see special_tokens.h).
#include "engine/tokenizer/special_tokens.h"

namespace cachewire::tokenizer {

SpecialTokenSplitter::SpecialTokenSplitter(const Vocab& vocab) {
  nodes_.emplace_back();
  for (int& c : root_child_) c = -1;
  for (int32_t id = 0; id < vocab.n_tokens(); ++id) {
    if (!vocab.is_special(id)) continue;
    std::string_view text = vocab.token(id);
    if (text.empty()) continue;
    int32_t node = 0;
    for (size_t i = 0; i < text.size(); ++i) {
      const auto b = static_cast<unsigned char>(text[i]);
      int32_t* child = nullptr;
      if (node == 0) {
        child = &root_child_[b];
      } else {
        child = &edges_.try_emplace(EdgeKey(node, b), -1).first->second;
      }
      if (*child < 0) {
        *child = static_cast<int32_t>(nodes_.size());
        nodes_.emplace_back();
      }
      node = *child;
    }
    if (nodes_[node].token < 0) {  // duplicates: the lowest id wins
      nodes_[node].token = id;
      nodes_[node].always = vocab.type(id) == TokenType::kUserDefined;
    }
  }
}

size_t SpecialTokenSplitter::LongestAt(std::string_view text, size_t pos, bool parse_special,
                                       int32_t* id) const {
  int32_t node = root_child_[static_cast<unsigned char>(text[pos])];
  size_t best = 0;
  for (size_t i = pos + 1; node >= 0; ++i) {
    const Node& n = nodes_[node];
    if (n.token >= 0 && (parse_special || n.always)) {
      best = i - pos;
      *id = n.token;
    }
    if (i >= text.size()) break;
    auto it = edges_.find(EdgeKey(node, static_cast<unsigned char>(text[i])));
    node = it == edges_.end() ? -1 : it->second;
  }
  return best;
}

void SpecialTokenSplitter::Split(std::string_view text, bool parse_special,
                                 std::vector<Fragment>* out) const {
  out->clear();
  size_t raw_start = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    if (root_child_[static_cast<unsigned char>(text[pos])] < 0) {
      ++pos;
      continue;
    }
    int32_t id = -1;
    const size_t len = LongestAt(text, pos, parse_special, &id);
    if (len == 0) {
      ++pos;
      continue;
    }
    if (pos > raw_start) out->push_back({text.substr(raw_start, pos - raw_start), -1});
    out->push_back({text.substr(pos, len), id});
    pos += len;
    raw_start = pos;
  }
  if (raw_start < text.size()) out->push_back({text.substr(raw_start), -1});
}

}  // namespace cachewire::tokenizer
