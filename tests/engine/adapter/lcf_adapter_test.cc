// The LCF adapter against the torch network that trains adapters (golden files from
// tools/train/make_adapter_goldens.py), on the shipped agents in both directions: the encoder's
// slots from a real sharer cache, the decoder's pins, and the receiver's logits after the import
// (which checks where the pins land and how they are rotated). Then the refusals: a model that is
// not the adapter's, a receiver without a bounded cache, non-finite slots, malformed files.
#include "engine/adapter/lcf_adapter.h"

#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "engine/adapter/model_identity.h"
#include "engine/gguf/dequantize.h"
#include "engine/gguf/gguf_file.h"
#include "engine/gguf/gguf_writer.h"
#include "engine/model/model.h"
#include "tests/engine/adapter/adapter_rewrite.h"
#include "tests/engine/model/logit_compare.h"

namespace cachewire::adapter {
namespace {

using model::testing::Cosine;
using model::testing::ReadF32;

const std::string kSource = CACHEWIRE_SOURCE_DIR;
const std::string kAdapters = kSource + "/tests/data/adapters/";

struct Golden {
  nlohmann::json doc;
  std::unique_ptr<LcfAdapter> adapter;
  std::unique_ptr<model::Model> sharer, receiver;
};

// `name`: the adapter's general.name, which names its golden file.
Golden LoadGolden(const std::string& name) {
  Golden g;
  std::ifstream in(kAdapters + "golden/" + name + ".json");
  g.doc = nlohmann::json::parse(in);
  auto adapter = LcfAdapter::Load(kSource + "/" + g.doc["adapter"].get<std::string>());
  EXPECT_TRUE(adapter.ok()) << adapter.status();
  g.adapter = std::move(*adapter);
  auto s = model::Model::Load(kSource + "/models/" + g.doc["sharer"].get<std::string>() + ".gguf", {.n_threads = 1});
  auto r = model::Model::Load(kSource + "/models/" + g.doc["receiver"].get<std::string>() + ".gguf", {.n_threads = 1});
  EXPECT_TRUE(s.ok() && r.ok());
  g.sharer = std::move(*s);
  g.receiver = std::move(*r);
  return g;
}

std::vector<float> Floats(const nlohmann::json& j) { return j.get<std::vector<float>>(); }
std::vector<int32_t> Ids(const nlohmann::json& j) { return j.get<std::vector<int32_t>>(); }

// Largest |a - b| relative to the largest |b|.
double RelErr(const std::vector<float>& a, const std::vector<float>& b) {
  double err = 0, scale = 1e-12;
  for (size_t i = 0; i < b.size(); ++i) {
    err = std::max(err, double(std::fabs(a[i] - b[i])));
    scale = std::max(scale, double(std::fabs(b[i])));
  }
  return err / scale;
}

std::vector<float> RoundF16(std::vector<float> x) {
  for (float& v : x) v = gguf::F16ToF32(gguf::F32ToF16(v));
  return x;
}

model::SessionParams Bounded() {
  model::SessionParams p;
  p.n_ctx = 2048;  // positions the bounded cache may use: budget + slack must fit
  p.cache = {.bounded = true, .window = 256, .budget = 1024};
  return p;
}

class LcfGolden : public ::testing::TestWithParam<std::string> {};

TEST_P(LcfGolden, EncoderMatchesTorchOnTheSharersCache) {
  Golden g = LoadGolden(GetParam());
  const std::vector<int32_t> ids = Ids(g.doc["sharer_ids"]);
  const std::vector<float> want = Floats(g.doc["slots"]);
  // The full cache and a bounded one that never evicts (rings for sliding-window layers) hold
  // the entries a next token would see: both must give the torch slots.
  for (bool bounded : {false, true}) {
    auto session = g.sharer->NewSession(bounded ? Bounded() : model::SessionParams{});
    ASSERT_TRUE(session.ok());
    std::vector<float> logits;
    ASSERT_TRUE(g.sharer->Forward(**session, ids, &logits).ok());
    auto slots = g.adapter->Encode(*g.sharer, **session);
    ASSERT_TRUE(slots.ok()) << slots.status();
    ASSERT_EQ(slots->size(), want.size());
    EXPECT_LT(RelErr(*slots, want), 2e-3) << (bounded ? "bounded" : "full") << " cache";
    EXPECT_GT(Cosine(slots->data(), want.data(), static_cast<int64_t>(want.size())), 0.99999);
  }
}

TEST_P(LcfGolden, DecoderMatchesTorch) {
  Golden g = LoadGolden(GetParam());
  const std::vector<float> slots = RoundF16(Floats(g.doc["slots"]));
  auto layers = g.adapter->Decode(slots);
  ASSERT_TRUE(layers.ok()) << layers.status();
  int64_t pinned = 0;
  for (size_t il = 0; il < layers->size(); ++il) {
    const std::string key = std::to_string(il);
    if (!g.doc["pins"].contains(key)) {
      EXPECT_TRUE((*layers)[il].empty()) << "layer " << il << " takes no pins";
      continue;
    }
    ++pinned;
    std::vector<float> want = Floats(g.doc["pins"][key]["k"]);
    const std::vector<float> v = Floats(g.doc["pins"][key]["v"]);
    want.insert(want.end(), v.begin(), v.end());
    ASSERT_EQ((*layers)[il].size(), want.size()) << "layer " << il;
    EXPECT_LT(RelErr((*layers)[il], want), 1e-4) << "layer " << il;
  }
  EXPECT_EQ(pinned, static_cast<int64_t>(g.doc["pins"].size()));
}

TEST_P(LcfGolden, ReceiverLogitsAfterImportMatchTorch) {
  Golden g = LoadGolden(GetParam());
  const std::vector<float> slots = RoundF16(Floats(g.doc["slots"]));
  const std::vector<float> want =
      ReadF32(kAdapters + "golden/" + g.doc["logits_file"].get<std::string>());
  const int64_t V = g.doc["n_vocab"].get<int64_t>();
  auto session = g.receiver->NewSession(Bounded());
  ASSERT_TRUE(session.ok());
  std::vector<float> logits;
  ASSERT_TRUE(g.receiver->Forward(**session, Ids(g.doc["receiver_ids"]), &logits).ok());
  ASSERT_TRUE(g.adapter->Import(*g.receiver, **session, slots).ok());
  EXPECT_EQ((*session)->cache_stats().n_pinned, g.doc["n_slots"].get<int64_t>());
  const std::vector<int32_t> qa = Ids(g.doc["qa_ids"]);
  model::ForwardRequest req{session->get(), qa, true, &logits};
  ASSERT_TRUE(g.receiver->ForwardBatch(std::span<model::ForwardRequest>(&req, 1)).ok());
  ASSERT_EQ(logits.size(), want.size());
  const double err_imported = RelErr(logits, want);
  for (size_t t = 0; t < qa.size(); ++t) {
    const float* a = logits.data() + t * V;
    const float* b = want.data() + t * V;
    EXPECT_GT(Cosine(a, b, V), 0.9999) << "token " << t;
    EXPECT_EQ(std::max_element(a, a + V) - a, std::max_element(b, b + V) - b) << "token " << t;
  }
  // Without the import the receiver is far further from the golden than numerical noise: the
  // pins are what moved it.
  auto plain = g.receiver->NewSession(Bounded());
  ASSERT_TRUE(plain.ok());
  ASSERT_TRUE(g.receiver->Forward(**plain, Ids(g.doc["receiver_ids"]), &logits).ok());
  model::ForwardRequest req2{plain->get(), qa, true, &logits};
  ASSERT_TRUE(g.receiver->ForwardBatch(std::span<model::ForwardRequest>(&req2, 1)).ok());
  EXPECT_GT(RelErr(logits, want), 20 * err_imported) << "imported " << err_imported;
}

// Random adapters (every term non-trivial) in both directions, pooling and per-token (6 tokens
// sent: the 4 sinks and the 2 of lowest key norm), and the shipped, trained ones.
INSTANTIATE_TEST_SUITE_P(BothDirections, LcfGolden,
                         ::testing::Values("cw-llama--cw-gemma3.random",
                                           "cw-gemma3--cw-llama.random",
                                           "cw-llama--cw-gemma3.random-tokens",
                                           "cw-gemma3--cw-llama.random-tokens"));
INSTANTIATE_TEST_SUITE_P(Shipped, LcfGolden,
                         ::testing::Values("cw-llama--cw-gemma3", "cw-gemma3--cw-llama"));

// ---- refusals -----------------------------------------------------------------------------

TEST(LcfAdapter, RefusesModelsItWasNotMadeFor) {
  Golden g = LoadGolden("cw-llama--cw-gemma3.random");
  auto sharer_id = IdentityOfModel(g.sharer->file());
  auto receiver_id = IdentityOfModel(g.receiver->file());
  ASSERT_TRUE(sharer_id.ok() && receiver_id.ok());
  EXPECT_TRUE(g.adapter->CheckSharer(*sharer_id).ok());
  EXPECT_TRUE(g.adapter->CheckReceiver(*receiver_id).ok());
  absl::Status s = g.adapter->CheckSharer(*receiver_id);
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(s.message().find("sharer"), std::string::npos) << s;
  EXPECT_NE(s.message().find("architecture"), std::string::npos) << s;
  ModelIdentity retrained = *receiver_id;  // same shape, other weights
  retrained.fingerprint = "0000000000000000";
  s = g.adapter->CheckReceiver(retrained);
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(s.message().find("receiver"), std::string::npos) << s;
  EXPECT_NE(s.message().find("fingerprint"), std::string::npos) << s;
}

TEST(LcfAdapter, ImportNeedsABoundedCacheAndFiniteSlotsAndChangesNothingOtherwise) {
  Golden g = LoadGolden("cw-llama--cw-gemma3.random");
  std::vector<float> slots = RoundF16(Floats(g.doc["slots"]));
  auto full = g.receiver->NewSession({});
  ASSERT_TRUE(full.ok());
  EXPECT_EQ(g.adapter->Import(*g.receiver, **full, slots).code(), absl::StatusCode::kFailedPrecondition);
  auto bounded = g.receiver->NewSession(Bounded());
  ASSERT_TRUE(bounded.ok());
  slots[5] = std::nanf("");
  absl::Status s = g.adapter->Import(*g.receiver, **bounded, slots);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("slots"), std::string::npos) << s;
  EXPECT_EQ((*bounded)->cache_stats().n_pinned, 0);
  slots.pop_back();
  EXPECT_EQ(g.adapter->Import(*g.receiver, **bounded, slots).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ((*bounded)->cache_stats().n_pinned, 0);
}

TEST(LcfAdapter, EncodingAnEmptySessionIsAPreconditionError) {
  Golden g = LoadGolden("cw-llama--cw-gemma3.random");
  auto session = g.sharer->NewSession({});
  ASSERT_TRUE(session.ok());
  EXPECT_EQ(g.adapter->Encode(*g.sharer, **session).status().code(), absl::StatusCode::kFailedPrecondition);
}

// A copy of the random adapter with one field changed (adapter_rewrite.h).
std::string Rewrite(const std::string& out_name, const std::string& drop_key,
                    const std::string& drop_tensor, const std::string& shorten_tensor,
                    const std::string& architecture = "") {
  return testing::RewriteAdapter(kAdapters + "cw-llama--cw-gemma3.random.lcf.gguf", out_name,
                                 {.drop_key = drop_key, .drop_tensor = drop_tensor,
                                  .shorten_tensor = shorten_tensor, .architecture = architecture});
}

// enc.pos.weight is optional (adapters from before positional pooling load), and it matters:
// the same cache pools into other slots without it.
TEST(LcfAdapter, PositionalPoolingIsOptionalAndShapesTheSlots) {
  Golden g = LoadGolden("cw-llama--cw-gemma3.random");
  auto plain = LcfAdapter::Load(Rewrite("lcf_no_pos.gguf", "", "enc.pos.weight", ""));
  ASSERT_TRUE(plain.ok()) << plain.status();
  auto session = g.sharer->NewSession({});
  ASSERT_TRUE(session.ok());
  std::vector<float> logits;
  ASSERT_TRUE(g.sharer->Forward(**session, Ids(g.doc["sharer_ids"]), &logits).ok());
  auto with = g.adapter->Encode(*g.sharer, **session);
  auto without = (*plain)->Encode(*g.sharer, **session);
  ASSERT_TRUE(with.ok() && without.ok());
  // Dropping the term moves the slots far beyond the rounding that separates them from torch.
  const std::vector<float> want = Floats(g.doc["slots"]);
  const double rounding = RelErr(*with, want);
  EXPECT_LT(rounding, 2e-3);
  EXPECT_GT(RelErr(*without, want), 20 * rounding + 1e-3) << "rounding " << rounding;
}

TEST(LcfAdapter, MalformedFilesNameTheFileAndTheField) {
  struct Case {
    std::string path;
    std::string field;
  };
  const std::vector<Case> cases = {
      {Rewrite("lcf_no_slots.gguf", "cachewire.lcf.n_slots", "", ""), "cachewire.lcf.n_slots"},
      {Rewrite("lcf_no_fingerprint.gguf", "cachewire.receiver.fingerprint", "", ""),
       "cachewire.receiver.fingerprint"},
      {Rewrite("lcf_no_query.gguf", "", "enc.query.weight", ""), "enc.query.weight"},
      {Rewrite("lcf_short_dec.gguf", "", "", "dec.up.weight"), "dec.up.weight"},
      {Rewrite("lcf_short_pos.gguf", "", "", "enc.pos.weight"), "enc.pos.weight"},
      {Rewrite("lcf_model.gguf", "", "", "", "llama"), "general.architecture"},
  };
  for (const Case& c : cases) {
    auto a = LcfAdapter::Load(c.path);
    ASSERT_FALSE(a.ok()) << c.path;
    EXPECT_EQ(a.status().code(), absl::StatusCode::kInvalidArgument) << a.status();
    EXPECT_NE(a.status().message().find(c.path), std::string::npos) << a.status();
    EXPECT_NE(a.status().message().find(c.field), std::string::npos) << a.status();
  }
  EXPECT_FALSE(LcfAdapter::Load(kAdapters + "does-not-exist.gguf").ok());
}

}  // namespace
}  // namespace cachewire::adapter
