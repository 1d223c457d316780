// C2C on live sessions (c2c_session.h) against the torch network that trains fusers (golden
// files from tools/train/make_c2c_goldens.py), on the shipped agents in both directions:
// - the tokens the agents' tokenizers give the shared text, and their byte spans, are torch's;
// - exporting the sharer's cache and fusing it into the receiver's session leaves there, in
//   place, the fused entries torch computes (keys rotated back for their positions);
// - bounded sessions fuse the entries both sides still hold and leave the rest as they were;
// - a receiver holding another text, or an export that does not fit the fuser, is refused and
//   the session is left exactly as it was.
#include "engine/adapter/c2c_session.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <tuple>
#include <vector>

#include "engine/adapter/token_spans.h"
#include "engine/model/model.h"
#include "engine/tokenizer/tokenizer.h"
#include "tests/engine/adapter/c2c_test_util.h"
#include "tests/engine/model/logit_compare.h"

namespace cachewire::adapter {
namespace {

using ::testing::HasSubstr;
using model::testing::Cosine;
using model::testing::ReadF32;
using testing::PlainLayer;
using testing::ReadJson;
using testing::Spans;
using testing::ReadLayer;
using testing::RelErr;

const std::string kSource = CACHEWIRE_SOURCE_DIR;
const std::string kGolden = kSource + "/tests/data/adapters/golden/";

// The sharer context of a committed test episode (the golden's shared text).
std::string EpisodeText(const std::string& id) {
  std::ifstream in(kSource + "/tools/suite/data/test.jsonl");
  for (std::string line; std::getline(in, line);) {
    const nlohmann::json e = nlohmann::json::parse(line);
    if (e["id"] == id) return e["sharer_context"].get<std::string>();
  }
  ADD_FAILURE() << "no episode " << id;
  return "";
}

bool SameSpans(const std::vector<TokenSpan>& a, const std::vector<TokenSpan>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i].begin != b[i].begin || a[i].end != b[i].end) return false;
  }
  return true;
}

// Bounded policies with a small step: Gemma 3's local layers then keep rings of their last
// 127 + 8 entries, fewer than the shared text's 139 tokens or so.
const cache::CachePolicy kBounded{.bounded = true, .window = 256, .budget = 448, .slack = 8};

class C2cSession : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    doc_ = ReadJson(kGolden + GetParam() + ".c2c.json");
    text_ = EpisodeText(doc_["episode"].get<std::string>());
    auto f = C2cFuser::Load(kSource + "/" + doc_["fuser"].get<std::string>());
    auto s = model::Model::Load(kSource + "/models/" + doc_["sharer"].get<std::string>() + ".gguf",
                                {.n_threads = 1});
    auto r = model::Model::Load(
        kSource + "/models/" + doc_["receiver"].get<std::string>() + ".gguf", {.n_threads = 1});
    ASSERT_TRUE(f.ok() && s.ok() && r.ok());
    fuser_ = std::move(*f);
    sharer_ = std::move(*s);
    receiver_ = std::move(*r);
    sharer_ids_ = doc_["sharer_ids"].get<std::vector<int32_t>>();
    receiver_ids_ = doc_["receiver_ids"].get<std::vector<int32_t>>();
    fused_ = ReadF32(kGolden + doc_["fused_file"].get<std::string>());
  }

  std::unique_ptr<model::Session> Prefill(model::Model& m, const std::vector<int32_t>& ids,
                                          const cache::CachePolicy& policy) {
    auto session = m.NewSession({.cache = policy});
    EXPECT_TRUE(session.ok()) << session.status();
    std::vector<float> logits;
    EXPECT_TRUE(m.Forward(**session, ids, &logits).ok());
    return std::move(*session);
  }

  // Golden fused rows of receiver layer il: keys (n, H, dk) then values, token-major.
  std::pair<const float*, const float*> GoldenLayer(int64_t il) const {
    const model::HParams& hp = receiver_->hparams();
    const size_t n = receiver_ids_.size();
    const size_t per_layer =
        n * static_cast<size_t>(hp.n_head_kv * (hp.head_dim_k + hp.head_dim_v));
    const float* k = fused_.data() + static_cast<size_t>(il) * per_layer;
    return {k, k + n * static_cast<size_t>(hp.n_head_kv * hp.head_dim_k)};
  }

  nlohmann::json doc_;
  std::string text_;
  std::unique_ptr<C2cFuser> fuser_;
  std::unique_ptr<model::Model> sharer_, receiver_;
  std::vector<int32_t> sharer_ids_, receiver_ids_;
  std::vector<float> fused_;
};

TEST_P(C2cSession, TokensAndSpansOfTheSharedTextAreTorchs) {
  for (const auto& [m, side] :
       {std::pair(sharer_.get(), "sharer"), std::pair(receiver_.get(), "receiver")}) {
    SCOPED_TRACE(side);
    const std::vector<int32_t> ids = m->tokenizer().Encode(text_);
    EXPECT_EQ(ids, doc_[std::string(side) + "_ids"].get<std::vector<int32_t>>());
    auto spelled = SpellTokens(m->tokenizer(), ids);
    ASSERT_TRUE(spelled.ok()) << spelled.status();
    EXPECT_EQ(spelled->text, text_);
    EXPECT_TRUE(SameSpans(spelled->spans, Spans(doc_[std::string(side) + "_spans"])));
  }
}

