// Damaged C2C cache streams, end to end without the network: a real export of cw-llama's cache
// of a shared text (the shipped fuser to cw-gemma3), split into chunks, then damaged thousands of
// ways (bytes of a serialized chunk flipped, numeric fields set to extreme values, chunks dropped,
// repeated or swapped, f16 payloads cut or filled with NaN). Each damaged stream must be refused
// by the assembler with INVALID_ARGUMENT naming a chunk's field, or be taken whole; a stream taken
// whole goes to the fusion, which must succeed or refuse, and a refusal must leave the receiver's
// cache exactly as it was. Nothing may crash (run under the sanitizer build to catch bad reads).
#include <gmock/gmock.h>
#include <google/protobuf/stubs/logging.h>
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "engine/adapter/c2c_fuser.h"
#include "engine/adapter/c2c_session.h"
#include "engine/cache/kv_cache.h"
#include "engine/model/model.h"
#include "engine/tokenizer/tokenizer.h"
#include "server/worker/cache_chunks.h"

namespace cachewire::server::worker {
namespace {

using ::testing::HasSubstr;
using Chunk = cachewire::v1::CacheChunk;

const std::string kSource = CACHEWIRE_SOURCE_DIR;
constexpr char kText[] =
    "The pet of Mark Jones is a mouse . Olga Lopez pet hamster . Quinn Ito has code 2 4 8 9 .";

std::unique_ptr<model::Model> Load(const std::string& name) {
  auto m = model::Model::Load(kSource + "/models/" + name + ".gguf", {.n_threads = 1});
  EXPECT_TRUE(m.ok()) << m.status();
  return m.ok() ? std::move(*m) : nullptr;
}

// Every key and value of a session's cache, in View order.
std::vector<float> Snapshot(const model::Session& session) {
  const cache::KvCache* c = session.kv_cache();
  std::vector<float> out;
  const cache::KvCacheShape& s = c->shape();
  for (int64_t il = 0; il < s.n_layer; ++il) {
    for (int64_t h = 0; h < s.n_head_kv; ++h) {
      const cache::KvHeadView v = c->View(il, h);
      for (int64_t e = 0; e < v.n; ++e) {
        out.insert(out.end(), v.k + e * v.k_stride, v.k + e * v.k_stride + s.head_dim_k);
        out.insert(out.end(), v.v + e * v.v_stride, v.v + e * v.v_stride + s.head_dim_v);
      }
    }
  }
  return out;
}

class Mutator {
 public:
  explicit Mutator(uint32_t seed) : rng_(seed) {}

  // One damage to a copy of `chunks`.
  std::vector<Chunk> Damage(std::vector<Chunk> chunks) {
    const size_t i = Pick(chunks.size());
    Chunk& c = chunks[i];
    switch (Pick(10)) {
      case 0: {  // bytes of the serialized chunk flipped (one that no longer parses is dropped)
        const google::protobuf::LogSilencer quiet;  // parse errors are expected here
        std::string wire = c.SerializeAsString();
        for (int n = 1 + static_cast<int>(Pick(4)); n > 0 && !wire.empty(); --n) {
          wire[Pick(wire.size())] ^= static_cast<char>(1 + Pick(255));
        }
        if (!c.ParseFromString(wire)) chunks.erase(chunks.begin() + static_cast<long>(i));
        break;
      }
      case 1: SetNumber(c); break;
      case 2: chunks.erase(chunks.begin() + static_cast<long>(i)); break;
      case 3: chunks.insert(chunks.begin() + static_cast<long>(i), c); break;
      case 4: std::swap(c, chunks[Pick(chunks.size())]); break;
      case 5: Cut(c.mutable_keys()); break;
      case 6: Cut(c.mutable_values()); break;
      case 7: {  // an f16 NaN or infinity in the payload
        std::string* p = Pick(2) ? c.mutable_keys() : c.mutable_values();
        if (p->size() >= 2) {
          const size_t at = Pick(p->size() / 2) * 2;
          (*p)[at] = static_cast<char>(Pick(2) ? 0x01 : 0x00);
          (*p)[at + 1] = static_cast<char>(0x7c);
        }
        break;
      }
      case 8:  // the header's text digest: well formed, but not the receiver's text
        if (!chunks.empty()) chunks[0].set_text_digest(chunks[0].text_digest() + 1);
        break;
      default: c.set_last(!c.last()); break;
    }
    return chunks;
  }

 private:
  size_t Pick(size_t n) {
    return n == 0 ? 0 : std::uniform_int_distribution<size_t>(0, n - 1)(rng_);
  }

  int64_t Extreme() {
    const int64_t values[] = {-1, 0, 1, 2, 5, 127, 128, 100000,
                              std::numeric_limits<int64_t>::max(),
                              std::numeric_limits<int64_t>::min()};
    return values[Pick(std::size(values))];
  }

