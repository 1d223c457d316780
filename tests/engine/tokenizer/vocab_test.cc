// Loading tokenizer metadata from GGUF: the fields, defaults, and errors naming file and key.
#include "engine/tokenizer/vocab.h"

#include <gtest/gtest.h>

#include "engine/gguf/gguf_file.h"
#include "engine/gguf/gguf_writer.h"
#include "engine/tokenizer/tokenizer.h"

namespace cachewire::tokenizer {
namespace {

using gguf::OwnedValue;

struct Meta {
  std::vector<std::pair<std::string, OwnedValue>> kv;
  Meta& Set(std::string k, OwnedValue v) {
    for (auto& [key, val] : kv) {
      if (key == k) {
        val = std::move(v);
        return *this;
      }
    }
    kv.emplace_back(std::move(k), std::move(v));
    return *this;
  }
  Meta& Drop(const std::string& k) {
    std::erase_if(kv, [&](const auto& e) { return e.first == k; });
    return *this;
  }
};

Meta SpmMeta() {
  Meta m;
  m.Set("tokenizer.ggml.model", OwnedValue::Str("llama"))
      .Set("tokenizer.ggml.tokens", OwnedValue::StrArr({"<unk>", "<s>", "</s>", "\xE2\x96\x81" "a"}))
      .Set("tokenizer.ggml.scores", OwnedValue::F32Arr({0, 0, 0, -1}))
      .Set("tokenizer.ggml.token_type", OwnedValue::I32Arr({2, 3, 3, 1}))
      .Set("tokenizer.ggml.bos_token_id", OwnedValue::U32(1))
      .Set("tokenizer.ggml.eos_token_id", OwnedValue::U32(2))
      .Set("tokenizer.ggml.add_space_prefix", OwnedValue::Bool(false))
      .Set("tokenizer.chat_template", OwnedValue::Str("{{ x }}"));
  return m;
}

absl::StatusOr<std::unique_ptr<Vocab>> Load(const Meta& m, std::unique_ptr<gguf::File>* keep) {
  gguf::Writer w;
  for (const auto& [k, v] : m.kv) {
    if (absl::Status s = w.Set(k, v); !s.ok()) return s;
  }
  auto bytes = w.ToBytes();
  if (!bytes.ok()) return bytes.status();
  auto file = gguf::File::FromBuffer("vocab-test.gguf", *bytes);
  if (!file.ok()) return file.status();
  *keep = std::move(*file);
  return Vocab::FromGguf(**keep);
}

void ExpectError(const Meta& m, std::string_view key) {
  std::unique_ptr<gguf::File> f;
  auto v = Load(m, &f);
  ASSERT_FALSE(v.ok()) << "expected an error naming " << key;
  EXPECT_NE(v.status().message().find("vocab-test.gguf"), std::string::npos) << v.status();
  EXPECT_NE(std::string(v.status().message()).find(std::string(key)), std::string::npos) << v.status();
}

TEST(Vocab, ReadsTheTokenizerKeys) {
  std::unique_ptr<gguf::File> f;
  auto v = Load(SpmMeta(), &f);
  ASSERT_TRUE(v.ok()) << v.status();
  const Vocab& vocab = **v;
  f.reset();  // the vocabulary owns its strings
  EXPECT_EQ(vocab.kind(), VocabKind::kSpm);
  EXPECT_EQ(vocab.n_tokens(), 4);
  EXPECT_EQ(vocab.token(3), "\xE2\x96\x81" "a");
  EXPECT_EQ(vocab.Find("\xE2\x96\x81" "a"), 3);
  EXPECT_EQ(vocab.Find("zz"), -1);
  EXPECT_EQ(vocab.score(3), -1.0f);
  EXPECT_EQ(vocab.type(0), TokenType::kUnknown);
  EXPECT_EQ(vocab.bos(), 1);
  EXPECT_EQ(vocab.eos(), 2);
  EXPECT_EQ(vocab.unk(), 0);  // llama.cpp's default for SentencePiece vocabularies
  EXPECT_EQ(vocab.eot(), -1);
  EXPECT_TRUE(vocab.add_bos());  // default for "llama"
  EXPECT_FALSE(vocab.add_space_prefix());
  EXPECT_EQ(vocab.chat_template(), "{{ x }}");
}

TEST(Vocab, ErrorsNameFileAndKey) {
  ExpectError(SpmMeta().Drop("tokenizer.ggml.model"), "tokenizer.ggml.model");
  ExpectError(SpmMeta().Set("tokenizer.ggml.model", OwnedValue::Str("bert")),
              "tokenizer.ggml.model");
  ExpectError(SpmMeta().Drop("tokenizer.ggml.tokens"), "tokenizer.ggml.tokens");
  ExpectError(SpmMeta().Set("tokenizer.ggml.scores", OwnedValue::F32Arr({0, 0})),
              "tokenizer.ggml.scores");
  ExpectError(SpmMeta().Set("tokenizer.ggml.token_type", OwnedValue::I32Arr({1, 1, 1, 1, 1})),
              "tokenizer.ggml.token_type");
  ExpectError(SpmMeta().Set("tokenizer.ggml.token_type", OwnedValue::I32Arr({1, 1, 1, 9})),
              "tokenizer.ggml.token_type");
  ExpectError(SpmMeta().Set("tokenizer.ggml.bos_token_id", OwnedValue::U32(4)),
              "tokenizer.ggml.bos_token_id");
  ExpectError(SpmMeta().Set("tokenizer.ggml.eot_token_id", OwnedValue::U32(99)),
              "tokenizer.ggml.eot_token_id");
  ExpectError(SpmMeta().Set("tokenizer.ggml.add_bos_token", OwnedValue::Str("yes")),
              "tokenizer.ggml.add_bos_token");
  ExpectError(SpmMeta().Set("tokenizer.ggml.model", OwnedValue::Str("gpt2")),
              "tokenizer.ggml.merges");
  ExpectError(SpmMeta()
                  .Set("tokenizer.ggml.model", OwnedValue::Str("gpt2"))
                  .Set("tokenizer.ggml.merges", OwnedValue::StrArr({"nospace"})),
              "tokenizer.ggml.merges");
}

TEST(Vocab, UnknownPreTokenizerFailsTheTokenizer) {
  Meta m = SpmMeta();
  m.Set("tokenizer.ggml.model", OwnedValue::Str("gpt2"))
      .Set("tokenizer.ggml.merges", OwnedValue::StrArr({"a b"}))
      .Set("tokenizer.ggml.pre", OwnedValue::Str("mystery"));
  gguf::Writer w;
  for (const auto& [k, v] : m.kv) ASSERT_TRUE(w.Set(k, v).ok());
  auto bytes = w.ToBytes();
  ASSERT_TRUE(bytes.ok());
  auto file = gguf::File::FromBuffer("vocab-test.gguf", *bytes);
  ASSERT_TRUE(file.ok());
  auto tok = Tokenizer::FromGguf(**file);
  ASSERT_FALSE(tok.ok());
  EXPECT_NE(tok.status().message().find("tokenizer.ggml.pre"), std::string::npos);
  EXPECT_NE(tok.status().message().find("vocab-test.gguf"), std::string::npos);
  EXPECT_NE(tok.status().message().find("mystery"), std::string::npos);
}

}  // namespace
}  // namespace cachewire::tokenizer
