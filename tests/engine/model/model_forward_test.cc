// Forward-pass behaviour beyond the golden logits, on the golden tiny models:
// - prefill of N tokens == N single-token decodes (and chunked prefill), every position;
// - ForwardBatch of three sessions of different lengths == each session run alone;
// - errors: bad token ids and empty requests name the position/field, n_ctx overflow is
//   ResourceExhausted and leaves the session unchanged, a failing batch changes no session;
// - load errors: a missing tensor or a wrong shape names the file and the tensor.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "engine/gguf/gguf_writer.h"
#include "engine/model/model.h"

namespace cachewire::model {
namespace {

using ::testing::HasSubstr;

const std::string kGoldenDir = std::string(CACHEWIRE_SOURCE_DIR) + "/tests/engine/model/golden/";
const char* const kModels[] = {
    "tiny-llama-mha-f32",         "tiny-llama-gqa4-f16-rope3",    "tiny-llama-gqa2-q8_0",
    "tiny-llama-gqa4-q4_k-mixed", "tiny-gemma3-gqa4-f16",         "tiny-gemma3-gqa2-q8_0-ropelin"};

std::unique_ptr<Model> LoadGolden(const std::string& name, int n_threads = 2) {
  auto m = Model::Load(kGoldenDir + name + ".gguf", {.n_threads = n_threads});
  EXPECT_TRUE(m.ok()) << m.status();
  return m.ok() ? std::move(*m) : nullptr;
}

// Deterministic ids in [0, n_vocab).
std::vector<int32_t> Tokens(int64_t n, int64_t n_vocab, int seed) {
  std::vector<int32_t> t;
  for (int64_t i = 0; i < n; ++i) t.push_back(static_cast<int32_t>((i * 7919 + seed * 104729 + 13) % n_vocab));
  return t;
}

// max |a - b| / (range of b), over rows of n_vocab.
double RelErr(const std::vector<float>& a, const std::vector<float>& b, int64_t n_vocab) {
  EXPECT_EQ(a.size(), b.size());
  double worst = 0;
  for (size_t r = 0; r * n_vocab < std::min(a.size(), b.size()); ++r) {
    const float* pa = a.data() + r * n_vocab;
    const float* pb = b.data() + r * n_vocab;
    const auto [lo, hi] = std::minmax_element(pb, pb + n_vocab);
    double err = 0;
    for (int64_t i = 0; i < n_vocab; ++i) err = std::max(err, double{std::fabs(pa[i] - pb[i])});
    worst = std::max(worst, err / (*hi - *lo));
  }
  return worst;
}

std::vector<float> Prefill(Model& m, Session& s, std::span<const int32_t> tokens) {
  std::vector<float> logits;
  ForwardRequest r{&s, tokens, /*all_logits=*/true, &logits};
  EXPECT_TRUE(m.ForwardBatch(std::span<ForwardRequest>(&r, 1)).ok());
  return logits;
}

class PerModelTest : public ::testing::TestWithParam<const char*> {};

TEST_P(PerModelTest, PrefillEqualsSingleTokenDecodes) {
  auto m = LoadGolden(GetParam());
  ASSERT_NE(m, nullptr);
  const int64_t nv = m->n_vocab();
  const std::vector<int32_t> tokens = Tokens(40, nv, 1);  // > the gemma3 window of 8
  auto s1 = *m->NewSession({.n_ctx = 64});
  const std::vector<float> prefill = Prefill(*m, *s1, tokens);
  auto s2 = *m->NewSession({.n_ctx = 64});
  std::vector<float> decodes, last;
  for (int32_t t : tokens) {
    ASSERT_TRUE(m->Forward(*s2, {&t, 1}, &last).ok());
    decodes.insert(decodes.end(), last.begin(), last.end());
  }
  EXPECT_EQ(s2->n_past(), 40);
  EXPECT_LT(RelErr(decodes, prefill, nv), 1e-4);
  // Chunked prefill: 17 + 1 + 22 tokens.
  auto s3 = *m->NewSession({.n_ctx = 64});
  std::vector<float> chunked = Prefill(*m, *s3, std::span(tokens).subspan(0, 17));
  for (auto [b, n] : {std::pair{17, 1}, std::pair{18, 22}}) {
    const std::vector<float> part = Prefill(*m, *s3, std::span(tokens).subspan(b, n));
    chunked.insert(chunked.end(), part.begin(), part.end());
  }
  EXPECT_LT(RelErr(chunked, prefill, nv), 1e-4);
  // Clear starts over.
  s3->Clear();
  EXPECT_EQ(s3->n_past(), 0);
  EXPECT_LT(RelErr(Prefill(*m, *s3, tokens), prefill, nv), 1e-6);
}

TEST_P(PerModelTest, BatchOfSessionsEqualsEachAlone) {
  auto m = LoadGolden(GetParam());
  ASSERT_NE(m, nullptr);
  const int64_t nv = m->n_vocab();
  const std::vector<int32_t> history = Tokens(11, nv, 2);
  const std::vector<int32_t> a = Tokens(6, nv, 3), b = Tokens(1, nv, 4), c = Tokens(19, nv, 5);
  // Alone: session b first gets a history, then each runs its tokens.
  std::vector<float> want_a, want_b, want_c, unused;
  {
    auto sa = *m->NewSession({}), sb = *m->NewSession({}), sc = *m->NewSession({});
    ASSERT_TRUE(m->Forward(*sb, history, &unused).ok());
    want_a = Prefill(*m, *sa, a);
    ASSERT_TRUE(m->Forward(*sb, b, &want_b).ok());
    want_c = Prefill(*m, *sc, c);
  }
  auto sa = *m->NewSession({}), sb = *m->NewSession({}), sc = *m->NewSession({});
  ASSERT_TRUE(m->Forward(*sb, history, &unused).ok());
  std::vector<float> got_a, got_b, got_c;
  ForwardRequest reqs[] = {{sa.get(), a, true, &got_a}, {sb.get(), b, false, &got_b},
                           {sc.get(), c, true, &got_c}};
  ASSERT_TRUE(m->ForwardBatch(reqs).ok());
  EXPECT_LT(RelErr(got_a, want_a, nv), 1e-4);
  EXPECT_LT(RelErr(got_b, want_b, nv), 1e-4);
  EXPECT_LT(RelErr(got_c, want_c, nv), 1e-4);
  EXPECT_EQ(sa->n_past(), 6);
  EXPECT_EQ(sb->n_past(), 12);
  EXPECT_EQ(sc->n_past(), 19);
}

INSTANTIATE_TEST_SUITE_P(Golden, PerModelTest, ::testing::ValuesIn(kModels),
                         [](const ::testing::TestParamInfo<const char*>& info) {
                           std::string n = info.param;
                           std::replace(n.begin(), n.end(), '-', '_');
                           return n;
                         });

TEST(ForwardErrorsTest, BadRequestsNameTheField) {
  auto m = LoadGolden("tiny-llama-gqa2-q8_0");
  ASSERT_NE(m, nullptr);
  auto s = *m->NewSession({.n_ctx = 16});
  std::vector<float> logits;
  const std::vector<int32_t> bad = {1, 2, 320, 3};
  absl::Status st = m->Forward(*s, bad, &logits);
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(st.message(), HasSubstr("tokens[2]"));
  const std::vector<int32_t> negative = {-1};
  EXPECT_THAT(m->Forward(*s, negative, &logits).message(), HasSubstr("tokens[0]"));
  st = m->Forward(*s, {}, &logits);
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(st.message(), HasSubstr("tokens"));
  EXPECT_EQ(s->n_past(), 0);
  EXPECT_EQ(m->NewSession({.n_ctx = -5}).status().code(), absl::StatusCode::kInvalidArgument);
  auto other = LoadGolden("tiny-llama-mha-f32");
  auto foreign = *other->NewSession({});
  EXPECT_THAT(m->Forward(*foreign, {bad.data(), 2}, &logits).message(), HasSubstr("session"));
}

TEST(ForwardErrorsTest, OverflowLeavesSessionUnchanged) {
  auto m = LoadGolden("tiny-gemma3-gqa4-f16");
  ASSERT_NE(m, nullptr);
  const std::vector<int32_t> t = Tokens(8, m->n_vocab(), 6);
  auto s = *m->NewSession({.n_ctx = 8});
  std::vector<float> logits, want;
  ASSERT_TRUE(m->Forward(*s, std::span(t).subspan(0, 5), &logits).ok());
  absl::Status st = m->Forward(*s, std::span(t).subspan(5, 3).first(3), &logits);
  ASSERT_TRUE(st.ok()) << st;  // exactly n_ctx
  s->Clear();
  ASSERT_TRUE(m->Forward(*s, std::span(t).subspan(0, 5), &logits).ok());
  const std::vector<int32_t> four = Tokens(4, m->n_vocab(), 7);
  st = m->Forward(*s, four, &logits);
  EXPECT_EQ(st.code(), absl::StatusCode::kResourceExhausted) << st;
  EXPECT_EQ(s->n_past(), 5);
  // The session continues as if the failing call never happened.
  ASSERT_TRUE(m->Forward(*s, std::span(t).subspan(5, 3), &logits).ok());
  auto fresh = *m->NewSession({.n_ctx = 8});
  ASSERT_TRUE(m->Forward(*fresh, t, &want).ok());
  EXPECT_LT(RelErr(logits, want, m->n_vocab()), 1e-4);
}

TEST(ForwardErrorsTest, FailingBatchChangesNoSession) {
  auto m = LoadGolden("tiny-llama-mha-f32");
  ASSERT_NE(m, nullptr);
  auto a = *m->NewSession({.n_ctx = 32}), b = *m->NewSession({.n_ctx = 4});
  const std::vector<int32_t> ok = Tokens(3, m->n_vocab(), 8), too_long = Tokens(5, m->n_vocab(), 9);
  std::vector<float> la, lb;
  ForwardRequest reqs[] = {{a.get(), ok, false, &la}, {b.get(), too_long, false, &lb}};
  absl::Status st = m->ForwardBatch(reqs);
  EXPECT_EQ(st.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(st.message(), HasSubstr("requests[1]"));
  EXPECT_EQ(a->n_past(), 0);
  EXPECT_EQ(b->n_past(), 0);
  ForwardRequest twice[] = {{a.get(), ok, false, &la}, {a.get(), ok, false, &lb}};
  EXPECT_THAT(m->ForwardBatch(twice).message(), HasSubstr("same session"));
  EXPECT_EQ(a->n_past(), 0);
}

// ---- load errors on files built with gguf::Writer -------------------------------------------

struct TinySpec {
  std::string skip = "";     // tensor left out
  std::string reshape = "";  // tensor given one more element in its last dimension
};

// A 1-layer llama (d=32, 2 heads of 16, 1 kv head, ff 64, vocab 50), all F32 zeros.
std::string WriteTiny(const TinySpec& spec, const std::string& file_name) {
  gguf::Writer w;
  using gguf::OwnedValue;
  EXPECT_TRUE(w.Set("general.architecture", OwnedValue::Str("llama")).ok());
  for (auto [k, v] : {std::pair{"embedding_length", 32}, {"block_count", 1},
                      {"feed_forward_length", 64}, {"attention.head_count", 2},
                      {"attention.head_count_kv", 1}}) {
    EXPECT_TRUE(w.Set(std::string("llama.") + k, OwnedValue::U32(v)).ok());
  }
  const std::vector<std::pair<std::string, std::vector<int64_t>>> tensors = {
      {"token_embd.weight", {32, 50}},         {"output_norm.weight", {32}},
      {"output.weight", {32, 50}},             {"blk.0.attn_norm.weight", {32}},
      {"blk.0.attn_q.weight", {32, 32}},       {"blk.0.attn_k.weight", {32, 16}},
      {"blk.0.attn_v.weight", {32, 16}},       {"blk.0.attn_output.weight", {32, 32}},
      {"blk.0.ffn_norm.weight", {32}},         {"blk.0.ffn_gate.weight", {32, 64}},
      {"blk.0.ffn_up.weight", {32, 64}},       {"blk.0.ffn_down.weight", {64, 32}}};
  for (auto [name, shape] : tensors) {
    if (name == spec.skip) continue;
    if (name == spec.reshape) shape.back() += 1;
    int64_t n = 1;
    for (int64_t d : shape) n *= d;
    EXPECT_TRUE(w.AddTensor(name, gguf::TensorType::kF32, shape,
                            std::vector<uint8_t>(static_cast<size_t>(n) * 4)).ok());
  }
  const std::string path = ::testing::TempDir() + "/" + file_name;
  EXPECT_TRUE(w.WriteFile(path).ok());
  return path;
}

TEST(LoadErrorsTest, MissingTensorIsNamed) {
  const std::string path = WriteTiny({.skip = "blk.0.ffn_up.weight"}, "missing.gguf");
  auto m = Model::Load(path);
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(m.status().message(), HasSubstr(path));
  EXPECT_THAT(m.status().message(), HasSubstr("blk.0.ffn_up.weight: missing tensor"));
}

TEST(LoadErrorsTest, WrongShapeIsNamedWithTheExpectedShape) {
  const std::string path = WriteTiny({.reshape = "blk.0.attn_k.weight"}, "shape.gguf");
  auto m = Model::Load(path);
  ASSERT_FALSE(m.ok());
  EXPECT_THAT(m.status().message(), HasSubstr("blk.0.attn_k.weight: shape [32, 17], expected [32, 16]"));
  const std::string norm = WriteTiny({.reshape = "blk.0.ffn_norm.weight"}, "norm.gguf");
  EXPECT_THAT(Model::Load(norm).status().message(), HasSubstr("blk.0.ffn_norm.weight: shape [33]"));
}

TEST(LoadErrorsTest, NotAFileIsAnError) {
  EXPECT_FALSE(Model::Load(::testing::TempDir() + "/does-not-exist.gguf").ok());
}

}  // namespace
}  // namespace cachewire::model
