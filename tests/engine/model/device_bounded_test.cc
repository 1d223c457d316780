// The device model's bounded caches (device_cache.h) over CpuOps against the CPU model's
// bounded sessions, on the golden tiny models and the shipped agents: a prefill split into
// steps, then a long decode through many eviction batches (and, for gemma3, ring drops of its
// sliding-window layers). The device cache repeats the CPU cache's operations in its order
// (norms taken at append and moved along, kept rows gathered, each run rotated back by its
// move with the same table row), so the bound is 0: every logit bit for bit, and the cache
// statistics (entries per layer, evictions, batches) equal at every step. Also: Clear resets,
// a refused request changes nothing, a malformed pin is refused. And, on the cache
// itself, the ring rebase (which a session reaches only after 2^30 tokens) against
// cache::NewBoundedKvCache with the rebase point lowered.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "engine/backend/cpu/cpu_ops.h"
#include "engine/backend/cuda_ops.h"
#include "engine/cache/bounded_kv_cache.h"
#include "engine/model/device_cache.h"
#include "engine/model/device_model.h"
#include "engine/model/model.h"
#include "tests/engine/model/device_test_util.h"

namespace cachewire::model {
namespace {

using device_testing::AllModelPaths;
using device_testing::Forward;
using device_testing::kGoldenDir;
using device_testing::kModelsDir;
using device_testing::Tokens;
using ::testing::HasSubstr;

cache::CachePolicy Policy(int64_t n_sink, int64_t window, int64_t budget, int64_t slack, bool l2,
                          int64_t skip) {
  return {.bounded = true,
          .n_sink = n_sink,
          .window = window,
          .budget = budget,
          .slack = slack,
          .l2 = l2,
          .l2_skip_layers = skip};
}

// Logits that differ in any bit (NaN-safe: compares the bits), reported with the worst gap.
void ExpectBitEqual(const std::vector<float>& dev, const std::vector<float>& cpu,
                    const std::string& what) {
  ASSERT_EQ(dev.size(), cpu.size()) << what;
  int64_t differ = 0;
  double worst = 0;
  for (size_t i = 0; i < dev.size(); ++i) {
    if (std::memcmp(&dev[i], &cpu[i], sizeof(float)) != 0) {
      ++differ;
      worst = std::max(worst, std::fabs(double{dev[i]} - cpu[i]));
    }
  }
  EXPECT_EQ(differ, 0) << what << ": " << differ << " logits differ, by up to " << worst;
}

void ExpectSameStats(const Session& dev, const Session& cpu, const std::string& what) {
  const cache::CacheStats d = dev.cache_stats(), c = cpu.cache_stats();
  EXPECT_EQ(d.bounded, c.bounded) << what;
  EXPECT_EQ(d.n_tokens, c.n_tokens) << what;
  EXPECT_EQ(d.n_head_kv, c.n_head_kv) << what;
  EXPECT_EQ(d.entries_per_layer, c.entries_per_layer) << what;
  EXPECT_EQ(d.entries, c.entries) << what;
  EXPECT_EQ(d.max_entries, c.max_entries) << what;
  EXPECT_EQ(d.n_evicted, c.n_evicted) << what;
  EXPECT_EQ(d.n_compactions, c.n_compactions) << what;
  EXPECT_EQ(d.n_pinned, 0) << what;
  EXPECT_EQ(dev.n_past(), cpu.n_past()) << what;
  EXPECT_EQ(dev.n_ctx(), cpu.n_ctx()) << what;
}

// A prefill of 3 * slack + 5 tokens with every row's logits (several steps, an eviction batch
// inside), decode steps until the stream has passed many batches and every ring has dropped
// entries, a chunk and input rows on the way, then Clear and a second prefill.
void ExpectStreamsAlike(Model& dev, Model& cpu, const cache::CachePolicy& policy) {
  const int64_t n_vocab = cpu.n_vocab();
  const HParams& hp = cpu.hparams();
  auto ds = dev.NewSession({.n_ctx = 1024, .cache = policy});
  auto cs = cpu.NewSession({.n_ctx = 1024, .cache = policy});
  ASSERT_TRUE(ds.ok()) << ds.status();
  ASSERT_TRUE(cs.ok()) << cs.status();
  Session& d = **ds;
  Session& c = **cs;
  const std::vector<int32_t> prompt = Tokens(3 * policy.slack + 5, n_vocab, 1);
  ExpectBitEqual(Forward(dev, d, prompt, true), Forward(cpu, c, prompt, true), "prefill");
  ExpectSameStats(d, c, "prefill");
  // Enough decode steps for ten eviction batches and, with rings, twice the sliding window.
  const int64_t n_decode =
      std::max<int64_t>({110, 10 * policy.slack, 2 * (hp.sliding_window + policy.slack)});
  for (int64_t step = 0; step < n_decode && !testing::Test::HasFailure(); ++step) {
    const std::vector<int32_t> one = Tokens(1, n_vocab, static_cast<int>(10 + step));
    const std::string what = "decode step " + std::to_string(step);
    ExpectBitEqual(Forward(dev, d, one, false), Forward(cpu, c, one, false), what);
    ExpectSameStats(d, c, what);
    if (step == n_decode / 2) {  // a chunk of slack + 3 (two steps), then input rows
      const std::vector<int32_t> chunk = Tokens(policy.slack + 3, n_vocab, 20);
      ExpectBitEqual(Forward(dev, d, chunk, false), Forward(cpu, c, chunk, false), "chunk");
      std::vector<float> rows(static_cast<size_t>(3 * hp.n_embd));
      for (size_t i = 0; i < rows.size(); ++i) rows[i] = std::sin(0.37f * static_cast<float>(i));
      std::vector<float> dl, cl;
      ForwardRequest dr{&d, {}, true, &dl, rows};
      ForwardRequest cr{&c, {}, true, &cl, rows};
      ASSERT_TRUE(dev.ForwardBatch(std::span<ForwardRequest>(&dr, 1)).ok());
      ASSERT_TRUE(cpu.ForwardBatch(std::span<ForwardRequest>(&cr, 1)).ok());
      ExpectBitEqual(dl, cl, "input rows");
      ExpectSameStats(d, c, "chunk and input rows");
    }
  }
  const cache::CacheStats st = d.cache_stats();
  EXPECT_GE(st.n_compactions, 10);
  EXPECT_GT(st.n_evicted, 0);
  if (hp.sliding_window > 0) {  // some layer is a ring, held below the policy layers' count
    EXPECT_NE(*std::min_element(st.entries_per_layer.begin(), st.entries_per_layer.end()),
              *std::max_element(st.entries_per_layer.begin(), st.entries_per_layer.end()));
  }
  d.Clear();
  c.Clear();
  EXPECT_EQ(d.n_past(), 0);
  EXPECT_EQ(d.cache_stats().entries, 0);
  EXPECT_EQ(d.cache_stats().n_evicted, 0);
  const std::vector<int32_t> again = Tokens(2 * policy.slack + 1, n_vocab, 3);
  ExpectBitEqual(Forward(dev, d, again, false), Forward(cpu, c, again, false), "after Clear");
  ExpectSameStats(d, c, "after Clear");
}

TEST(DeviceBoundedTest, StreamsLikeTheCpuModelBitForBit) {
  const cache::CachePolicy policies[] = {
      Policy(4, 16, 48, 8, /*l2=*/true, /*skip=*/1), Policy(4, 16, 48, 8, /*l2=*/false, /*skip=*/1),
      Policy(2, 5, 20, 7, /*l2=*/true, /*skip=*/0),  // odd sizes, every layer by norm
  };
  for (const std::string& path : AllModelPaths()) {
    SCOPED_TRACE(path);
    auto dev = LoadDeviceModel(path, backend::NewCpuOps(2));
    auto cpu = Model::Load(path, {.n_threads = 2});
    ASSERT_TRUE(dev.ok()) << dev.status();
    ASSERT_TRUE(cpu.ok()) << cpu.status();
    for (const cache::CachePolicy& p : policies) {
      SCOPED_TRACE(p.ToString());
      ExpectStreamsAlike(**dev, **cpu, p);
      if (testing::Test::HasFailure()) return;  // one model's report is enough
    }
  }
}

TEST(DeviceBoundedTest, RefusedRequestChangesNothing) {
  const std::string path = kGoldenDir + "tiny-gemma3-gqa2-q8_0-ropelin.gguf";
  auto dev = LoadDeviceModel(path, backend::NewCpuOps(1));
  auto cpu = Model::Load(path, {.n_threads = 1});
  ASSERT_TRUE(dev.ok() && cpu.ok());
  const cache::CachePolicy p = Policy(4, 8, 24, 6, true, 1);
  auto ds = (*dev)->NewSession({.n_ctx = 64, .cache = p});
  auto cs = (*cpu)->NewSession({.n_ctx = 64, .cache = p});
  ASSERT_TRUE(ds.ok() && cs.ok());
  const int64_t n_vocab = (*cpu)->n_vocab();
  const std::vector<int32_t> prompt = Tokens(40, n_vocab, 5);  // past one eviction batch
  ExpectBitEqual(Forward(**dev, **ds, prompt, false), Forward(**cpu, **cs, prompt, false),
                 "prefill");
  // A long request with a bad id at its end: refused before any step runs.
  std::vector<int32_t> bad = Tokens(20, n_vocab, 6);
  bad.back() = static_cast<int32_t>(n_vocab);
  std::vector<float> logits;
  ForwardRequest r{ds->get(), bad, false, &logits};
  const absl::Status st = (*dev)->ForwardBatch(std::span<ForwardRequest>(&r, 1));
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(st.message(), HasSubstr("tokens[19]"));
  ExpectSameStats(**ds, **cs, "after the refusal");
  for (int step = 0; step < 12; ++step) {
    const std::vector<int32_t> one = Tokens(1, n_vocab, 30 + step);
    ExpectBitEqual(Forward(**dev, **ds, one, false), Forward(**cpu, **cs, one, false),
                   "after refusal");
  }
  ExpectSameStats(**ds, **cs, "decodes after the refusal");
  EXPECT_EQ((*ds)->Pin(1, {}).code(), absl::StatusCode::kInvalidArgument);  // no layers given
  EXPECT_TRUE((*ds)->Overwrite({}).ok());
  // Policies the CPU model refuses are refused alike.
  auto too_big = (*dev)->NewSession({.n_ctx = 16, .cache = p});
  EXPECT_EQ(too_big.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(too_big.status().message(), HasSubstr("exceed n_ctx 16"));
  // The bounded cache's bytes are reserved in the worker's pool, and given back.
  auto pool = cache::CachePool::Create(1024);
  auto pooled = (*dev)->NewSession({.n_ctx = 64, .cache = p, .pool = pool});
  EXPECT_EQ(pooled.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(pool->reserved_bytes(), 0u);
}

// Rings restart their positions before they pass int32 (after 2^30 tokens in a session); with
// the rebase point lowered the device cache's ring must keep the CPU cache's rows bit for bit.
TEST(DeviceBoundedTest, RingRebaseKeepsTheCpuCachesRows) {
  HParams hp;
  hp.n_layer = 2;
  hp.n_head_kv = 2;
  hp.head_dim_k = 8;
  hp.head_dim_v = 4;
  hp.sliding_window = 6;
  hp.swa_period = 2;  // layer 0 a ring, layer 1 under the policy
  const kernels::RopeParams rope{
      .layout = kernels::RopeLayout::kNeox, .n_rot = 8, .freq_base = 10000, .freq_scale = 1};
  const cache::CachePolicy p = Policy(2, 3, 10, 3, true, 0);
  const int64_t rebase_at = 2 * (hp.sliding_window - 1 + p.slack + p.slack);
  auto ops = backend::NewCpuOps(1);
  auto dc = DeviceCache::Create(
      *ops, hp, {.n_ctx = 64, .policy = p, .rope = {rope, rope}, .ring_rebase_at = rebase_at});
  ASSERT_TRUE(dc.ok()) << dc.status();
  cache::BoundedKvCacheParams bp{
      .shape = {.n_layer = 2, .n_head_kv = 2, .head_dim_k = 8, .head_dim_v = 4},
      .policy = p,
      .layers = {{.rope = rope, .sliding_window = 6}, {.rope = rope}},
      .ring_rebase_at = rebase_at};
  auto cc = cache::NewBoundedKvCache(bp);
  ASSERT_TRUE(cc.ok()) << cc.status();
  DeviceCache& d = **dc;
  cache::KvCache& c = **cc;
  std::vector<float> k(3 * 2 * 8), v(3 * 2 * 4);
  std::vector<CwAttentionKv> rec;
  for (int64_t step = 0; step < 60; ++step) {
    const int64_t n = 1 + step % 3;
    for (size_t i = 0; i < k.size(); ++i) k[i] = std::sin(0.1f * static_cast<float>(i + 7 * step));
    for (size_t i = 0; i < v.size(); ++i) v[i] = std::cos(0.2f * static_cast<float>(i + step));
    ASSERT_TRUE(d.BeginStep(n).ok());
    ASSERT_TRUE(c.BeginStep(n).ok());
    for (int64_t il = 0; il < 2; ++il) {
      ASSERT_EQ(d.NextPosition(il), c.NextPosition(il)) << "step " << step << " layer " << il;
      std::vector<int32_t> pos(static_cast<size_t>(n));
      for (int64_t t = 0; t < n; ++t) pos[static_cast<size_t>(t)] = c.NextPosition(il) + t;
      ASSERT_TRUE(d.Append(il, k.data(), v.data()).ok());
      ASSERT_TRUE(c.Append(il, pos, k.data(), v.data()).ok());
    }
    d.Commit();
    ASSERT_TRUE(c.Commit().ok());
    for (int64_t il = 0; il < 2; ++il) {
      d.Records(il, &rec);
      for (int64_t h = 0; h < 2; ++h) {
        const cache::KvHeadView cv = c.View(il, h);
        const CwAttentionKv& dv = rec[static_cast<size_t>(h)];
        ASSERT_EQ(dv.n, cv.n) << "step " << step << " layer " << il;
        EXPECT_EQ(0, std::memcmp(dv.k, cv.k, static_cast<size_t>(cv.n * 8) * sizeof(float)));
        EXPECT_EQ(0, std::memcmp(dv.v, cv.v, static_cast<size_t>(cv.n * 4) * sizeof(float)));
        EXPECT_EQ(0, std::memcmp(dv.pos, cv.pos, static_cast<size_t>(cv.n) * sizeof(int32_t)))
            << "step " << step << " layer " << il;
      }
    }
  }
  // The ring's positions went back at least once (they would be >= 60 otherwise).
  EXPECT_LT(d.NextPosition(0), 60);
  EXPECT_EQ(d.Stats().n_evicted, c.Stats().n_evicted);
}

// On a GPU (skipped without one, saying why): the shipped agents (F16 weights, which the CPU
// multiplies with f32 activations too) stream through bounded caches with oldest-first
// eviction, so both sides keep the same entries whatever the float differences; every step's
// logits within 2e-3 of the CPU's logit range (f32 sums in another order, as the full-cache
// comparison in device_model_test) and the statistics equal.
TEST(DeviceBoundedCudaTest, StreamsLikeTheCpuModel) {
  if (absl::StatusOr<std::unique_ptr<backend::Ops>> probe = backend::OpenCudaOps(0); !probe.ok()) {
    GTEST_SKIP() << "CUDA half skipped: " << probe.status().message();
  }
  for (const char* name : {"cw-llama", "cw-gemma3"}) {
    const std::string path = kModelsDir + name + ".gguf";
    SCOPED_TRACE(path);
    auto ops = backend::OpenCudaOps(0);
    ASSERT_TRUE(ops.ok());
    auto dev = LoadDeviceModel(path, std::move(*ops));
    auto cpu = Model::Load(path, {.n_threads = 2});
    ASSERT_TRUE(dev.ok()) << dev.status();
    ASSERT_TRUE(cpu.ok());
    const cache::CachePolicy policy = Policy(4, 16, 48, 8, /*l2=*/false, 0);
    auto ds = (*dev)->NewSession({.n_ctx = 1024, .cache = policy});
    auto cs = (*cpu)->NewSession({.n_ctx = 1024, .cache = policy});
    ASSERT_TRUE(ds.ok() && cs.ok());
    const int64_t n_vocab = (*cpu)->n_vocab();
    for (int64_t step = 0; step < 300 && !testing::Test::HasFailure(); ++step) {
      const std::vector<int32_t> tokens =
          Tokens(step == 0 ? 29 : 1, n_vocab, static_cast<int>(step));
      const std::vector<float> d = Forward(**dev, **ds, tokens, false);
      const std::vector<float> c = Forward(**cpu, **cs, tokens, false);
      ASSERT_EQ(d.size(), c.size());
      const auto [lo, hi] = std::minmax_element(c.begin(), c.end());
      double err = 0;
      for (size_t i = 0; i < c.size(); ++i) err = std::max(err, std::fabs(double{d[i]} - c[i]));
      EXPECT_LE(err, 2e-3 * (*hi - *lo)) << "step " << step;
      ExpectSameStats(**ds, **cs, "step " + std::to_string(step));
    }
  }
}

}  // namespace
}  // namespace cachewire::model
