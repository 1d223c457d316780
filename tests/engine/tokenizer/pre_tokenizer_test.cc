// Regex pre-tokenizers: the splits of the named vocabularies and robustness on any bytes.
#include "engine/tokenizer/pre_tokenizer.h"

#include <gtest/gtest.h>

namespace cachewire::tokenizer {
namespace {

using Pieces = std::vector<std::string_view>;

Pieces SplitWith(std::string_view name, std::string_view text) {
  auto pre = PreTokenizer::Create(name, "test.gguf");
  EXPECT_TRUE(pre.ok()) << pre.status();
  Pieces out;
  (*pre)->Split(text, &out);
  return out;
}

TEST(PreTokenizer, Llama3GroupsDigitsByThree) {
  EXPECT_EQ(SplitWith("llama-bpe", "Hello world 12345 I'm"),
            (Pieces{"Hello", " world", " ", "123", "45", " I", "'m"}));
  EXPECT_EQ(SplitWith("llama-bpe", "a\n\n  b"), (Pieces{"a", "\n\n", " ", " b"}));
  EXPECT_EQ(SplitWith("llama-bpe", "x...\r\ny"), (Pieces{"x", "...\r\n", "y"}));
  EXPECT_EQ(SplitWith("llama-bpe", "IT'S"), (Pieces{"IT", "'S"}));  // (?i:'s)
}

TEST(PreTokenizer, Qwen2SingleDigitsAndNfc) {
  EXPECT_EQ(SplitWith("qwen2", "x 123"), (Pieces{"x", " ", "1", "2", "3"}));
  auto pre = PreTokenizer::Create("qwen2", "t");
  ASSERT_TRUE(pre.ok());
  EXPECT_TRUE((*pre)->nfc());
  EXPECT_FALSE((*PreTokenizer::Create("llama-bpe", "t"))->nfc());
}

TEST(PreTokenizer, Gpt2) {
  EXPECT_EQ(SplitWith("gpt-2", "Hello  world 12345's"),
            (Pieces{"Hello", " ", " world", " 12345", "'s"}));
}

TEST(PreTokenizer, DefaultAppliesItsRegexesInTurn) {
  // Punctuation runs first, then words, then digit runs, then groups of three ASCII digits.
  Pieces p = SplitWith("default", "ab+=c 123456");
  std::string joined;
  for (auto s : p) joined += s;
  EXPECT_EQ(joined, "ab+=c 123456");
  EXPECT_NE(std::find(p.begin(), p.end(), "+="), p.end());
  EXPECT_NE(std::find(p.begin(), p.end(), "456"), p.end());
}

TEST(PreTokenizer, UnknownNameNamesTheKeyAndFile) {
  auto pre = PreTokenizer::Create("no-such-pre", "model.gguf");
  ASSERT_FALSE(pre.ok());
  EXPECT_NE(pre.status().message().find("tokenizer.ggml.pre"), std::string::npos);
  EXPECT_NE(pre.status().message().find("model.gguf"), std::string::npos);
  EXPECT_NE(pre.status().message().find("no-such-pre"), std::string::npos);
}

TEST(PreTokenizer, PiecesCoverAnyInput) {
  const std::string inputs[] = {
      "ab\xFF" "cd", "\xE2\x82", "\xC0\x80 x", std::string(5000, ' '), std::string(3000, '7'),
      "\xF0\x9F\x98\x80\xF0\x9F", std::string("a\0b", 3), "\xED\xA0\x80 ok"};
  for (const char* name : {"llama-bpe", "qwen2", "gpt-2", "default", "smollm"}) {
    auto pre = PreTokenizer::Create(name, "t");
    ASSERT_TRUE(pre.ok()) << name;
    for (const std::string& in : inputs) {
      Pieces out;
      (*pre)->Split(in, &out);
      std::string joined;
      for (auto s : out) {
        EXPECT_FALSE(s.empty());
        joined += s;
      }
      EXPECT_EQ(joined, in) << name;
    }
  }
}

}  // namespace
}  // namespace cachewire::tokenizer
