// LoadHParams on small GGUF images built with the writer: defaults, Gemma 3's layer pattern,
// and errors that name the key.
#include "engine/model/hparams.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "engine/gguf/gguf_writer.h"

namespace cachewire::model {
namespace {

using gguf::OwnedValue;
using ::testing::HasSubstr;

struct Spec {
  std::string arch = "llama";
  int64_t n_embd = 64, n_vocab = 100;
  std::vector<std::pair<std::string, OwnedValue>> keys;
  bool with_output = true;
};

absl::StatusOr<HParams> Load(const Spec& spec) {
  gguf::Writer w;
  EXPECT_TRUE(w.Set("general.architecture", OwnedValue::Str(spec.arch)).ok());
  for (const auto& [k, v] : spec.keys) EXPECT_TRUE(w.Set(spec.arch + "." + k, v).ok());
  const auto embd_bytes = static_cast<size_t>(spec.n_embd * spec.n_vocab * 4);
  EXPECT_TRUE(w.AddTensor("token_embd.weight", gguf::TensorType::kF32,
                          {spec.n_embd, spec.n_vocab}, std::vector<uint8_t>(embd_bytes)).ok());
  if (spec.with_output) {
    EXPECT_TRUE(w.AddTensor("output.weight", gguf::TensorType::kF32, {spec.n_embd, spec.n_vocab},
                            std::vector<uint8_t>(embd_bytes)).ok());
  }
  absl::StatusOr<std::vector<uint8_t>> bytes = w.ToBytes();
  EXPECT_TRUE(bytes.ok());
  absl::StatusOr<std::unique_ptr<gguf::File>> file = gguf::File::FromBuffer("model.gguf", *bytes);
  EXPECT_TRUE(file.ok()) << file.status();
  return LoadHParams(**file);
}

std::vector<std::pair<std::string, OwnedValue>> LlamaKeys() {
  return {{"embedding_length", OwnedValue::U32(64)}, {"block_count", OwnedValue::U32(2)},
          {"feed_forward_length", OwnedValue::U32(128)},
          {"attention.head_count", OwnedValue::U32(8)},
          {"attention.head_count_kv", OwnedValue::U32(2)},
          {"rope.freq_base", OwnedValue::F32(500000.0f)}};
}

TEST(HParamsTest, LlamaWithDefaults) {
  absl::StatusOr<HParams> hp = Load({.keys = LlamaKeys()});
  ASSERT_TRUE(hp.ok()) << hp.status();
  EXPECT_EQ(hp->arch, Arch::kLlama);
  EXPECT_EQ(hp->n_vocab, 100);
  EXPECT_EQ(hp->head_dim_k, 8);
  EXPECT_EQ(hp->n_rot, 8);
  EXPECT_EQ(hp->n_gqa(), 4);
  EXPECT_FLOAT_EQ(hp->rope_freq_base, 500000.0f);
  EXPECT_FLOAT_EQ(hp->rms_eps, 1e-5f);
  EXPECT_FALSE(hp->rope_neox);
  EXPECT_FALSE(hp->tied_output);
  EXPECT_FALSE(hp->IsLocalLayer(0));
}

TEST(HParamsTest, Gemma3LayerPatternAndConventions) {
  auto keys = LlamaKeys();
  keys.push_back({"attention.key_length", OwnedValue::U32(32)});
  keys.push_back({"attention.sliding_window", OwnedValue::U32(16)});
  absl::StatusOr<HParams> hp = Load({.arch = "gemma3", .keys = keys, .with_output = false});
  ASSERT_TRUE(hp.ok()) << hp.status();
  EXPECT_EQ(hp->head_dim_k, 32);
  EXPECT_EQ(hp->head_dim_v, 32);
  EXPECT_TRUE(hp->rope_neox);
  EXPECT_TRUE(hp->embed_scale_sqrt);
  EXPECT_TRUE(hp->tied_output);
  EXPECT_FLOAT_EQ(hp->rms_eps, 1e-6f);
  EXPECT_FLOAT_EQ(hp->rope_freq_base_local, 10000.0f);
  for (int il = 0; il < 12; ++il) EXPECT_EQ(hp->IsLocalLayer(il), il % 6 != 5) << "layer " << il;
}

TEST(HParamsTest, Gemma3WithoutWindowIsAllGlobalAndLocalBaseIsRead) {
  auto keys = LlamaKeys();
  keys.push_back({"rope.freq_base_swa", OwnedValue::F32(20000.0f)});
  absl::StatusOr<HParams> hp = Load({.arch = "gemma3", .keys = keys, .with_output = false});
  ASSERT_TRUE(hp.ok()) << hp.status();
  EXPECT_EQ(hp->sliding_window, 0);
  for (int il = 0; il < 12; ++il) EXPECT_FALSE(hp->IsLocalLayer(il)) << "layer " << il;
  EXPECT_FLOAT_EQ(hp->rope_freq_base_local, 20000.0f);

  keys.push_back({"attention.sliding_window", OwnedValue::U32(0)});
  hp = Load({.arch = "gemma3", .keys = keys, .with_output = false});
  ASSERT_TRUE(hp.ok()) << hp.status();
  EXPECT_EQ(hp->sliding_window, 0);
}

TEST(HParamsTest, MissingKeyIsNamed) {
  auto keys = LlamaKeys();
  keys.erase(keys.begin() + 1);  // block_count
  absl::Status s = Load({.keys = keys}).status();
  EXPECT_THAT(s.message(), HasSubstr("model.gguf"));
  EXPECT_THAT(s.message(), HasSubstr("llama.block_count"));
}

TEST(HParamsTest, InconsistentValuesAreNamed) {
  auto keys = LlamaKeys();
  keys[4] = {"attention.head_count_kv", OwnedValue::U32(3)};
  EXPECT_THAT(Load({.keys = keys}).status().message(), HasSubstr("llama.attention.head_count_kv"));

  keys = LlamaKeys();
  keys.push_back({"vocab_size", OwnedValue::U32(99)});
  EXPECT_THAT(Load({.keys = keys}).status().message(), HasSubstr("llama.vocab_size"));

  EXPECT_THAT(Load({.n_embd = 32, .keys = LlamaKeys()}).status().message(),
              HasSubstr("token_embd.weight"));

  keys = LlamaKeys();
  keys[1] = {"block_count", OwnedValue::Str("two")};
  EXPECT_THAT(Load({.keys = keys}).status().message(), HasSubstr("llama.block_count"));

  keys = LlamaKeys();
  keys.push_back({"rope.freq_base", OwnedValue::F32(-1.0f)});
  keys.erase(keys.begin() + 5);
  EXPECT_THAT(Load({.keys = keys}).status().message(), HasSubstr("llama.rope.freq_base"));
}

TEST(HParamsTest, UnsupportedArchitecture) {
  EXPECT_THAT(Load({.arch = "mamba", .keys = LlamaKeys()}).status().message(),
              HasSubstr("general.architecture"));
}

}  // namespace
}  // namespace cachewire::model
