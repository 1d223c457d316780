// The device model (device_model.h) against the CPU model on the golden tiny models (every
// weight type, both architectures, GQA/MHA, RoPE variants) and the shipped agents:
// - over CpuOps (the CUDA path's twin: same ops, host memory) the logits are the CPU model's
//   bit for bit, for a prefill, decode steps after it, every row's logits, input
//   embeddings, and after Clear; requests are checked and refused like the CPU model's, a
//   refused or overflowing request leaves the session as it was, and the features not on the
//   device yet (pins, rewrites) are refused saying so (bounded caches: device_bounded_test);
// - over CudaOps (skipped without a GPU, saying why) the same runs agree with the CPU model
//   within the bound of f32 reordering and f32 activations (the CPU quantises activations for
//   its Q8_0/Q4_K dots).
#include "engine/model/device_model.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "engine/backend/cpu/cpu_ops.h"
#include "engine/backend/cuda_ops.h"
#include "engine/model/model.h"
#include "tests/engine/model/device_test_util.h"

namespace cachewire::model {
namespace {

using device_testing::AllModelPaths;
using device_testing::Forward;
using device_testing::kGoldenDir;
using device_testing::RelErr;
using device_testing::Tokens;
using ::testing::HasSubstr;

// A prefill with every row's logits, four decode steps, a chunk of 3, input embeddings, then
// Clear and a different prefill: every result of `dev` within `bound` of the CPU model's.
void ExpectSameAsCpu(Model& dev, Model& cpu, double bound) {
  const int64_t n_vocab = cpu.n_vocab();
  auto ds = dev.NewSession({.n_ctx = 96});
  auto cs = cpu.NewSession({.n_ctx = 96});
  ASSERT_TRUE(ds.ok() && cs.ok());
  const std::vector<int32_t> prompt = Tokens(37, n_vocab, 1);
  EXPECT_LE(RelErr(Forward(dev, **ds, prompt, true), Forward(cpu, **cs, prompt, true), n_vocab),
            bound)
      << "prefill, every row";
  for (int step = 0; step < 4; ++step) {
    const std::vector<int32_t> one = Tokens(1, n_vocab, 10 + step);
    EXPECT_LE(RelErr(Forward(dev, **ds, one, false), Forward(cpu, **cs, one, false), n_vocab),
              bound)
        << "decode step " << step;
  }
  const std::vector<int32_t> chunk = Tokens(3, n_vocab, 20);
  EXPECT_LE(RelErr(Forward(dev, **ds, chunk, false), Forward(cpu, **cs, chunk, false), n_vocab),
            bound);
  EXPECT_EQ((*ds)->n_past(), (*cs)->n_past());
  // Input rows instead of tokens (an LCF import's path).
  std::vector<float> rows(static_cast<size_t>(2 * cpu.hparams().n_embd));
  for (size_t i = 0; i < rows.size(); ++i) rows[i] = std::sin(0.37f * static_cast<float>(i));
  std::vector<float> dl, cl;
  ForwardRequest dr{ds->get(), {}, true, &dl, rows};
  ForwardRequest cr{cs->get(), {}, true, &cl, rows};
  ASSERT_TRUE(dev.ForwardBatch(std::span<ForwardRequest>(&dr, 1)).ok());
  ASSERT_TRUE(cpu.ForwardBatch(std::span<ForwardRequest>(&cr, 1)).ok());
  EXPECT_LE(RelErr(dl, cl, n_vocab), bound) << "embeddings input";
  (*ds)->Clear();
  (*cs)->Clear();
  EXPECT_EQ((*ds)->n_past(), 0);
  const std::vector<int32_t> again = Tokens(11, n_vocab, 3);
  EXPECT_LE(RelErr(Forward(dev, **ds, again, false), Forward(cpu, **cs, again, false), n_vocab),
            bound)
      << "after Clear";
}

TEST(DeviceModelCpuTwinTest, LogitsAreTheCpuModels) {
  for (const std::string& path : AllModelPaths()) {
    SCOPED_TRACE(path);
    auto dev = LoadDeviceModel(path, backend::NewCpuOps(2));
    auto cpu = Model::Load(path, {.n_threads = 2});
    ASSERT_TRUE(dev.ok()) << dev.status();
    ASSERT_TRUE(cpu.ok()) << cpu.status();
    // The same kernels on the same inputs in the same order: bit-identical logits.
    ExpectSameAsCpu(**dev, **cpu, 0.0);
  }
}

// Several sessions in one ForwardBatch (rows concatenated, each weight read once): a full
// session, a bounded one whose request runs as several steps, one with every row's logits and
// then input rows; each request's logits the CPU model's batch's bit for bit, prefill and a run
// of batched decode steps.
TEST(DeviceModelCpuTwinTest, BatchesLikeTheCpuModel) {
  cache::CachePolicy bounded;
  bounded.bounded = true;
  bounded.n_sink = 4;
  bounded.window = 16;
  bounded.budget = 48;
  bounded.slack = 8;
  for (const std::string& path : AllModelPaths()) {
    SCOPED_TRACE(path);
    auto dev = LoadDeviceModel(path, backend::NewCpuOps(2));
    auto cpu = Model::Load(path, {.n_threads = 2});
    ASSERT_TRUE(dev.ok() && cpu.ok());
    const int64_t n_vocab = (*cpu)->n_vocab();
    std::vector<std::unique_ptr<Session>> ds, cs;
    for (const SessionParams& p : {SessionParams{.n_ctx = 128}, SessionParams{.cache = bounded},
                                   SessionParams{.n_ctx = 128}}) {
      ds.push_back(std::move(*(*dev)->NewSession(p)));
      cs.push_back(std::move(*(*cpu)->NewSession(p)));
    }
    const auto run = [&](const std::vector<std::vector<int32_t>>& tokens,
                         const std::vector<bool>& all, std::span<const float> rows) {
      std::vector<std::vector<float>> dl(3), cl(3);
      std::vector<ForwardRequest> dr, cr;
      for (size_t i = 0; i < 3; ++i) {
        const bool input_rows = i == 2 && !rows.empty();
        dr.push_back({ds[i].get(), input_rows ? std::span<const int32_t>() : tokens[i], all[i],
                      &dl[i], input_rows ? rows : std::span<const float>()});
        cr.push_back({cs[i].get(), input_rows ? std::span<const int32_t>() : tokens[i], all[i],
                      &cl[i], input_rows ? rows : std::span<const float>()});
      }
      ASSERT_TRUE((*dev)->ForwardBatch(dr).ok());
      ASSERT_TRUE((*cpu)->ForwardBatch(cr).ok());
      for (size_t i = 0; i < 3; ++i) {
        ASSERT_EQ(dl[i].size(), cl[i].size()) << "session " << i;
        EXPECT_EQ(RelErr(dl[i], cl[i], n_vocab), 0.0) << "session " << i;
        EXPECT_EQ(ds[i]->n_past(), cs[i]->n_past()) << "session " << i;
      }
    };
    run({Tokens(7, n_vocab, 1), Tokens(30, n_vocab, 2), Tokens(12, n_vocab, 3)},
        {false, false, true}, {});
    for (int step = 0; step < 12 && !HasFailure(); ++step) {
      run({Tokens(1, n_vocab, 10 + step), Tokens(1, n_vocab, 30 + step),
           Tokens(1, n_vocab, 50 + step)},
          {false, false, false}, {});
    }
    std::vector<float> rows(static_cast<size_t>(2 * (*cpu)->hparams().n_embd));
    for (size_t i = 0; i < rows.size(); ++i) rows[i] = std::cos(0.21f * static_cast<float>(i));
    run({Tokens(3, n_vocab, 70), Tokens(9, n_vocab, 71), {}}, {true, false, true}, rows);
  }
}

TEST(DeviceModelCpuTwinTest, RefusesLikeTheCpuModelAndChangesNothing) {
  auto dev = LoadDeviceModel(kGoldenDir + "tiny-llama-gqa2-q8_0.gguf", backend::NewCpuOps(1));
  auto other = LoadDeviceModel(kGoldenDir + "tiny-llama-gqa2-q8_0.gguf", backend::NewCpuOps(1));
  ASSERT_TRUE(dev.ok() && other.ok());
  Model& m = **dev;
  auto s = m.NewSession({.n_ctx = 8});
  ASSERT_TRUE(s.ok());
  const std::vector<int32_t> five = Tokens(5, m.n_vocab(), 1);
  const std::vector<float> before = Forward(m, **s, five, false);
  std::vector<float> logits;
  const std::vector<int32_t> bad = {1, static_cast<int32_t>(m.n_vocab())};
  ForwardRequest r{s->get(), bad, false, &logits};
  absl::Status st = m.ForwardBatch(std::span<ForwardRequest>(&r, 1));
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(st.message(), HasSubstr("tokens[1]"));
  const std::vector<int32_t> four = Tokens(4, m.n_vocab(), 2);  // 5 + 4 > n_ctx 8
  r.tokens = four;
  st = m.ForwardBatch(std::span<ForwardRequest>(&r, 1));
  EXPECT_EQ(st.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(st.message(), HasSubstr("exceed n_ctx 8"));
  EXPECT_EQ((*s)->n_past(), 5);
  auto foreign = (*other)->NewSession({.n_ctx = 8});
  ASSERT_TRUE(foreign.ok());
  r.session = foreign->get();
  r.tokens = five;
  EXPECT_THAT(m.ForwardBatch(std::span<ForwardRequest>(&r, 1)).message(),
              HasSubstr("session: null or from another model"));
  // The refusals changed nothing: the next token's logits are those of an untouched twin.
  auto twin = m.NewSession({.n_ctx = 8});
  ASSERT_TRUE(twin.ok());
  Forward(m, **twin, five, false);
  const std::vector<int32_t> next = {7};
  EXPECT_EQ(Forward(m, **s, next, false), Forward(m, **twin, next, false));
  EXPECT_FALSE(before.empty());
}

TEST(DeviceModelCpuTwinTest, SessionOperationsCheckLikeTheCpuModels) {
  auto dev = LoadDeviceModel(kGoldenDir + "tiny-gemma3-gqa4-f16.gguf", backend::NewCpuOps(1));
  ASSERT_TRUE(dev.ok());
  cache::CachePolicy bounded;
  bounded.bounded = true;
  bounded.n_sink = 4;
  bounded.window = 16;
  bounded.budget = 32;
  bounded.slack = 8;
  auto b = (*dev)->NewSession({.n_ctx = 64, .cache = bounded});  // bounded caches are there now
  ASSERT_TRUE(b.ok()) << b.status();
  // Pins and rewrites are there too (device_handoff_test), with the CPU cache's checks.
  EXPECT_EQ((*b)->Pin(1, {}).code(), absl::StatusCode::kInvalidArgument);  // no layers given
  EXPECT_TRUE((*b)->Overwrite({}).ok());
  auto s = (*dev)->NewSession({.n_ctx = 16});
  ASSERT_TRUE(s.ok());
  EXPECT_EQ((*s)->Pin(1, {}).code(), absl::StatusCode::kFailedPrecondition);  // full: no pins
  EXPECT_TRUE((*s)->Overwrite({}).ok());
  // A full cache's bytes are reserved in the worker's pool like the CPU model's.
  auto pool = cache::CachePool::Create(1024);
  auto big = (*dev)->NewSession({.n_ctx = 64, .pool = pool});
  EXPECT_EQ(big.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(pool->reserved_bytes(), 0u);
}

TEST(DeviceSelectionTest, ParseAndLoadByDevice) {
  EXPECT_EQ(*ParseDevice("cpu"), Device::kCpu);
  EXPECT_EQ(*ParseDevice("cuda"), Device::kCuda);
  EXPECT_EQ(*ParseDevice("auto"), Device::kAuto);
  EXPECT_EQ(*ParseDevice("cpu-twin"), Device::kCpuTwin);
  EXPECT_THAT(ParseDevice("gpu").status().message(),
              HasSubstr("\"gpu\" is not cpu, cuda, auto or cpu-twin"));
  const std::string path = kGoldenDir + "tiny-llama-gqa2-q8_0.gguf";
  // auto always gives a working model: the GPU when there is one, else the CPU.
  auto any = Model::Load(path, {.n_threads = 1, .device = Device::kAuto});
  ASSERT_TRUE(any.ok()) << any.status();
  auto s = (*any)->NewSession({.n_ctx = 16});
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(Forward(**any, **s, Tokens(3, (*any)->n_vocab(), 1), false).size(),
            static_cast<size_t>((*any)->n_vocab()));
  auto cuda = Model::Load(path, {.n_threads = 1, .device = Device::kCuda});
  if (backend::OpenCudaOps(0).ok()) {
    EXPECT_TRUE(cuda.ok()) << cuda.status();
  } else {  // no GPU: refused, saying why
    EXPECT_EQ(cuda.status().code(), absl::StatusCode::kUnavailable);
    EXPECT_THAT(cuda.status().message(), HasSubstr("device cuda: "));
  }
}

TEST(DeviceModelCudaTest, LogitsMatchTheCpuModel) {
  if (absl::StatusOr<std::unique_ptr<backend::Ops>> probe = backend::OpenCudaOps(0); !probe.ok()) {
    GTEST_SKIP() << "CUDA half skipped: " << probe.status().message();
  }
  for (const std::string& path : AllModelPaths()) {
    SCOPED_TRACE(path);
    auto ops = backend::OpenCudaOps(0);
    ASSERT_TRUE(ops.ok());
    auto dev = LoadDeviceModel(path, std::move(*ops));
    auto cpu = Model::Load(path, {.n_threads = 2});
    ASSERT_TRUE(dev.ok()) << dev.status();
    ASSERT_TRUE(cpu.ok());
    // f32 activations on the GPU vs. the CPU's Q8 activations for quantised weights: the
    // golden tests bound the CPU itself at 1e-3 of the logit range against a float64
    // reference, and the GPU's f32 path is nearer that reference, so twice that bounds both.
    ExpectSameAsCpu(**dev, **cpu, 2e-3);
  }
}

}  // namespace
}  // namespace cachewire::model
