// ForwardRequest::embeddings: input vectors that stand where token embeddings would (what an LCF
// import runs its receiver over). Checked on the golden tiny models, every weight type:
// - a session fed the token table's own rows as embeddings gives the logits the tokens give,
//   also when tokens and embeddings alternate in one session and when a batch mixes both;
// - bad embeddings (with tokens too, not whole rows, not finite) are refused naming the field
//   and change nothing.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "engine/gguf/dequantize.h"
#include "engine/gguf/gguf_file.h"
#include "engine/model/model.h"

namespace cachewire::model {
namespace {

using ::testing::HasSubstr;

const std::string kGoldenDir = std::string(CACHEWIRE_SOURCE_DIR) + "/tests/engine/model/golden/";

std::unique_ptr<Model> LoadGolden(const std::string& name) {
  auto m = Model::Load(kGoldenDir + name + ".gguf", {.n_threads = 1});
  EXPECT_TRUE(m.ok()) << m.status();
  return m.ok() ? std::move(*m) : nullptr;
}

// The token table's rows for `tokens`, dequantised: (tokens.size(), n_embd).
std::vector<float> TableRows(const Model& m, const std::vector<int32_t>& tokens) {
  const gguf::TensorInfo* t = m.file().FindTensor("token_embd.weight");
  EXPECT_NE(t, nullptr);
  const int64_t n_embd = m.hparams().n_embd;
  const size_t row_bytes = *gguf::RowBytes(t->type, n_embd);
  std::vector<float> out(tokens.size() * static_cast<size_t>(n_embd));
  for (size_t i = 0; i < tokens.size(); ++i) {
    EXPECT_TRUE(gguf::DequantizeRow(t->type, t->data + static_cast<size_t>(tokens[i]) * row_bytes,
                                    out.data() + i * n_embd, n_embd)
                    .ok());
  }
  return out;
}

std::vector<float> Forward(Model& m, Session& s, const std::vector<int32_t>& tokens,
                           const std::vector<float>& embeddings) {
  std::vector<float> logits;
  ForwardRequest r{&s, tokens, /*all_logits=*/true, &logits, embeddings};
  const absl::Status st = m.ForwardBatch(std::span<ForwardRequest>(&r, 1));
  EXPECT_TRUE(st.ok()) << st;
  return logits;
}

double MaxAbsDiff(const std::vector<float>& a, const std::vector<float>& b) {
  EXPECT_EQ(a.size(), b.size());
  double worst = 0;
  for (size_t i = 0; i < std::min(a.size(), b.size()); ++i) worst = std::max(worst, double{std::fabs(a[i] - b[i])});
  return worst;
}

class EmbeddingInputTest : public ::testing::TestWithParam<const char*> {};

TEST_P(EmbeddingInputTest, TableRowsGiveTheTokensLogits) {
  auto m = LoadGolden(GetParam());
  ASSERT_NE(m, nullptr);
  const int64_t V = m->n_vocab();
  const std::vector<int32_t> head = {1, static_cast<int32_t>(V / 3), 7};
  const std::vector<int32_t> tail = {static_cast<int32_t>(V - 2), 11, static_cast<int32_t>(V / 2), 5};
  auto by_tokens = *m->NewSession({.n_ctx = 32});
  const std::vector<float> want_head = Forward(*m, *by_tokens, head, {});
  const std::vector<float> want_tail = Forward(*m, *by_tokens, tail, {});
  // Tokens first, then the rest as embeddings: the same entries, so the same logits.
  auto mixed = *m->NewSession({.n_ctx = 32});
  EXPECT_LT(MaxAbsDiff(Forward(*m, *mixed, head, {}), want_head), 1e-6);
  EXPECT_LT(MaxAbsDiff(Forward(*m, *mixed, {}, TableRows(*m, tail)), want_tail), 1e-4);
  // A batch of one session by tokens and one by embeddings.
  auto a = *m->NewSession({.n_ctx = 32});
  auto b = *m->NewSession({.n_ctx = 32});
  const std::vector<float> rows = TableRows(*m, head);
  std::vector<float> la, lb;
  ForwardRequest batch[] = {{a.get(), head, true, &la}, {b.get(), {}, true, &lb, rows}};
  ASSERT_TRUE(m->ForwardBatch(batch).ok());
  EXPECT_LT(MaxAbsDiff(la, want_head), 1e-4);
  EXPECT_LT(MaxAbsDiff(lb, want_head), 1e-4);
  // A different vector is a different input: the logits move.
  std::vector<float> other = rows;
  for (float& x : other) x = -x;
  auto c = *m->NewSession({.n_ctx = 32});
  EXPECT_GT(MaxAbsDiff(Forward(*m, *c, {}, other), want_head), 1e-3);
}

INSTANTIATE_TEST_SUITE_P(GoldenModels, EmbeddingInputTest,
                         ::testing::Values("tiny-llama-mha-f32", "tiny-llama-gqa2-q8_0",
                                           "tiny-llama-gqa4-q4_k-mixed", "tiny-gemma3-gqa4-f16"),
                         [](const ::testing::TestParamInfo<const char*>& info) {
                           std::string n = info.param;
                           std::replace(n.begin(), n.end(), '-', '_');
                           return n;
                         });

TEST(EmbeddingInputErrors, NameTheFieldAndChangeNothing) {
  auto m = LoadGolden("tiny-llama-mha-f32");
  ASSERT_NE(m, nullptr);
  const int64_t n_embd = m->hparams().n_embd;
  auto s = *m->NewSession({.n_ctx = 16});
  std::vector<float> logits;
  const std::vector<int32_t> tokens = {1, 2};
  const std::vector<float> row(static_cast<size_t>(n_embd), 0.5f);
  auto run = [&](std::span<const int32_t> t, std::span<const float> e) {
    ForwardRequest r{s.get(), t, false, &logits, e};
    return m->ForwardBatch(std::span<ForwardRequest>(&r, 1));
  };
  absl::Status st = run(tokens, row);
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(st.message(), HasSubstr("embeddings"));
  st = run({}, std::span<const float>(row.data(), row.size() - 1));
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(st.message(), HasSubstr("embeddings"));
  std::vector<float> nan_row = row;
  nan_row[3] = std::numeric_limits<float>::quiet_NaN();
  st = run({}, nan_row);
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(st.message(), HasSubstr("embeddings[3]"));
  EXPECT_EQ(s->n_past(), 0);
  EXPECT_TRUE(run({}, row).ok());
  EXPECT_EQ(s->n_past(), 1);
}

}  // namespace
}  // namespace cachewire::model
