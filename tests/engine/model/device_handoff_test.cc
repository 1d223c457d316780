// The handoffs (LCF.md) on device sessions over CpuOps, against the CPU model's sessions:
// - kv_cache() gives a host snapshot whose every View (k and v rows, positions, token indices,
//   count), NextPosition and statistics are the CPU cache's bit for bit, for full and bounded
//   sessions of both architectures (rings and evictions included), and what reads it (the LCF
//   encoders, pooled and per-token; the C2C export) gives the CPU session's result bit for bit;
// - Overwrite (a C2C fusion into the session) leaves the CPU session's entries and the same
//   logits after it; a malformed fusion or a bad item changes nothing;
// - Pin (pins directly, and an LCF import of either kind) leaves the CPU session's entries,
//   statistics and logits while streaming on through evictions, pins replaced and removed.
// The device cache repeats the CPU cache's operations in its order, so every bound is 0.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "engine/adapter/c2c_session.h"
#include "engine/adapter/lcf_adapter.h"
#include "engine/backend/cpu/cpu_ops.h"
#include "engine/cache/kv_cache.h"
#include "engine/model/device_model.h"
#include "engine/model/model.h"
#include "tests/engine/model/device_test_util.h"

namespace cachewire::model {
namespace {

using device_testing::Forward;
using device_testing::kGoldenDir;
using device_testing::kModelsDir;
using device_testing::Tokens;
using ::testing::HasSubstr;

const std::string kAdapterGolden =
    std::string(CACHEWIRE_SOURCE_DIR) + "/tests/data/adapters/golden/";

cache::CachePolicy Policy(int64_t n_sink, int64_t window, int64_t budget, int64_t slack) {
  return {.bounded = true,
          .n_sink = n_sink,
          .window = window,
          .budget = budget,
          .slack = slack,
          .l2 = true,
          .l2_skip_layers = 1};
}

bool SameBits(const void* a, const void* b, size_t bytes) {
  return bytes == 0 || std::memcmp(a, b, bytes) == 0;
}

void ExpectBitEqual(const std::vector<float>& dev, const std::vector<float>& cpu,
                    const std::string& what) {
  ASSERT_EQ(dev.size(), cpu.size()) << what;
  EXPECT_TRUE(SameBits(dev.data(), cpu.data(), dev.size() * sizeof(float))) << what;
}

int64_t g_views = 0;  // views compared, reported at the end

// Every View of the device session's snapshot against the CPU session's cache, bit for bit.
void ExpectSameCache(const Session& dev, const Session& cpu, const std::string& what) {
  SCOPED_TRACE(what);
  const cache::KvCache* d = dev.kv_cache();
  const cache::KvCache* c = cpu.kv_cache();
  ASSERT_NE(d, nullptr);
  ASSERT_NE(c, nullptr);
  const cache::KvCacheShape& s = c->shape();
  ASSERT_EQ(d->shape().n_layer, s.n_layer);
  ASSERT_EQ(d->shape().n_head_kv, s.n_head_kv);
  ASSERT_EQ(d->shape().head_dim_k, s.head_dim_k);
  ASSERT_EQ(d->shape().head_dim_v, s.head_dim_v);
  EXPECT_EQ(d->shape().n_ctx, s.n_ctx);
  EXPECT_EQ(d->n_past(), c->n_past());
  const cache::CacheStats ds = d->Stats(), cs = c->Stats();
  EXPECT_EQ(ds.entries_per_layer, cs.entries_per_layer);
  EXPECT_EQ(ds.n_evicted, cs.n_evicted);
  EXPECT_EQ(ds.n_compactions, cs.n_compactions);
  EXPECT_EQ(ds.n_pinned, cs.n_pinned);
  EXPECT_EQ(ds.pinned_entries, cs.pinned_entries);
  for (int64_t il = 0; il < s.n_layer; ++il) {
    EXPECT_EQ(d->NextPosition(il), c->NextPosition(il)) << "layer " << il;
    for (int64_t h = 0; h < s.n_head_kv; ++h) {
      const cache::KvHeadView dv = d->View(il, h), cv = c->View(il, h);
      ASSERT_EQ(dv.n, cv.n) << "layer " << il << " head " << h;
      const size_t n = static_cast<size_t>(cv.n);
      bool same = SameBits(dv.pos, cv.pos, n * sizeof(int32_t)) &&
                  SameBits(dv.token, cv.token, n * sizeof(int64_t));
      for (size_t e = 0; e < n && same; ++e) {
        same = SameBits(dv.k + e * dv.k_stride, cv.k + e * cv.k_stride,
                        static_cast<size_t>(s.head_dim_k) * sizeof(float)) &&
               SameBits(dv.v + e * dv.v_stride, cv.v + e * cv.v_stride,
                        static_cast<size_t>(s.head_dim_v) * sizeof(float));
      }
      EXPECT_TRUE(same) << "layer " << il << " head " << h;
      ++g_views;
    }
  }
}

struct Pair {
  std::unique_ptr<Model> dev, cpu;
};

Pair LoadPair(const std::string& path) {
  Pair p;
  auto dev = LoadDeviceModel(path, backend::NewCpuOps(2));
  auto cpu = Model::Load(path, {.n_threads = 2});
  EXPECT_TRUE(dev.ok()) << dev.status();
  EXPECT_TRUE(cpu.ok()) << cpu.status();
  if (dev.ok() && cpu.ok()) p = {std::move(*dev), std::move(*cpu)};
  return p;
}

struct Sessions {
  std::unique_ptr<Session> dev, cpu;
};

Sessions NewSessions(Pair& m, const SessionParams& params) {
  auto d = m.dev->NewSession(params);
  auto c = m.cpu->NewSession(params);
  EXPECT_TRUE(d.ok()) << d.status();
  EXPECT_TRUE(c.ok()) << c.status();
  return {std::move(*d), std::move(*c)};
}

// Streams `n` single tokens into both, logits and caches alike at every step.
void StreamAlike(Pair& m, Sessions& s, int64_t n, int seed, bool views_each_step) {
  for (int64_t t = 0; t < n && !testing::Test::HasFailure(); ++t) {
    const std::vector<int32_t> one = Tokens(1, m.cpu->n_vocab(), seed + static_cast<int>(t));
    const std::string what = "stream step " + std::to_string(t);
    ExpectBitEqual(Forward(*m.dev, *s.dev, one, false), Forward(*m.cpu, *s.cpu, one, false), what);
    if (views_each_step || t + 1 == n) ExpectSameCache(*s.dev, *s.cpu, what);
  }
}

const char* const kTinyModels[] = {"tiny-llama-gqa4-f16-rope3", "tiny-llama-gqa2-q8_0",
                                   "tiny-gemma3-gqa4-f16", "tiny-gemma3-gqa2-q8_0-ropelin"};

TEST(DeviceSnapshotTest, ViewsAreTheCpuCachesBitForBit) {
  for (const char* name : kTinyModels) {
    SCOPED_TRACE(name);
    Pair m = LoadPair(kGoldenDir + name + ".gguf");
    ASSERT_NE(m.dev, nullptr);
    const int64_t n_vocab = m.cpu->n_vocab();
    Sessions full = NewSessions(m, {.n_ctx = 256});
    const std::vector<int32_t> prompt = Tokens(37, n_vocab, 1);
    ExpectBitEqual(Forward(*m.dev, *full.dev, prompt, false),
                   Forward(*m.cpu, *full.cpu, prompt, false), "full prefill");
    ExpectSameCache(*full.dev, *full.cpu, "full prefill");
    StreamAlike(m, full, 5, 40, true);
    // Bounded: a prefill in several steps, then a stream through eviction batches and, with
    // sliding-window layers, ring drops.
    const cache::CachePolicy p = Policy(4, 16, 48, 8);
    Sessions b = NewSessions(m, {.n_ctx = 1024, .cache = p});
    const std::vector<int32_t> long_prompt = Tokens(29, n_vocab, 2);
    ExpectBitEqual(Forward(*m.dev, *b.dev, long_prompt, false),
                   Forward(*m.cpu, *b.cpu, long_prompt, false), "bounded prefill");
    ExpectSameCache(*b.dev, *b.cpu, "bounded prefill");
    const int64_t n = std::max<int64_t>(90, 2 * (m.cpu->hparams().sliding_window + p.slack));
    StreamAlike(m, b, n, 50, true);
    EXPECT_GE(b.dev->cache_stats().n_compactions, 5);
    // The snapshot is read-only.
    const cache::KvCache* snap = b.dev->kv_cache();
    ASSERT_NE(snap, nullptr);
    cache::KvCache* mutable_snap = const_cast<cache::KvCache*>(snap);
    EXPECT_EQ(mutable_snap->BeginStep(1).code(), absl::StatusCode::kFailedPrecondition);
    EXPECT_THAT(mutable_snap->Overwrite({}).message(), HasSubstr("read-only snapshot"));
    if (testing::Test::HasFailure()) return;
  }
  std::cout << "views compared: " << g_views << "\n";
}

// ---- exports: the LCF encoder and the C2C export read the snapshot --------------------------

nlohmann::json ReadJson(const std::string& path) {
  std::ifstream in(path);
  return nlohmann::json::parse(in);
}

TEST(DeviceHandoffTest, LcfEncodeAndC2cExportAreTheCpuSessionsBitForBit) {
  for (const char* pair : {"cw-llama--cw-gemma3", "cw-gemma3--cw-llama"}) {
    SCOPED_TRACE(pair);
    const nlohmann::json lcf_doc = ReadJson(kAdapterGolden + pair + ".random.json");
    const nlohmann::json c2c_doc = ReadJson(kAdapterGolden + pair + ".random.c2c.json");
    const nlohmann::json tokens_doc = ReadJson(kAdapterGolden + pair + ".random-tokens.json");
    auto lcf = adapter::LcfAdapter::Load(std::string(CACHEWIRE_SOURCE_DIR) + "/" +
                                         lcf_doc["adapter"].get<std::string>());
    auto per_token = adapter::LcfAdapter::Load(std::string(CACHEWIRE_SOURCE_DIR) + "/" +
                                               tokens_doc["adapter"].get<std::string>());
    ASSERT_TRUE(per_token.ok()) << per_token.status();
    auto fuser = adapter::C2cFuser::Load(std::string(CACHEWIRE_SOURCE_DIR) + "/" +
                                         c2c_doc["fuser"].get<std::string>());
    ASSERT_TRUE(lcf.ok()) << lcf.status();
    ASSERT_TRUE(fuser.ok()) << fuser.status();
    Pair m = LoadPair(kModelsDir + lcf_doc["sharer"].get<std::string>() + ".gguf");
    ASSERT_NE(m.dev, nullptr);
    const std::vector<int32_t> ids = c2c_doc["sharer_ids"].get<std::vector<int32_t>>();
    for (const SessionParams& params :
         {SessionParams{.n_ctx = 1024},
          SessionParams{.n_ctx = 1024, .cache = Policy(4, 32, 96, 8)}}) {
      SCOPED_TRACE(params.cache.bounded ? "bounded" : "full");
      Sessions s = NewSessions(m, params);
      ExpectBitEqual(Forward(*m.dev, *s.dev, ids, false), Forward(*m.cpu, *s.cpu, ids, false),
                     "prefill");
      ExpectSameCache(*s.dev, *s.cpu, "prefill");
      auto de = (*lcf)->Encode(*m.dev, *s.dev);
      auto ce = (*lcf)->Encode(*m.cpu, *s.cpu);
      ASSERT_TRUE(de.ok()) << de.status();
      ASSERT_TRUE(ce.ok()) << ce.status();
      ExpectBitEqual(*de, *ce, "lcf slots");
      auto dt = (*per_token)->Encode(*m.dev, *s.dev);  // token indices and key norms too
      auto ct = (*per_token)->Encode(*m.cpu, *s.cpu);
      ASSERT_TRUE(dt.ok()) << dt.status();
      ASSERT_TRUE(ct.ok()) << ct.status();
      ExpectBitEqual(*dt, *ct, "per-token lcf slots");
      auto dx = adapter::ExportForFusion(**fuser, *m.dev, *s.dev, ids);
      auto cx = adapter::ExportForFusion(**fuser, *m.cpu, *s.cpu, ids);
      ASSERT_TRUE(dx.ok()) << dx.status();
      ASSERT_TRUE(cx.ok()) << cx.status();
      ASSERT_EQ(dx->heads.size(), cx->heads.size());
      EXPECT_EQ(dx->text_digest, cx->text_digest);
      for (size_t i = 0; i < cx->heads.size(); ++i) {
        EXPECT_EQ(dx->heads[i].layer, cx->heads[i].layer);
        EXPECT_EQ(dx->heads[i].kv_head, cx->heads[i].kv_head);
        EXPECT_EQ(dx->heads[i].tokens, cx->heads[i].tokens);
        ExpectBitEqual(dx->heads[i].k, cx->heads[i].k, "c2c k " + std::to_string(i));
        ExpectBitEqual(dx->heads[i].v, cx->heads[i].v, "c2c v " + std::to_string(i));
      }
    }
  }
}

// ---- Overwrite: a C2C fusion into a device session --------------------------------------

TEST(DeviceHandoffTest, C2cFusionRewritesLikeTheCpuSession) {
  for (const char* pair : {"cw-llama--cw-gemma3", "cw-gemma3--cw-llama"}) {
    SCOPED_TRACE(pair);
    const nlohmann::json doc = ReadJson(kAdapterGolden + pair + ".random.c2c.json");
    auto fuser = adapter::C2cFuser::Load(std::string(CACHEWIRE_SOURCE_DIR) + "/" +
                                         doc["fuser"].get<std::string>());
    ASSERT_TRUE(fuser.ok()) << fuser.status();
    auto sharer = Model::Load(kModelsDir + doc["sharer"].get<std::string>() + ".gguf");
    ASSERT_TRUE(sharer.ok());
    Pair m = LoadPair(kModelsDir + doc["receiver"].get<std::string>() + ".gguf");
    ASSERT_NE(m.dev, nullptr);
    const std::vector<int32_t> sharer_ids = doc["sharer_ids"].get<std::vector<int32_t>>();
    const std::vector<int32_t> ids = doc["receiver_ids"].get<std::vector<int32_t>>();
    for (const SessionParams& params :
         {SessionParams{.n_ctx = 1024},
          SessionParams{.n_ctx = 1024, .cache = Policy(4, 32, 96, 8)}}) {
      SCOPED_TRACE(params.cache.bounded ? "bounded" : "full");
      auto theirs = (*sharer)->NewSession(params);
      ASSERT_TRUE(theirs.ok());
      Forward(**sharer, **theirs, sharer_ids, false);
      auto exported = adapter::ExportForFusion(**fuser, **sharer, **theirs, sharer_ids);
      ASSERT_TRUE(exported.ok()) << exported.status();
      Sessions s = NewSessions(m, params);
      ExpectBitEqual(Forward(*m.dev, *s.dev, ids, false), Forward(*m.cpu, *s.cpu, ids, false),
                     "prefill");
      // A malformed export is refused before anything is written.
      adapter::SharerCache broken = *exported;
      broken.heads[0].tokens[3] = 100000;
      EXPECT_EQ(adapter::FuseIntoSession(**fuser, *m.dev, *s.dev, ids, broken).status().code(),
                absl::StatusCode::kInvalidArgument);
      ExpectSameCache(*s.dev, *s.cpu, "after the refused fusion");
      auto dr = adapter::FuseIntoSession(**fuser, *m.dev, *s.dev, ids, *exported);
      auto cr = adapter::FuseIntoSession(**fuser, *m.cpu, *s.cpu, ids, *exported);
      ASSERT_TRUE(dr.ok()) << dr.status();
      ASSERT_TRUE(cr.ok()) << cr.status();
      EXPECT_GT(dr->entries_fused, 0);
      EXPECT_EQ(dr->entries_fused, cr->entries_fused);
      EXPECT_EQ(dr->entries_unmatched, cr->entries_unmatched);
      ExpectSameCache(*s.dev, *s.cpu, "fused");
      // A bad item after a good one: nothing is written.
      const cache::KvHeadView v0 = s.cpu->kv_cache()->View(0, 0);
      const std::vector<float> k(static_cast<size_t>(v0.k_stride), 0.5f);
      const std::vector<float> v(static_cast<size_t>(v0.v_stride), -0.5f);
      const cache::EntryOverwrite items[] = {{0, 0, 1, k.data(), v.data()},
                                             {0, 0, v0.n, k.data(), v.data()}};
      const absl::Status ds = s.dev->Overwrite(items), cs = s.cpu->Overwrite(items);
      EXPECT_EQ(ds.code(), absl::StatusCode::kInvalidArgument);
      EXPECT_EQ(ds.message(), cs.message());
      ExpectSameCache(*s.dev, *s.cpu, "after the refused items");
      // The rewritten entries are what the next tokens see (and, bounded, what eviction ranks).
      StreamAlike(m, s, params.cache.bounded ? 20 : 6, 70, false);
      if (params.cache.bounded) {
        EXPECT_GT(s.dev->cache_stats().n_compactions, 0);
      }
    }
  }
}

// ---- Pin: pins given directly, and an LCF import -----------------------------------------

// n pins per layer of `hp`'s shape, un-rotated; data differ with seed.
std::vector<std::vector<float>> PinData(const HParams& hp, int64_t n, int seed) {
  std::vector<std::vector<float>> layers(static_cast<size_t>(hp.n_layer));
  for (size_t il = 0; il < layers.size(); ++il) {
    layers[il].resize(static_cast<size_t>(n * hp.n_head_kv * (hp.head_dim_k + hp.head_dim_v)));
    for (size_t i = 0; i < layers[il].size(); ++i) {
      layers[il][i] = 0.7f * std::sin(0.31f * static_cast<float>(i + 13 * il + 101 * seed));
    }
  }
  return layers;
}

void PinAlike(Sessions& s, const HParams& hp, int64_t n, int seed, const std::string& what) {
  const std::vector<std::vector<float>> data = PinData(hp, n, seed);
  std::vector<cache::PinnedKv> layers;
  for (const std::vector<float>& d : data) {
    layers.push_back({d.data(), d.data() + n * hp.n_head_kv * hp.head_dim_k});
  }
  const absl::Status ds = s.dev->Pin(n, layers), cs = s.cpu->Pin(n, layers);
  ASSERT_TRUE(cs.ok()) << cs;
  ASSERT_TRUE(ds.ok()) << ds;
  ExpectSameCache(*s.dev, *s.cpu, what);
  EXPECT_EQ(s.dev->cache_stats().n_pinned, n);
}

TEST(DeviceHandoffTest, PinsLikeTheCpuSession) {
  for (const char* name : kTinyModels) {
    SCOPED_TRACE(name);
    Pair m = LoadPair(kGoldenDir + name + ".gguf");
    ASSERT_NE(m.dev, nullptr);
    const HParams& hp = m.cpu->hparams();
    const int64_t n_vocab = m.cpu->n_vocab();
    const cache::CachePolicy p = Policy(4, 16, 48, 8);  // at most 28 pins
    // A full cache takes no pins, like the CPU's.
    Sessions full = NewSessions(m, {.n_ctx = 64});
    EXPECT_EQ(full.dev->Pin(0, {}).code(), full.cpu->Pin(0, {}).code());
    EXPECT_EQ(full.dev->Pin(0, {}).code(), absl::StatusCode::kFailedPrecondition);
    Sessions s = NewSessions(m, {.n_ctx = 1024, .cache = p});
    // Before the sinks are filled: pins after the 2 tokens so far.
    ExpectBitEqual(Forward(*m.dev, *s.dev, Tokens(2, n_vocab, 3), false),
                   Forward(*m.cpu, *s.cpu, Tokens(2, n_vocab, 3), false), "two tokens");
    PinAlike(s, hp, 5, 1, "5 pins");
    StreamAlike(m, s, 30, 80, true);
    // Replaced by more pins, through a stream of eviction batches and ring drops.
    PinAlike(s, hp, 9, 2, "9 pins");
    const std::vector<int32_t> chunk = Tokens(19, n_vocab, 4);
    ExpectBitEqual(Forward(*m.dev, *s.dev, chunk, true), Forward(*m.cpu, *s.cpu, chunk, true),
                   "chunk after the pins");
    StreamAlike(m, s, std::max<int64_t>(60, 2 * (hp.sliding_window + p.slack)), 120, true);
    // A pinned row is not rewritten; too many pins are refused; both change nothing.
    const cache::KvHeadView v0 = s.cpu->kv_cache()->View(hp.n_layer - 1, 0);
    int64_t pinned_row = -1;
    for (int64_t e = 0; e < v0.n && pinned_row < 0; ++e) pinned_row = v0.token[e] < 0 ? e : -1;
    ASSERT_GE(pinned_row, 0);
    const std::vector<float> k(static_cast<size_t>(hp.head_dim_k)), v(hp.head_dim_v);
    const cache::EntryOverwrite item{hp.n_layer - 1, 0, pinned_row, k.data(), v.data()};
    EXPECT_THAT(s.dev->Overwrite({&item, 1}).message(), HasSubstr("pinned entry"));
    const std::vector<cache::PinnedKv> none(static_cast<size_t>(hp.n_layer));
    EXPECT_EQ(s.dev->Pin(29, none).code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(s.dev->Pin(3, none).code(), absl::StatusCode::kInvalidArgument);  // null buffers
    ExpectSameCache(*s.dev, *s.cpu, "after the refusals");
    // The most pins (the policy layers evict to make room), then none.
    PinAlike(s, hp, 28, 3, "28 pins");
    StreamAlike(m, s, 25, 300, true);
    PinAlike(s, hp, 0, 4, "no pins");
    StreamAlike(m, s, 25, 400, true);
    s.dev->Clear();
    s.cpu->Clear();
    ExpectSameCache(*s.dev, *s.cpu, "cleared");
    if (testing::Test::HasFailure()) return;
  }
}

TEST(DeviceHandoffTest, LcfImportLikeTheCpuSession) {
  // The pooled and the per-token random adapters, both directions.
  for (const std::string name : {"cw-llama--cw-gemma3.random", "cw-gemma3--cw-llama.random",
                                 "cw-llama--cw-gemma3.random-tokens",
                                 "cw-gemma3--cw-llama.random-tokens"}) {
    SCOPED_TRACE(name);
    const nlohmann::json doc = ReadJson(kAdapterGolden + name + ".json");
    auto lcf = adapter::LcfAdapter::Load(std::string(CACHEWIRE_SOURCE_DIR) + "/" +
                                         doc["adapter"].get<std::string>());
    ASSERT_TRUE(lcf.ok()) << lcf.status();
    Pair m = LoadPair(kModelsDir + doc["receiver"].get<std::string>() + ".gguf");
    ASSERT_NE(m.dev, nullptr);
    const std::vector<float> slots = doc["slots"].get<std::vector<float>>();
    const std::vector<int32_t> ids = doc["receiver_ids"].get<std::vector<int32_t>>();
    const std::vector<int32_t> qa = doc["qa_ids"].get<std::vector<int32_t>>();
    const int64_t budget = (*lcf)->n_slots() + 40;  // pins fit, and the stream evicts
    Sessions s = NewSessions(m, {.n_ctx = 2048, .cache = Policy(4, 32, budget + 32, 8)});
    ExpectBitEqual(Forward(*m.dev, *s.dev, ids, false), Forward(*m.cpu, *s.cpu, ids, false),
                   "prefill");
    ASSERT_TRUE((*lcf)->Import(*m.cpu, *s.cpu, slots).ok());
    const absl::Status st = (*lcf)->Import(*m.dev, *s.dev, slots);
    ASSERT_TRUE(st.ok()) << st;
    ExpectSameCache(*s.dev, *s.cpu, "imported");
    ExpectBitEqual(Forward(*m.dev, *s.dev, qa, true), Forward(*m.cpu, *s.cpu, qa, true),
                   "questions after the import");
    StreamAlike(m, s, 40, 500, false);
    EXPECT_GT(s.dev->cache_stats().n_compactions, 0);
  }
}

}  // namespace
}  // namespace cachewire::model
