// Splitting and checking C2C cache chunks (see cache_chunks.h).
#include "server/worker/cache_chunks.h"

#include <algorithm>
#include <span>
#include <string_view>

#include "engine/gguf/str_cat.h"
#include "server/worker/f16_wire.h"

namespace cachewire::server::worker {
namespace {

using cachewire::v1::CacheChunk;
using gguf::Cat;

absl::Status Invalid(const CacheChunk& c, std::string_view field, std::string_view what) {
  return absl::InvalidArgumentError(Cat("chunk ", c.seq(), ": ", field, ": ", what));
}

// Rows [first, first + count) of `rows` (n x dim) appended to `out` as f16; Internal naming the
// entry and value that does not fit.
absl::Status AppendRows(std::span<const float> rows, int64_t dim, int64_t first, int64_t count,
                        std::string_view what, std::string* out) {
  const int64_t bad = AppendF16(
      rows.subspan(static_cast<size_t>(first * dim), static_cast<size_t>(count * dim)), out);
  if (bad < 0) return absl::OkStatus();
  const int64_t at = first * dim + bad;
  return absl::InternalError(Cat(what, ": entry ", at / dim, " value ", at % dim, " (",
                                 rows[static_cast<size_t>(at)], ") does not fit f16"));
}

// Decodes `bytes` onto the end of `out` (rows of `dim`); "entry E value J is X" for the first
// value that is not finite, relative to the chunk's entries, else empty.
std::string DecodeRows(std::string_view bytes, int64_t dim, std::vector<float>* out) {
  const size_t at = out->size();
  out->resize(at + bytes.size() / 2);
  const int64_t bad = DecodeF16(bytes, out->data() + at);
  if (bad < 0) return {};
  return Cat("entry ", bad / dim, " value ", bad % dim, " is ",
             (*out)[at + static_cast<size_t>(bad)], " (NaN and infinities are refused)");
}

}  // namespace

CacheShape CacheShapeOf(const adapter::C2cFuser& fuser) {
  CacheShape shape;
  shape.adapter = fuser.name();
  shape.layers = fuser.layer_map();
  std::sort(shape.layers.begin(), shape.layers.end());
  shape.layers.erase(std::unique(shape.layers.begin(), shape.layers.end()), shape.layers.end());
  shape.n_head_kv = fuser.sharer().n_head_kv;
  shape.head_dim_k = fuser.sharer().head_dim_k;
  shape.head_dim_v = fuser.sharer().head_dim_v;
  return shape;
}

absl::StatusOr<std::vector<CacheChunk>> SplitCache(const CacheShape& shape,
                                                   const adapter::SharerCache& cache,
                                                   int32_t entries_per_chunk) {
  if (entries_per_chunk < 1) {
    return absl::InvalidArgumentError(Cat("entries_per_chunk: must be >= 1, got ",
                                          entries_per_chunk));
  }
  std::vector<CacheChunk> chunks(1);
  CacheChunk& header = chunks[0];
  header.set_adapter(shape.adapter);
  header.set_text_bytes(cache.text_bytes);
  header.set_text_digest(cache.text_digest);
  for (const adapter::TokenSpan& span : cache.spans) {
    header.add_span_begin(span.begin);
    header.add_span_end(span.end);
  }
  for (const adapter::SharerHead& head : cache.heads) {
    const std::string where =
        Cat("adapter '", shape.adapter, "': layer ", head.layer, " kv-head ", head.kv_head);
    const int64_t n = static_cast<int64_t>(head.tokens.size());
    if (static_cast<int64_t>(head.k.size()) != n * shape.head_dim_k ||
        static_cast<int64_t>(head.v.size()) != n * shape.head_dim_v) {
      return absl::InternalError(Cat(where, ": keys/values are not ", n, " rows of ",
                                     shape.head_dim_k, "/", shape.head_dim_v, " values"));
    }
    for (int64_t first = 0; first < n; first += entries_per_chunk) {
      const int64_t count = std::min<int64_t>(entries_per_chunk, n - first);
      CacheChunk& c = chunks.emplace_back();
      c.set_seq(static_cast<int64_t>(chunks.size()) - 1);
      c.set_adapter(shape.adapter);
      c.set_layer(head.layer);
      c.set_kv_head(head.kv_head);
      c.set_head_dim_k(shape.head_dim_k);
      c.set_head_dim_v(shape.head_dim_v);
      c.mutable_tokens()->Add(head.tokens.begin() + first, head.tokens.begin() + first + count);
      absl::Status st = AppendRows(head.k, shape.head_dim_k, first, count, Cat(where, " keys"),
                                   c.mutable_keys());
      if (st.ok()) {
        st = AppendRows(head.v, shape.head_dim_v, first, count, Cat(where, " values"),
                        c.mutable_values());
      }
      if (!st.ok()) return st;
    }
  }
  chunks.back().set_last(true);
  return chunks;
}

CacheAssembler::CacheAssembler(CacheShape shape, std::string session_id)
    : shape_(std::move(shape)), layers_(shape_.layers.begin(), shape_.layers.end()),
      session_id_(std::move(session_id)) {}

absl::Status CacheAssembler::Add(const CacheChunk& c) {
  if (complete_) return Invalid(c, "seq", "a chunk after the last one");
  if (c.seq() != next_seq_) {
    return Invalid(c, "seq", Cat("expected ", next_seq_, ", got ", c.seq(),
                                 " (chunks are numbered from 0 without gaps)"));
  }
  if (!c.session_id().empty() && c.session_id() != session_id_) {
    return Invalid(c, "session_id", "differs from the first chunk's");
  }
  if (c.adapter() != shape_.adapter) {
    return Invalid(c, "adapter", Cat("'", c.adapter(), "' differs from the stream's '",
                                     shape_.adapter, "'"));
  }
  const absl::Status st = c.seq() == 0 ? AddHeader(c) : AddEntries(c);
  if (!st.ok()) return st;
  ++next_seq_;
  bytes_ += static_cast<int64_t>(c.ByteSizeLong());
  complete_ = c.last();
  return absl::OkStatus();
}

absl::Status CacheAssembler::AddHeader(const CacheChunk& c) {
  const std::pair<const char*, bool> entry_fields[] = {
      {"layer", c.layer() != 0},           {"kv_head", c.kv_head() != 0},
      {"tokens", c.tokens_size() != 0},    {"keys", !c.keys().empty()},
      {"values", !c.values().empty()},     {"head_dim_k", c.head_dim_k() != 0},
      {"head_dim_v", c.head_dim_v() != 0},
  };
  for (const auto& [field, set] : entry_fields) {
    if (set) return Invalid(c, field, "set in the header (entries come in later chunks)");
  }
  if (c.text_bytes() < 0) return Invalid(c, "text_bytes", Cat("negative: ", c.text_bytes()));
  if (c.span_begin_size() != c.span_end_size()) {
    return Invalid(c, "span_end", Cat(c.span_end_size(), " ends for ", c.span_begin_size(),
                                      " begins (one of each per token)"));
  }
  if (c.span_begin_size() == 0) return Invalid(c, "span_begin", "no token (at least one)");
  int64_t text_end = 0;  // where the previous token with text ended
  for (int i = 0; i < c.span_begin_size(); ++i) {
    const int64_t begin = c.span_begin(i);
    const int64_t end = c.span_end(i);
    if (begin < 0 || begin > c.text_bytes()) {
      return Invalid(c, "span_begin", Cat("token ", i, ": ", begin, " not in [0, text_bytes = ",
                                          c.text_bytes(), "]"));
    }
    if (end < begin || end > c.text_bytes()) {
      return Invalid(c, "span_end", Cat("token ", i, ": ", end, " not in [span_begin = ", begin,
                                        ", text_bytes = ", c.text_bytes(), "]"));
    }
    if (begin == end) continue;  // stands for no text
    if (begin < text_end) {
      return Invalid(c, "span_begin", Cat("token ", i, ": [", begin, ", ", end, ") overlaps or "
                                          "precedes the text of an earlier token (up to ",
                                          text_end, ")"));
    }
    text_end = end;
  }
  cache_.text_bytes = c.text_bytes();
  cache_.text_digest = c.text_digest();
  cache_.spans.resize(static_cast<size_t>(c.span_begin_size()));
  for (int i = 0; i < c.span_begin_size(); ++i) {
    cache_.spans[static_cast<size_t>(i)] = {c.span_begin(i), c.span_end(i)};
  }
  return absl::OkStatus();
}

absl::Status CacheAssembler::AddEntries(const CacheChunk& c) {
  const std::pair<const char*, bool> header_fields[] = {
      {"text_bytes", c.text_bytes() != 0},
      {"text_digest", c.text_digest() != 0},
      {"span_begin", c.span_begin_size() != 0},
      {"span_end", c.span_end_size() != 0},
  };
  for (const auto& [field, set] : header_fields) {
    if (set) return Invalid(c, field, "set outside the header (chunk 0)");
  }
  if (!layers_.count(c.layer())) {
    std::string read;
    for (int64_t il : shape_.layers) read += Cat(read.empty() ? "" : ", ", il);
    return Invalid(c, "layer", Cat(c.layer(), " is not a sharer layer the fuser reads (",
                                   read, ")"));
  }
  if (c.kv_head() < 0 || c.kv_head() >= shape_.n_head_kv) {
    return Invalid(c, "kv_head", Cat(c.kv_head(), " not in [0, ", shape_.n_head_kv, ")"));
  }
  if (c.head_dim_k() != shape_.head_dim_k) {
    return Invalid(c, "head_dim_k", Cat("the fuser's sharer has ", shape_.head_dim_k, ", got ",
                                        c.head_dim_k()));
  }
  if (c.head_dim_v() != shape_.head_dim_v) {
    return Invalid(c, "head_dim_v", Cat("the fuser's sharer has ", shape_.head_dim_v, ", got ",
                                        c.head_dim_v()));
  }
  const int64_t n = c.tokens_size();
  if (n == 0) return Invalid(c, "tokens", "no entry (a head without entries sends no chunk)");
  if (static_cast<int64_t>(c.keys().size()) != n * shape_.head_dim_k * 2) {
    return Invalid(c, "keys", Cat("must hold tokens x head_dim_k x 2 = ",
                                  n * shape_.head_dim_k * 2, " bytes of f16, got ",
                                  c.keys().size()));
  }
  if (static_cast<int64_t>(c.values().size()) != n * shape_.head_dim_v * 2) {
    return Invalid(c, "values", Cat("must hold tokens x head_dim_v x 2 = ",
                                    n * shape_.head_dim_v * 2, " bytes of f16, got ",
                                    c.values().size()));
  }
  // The head's chunks merge into one SharerHead; the assembler is spent on any error below, so
  // a head left half-filled is never read.
  const auto [it, added] = head_index_.try_emplace({c.layer(), c.kv_head()}, cache_.heads.size());
  if (added) {
    cache_.heads.push_back({c.layer(), c.kv_head(), {}, {}, {}});
    seen_.emplace_back(cache_.spans.size(), false);
  }
  adapter::SharerHead& head = cache_.heads[it->second];
  std::vector<bool>& seen = seen_[it->second];
  const int64_t n_spans = static_cast<int64_t>(cache_.spans.size());
  for (int64_t e = 0; e < n; ++e) {
    const int64_t t = c.tokens(static_cast<int>(e));
    if (t < 0 || t >= n_spans) {
      return Invalid(c, "tokens", Cat("entry ", e, ": token ", t, " not in [0, ", n_spans,
                                      ") (the header's spans)"));
    }
    if (seen[static_cast<size_t>(t)]) {
      return Invalid(c, "tokens", Cat("entry ", e, ": token ", t, " sent twice for layer ",
                                      c.layer(), " kv-head ", c.kv_head()));
    }
    seen[static_cast<size_t>(t)] = true;
    head.tokens.push_back(t);
  }
  if (std::string bad = DecodeRows(c.keys(), shape_.head_dim_k, &head.k); !bad.empty()) {
    return Invalid(c, "keys", bad);
  }
  if (std::string bad = DecodeRows(c.values(), shape_.head_dim_v, &head.v); !bad.empty()) {
    return Invalid(c, "values", bad);
  }
  return absl::OkStatus();
}

}  // namespace cachewire::server::worker
