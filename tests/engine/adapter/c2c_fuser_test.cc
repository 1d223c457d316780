// The C2C fuser against the torch network that trains fusers (golden files from
// tools/train/make_c2c_goldens.py): on the shipped agents in both directions, the token alignment
// of their two tokenizations and the fused keys and values of every receiver layer, computed here
// from the agents' own caches of the shared text; on synthetic fusers, the head groups the agents
// (one kv-head each) do not exercise. Then that the trained fusers fit the shipped agents, and the
// refusals: models the fuser was not made for, malformed files, inputs of the wrong size.
#include "engine/adapter/c2c_fuser.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <tuple>
#include <vector>

#include "engine/adapter/c2c_align.h"
#include "engine/adapter/model_identity.h"
#include "engine/cache/kv_cache.h"
#include "engine/gguf/gguf_file.h"
#include "engine/gguf/gguf_writer.h"
#include "engine/gguf/str_cat.h"
#include "engine/model/model.h"
#include "kernels/rope.h"
#include "tests/engine/adapter/adapter_rewrite.h"
#include "tests/engine/adapter/c2c_test_util.h"
#include "tests/engine/model/logit_compare.h"

namespace cachewire::adapter {
namespace {

using model::testing::Cosine;
using model::testing::ReadF32;
using testing::PlainLayer;
using testing::ReadJson;
using testing::Spans;
using testing::ReadLayer;
using testing::RelErr;

const std::string kSource = CACHEWIRE_SOURCE_DIR;
const std::string kAdapters = kSource + "/tests/data/adapters/";

std::unique_ptr<C2cFuser> LoadFuser(const std::string& relative) {
  auto f = C2cFuser::Load(kSource + "/" + relative);
  EXPECT_TRUE(f.ok()) << f.status();
  return f.ok() ? std::move(*f) : nullptr;
}

std::unique_ptr<model::Model> LoadAgent(const std::string& name) {
  auto m = model::Model::Load(kSource + "/models/" + name + ".gguf", {.n_threads = 1});
  EXPECT_TRUE(m.ok()) << m.status();
  return m.ok() ? std::move(*m) : nullptr;
}

// ---- the shipped agents ---------------------------------------------------------------------

class C2cGolden : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override { doc_ = ReadJson(kAdapters + "golden/" + GetParam() + ".c2c.json"); }
  nlohmann::json doc_;
};

TEST_P(C2cGolden, AlignmentAndLayerMapMatchTorch) {
  auto align = AlignTokens(Spans(doc_["receiver_spans"]), Spans(doc_["sharer_spans"]));
  ASSERT_TRUE(align.ok()) << align.status();
  EXPECT_EQ(*align, doc_["alignment"].get<std::vector<int64_t>>());
  std::unique_ptr<C2cFuser> fuser = LoadFuser(doc_["fuser"].get<std::string>());
  ASSERT_NE(fuser, nullptr);
  const std::vector<int64_t> want = doc_["layer_map"].get<std::vector<int64_t>>();
  EXPECT_EQ(fuser->layer_map(), want);
  EXPECT_EQ(DepthLayerMap(fuser->receiver().n_layer, fuser->sharer().n_layer), want);
}

TEST_P(C2cGolden, FusionOfTheAgentsCachesMatchesTorch) {
  std::unique_ptr<C2cFuser> fuser = LoadFuser(doc_["fuser"].get<std::string>());
  std::unique_ptr<model::Model> sharer = LoadAgent(doc_["sharer"].get<std::string>());
  std::unique_ptr<model::Model> receiver = LoadAgent(doc_["receiver"].get<std::string>());
  ASSERT_TRUE(fuser && sharer && receiver);
  // Full caches: every token's entry of every layer, sliding-window layers included.
  auto s_session = sharer->NewSession({});
  auto r_session = receiver->NewSession({});
  ASSERT_TRUE(s_session.ok() && r_session.ok());
  std::vector<float> logits;
  ASSERT_TRUE(sharer->Forward(**s_session, doc_["sharer_ids"].get<std::vector<int32_t>>(), &logits).ok());
  ASSERT_TRUE(receiver->Forward(**r_session, doc_["receiver_ids"].get<std::vector<int32_t>>(), &logits).ok());
  const std::vector<int64_t> align = doc_["alignment"].get<std::vector<int64_t>>();
  const std::vector<float> want = ReadF32(kAdapters + "golden/" + doc_["fused_file"].get<std::string>());
  const ModelIdentity& r = fuser->receiver();
  const ModelIdentity& s = fuser->sharer();
  const size_t n = align.size();
  size_t at = 0;
  for (int64_t il = 0; il < r.n_layer; ++il) {
    SCOPED_TRACE(::testing::Message() << "receiver layer " << il);
    const PlainLayer own = ReadLayer(*receiver, **r_session, il);
    const PlainLayer theirs = ReadLayer(*sharer, **s_session, fuser->layer_map()[static_cast<size_t>(il)]);
    ASSERT_EQ(own.k.size(), n * static_cast<size_t>(r.n_head_kv * r.head_dim_k));
    auto sk = GatherRows(theirs.k, s.n_head_kv * s.head_dim_k, align);
    auto sv = GatherRows(theirs.v, s.n_head_kv * s.head_dim_v, align);
    ASSERT_TRUE(sk.ok() && sv.ok());
    auto fused = fuser->FuseLayer(il, {own.k, own.v, *sk, *sv});
    ASSERT_TRUE(fused.ok()) << fused.status();
    for (const auto& [got, plain] : {std::pair(&fused->k, &own.k), std::pair(&fused->v, &own.v)}) {
      ASSERT_LE(at + got->size(), want.size());
      const float* w = want.data() + at;
      const double err = RelErr(got->data(), w, got->size());
      EXPECT_LT(err, 1e-3);
      EXPECT_GT(Cosine(got->data(), w, static_cast<int64_t>(got->size())), 0.99999);
      // The unfused entries are far further from torch's fused ones: the fusion is what moved them.
      EXPECT_GT(RelErr(plain->data(), w, got->size()), 20 * err);
      at += got->size();
    }
  }
  EXPECT_EQ(at, want.size());
}

INSTANTIATE_TEST_SUITE_P(BothDirections, C2cGolden,
                         ::testing::Values("cw-llama--cw-gemma3.random", "cw-gemma3--cw-llama.random"));

// ---- head groups (synthetic models) -----------------------------------------------------------

class C2cSynthetic : public ::testing::TestWithParam<std::string> {};

TEST_P(C2cSynthetic, FusionMatchesTorch) {
  const nlohmann::json doc = ReadJson(kAdapters + "golden/" + GetParam() + ".c2c.json");
  std::unique_ptr<C2cFuser> fuser = LoadFuser(doc["fuser"].get<std::string>());
  ASSERT_NE(fuser, nullptr);
  EXPECT_EQ(fuser->head_groups(), doc["head_groups"].get<int64_t>());
  EXPECT_EQ(fuser->layer_map(), doc["layer_map"].get<std::vector<int64_t>>());
  const auto& layers = doc["layers"];
  ASSERT_EQ(static_cast<int64_t>(layers.size()), fuser->receiver().n_layer);
  for (size_t il = 0; il < layers.size(); ++il) {
    auto get = [&](const char* key) { return layers[il][key].get<std::vector<float>>(); };
    const std::vector<float> rk = get("receiver_k"), rv = get("receiver_v");
    const std::vector<float> sk = get("sharer_k"), sv = get("sharer_v");
    const std::vector<float> want_k = get("fused_k"), want_v = get("fused_v");
    auto fused = fuser->FuseLayer(static_cast<int64_t>(il), {rk, rv, sk, sv});
    ASSERT_TRUE(fused.ok()) << fused.status();
    ASSERT_EQ(fused->k.size(), want_k.size());
    ASSERT_EQ(fused->v.size(), want_v.size());
    EXPECT_LT(RelErr(fused->k.data(), want_k.data(), want_k.size()), 1e-5) << "layer " << il;
    EXPECT_LT(RelErr(fused->v.data(), want_v.data(), want_v.size()), 1e-5) << "layer " << il;
  }
}

INSTANTIATE_TEST_SUITE_P(PairedAndJoined, C2cSynthetic,
                         ::testing::Values("synthetic-paired", "synthetic-joined"));

// ---- refusals ---------------------------------------------------------------------------------

const std::string kLlamaToGemma = "tests/data/adapters/cw-llama--cw-gemma3.random.c2c.gguf";

TEST(C2cFuser, RefusesModelsItWasNotMadeFor) {
  std::unique_ptr<C2cFuser> fuser = LoadFuser(kLlamaToGemma);
  std::unique_ptr<model::Model> llama = LoadAgent("cw-llama");
  std::unique_ptr<model::Model> gemma = LoadAgent("cw-gemma3");
  ASSERT_TRUE(fuser && llama && gemma);
  auto llama_id = IdentityOfModel(llama->file());
  auto gemma_id = IdentityOfModel(gemma->file());
  ASSERT_TRUE(llama_id.ok() && gemma_id.ok());
  EXPECT_TRUE(fuser->CheckSharer(*llama_id).ok());
  EXPECT_TRUE(fuser->CheckReceiver(*gemma_id).ok());
  absl::Status st = fuser->CheckSharer(*gemma_id);
  EXPECT_EQ(st.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(st.message().find("sharer"), std::string::npos) << st;
  ModelIdentity retrained = *gemma_id;  // same shape, other weights
  retrained.fingerprint = "0000000000000000";
  st = fuser->CheckReceiver(retrained);
  EXPECT_EQ(st.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(st.message().find("receiver"), std::string::npos) << st;
  EXPECT_NE(st.message().find("fingerprint"), std::string::npos) << st;
}

// The trained fusers in models/adapters/ were made for the shipped agents as they are now: a
// retrained agent (new fingerprint) must come with retrained fusers.
TEST(C2cFuser, ShippedFusersFitTheShippedAgents) {
  std::unique_ptr<model::Model> llama = LoadAgent("cw-llama");
  std::unique_ptr<model::Model> gemma = LoadAgent("cw-gemma3");
  ASSERT_TRUE(llama && gemma);
  auto llama_id = IdentityOfModel(llama->file());
  auto gemma_id = IdentityOfModel(gemma->file());
  ASSERT_TRUE(llama_id.ok() && gemma_id.ok());
  for (const auto& [name, sharer, receiver] :
       {std::tuple("cw-llama--cw-gemma3", &*llama_id, &*gemma_id),
        std::tuple("cw-gemma3--cw-llama", &*gemma_id, &*llama_id)}) {
    std::unique_ptr<C2cFuser> fuser = LoadFuser(gguf::Cat("models/adapters/", name, ".c2c.gguf"));
    ASSERT_NE(fuser, nullptr) << name;
    EXPECT_EQ(fuser->name(), name);
    EXPECT_TRUE(fuser->CheckSharer(*sharer).ok()) << fuser->CheckSharer(*sharer);
    EXPECT_TRUE(fuser->CheckReceiver(*receiver).ok()) << fuser->CheckReceiver(*receiver);
  }
}

TEST(C2cFuser, RefusesInputsOfTheWrongSizeOrLayer) {
  std::unique_ptr<C2cFuser> fuser = LoadFuser(kLlamaToGemma);
  ASSERT_NE(fuser, nullptr);
  const std::vector<float> row(32 * 3, 0.5f);      // three tokens of one head of 32
  const std::vector<float> short_row(32 * 2, 0.5f);
  EXPECT_TRUE(fuser->FuseLayer(0, {row, row, row, row}).ok());
  absl::Status st = fuser->FuseLayer(0, {row, row, short_row, row}).status();
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(st.message().find("sharer_k"), std::string::npos) << st;
  EXPECT_EQ(fuser->FuseLayer(6, {row, row, row, row}).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(fuser->FuseLayer(-1, {row, row, row, row}).status().code(), absl::StatusCode::kInvalidArgument);
  auto none = fuser->FuseLayer(0, {});
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->k.empty());
}

std::string Rewrite(const std::string& out_name, testing::AdapterChange change) {
  if (change.architecture.empty()) change.architecture = "cachewire.c2c";
  return testing::RewriteAdapter(kSource + "/" + kLlamaToGemma, out_name, change);
}

TEST(C2cFuser, MalformedFilesNameTheFileAndTheField) {
  struct Case {
    std::string path;
    std::string field;
  };
  const std::vector<Case> cases = {
      {Rewrite("c2c_no_hidden.gguf", {.drop_key = "cachewire.c2c.hidden"}), "cachewire.c2c.hidden"},
      {Rewrite("c2c_no_groups.gguf", {.drop_key = "cachewire.c2c.head_groups"}), "cachewire.c2c.head_groups"},
      {Rewrite("c2c_no_fingerprint.gguf", {.drop_key = "cachewire.sharer.fingerprint"}),
       "cachewire.sharer.fingerprint"},
      {Rewrite("c2c_short_map.gguf", {.layer_map = {0, 1, 2}}), "cachewire.c2c.layer_map"},
      {Rewrite("c2c_map_range.gguf", {.layer_map = {0, 1, 1, 2, 2, 99}}),
       "cachewire.c2c.layer_map"},
      {Rewrite("c2c_no_gate.gguf", {.drop_tensor = "fuse.3.gate"}), "fuse.3.gate"},
      {Rewrite("c2c_short_in.gguf", {.shorten_tensor = "fuse.1.in.weight"}), "fuse.1.in.weight"},
      {Rewrite("c2c_short_bias.gguf", {.shorten_tensor = "fuse.5.out.bias"}), "fuse.5.out.bias"},
      {Rewrite("c2c_lcf.gguf", {.architecture = "cachewire.lcf"}), "general.architecture"},
  };
  for (const Case& c : cases) {
    auto f = C2cFuser::Load(c.path);
    ASSERT_FALSE(f.ok()) << c.path;
    EXPECT_EQ(f.status().code(), absl::StatusCode::kInvalidArgument) << f.status();
    EXPECT_NE(f.status().message().find(c.path), std::string::npos) << f.status();
    EXPECT_NE(f.status().message().find(c.field), std::string::npos) << f.status();
  }
  EXPECT_TRUE(C2cFuser::Load(Rewrite("c2c_same.gguf", {})).ok());  // the rewriting itself is sound
  EXPECT_FALSE(C2cFuser::Load(kAdapters + "does-not-exist.c2c.gguf").ok());
}

}  // namespace
}  // namespace cachewire::adapter
