// Byte-level BPE on a small vocabulary: merge order by rank, ties to the left, ignore_merges,
// bytes outside UTF-8, and the facade around it.
#include "engine/tokenizer/bpe_tokenizer.h"

#include <gtest/gtest.h>

#include "engine/tokenizer/tokenizer.h"
#include "engine/tokenizer/unicode.h"

namespace cachewire::tokenizer {
namespace {

// Ids 0..255 are the byte alphabet in byte order (so the id of byte b is b); `extra` follow.
VocabParams ByteVocab(std::vector<std::string> extra, std::vector<std::string> merges) {
  VocabParams p;
  p.kind = VocabKind::kBpe;
  p.pre = "gpt-2";
  for (const std::string& s : ByteToUnicode()) p.tokens.push_back(s);
  for (auto& e : extra) p.tokens.push_back(std::move(e));
  p.merges = std::move(merges);
  return p;
}

std::vector<int32_t> EncodeWord(const Vocab& v, BpeOptions o, std::string_view word) {
  auto bpe = BpeTokenizer::Create(v, o);
  EXPECT_TRUE(bpe.ok());
  BpeTokenizer::Scratch s;
  std::vector<int32_t> out;
  (*bpe)->EncodeWord(word, &s, &out);
  return out;
}

TEST(BpeTokenizer, LowestRankMergesFirst) {
  // 256 = "ab", 257 = "bc", 258 = "abc".
  auto v1 = Vocab::Create(ByteVocab({"ab", "bc", "abc"}, {"b c", "a b", "ab c"}));
  ASSERT_TRUE(v1.ok());
  EXPECT_EQ(EncodeWord(**v1, {}, "abc"), (std::vector<int32_t>{'a', 257}));
  auto v2 = Vocab::Create(ByteVocab({"ab", "bc", "abc"}, {"a b", "b c", "ab c"}));
  ASSERT_TRUE(v2.ok());
  EXPECT_EQ(EncodeWord(**v2, {}, "abc"), (std::vector<int32_t>{258}));
}

TEST(BpeTokenizer, TiesGoLeft) {
  auto v = Vocab::Create(ByteVocab({"aa"}, {"a a"}));
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(EncodeWord(**v, {}, "aaa"), (std::vector<int32_t>{256, 'a'}));
  EXPECT_EQ(EncodeWord(**v, {}, "aaaa"), (std::vector<int32_t>{256, 256}));
}

TEST(BpeTokenizer, IgnoreMergesEmitsWholeWords) {
  // "xyz" is a token but no merge builds it.
  auto v = Vocab::Create(ByteVocab({"xyz", "xy"}, {"x y"}));
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(EncodeWord(**v, {.ignore_merges = true}, "xyz"), (std::vector<int32_t>{256}));
  EXPECT_EQ(EncodeWord(**v, {.ignore_merges = false}, "xyz"), (std::vector<int32_t>{257, 'z'}));
}

TEST(BpeTokenizer, SpacesAndInvalidBytesUseTheByteAlphabet) {
  auto v = Vocab::Create(ByteVocab({"\xC4\xA0" "a"}, {"\xC4\xA0 a"}));  // "Ġa"
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(EncodeWord(**v, {}, " a"), (std::vector<int32_t>{256}));
  EXPECT_EQ(EncodeWord(**v, {}, "\xFF\x80"), (std::vector<int32_t>{0xFF, 0x80}));
}

TEST(BpeTokenizer, CacheGivesTheSameIds) {
  auto v = Vocab::Create(ByteVocab({"ab", "abab"}, {"a b", "ab ab"}));
  ASSERT_TRUE(v.ok());
  auto bpe = BpeTokenizer::Create(**v, {.cache_bytes = 1024});
  ASSERT_TRUE(bpe.ok());
  BpeTokenizer::Scratch s;
  for (int i = 0; i < 100; ++i) {  // enough words to overflow and reset the small cache
    std::vector<int32_t> out;
    std::string word = "ababa" + std::to_string(i);
    (*bpe)->EncodeWord(word, &s, &out);
    ASSERT_GE(out.size(), 2u);
    EXPECT_EQ(out[0], 257);
    EXPECT_EQ(out[1], 'a');
  }
}

TEST(BpeTokenizer, FacadeRoundTripsAnyBytes) {
  auto v = Vocab::Create(ByteVocab({"he", "hel", "hell", "hello", "\xC4\xA0w"},
                                   {"h e", "he l", "hel l", "hell o", "\xC4\xA0 w"}));
  ASSERT_TRUE(v.ok());
  auto tok = Tokenizer::FromVocab(std::move(*v));
  ASSERT_TRUE(tok.ok()) << tok.status();
  auto ids = (*tok)->Encode("hello world", {.add_bos = false});
  EXPECT_EQ(ids[0], 259);  // "hello"
  EXPECT_EQ(ids[1], 260);  // "Ġw"
  for (std::string s : {std::string("hello world"), std::string("\xFF\xFE h\xC3"),
                        std::string("\0x", 2), std::string()}) {
    auto back = (*tok)->Decode((*tok)->Encode(s, {.add_bos = false}));
    ASSERT_TRUE(back.ok());
    EXPECT_EQ(*back, s);
  }
  EXPECT_FALSE((*tok)->Decode(std::vector<int32_t>{100000}).ok());
  EXPECT_FALSE((*tok)->TokenToPiece(-1).ok());
  EXPECT_EQ(*(*tok)->TokenToPiece(260), " w");
}

}  // namespace
}  // namespace cachewire::tokenizer