  void SetNumber(Chunk& c) {
    switch (Pick(9)) {
      case 0: c.set_seq(Extreme()); break;
      case 1: c.set_layer(Extreme()); break;
      case 2: c.set_kv_head(Extreme()); break;
      case 3: c.set_text_bytes(Extreme()); break;
      case 4: c.set_head_dim_k(Extreme()); break;
      case 5: SetOne(c.mutable_tokens()); break;
      case 6: SetOne(c.mutable_span_begin()); break;
      case 7: SetOne(c.mutable_span_end()); break;
      default: c.set_text_digest(c.text_digest() ^ (uint64_t{1} << Pick(64))); break;
    }
  }

  void SetOne(google::protobuf::RepeatedField<int64_t>* list) {
    if (list->empty()) return;
    list->Set(static_cast<int>(Pick(static_cast<size_t>(list->size()))), Extreme());
  }

  void Cut(std::string* payload) {
    if (!payload->empty()) payload->resize(Pick(payload->size()));
  }

  std::mt19937 rng_;
};

TEST(CacheChunksMutation, DamagedStreamsAreRefusedOrFusedWholeNeverHalf) {
  auto fuser =
      adapter::C2cFuser::Load(kSource + "/models/adapters/cw-llama--cw-gemma3.c2c.gguf");
  ASSERT_TRUE(fuser.ok()) << fuser.status();
  std::unique_ptr<model::Model> sharer = Load("cw-llama"), receiver = Load("cw-gemma3");
  ASSERT_TRUE(sharer && receiver);
  const std::vector<int32_t> s_ids = sharer->tokenizer().Encode(kText);
  const std::vector<int32_t> r_ids = receiver->tokenizer().Encode(kText);
  std::vector<float> logits;
  auto s_session = sharer->NewSession({});
  ASSERT_TRUE(s_session.ok());
  ASSERT_TRUE(sharer->Forward(**s_session, s_ids, &logits).ok());
  auto exported = adapter::ExportForFusion(**fuser, *sharer, **s_session, s_ids);
  ASSERT_TRUE(exported.ok()) << exported.status();
  const CacheShape shape = CacheShapeOf(**fuser);
  auto clean = SplitCache(shape, *exported, 16);  // small chunks: more of them to damage
  ASSERT_TRUE(clean.ok()) << clean.status();

  auto fresh_receiver = [&]() {
    auto r = receiver->NewSession({});
    EXPECT_TRUE(r.ok());
    EXPECT_TRUE(receiver->Forward(**r, r_ids, &logits).ok());
    return std::move(*r);
  };
  std::unique_ptr<model::Session> target = fresh_receiver();
  const std::vector<float> pristine = Snapshot(*target);

  Mutator mutate(20261202);
  int refused_on_the_wire = 0, fused = 0, refused_by_fusion = 0, incomplete = 0;
  for (int round = 0; round < 1500; ++round) {
    std::vector<Chunk> chunks = *clean;
    for (int d = 1 + round % 3; d > 0; --d) chunks = mutate.Damage(std::move(chunks));
    CacheAssembler assembler(shape, "s_test");
    absl::Status status;
    for (const Chunk& chunk : chunks) {
      status = assembler.Add(chunk);
      if (!status.ok() || assembler.complete()) break;
    }
    if (!status.ok()) {
      ++refused_on_the_wire;
      EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
      EXPECT_THAT(status.message(), HasSubstr("chunk "));
      continue;
    }
    if (!assembler.complete()) {  // the stream ended early: nothing is applied
      ++incomplete;
      continue;
    }
    const adapter::SharerCache taken = assembler.TakeCache();
    auto report = adapter::FuseIntoSession(**fuser, *receiver, *target, r_ids, taken);
    if (report.ok()) {
      ++fused;
      target = fresh_receiver();
    } else {
      ++refused_by_fusion;
      EXPECT_TRUE(report.status().code() == absl::StatusCode::kInvalidArgument ||
                  report.status().code() == absl::StatusCode::kFailedPrecondition)
          << report.status();
      ASSERT_EQ(Snapshot(*target), pristine) << "round " << round << ": " << report.status();
    }
  }
  // The damage reaches every outcome (so the test exercises each path).
  EXPECT_GT(refused_on_the_wire, 500);
  EXPECT_GT(fused, 10);
  EXPECT_GT(refused_by_fusion, 10);
  EXPECT_GT(incomplete, 5);
  std::printf("refused on the wire %d, incomplete %d, refused by the fusion %d, fused %d\n",
              refused_on_the_wire, incomplete, refused_by_fusion, fused);
}

}  // namespace
}  // namespace cachewire::server::worker
