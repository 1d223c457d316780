// What a C2C handoff moves in its wire form (cachewire.v1.CacheChunk): the exporter splits the
// sharer's cache (adapter::SharerCache) into a header chunk (the text's length and digest, each
// token's byte span) and entry chunks of one (layer, kv-head) each, keys and values as f16; the
// fusing worker checks every chunk against its fuser as it arrives and reassembles the cache.
// Any deviation is an InvalidArgument "chunk N: field: ...", so that a bad stream is refused
// before anything reaches the session.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "cachewire/v1/worker.pb.h"
#include "engine/adapter/c2c_fuser.h"
#include "engine/adapter/c2c_session.h"

namespace cachewire::server::worker {

// What a fuser reads of its sharer's cache.
struct CacheShape {
  std::string adapter;          // the fuser's name
  std::vector<int64_t> layers;  // sharer layers it reads, ascending, each once
  int64_t n_head_kv = 0;        // the sharer's
  int64_t head_dim_k = 0;
  int64_t head_dim_v = 0;
};

CacheShape CacheShapeOf(const adapter::C2cFuser& fuser);

// Default and largest ExportCacheRequest.entries_per_chunk.
inline constexpr int32_t kDefaultEntriesPerChunk = 256;
inline constexpr int32_t kMaxEntriesPerChunk = 4096;

// The header, then per head of `cache` (in its order) chunks of at most entries_per_chunk
// entries (a head without entries sends none); `last` on the final chunk. Internal naming the
// head and value when a head's arrays are not whole rows of the shape's sizes or a value does
// not fit f16 (an engine that produces that is broken, not the request).
absl::StatusOr<std::vector<cachewire::v1::CacheChunk>> SplitCache(
    const CacheShape& shape, const adapter::SharerCache& cache, int32_t entries_per_chunk);

class CacheAssembler {
 public:
  // `session_id` is the one the first chunk named (later chunks may leave it empty or repeat it).
  CacheAssembler(CacheShape shape, std::string session_id);

  // Checks the next chunk and keeps what it carries. After an error the assembler is spent.
  absl::Status Add(const cachewire::v1::CacheChunk& chunk);
  // The last chunk arrived.
  bool complete() const { return complete_; }
  int64_t chunks() const { return next_seq_; }
  // Serialized bytes of the chunks taken.
  int64_t bytes() const { return bytes_; }
  // complete() only; every (layer, kv-head) once, its chunks merged in arrival order.
  adapter::SharerCache TakeCache() { return std::move(cache_); }

 private:
  absl::Status AddHeader(const cachewire::v1::CacheChunk& chunk);
  absl::Status AddEntries(const cachewire::v1::CacheChunk& chunk);

  const CacheShape shape_;
  const std::set<int64_t> layers_;
  const std::string session_id_;
  adapter::SharerCache cache_;
  std::map<std::pair<int64_t, int64_t>, size_t> head_index_;  // (layer, kv-head) -> cache_.heads
  std::vector<std::vector<bool>> seen_;                       // per head: tokens taken
  int64_t next_seq_ = 0;
  int64_t bytes_ = 0;
  bool complete_ = false;
};

}  // namespace cachewire::server::worker
