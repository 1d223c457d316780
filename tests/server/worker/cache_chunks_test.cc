// The wire form of a C2C cache export, without a worker: splitting a sharer's cache into a
// header and per-(layer, kv-head) entry chunks and reassembling it, the shape read from a
// fuser file, and each malformed chunk refused naming its field.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

#include "engine/adapter/c2c_fuser.h"
#include "server/worker/cache_chunks.h"
#include "tests/engine/adapter/adapter_rewrite.h"

namespace cachewire::server::worker {
namespace {

using ::testing::HasSubstr;
using Chunk = cachewire::v1::CacheChunk;

// Sharer layers 0 and 2 read, two kv-heads, keys of 3 values and values of 2.
const CacheShape kShape{"a--b", {0, 2}, 2, 3, 2};

// Quarters: exact in f16, so the round trip must give them back bit for bit.
std::vector<float> Quarters(int64_t n, float from) {
  std::vector<float> v;
  for (int64_t i = 0; i < n; ++i) v.push_back(from + 0.25f * static_cast<float>(i));
  return v;
}

adapter::SharerHead Head(int64_t layer, int64_t kv_head, std::vector<int64_t> tokens,
                         float from) {
  const int64_t n = static_cast<int64_t>(tokens.size());
  return {layer, kv_head, std::move(tokens), Quarters(n * kShape.head_dim_k, from),
          Quarters(n * kShape.head_dim_v, -from)};
}

// Text "The cat sat on mats." (20 bytes): BOS, then four tokens.
adapter::SharerCache Cache() {
  adapter::SharerCache cache;
  cache.text_bytes = 20;
  cache.text_digest = 0x0123456789abcdefull;
  cache.spans = {{0, 0}, {0, 4}, {4, 9}, {9, 15}, {15, 20}};
  cache.heads = {Head(0, 0, {0, 1, 2, 3, 4}, -3.0f), Head(0, 1, {1, 3}, 1.5f),
                 Head(2, 0, {}, 0.0f), Head(2, 1, {4, 0, 2}, -0.75f)};
  return cache;
}

std::vector<Chunk> Chunks(int32_t per_chunk) {
  auto chunks = SplitCache(kShape, Cache(), per_chunk);
  EXPECT_TRUE(chunks.ok()) << chunks.status();
  return chunks.ok() ? *chunks : std::vector<Chunk>{};
}

// Feeds chunks until one is refused; that status, or OK.
absl::Status AddAll(CacheAssembler& assembler, const std::vector<Chunk>& chunks) {
  for (const Chunk& chunk : chunks) {
    if (absl::Status st = assembler.Add(chunk); !st.ok()) return st;
  }
  return absl::OkStatus();
}

void ExpectSameHead(const adapter::SharerHead& got, const adapter::SharerHead& want) {
  EXPECT_EQ(got.layer, want.layer);
  EXPECT_EQ(got.kv_head, want.kv_head);
  EXPECT_EQ(got.tokens, want.tokens);
  EXPECT_EQ(got.k, want.k);
  EXPECT_EQ(got.v, want.v);
}

TEST(CacheChunksTest, SplitThenAssembleGivesTheCacheBack) {
  const std::vector<Chunk> chunks = Chunks(2);
  // Header; head (0, 0) in 3 chunks, (0, 1) in 1, (2, 0) in none (no entries), (2, 1) in 2.
  ASSERT_EQ(chunks.size(), 7u);
  EXPECT_EQ(chunks[0].span_begin_size(), 5);
  EXPECT_EQ(chunks[0].tokens_size(), 0);
  for (size_t i = 0; i < chunks.size(); ++i) {
    SCOPED_TRACE("chunk " + std::to_string(i));
    EXPECT_EQ(chunks[i].seq(), static_cast<int64_t>(i));
    EXPECT_EQ(chunks[i].adapter(), "a--b");
    EXPECT_EQ(chunks[i].last(), i + 1 == chunks.size());
    if (i == 0) continue;
    EXPECT_LE(chunks[i].tokens_size(), 2);
    EXPECT_EQ(chunks[i].keys().size(), static_cast<size_t>(chunks[i].tokens_size() * 3 * 2));
    EXPECT_EQ(chunks[i].values().size(), static_cast<size_t>(chunks[i].tokens_size() * 2 * 2));
  }
  EXPECT_EQ(chunks[3].layer(), 0);
  EXPECT_EQ(chunks[3].tokens_size(), 1);  // the fifth entry of head (0, 0)
  EXPECT_EQ(chunks[5].layer(), 2);
  EXPECT_EQ(chunks[5].kv_head(), 1);

  CacheAssembler assembler(kShape, "s_1");
  for (const Chunk& c : chunks) {
    EXPECT_FALSE(assembler.complete());
    ASSERT_TRUE(assembler.Add(c).ok());
  }
  ASSERT_TRUE(assembler.complete());
  EXPECT_EQ(assembler.chunks(), 7);
  EXPECT_GT(assembler.bytes(), (5 * 5 + 2 * 5 + 3 * 5) * 2);  // at least the f16 payload
  const adapter::SharerCache want = Cache();
  const adapter::SharerCache got = assembler.TakeCache();
  EXPECT_EQ(got.text_bytes, want.text_bytes);
  EXPECT_EQ(got.text_digest, want.text_digest);
  ASSERT_EQ(got.spans.size(), want.spans.size());
  for (size_t i = 0; i < got.spans.size(); ++i) {
    EXPECT_EQ(got.spans[i].begin, want.spans[i].begin) << i;
    EXPECT_EQ(got.spans[i].end, want.spans[i].end) << i;
  }
  ASSERT_EQ(got.heads.size(), 3u);  // the empty head sent nothing
  ExpectSameHead(got.heads[0], want.heads[0]);
  ExpectSameHead(got.heads[1], want.heads[1]);
  ExpectSameHead(got.heads[2], want.heads[3]);
}

TEST(CacheChunksTest, OneChunkPerHeadWhenTheyFit) {
  EXPECT_EQ(Chunks(kDefaultEntriesPerChunk).size(), 4u);  // header and three heads
  EXPECT_EQ(Chunks(1).size(), 1u + 5 + 2 + 3);
}

TEST(CacheChunksTest, AnExportWithoutEntriesIsItsHeader) {
  adapter::SharerCache cache = Cache();
  cache.heads.clear();
  auto chunks = SplitCache(kShape, cache, 4);
  ASSERT_TRUE(chunks.ok()) << chunks.status();
  ASSERT_EQ(chunks->size(), 1u);
  EXPECT_TRUE((*chunks)[0].last());
  CacheAssembler assembler(kShape, "s_1");
  ASSERT_TRUE(assembler.Add((*chunks)[0]).ok());
  EXPECT_TRUE(assembler.complete());
  EXPECT_TRUE(assembler.TakeCache().heads.empty());
}

TEST(CacheChunksTest, ExporterRefusesWhatTheWireCannotCarry) {
  adapter::SharerCache cache = Cache();
  cache.heads[1].v[3] = 1e6f;  // beyond f16: entry 1, value 1 of head (0, 1)
  auto chunks = SplitCache(kShape, cache, 8);
  EXPECT_EQ(chunks.status().code(), absl::StatusCode::kInternal);
  EXPECT_THAT(chunks.status().message(), HasSubstr("layer 0 kv-head 1 values: entry 1 value 1"));

  cache = Cache();
  cache.heads[3].k.pop_back();
  chunks = SplitCache(kShape, cache, 8);
  EXPECT_EQ(chunks.status().code(), absl::StatusCode::kInternal);
  EXPECT_THAT(chunks.status().message(), HasSubstr("layer 2 kv-head 1"));

  EXPECT_EQ(SplitCache(kShape, Cache(), 0).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(CacheChunksTest, EachMalformedChunkNamesItsField) {
  struct Case {
    std::function<void(std::vector<Chunk>&)> mutate;
    const char* message;
  };
  const Case cases[] = {
      {[](auto& c) { c[0].set_seq(1); }, "chunk 1: seq: expected 0"},
      {[](auto& c) { c[2].set_seq(3); }, "chunk 3: seq: expected 2, got 3"},
      {[](auto& c) { c[1].set_session_id("s_2"); }, "chunk 1: session_id"},
      {[](auto& c) { c[3].set_adapter("x"); }, "chunk 3: adapter"},
      // Entry fields in the header, header fields in an entry chunk.
      {[](auto& c) { c[0].set_layer(2); }, "chunk 0: layer: set in the header"},
      {[](auto& c) { c[0].set_keys("xx"); }, "chunk 0: keys: set in the header"},
      {[](auto& c) { c[0].set_head_dim_v(2); }, "chunk 0: head_dim_v: set in the header"},
      {[](auto& c) { c[2].set_text_bytes(20); }, "chunk 2: text_bytes: set outside the header"},
      {[](auto& c) { c[1].add_span_begin(0); }, "chunk 1: span_begin: set outside the header"},
      // Spans.
      {[](auto& c) { c[0].add_span_end(20); }, "chunk 0: span_end: 6 ends for 5 begins"},
      {[](auto& c) {
         c[0].clear_span_begin();
         c[0].clear_span_end();
       }, "chunk 0: span_begin: no token"},
      {[](auto& c) { c[0].set_span_begin(1, -1); }, "chunk 0: span_begin: token 1: -1"},
      {[](auto& c) { c[0].set_span_end(4, 21); }, "chunk 0: span_end: token 4: 21"},
      {[](auto& c) { c[0].set_span_end(2, 3); }, "chunk 0: span_end: token 2: 3"},
      {[](auto& c) { c[0].set_span_begin(3, 8); }, "chunk 0: span_begin: token 3: [8, 15)"},
      {[](auto& c) { c[0].set_text_bytes(-1); }, "chunk 0: text_bytes"},
      // Where the entries belong.
      {[](auto& c) { c[1].set_layer(1); }, "chunk 1: layer: 1 is not a sharer layer"},
      {[](auto& c) { c[4].set_kv_head(2); }, "chunk 4: kv_head: 2 not in [0, 2)"},
      {[](auto& c) { c[2].set_kv_head(-1); }, "chunk 2: kv_head"},
      {[](auto& c) { c[1].set_head_dim_k(4); }, "chunk 1: head_dim_k: the fuser's sharer has 3"},
      {[](auto& c) { c[5].set_head_dim_v(0); }, "chunk 5: head_dim_v"},
      // Entries.
      {[](auto& c) {
         c[4].clear_tokens();
         c[4].clear_keys();
         c[4].clear_values();
       }, "chunk 4: tokens: no entry"},
      {[](auto& c) { c[1].set_tokens(1, 5); }, "chunk 1: tokens: entry 1: token 5 not in [0, 5)"},
      {[](auto& c) { c[2].set_tokens(0, -1); }, "chunk 2: tokens: entry 0: token -1"},
      {[](auto& c) { c[1].set_tokens(1, 0); }, "chunk 1: tokens: entry 1: token 0 sent twice"},
      {[](auto& c) { c[2].set_tokens(0, 1); }, "chunk 2: tokens: entry 0: token 1 sent twice"},
      {[](auto& c) { c[1].mutable_keys()->pop_back(); }, "chunk 1: keys: must hold"},
      {[](auto& c) { c[5].mutable_values()->append("xx"); }, "chunk 5: values: must hold"},
      {[](auto& c) { (*c[2].mutable_keys())[7] = '\x7e'; },
       "chunk 2: keys: entry 1 value 0 is nan"},
      {[](auto& c) {
         (*c[4].mutable_values())[2] = '\x00';
         (*c[4].mutable_values())[3] = '\xfc';
       }, "chunk 4: values: entry 0 value 1 is -inf"},
      // The end of the stream.
      {[](auto& c) { c[3].set_last(true); }, "chunk 4: seq: a chunk after the last one"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.message);
    std::vector<Chunk> chunks = Chunks(2);
    ASSERT_EQ(chunks.size(), 7u);
    c.mutate(chunks);
    CacheAssembler assembler(kShape, "s_1");
    const absl::Status status = AddAll(assembler, chunks);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
    EXPECT_THAT(status.message(), HasSubstr(c.message));
  }
}

TEST(CacheChunksTest, AStreamWithoutItsLastChunkIsNotComplete) {
  std::vector<Chunk> chunks = Chunks(2);
  chunks.back().set_last(false);
  CacheAssembler assembler(kShape, "s_1");
  ASSERT_TRUE(AddAll(assembler, chunks).ok());
  EXPECT_FALSE(assembler.complete());
}

TEST(CacheChunksTest, ShapeOfAFuserIsItsSharersHeadsAndTheLayersItReads) {
  auto fuser = adapter::C2cFuser::Load(std::string(CACHEWIRE_SOURCE_DIR) +
                                       "/tests/data/adapters/cw-gemma3--cw-llama.random.c2c.gguf");
  ASSERT_TRUE(fuser.ok()) << fuser.status();
  const CacheShape shape = CacheShapeOf(**fuser);
  EXPECT_EQ(shape.adapter, (*fuser)->name());
  // Both agents have 6 layers: each receiver layer reads the sharer layer at its own depth.
  const std::vector<int64_t> read = (*fuser)->layer_map();
  ASSERT_EQ(read.size(), 6u);
  EXPECT_EQ(shape.layers, read);  // already ascending and distinct
  EXPECT_EQ(shape.n_head_kv, (*fuser)->sharer().n_head_kv);
  EXPECT_EQ(shape.head_dim_k, (*fuser)->sharer().head_dim_k);
  EXPECT_EQ(shape.head_dim_v, (*fuser)->sharer().head_dim_v);

  // A fuser that reads some sharer layers twice and others never (a shallower sharer's map):
  // the stream carries each layer it reads once, ascending.
  const std::string twice = adapter::testing::RewriteAdapter(
      std::string(CACHEWIRE_SOURCE_DIR) +
          "/tests/data/adapters/cw-llama--cw-gemma3.random.c2c.gguf",
      "cache_chunks_read_twice.c2c.gguf", {.layer_map = {0, 0, 2, 2, 5, 5}});
  auto wide = adapter::C2cFuser::Load(twice);
  ASSERT_TRUE(wide.ok()) << wide.status();
  EXPECT_EQ((*wide)->layer_map().size(), 6u);
  EXPECT_EQ(CacheShapeOf(**wide).layers, (std::vector<int64_t>{0, 2, 5}));
}

}  // namespace
}  // namespace cachewire::server::worker