// A text appended in pieces (each piece one tokenizer call, as the worker's appends are) spells
// the same text once the calls' starts are known: a SentencePiece encoder puts a space in front
// of each call, which the spelling leaves out.
TEST_P(C2cSession, TextAppendedInPiecesSpellsTheSame) {
  const size_t cut = text_.find(" code ");
  ASSERT_NE(cut, std::string::npos);
  for (const auto& [m, side] :
       {std::pair(sharer_.get(), "sharer"), std::pair(receiver_.get(), "receiver")}) {
    SCOPED_TRACE(side);
    const tokenizer::Tokenizer& tok = m->tokenizer();
    std::vector<int32_t> ids = tok.Encode(text_.substr(0, cut));
    const int64_t second = static_cast<int64_t>(ids.size());
    const std::vector<int32_t> rest = tok.Encode(text_.substr(cut), {.add_bos = false});
    ids.insert(ids.end(), rest.begin(), rest.end());
    const std::vector<int64_t> starts = {0, second};
    auto spelled = SpellTokens(tok, ids, starts);
    ASSERT_TRUE(spelled.ok()) << spelled.status();
    EXPECT_EQ(spelled->text, text_);
    for (size_t i = 0; i < ids.size(); ++i) {
      const TokenSpan& span = spelled->spans[i];
      ASSERT_LE(span.begin, span.end);
      if (i > 0) {
        EXPECT_EQ(span.begin, spelled->spans[i - 1].end) << "token " << i;
      }
    }
    // Without the starts, only the SentencePiece agent's spelling differs (by that one space).
    auto plain = SpellTokens(tok, ids);
    ASSERT_TRUE(plain.ok());
    EXPECT_EQ(plain->text.size(), text_.size() + (tok.vocab().add_space_prefix() ? 1 : 0));
  }
}

TEST_P(C2cSession, FusingFullSessionsLeavesTorchsFusedEntries) {
  auto theirs = Prefill(*sharer_, sharer_ids_, {});
  auto ours = Prefill(*receiver_, receiver_ids_, {});
  auto twin = Prefill(*receiver_, receiver_ids_, {});
  auto exported = ExportForFusion(*fuser_, *sharer_, *theirs, sharer_ids_);
  ASSERT_TRUE(exported.ok()) << exported.status();
  auto report = FuseIntoSession(*fuser_, *receiver_, *ours, receiver_ids_, *exported);
  ASSERT_TRUE(report.ok()) << report.status();
  const model::HParams& hp = receiver_->hparams();
  const int64_t n = static_cast<int64_t>(receiver_ids_.size());
  EXPECT_EQ(report->entries_fused, n * hp.n_layer * hp.n_head_kv);
  EXPECT_EQ(report->entries_unmatched, 0);
  EXPECT_EQ(report->tokens_aligned, n);
  for (int64_t il = 0; il < hp.n_layer; ++il) {
    SCOPED_TRACE(::testing::Message() << "receiver layer " << il);
    const PlainLayer got = ReadLayer(*receiver_, *ours, il);
    const PlainLayer plain = ReadLayer(*receiver_, *twin, il);
    const auto [want_k, want_v] = GoldenLayer(il);
    for (const auto& [g, p, w] :
         {std::tuple(&got.k, &plain.k, want_k), std::tuple(&got.v, &plain.v, want_v)}) {
      const double err = RelErr(g->data(), w, g->size());
      EXPECT_LT(err, 1e-3);
      EXPECT_GT(Cosine(g->data(), w, static_cast<int64_t>(g->size())), 0.99999);
      EXPECT_GT(RelErr(p->data(), w, g->size()), 20 * err);  // the fusion is what moved them
    }
  }
}

