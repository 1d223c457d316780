// Byte-level BPE merge loop and word cache (see bpe_tokenizer.h).
#include "engine/tokenizer/bpe_tokenizer.h"

#include <algorithm>
#include <string>

#include "engine/tokenizer/unicode.h"

namespace cachewire::tokenizer {

namespace {

// Words longer than this are not cached (rare, and they would crowd out the common ones).
constexpr size_t kMaxCachedWord = 64;

}  // namespace

absl::StatusOr<std::unique_ptr<BpeTokenizer>> BpeTokenizer::Create(const Vocab& vocab,
                                                                   BpeOptions options) {
  std::unique_ptr<BpeTokenizer> t(new BpeTokenizer(vocab, options));
  const auto& bytes = ByteToUnicode();
  for (int b = 0; b < 256; ++b) t->byte_token_[b] = vocab.Find(bytes[b]);
  const auto& merges = vocab.merges();
  t->merges_.reserve(merges.size());
  std::string joined;
  for (size_t r = 0; r < merges.size(); ++r) {
    const auto& [left, right] = merges[r];
    int32_t a = vocab.Find(left);
    int32_t b = vocab.Find(right);
    joined.assign(left);
    joined.append(right);
    int32_t m = vocab.Find(joined);
    if (a < 0 || b < 0 || m < 0) continue;
    t->merges_.try_emplace(PairKey(a, b), BpeTokenizer::MergeRule{static_cast<int32_t>(r), m});
  }
  if (options.cache_bytes > 0) {
    absl::MutexLock lock(&t->mu_);
    t->key_arena_.reserve(options.cache_bytes / 2);
    t->id_arena_.reserve(options.cache_bytes / 2 / sizeof(int32_t));
  }
  return t;
}

void BpeTokenizer::EncodeWord(std::string_view word, Scratch* s,
                              std::vector<int32_t>* out) const {
  if (word.empty()) return;
  if (options_.ignore_merges) {
    s->spelled.clear();
    const auto& bytes = ByteToUnicode();
    for (char c : word) s->spelled += bytes[static_cast<unsigned char>(c)];
    int32_t id = vocab_.Find(s->spelled);
    if (id >= 0 && vocab_.type(id) != TokenType::kControl) {
      out->push_back(id);
      return;
    }
  }
  const bool cacheable = options_.cache_bytes > 0 && word.size() <= kMaxCachedWord;
  if (cacheable && CacheLookup(word, out)) return;
  const size_t before = out->size();
  Merge(word, s, out);
  if (cacheable) CacheInsert(word, out->data() + before, out->size() - before);
}

void BpeTokenizer::Merge(std::string_view word, Scratch* s, std::vector<int32_t>* out) const {
  // Symbols form a linked list over the word's bytes; a merge folds the right symbol into the
  // left one. Heap items carry the ids they were made for, so stale ones are recognised.
  const int32_t n = static_cast<int32_t>(word.size());
  s->id.resize(n);
  s->prev.resize(n);
  s->next.resize(n);
  for (int32_t i = 0; i < n; ++i) {
    s->id[i] = byte_token_[static_cast<unsigned char>(word[i])];
    s->prev[i] = i - 1;
    s->next[i] = i + 1 < n ? i + 1 : -1;
  }
  // Min-heap on (rank, left position): lowest rank first, leftmost among equals.
  auto later = [](const Scratch::Item& a, const Scratch::Item& b) {
    return a.rank != b.rank ? a.rank > b.rank : a.left > b.left;
  };
  auto& heap = s->heap;
  heap.clear();
  auto push_pair = [&](int32_t left, int32_t right) {
    if (left < 0 || right < 0) return;
    int32_t a = s->id[left];
    int32_t b = s->id[right];
    if (a < 0 || b < 0) return;
    auto it = merges_.find(PairKey(a, b));
    if (it == merges_.end()) return;
    heap.push_back({it->second.rank, left, right, a, b});
    std::push_heap(heap.begin(), heap.end(), later);
  };
  for (int32_t i = 0; i + 1 < n; ++i) push_pair(i, i + 1);
  while (!heap.empty()) {
    std::pop_heap(heap.begin(), heap.end(), later);
    const Scratch::Item top = heap.back();
    heap.pop_back();
    if (s->next[top.left] != top.right || s->id[top.left] != top.left_id ||
        s->id[top.right] != top.right_id) {
      continue;  // one side was merged since this pair was queued
    }
    s->id[top.left] = merges_.find(PairKey(top.left_id, top.right_id))->second.id;
    const int32_t after = s->next[top.right];
    s->next[top.left] = after;
    if (after >= 0) s->prev[after] = top.left;
    s->id[top.right] = -2;  // dead
    s->next[top.right] = -1;
    push_pair(s->prev[top.left], top.left);
    push_pair(top.left, after);
  }
  for (int32_t i = 0; i >= 0; i = s->next[i]) {
    int32_t id = s->id[i];
    if (id >= 0) {
      out->push_back(id);
    } else if (vocab_.unk() >= 0) {
      out->push_back(vocab_.unk());  // a byte missing from the vocabulary
    }
  }
}

bool BpeTokenizer::CacheLookup(std::string_view word, std::vector<int32_t>* out) const {
  absl::MutexLock lock(&mu_);
  auto it = cache_.find(word);
  if (it == cache_.end()) return false;
  out->insert(out->end(), id_arena_.begin() + it->second.offset,
              id_arena_.begin() + it->second.offset + it->second.count);
  return true;
}

void BpeTokenizer::CacheInsert(std::string_view word, const int32_t* ids, size_t n) const {
  absl::MutexLock lock(&mu_);
  if (key_arena_.size() + word.size() > key_arena_.capacity() ||
      id_arena_.size() + n > id_arena_.capacity()) {
    cache_.clear();  // budget spent: start over (keeps the views into key_arena_ honest)
    key_arena_.clear();
    id_arena_.clear();
    if (word.size() > key_arena_.capacity() || n > id_arena_.capacity()) return;
  }
  const char* key = key_arena_.data() + key_arena_.size();
  key_arena_.insert(key_arena_.end(), word.begin(), word.end());
  CacheEntry e{static_cast<uint32_t>(id_arena_.size()), static_cast<uint32_t>(n)};
  id_arena_.insert(id_arena_.end(), ids, ids + n);
  cache_.try_emplace(std::string_view(key, word.size()), e);
}

}  // namespace cachewire::tokenizer
