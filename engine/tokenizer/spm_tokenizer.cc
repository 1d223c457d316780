// SentencePiece-style merge loop with byte fallback (see spm_tokenizer.h).
#include "engine/tokenizer/spm_tokenizer.h"

#include <algorithm>
#include <cstdio>

#include "engine/tokenizer/unicode.h"

namespace cachewire::tokenizer {

absl::StatusOr<std::unique_ptr<SpmTokenizer>> SpmTokenizer::Create(const Vocab& vocab) {
  std::unique_ptr<SpmTokenizer> t(new SpmTokenizer(vocab));
  char name[8];
  for (int b = 0; b < 256; ++b) {
    std::snprintf(name, sizeof(name), "<0x%02X>", b);
    t->byte_token_[b] = vocab.Find(name);
  }
  for (int32_t id = 0; id < vocab.n_tokens(); ++id) {
    std::string_view tok = vocab.token(id);
    if (t->MergeTarget(tok) != id) continue;
    size_t len = 0;
    uint32_t prev = CharKey(tok, 0, &len);
    for (size_t pos = len; pos < tok.size(); pos += len) {
      const uint32_t cur = CharKey(tok, pos, &len);
      t->joinable_.insert(PairKey(prev, cur));
      prev = cur;
    }
  }
  return t;
}

uint32_t SpmTokenizer::CharKey(std::string_view text, size_t pos, size_t* len) {
  const uint32_t cp = DecodeUtf8(text, pos, len);
  return cp != kInvalidCodepoint ? cp : 0x110000u + static_cast<unsigned char>(text[pos]);
}

int32_t SpmTokenizer::MergeTarget(std::string_view piece) const {
  int32_t id = vocab_.Find(piece);
  if (id < 0) return -1;
  switch (vocab_.type(id)) {
    case TokenType::kNormal:
    case TokenType::kUserDefined:
    case TokenType::kUndefined:
      return id;
    default:
      return -1;
  }
}

void SpmTokenizer::Encode(std::string_view text, Scratch* s, std::vector<int32_t>* out) const {
  if (text.empty()) return;
  s->last_unk = false;
  size_t len = 0;
  size_t chunk = 0;
  uint32_t prev = CharKey(text, 0, &len);
  for (size_t pos = len; pos < text.size(); pos += len) {
    const uint32_t cur = CharKey(text, pos, &len);
    if (!joinable_.contains(PairKey(prev, cur))) {
      EncodeChunk(text, chunk, pos, s, out);
      chunk = pos;
    }
    prev = cur;
  }
  EncodeChunk(text, chunk, text.size(), s, out);
}

void SpmTokenizer::EncodeChunk(std::string_view text, size_t begin, size_t end, Scratch* s,
                               std::vector<int32_t>* out) const {
  auto& sym = s->symbols;
  sym.clear();
  for (size_t pos = begin; pos < end;) {
    const size_t len = Utf8SeqLen(text, pos);  // an invalid byte is a symbol of its own
    const int32_t i = static_cast<int32_t>(sym.size());
    sym.push_back({static_cast<int32_t>(pos), static_cast<int32_t>(len), i - 1, i + 1});
    pos += len;
  }
  sym.back().next = -1;

  // Max-heap on (score, -left): highest score first, leftmost among equals.
  auto before = [](const Scratch::Bigram& a, const Scratch::Bigram& b) {
    return a.score != b.score ? a.score < b.score : a.left > b.left;
  };
  auto& heap = s->heap;
  heap.clear();
  auto try_pair = [&](int32_t left, int32_t right) {
    if (left < 0 || right < 0) return;
    const int32_t len = sym[left].len + sym[right].len;
    const int32_t id = MergeTarget(text.substr(sym[left].start, len));
    if (id < 0) return;
    heap.push_back({vocab_.score(id), left, right, len});
    std::push_heap(heap.begin(), heap.end(), before);
  };
  for (int32_t i = 1; i < static_cast<int32_t>(sym.size()); ++i) try_pair(i - 1, i);

  while (!heap.empty()) {
    std::pop_heap(heap.begin(), heap.end(), before);
    const Scratch::Bigram top = heap.back();
    heap.pop_back();
    auto& l = sym[top.left];
    auto& r = sym[top.right];
    // Stale when either side changed since the pair was queued.
    if (l.len == 0 || r.len == 0 || l.next != top.right || l.len + r.len != top.len) continue;
    l.len += r.len;
    l.next = r.next;
    if (r.next >= 0) sym[r.next].prev = top.left;
    r.len = 0;
    try_pair(l.prev, top.left);
    try_pair(top.left, l.next);
  }

  bool& last_unk = s->last_unk;
  for (int32_t i = 0; i >= 0; i = sym[i].next) {
    std::string_view piece = text.substr(sym[i].start, sym[i].len);
    const int32_t id = vocab_.Find(piece);
    if (id >= 0) {
      out->push_back(id);
      last_unk = false;
      continue;
    }
    bool all_bytes = true;
    for (char c : piece) all_bytes &= byte_token_[static_cast<unsigned char>(c)] >= 0;
    if (all_bytes) {
      for (char c : piece) out->push_back(byte_token_[static_cast<unsigned char>(c)]);
      last_unk = false;
    } else if (vocab_.unk() >= 0 && !last_unk) {  // consecutive unknowns fuse, as in HF
      out->push_back(vocab_.unk());
      last_unk = true;
    }
  }
}

}  // namespace cachewire::tokenizer