TEST_P(C2cSession, BoundedSessionsFuseWhatBothStillHold) {
  auto theirs = Prefill(*sharer_, sharer_ids_, kBounded);
  auto ours = Prefill(*receiver_, receiver_ids_, kBounded);
  auto twin = Prefill(*receiver_, receiver_ids_, kBounded);
  auto exported = ExportForFusion(*fuser_, *sharer_, *theirs, sharer_ids_);
  ASSERT_TRUE(exported.ok()) << exported.status();
  auto report = FuseIntoSession(*fuser_, *receiver_, *ours, receiver_ids_, *exported);
  ASSERT_TRUE(report.ok()) << report.status();
  // Which sharer tokens each sharer layer still holds, and the alignment.
  const std::vector<int64_t> align = doc_["alignment"].get<std::vector<int64_t>>();
  const model::HParams& hp = receiver_->hparams();
  const int64_t H = hp.n_head_kv, dk = hp.head_dim_k, dv = hp.head_dim_v;
  const size_t n = receiver_ids_.size();
  int64_t fused = 0, unmatched = 0;
  for (int64_t il = 0; il < hp.n_layer; ++il) {
    SCOPED_TRACE(::testing::Message() << "receiver layer " << il);
    const PlainLayer held = ReadLayer(*sharer_, *theirs, fuser_->layer_map()[il]);
    std::vector<bool> sharer_holds(sharer_ids_.size(), false);
    for (int64_t t : held.tokens) sharer_holds[static_cast<size_t>(t)] = true;
    const PlainLayer got = ReadLayer(*receiver_, *ours, il);
    const PlainLayer plain = ReadLayer(*receiver_, *twin, il);
    const auto [want_k, want_v] = GoldenLayer(il);
    ASSERT_EQ(got.tokens, plain.tokens);
    for (size_t e = 0; e < got.tokens.size(); ++e) {
      const size_t t = static_cast<size_t>(got.tokens[e]);
      ASSERT_LT(t, n);
      const float* gk = got.k.data() + e * H * dk;
      const float* gv = got.v.data() + e * H * dv;
      if (sharer_holds[static_cast<size_t>(align[t])]) {
        ++fused;
        EXPECT_LT(RelErr(gk, want_k + t * H * dk, H * dk), 2e-3) << "token " << t;
        EXPECT_LT(RelErr(gv, want_v + t * H * dv, H * dv), 2e-3) << "token " << t;
      } else {
        ++unmatched;
        const float* pk = plain.k.data() + e * H * dk;
        const float* pv = plain.v.data() + e * H * dv;
        EXPECT_EQ(std::vector<float>(gk, gk + H * dk), std::vector<float>(pk, pk + H * dk));
        EXPECT_EQ(std::vector<float>(gv, gv + H * dv), std::vector<float>(pv, pv + H * dv));
      }
    }
  }
  EXPECT_EQ(report->entries_fused, fused * H);
  EXPECT_EQ(report->entries_unmatched, unmatched * H);
  EXPECT_GT(fused, 0);
  // A Gemma 3 sharer's rings no longer hold the text's first tokens.
  if (doc_["sharer"] == "cw-gemma3") {
    EXPECT_GT(unmatched, 0);
  }
}

TEST_P(C2cSession, AnotherTextOrAMalformedExportChangesNothing) {
  auto theirs = Prefill(*sharer_, sharer_ids_, {});
  auto exported = ExportForFusion(*fuser_, *sharer_, *theirs, sharer_ids_);
  ASSERT_TRUE(exported.ok()) << exported.status();
  // The receiver holds the text with one word changed.
  std::string other = text_;
  other.replace(other.find(' '), 1, "  ");
  const std::vector<int32_t> other_ids = receiver_->tokenizer().Encode(other);
  auto ours = Prefill(*receiver_, other_ids, {});
  const PlainLayer before = ReadLayer(*receiver_, *ours, 0);
  auto refused = FuseIntoSession(*fuser_, *receiver_, *ours, other_ids, *exported);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(refused.status().message(), HasSubstr("session_id"));

  auto same = Prefill(*receiver_, receiver_ids_, {});
  const PlainLayer same_before = ReadLayer(*receiver_, *same, 0);
  const std::vector<std::pair<std::function<void(SharerCache&)>, std::string>> breaks = {
      {[](SharerCache& c) { c.heads[0].layer = 99; }, "heads[0].layer"},
      {[](SharerCache& c) { c.heads[0].kv_head = 5; }, "heads[0].kv_head"},
      {[](SharerCache& c) { c.heads[0].tokens[3] = 100000; }, "heads[0].tokens[3]"},
      {[](SharerCache& c) { c.heads[0].tokens[3] = c.heads[0].tokens[2]; }, "twice"},
      {[](SharerCache& c) { c.heads[0].k.pop_back(); }, "heads[0]"},
      {[](SharerCache& c) { c.heads.push_back(c.heads[0]); }, "twice"},
  };
  for (const auto& [mutate, field] : breaks) {
    SharerCache broken = *exported;
    mutate(broken);
    auto st = FuseIntoSession(*fuser_, *receiver_, *same, receiver_ids_, broken);
    EXPECT_EQ(st.status().code(), absl::StatusCode::kInvalidArgument) << field;
    EXPECT_THAT(st.status().message(), HasSubstr(field));
  }
  for (const auto& [after, prior] : {std::pair(ReadLayer(*receiver_, *ours, 0), &before),
                                     std::pair(ReadLayer(*receiver_, *same, 0), &same_before)}) {
    EXPECT_EQ(after.k, prior->k);
    EXPECT_EQ(after.v, prior->v);
  }
}

INSTANTIATE_TEST_SUITE_P(BothDirections, C2cSession,
                         ::testing::Values("cw-llama--cw-gemma3.random",
                                           "cw-gemma3--cw-llama.random"));

}  // namespace
}  // namespace cachewire::adapter
