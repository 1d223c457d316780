// SentencePiece-style merges by score, byte fallback, unk, the space prefix and decoding.
#include "engine/tokenizer/spm_tokenizer.h"

#include <cstdio>

#include <gtest/gtest.h>

#include "engine/tokenizer/tokenizer.h"

namespace cachewire::tokenizer {
namespace {

constexpr int32_t kByte0 = 3;  // <0x00> .. <0xFF> are ids 3..258

// <unk> <s> </s>, the 256 byte tokens (optional), then `pieces` with their scores.
VocabParams SpmVocab(std::vector<std::pair<std::string, float>> pieces, bool bytes = true) {
  VocabParams p;
  p.kind = VocabKind::kSpm;
  auto add = [&](std::string t, float score, TokenType type) {
    p.tokens.push_back(std::move(t));
    p.scores.push_back(score);
    p.types.push_back(type);
  };
  add("<unk>", 0, TokenType::kUnknown);
  add("<s>", 0, TokenType::kControl);
  add("</s>", 0, TokenType::kControl);
  if (bytes) {
    for (int b = 0; b < 256; ++b) {
      char name[8];
      std::snprintf(name, sizeof(name), "<0x%02X>", b);
      add(name, 0, TokenType::kByte);
    }
  }
  for (auto& [t, s] : pieces) add(t, s, TokenType::kNormal);
  p.unk = 0;
  p.bos = 1;
  p.eos = 2;
  return p;
}

std::vector<int32_t> EncodeSpm(const Vocab& v, std::string_view text) {
  auto spm = SpmTokenizer::Create(v);
  EXPECT_TRUE(spm.ok());
  SpmTokenizer::Scratch s;
  std::vector<int32_t> out;
  (*spm)->Encode(text, &s, &out);
  return out;
}

TEST(SpmTokenizer, HighestScoreMergesFirst) {
  // 259 a, 260 b, 261 c, 262 ab, 263 bc, 264 abc
  auto v1 = Vocab::Create(SpmVocab({{"a", 0}, {"b", 0}, {"c", 0}, {"ab", -2}, {"bc", -1}}));
  ASSERT_TRUE(v1.ok());
  EXPECT_EQ(EncodeSpm(**v1, "abc"), (std::vector<int32_t>{259, 263}));  // bc first, then a stays
  auto v2 = Vocab::Create(SpmVocab({{"a", 0}, {"b", 0}, {"c", 0}, {"ab", -1}, {"bc", -2},
                                    {"abc", -3}}));
  ASSERT_TRUE(v2.ok());
  EXPECT_EQ(EncodeSpm(**v2, "abc"), (std::vector<int32_t>{264}));  // ab, then ab+c
}

TEST(SpmTokenizer, TiesGoLeft) {
  auto v = Vocab::Create(SpmVocab({{"a", 0}, {"aa", -1}}));
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(EncodeSpm(**v, "aaa"), (std::vector<int32_t>{260, 259}));
}

TEST(SpmTokenizer, ByteFallbackAndUnk) {
  auto v = Vocab::Create(SpmVocab({{"a", 0}}));
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(EncodeSpm(**v, "a\xC3\xA9"), (std::vector<int32_t>{259, kByte0 + 0xC3, kByte0 + 0xA9}));
  EXPECT_EQ(EncodeSpm(**v, "\xFF"), (std::vector<int32_t>{kByte0 + 0xFF}));
  auto no_bytes = Vocab::Create(SpmVocab({{"a", 0}}, /*bytes=*/false));
  ASSERT_TRUE(no_bytes.ok());
  // 3 = "a" here; unknown characters become <unk>, consecutive ones fused.
  EXPECT_EQ(EncodeSpm(**no_bytes, "\xC3\xA9\xC3\xA9" "a\xFF"), (std::vector<int32_t>{0, 3, 0}));
}

TEST(SpmTokenizer, FacadeEscapesSpacesAndRoundTrips) {
  auto p = SpmVocab({{"\xE2\x96\x81", 0}, {"h", 0}, {"i", 0}, {"\xE2\x96\x81h", -1},
                     {"\xE2\x96\x81hi", -2}});
  p.add_space_prefix = true;
  p.add_bos = true;
  auto v = Vocab::Create(std::move(p));
  ASSERT_TRUE(v.ok());
  auto tok = Tokenizer::FromVocab(std::move(*v));
  ASSERT_TRUE(tok.ok()) << tok.status();
  // "hi hi" -> "▁hi▁hi": ids 1 (bos), 263, 263.
  EXPECT_EQ((*tok)->Encode("hi hi"), (std::vector<int32_t>{1, 263, 263}));
  // After a special token the prefix comes again (llama.cpp / HF legacy behaviour).
  EXPECT_EQ((*tok)->Encode("hi</s>hi", {.add_bos = false}), (std::vector<int32_t>{263, 2, 263}));
  for (std::string s : {"hi hi", " hi", "  x\xC3\xA9 ", "hi</s> hi<s>", "", "\xFF"}) {
    auto back = (*tok)->Decode((*tok)->Encode(s));
    ASSERT_TRUE(back.ok());
    EXPECT_EQ(*back, "<s>" + s) << s;
  }
}

}  // namespace
}  // namespace cachewire::tokenizer
