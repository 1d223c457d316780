// UTF-8 helpers, NFC and the GPT-2 byte map.
#include "engine/tokenizer/unicode.h"

#include <set>

#include <gtest/gtest.h>

namespace cachewire::tokenizer {
namespace {

TEST(Unicode, SequenceLengths) {
  EXPECT_EQ(Utf8SeqLen("a", 0), 1u);
  EXPECT_EQ(Utf8SeqLen("\xC3\xA9", 0), 2u);          // é
  EXPECT_EQ(Utf8SeqLen("\xE2\x82\xAC", 0), 3u);      // €
  EXPECT_EQ(Utf8SeqLen("\xF0\x9F\x98\x80", 0), 4u);  // 😀
  EXPECT_EQ(Utf8SeqLen("\xC0\x80", 0), 1u);          // overlong
  EXPECT_EQ(Utf8SeqLen("\xED\xA0\x80", 0), 1u);      // surrogate
  EXPECT_EQ(Utf8SeqLen("\xF4\x90\x80\x80", 0), 1u);  // beyond U+10FFFF
  EXPECT_EQ(Utf8SeqLen("\xE2\x82", 0), 1u);          // truncated
  EXPECT_EQ(Utf8SeqLen("\x80", 0), 1u);              // stray continuation
  size_t len = 0;
  EXPECT_EQ(DecodeUtf8("\xE2\x82\xAC", 0, &len), 0x20ACu);
  EXPECT_EQ(DecodeUtf8("\xFF", 0, &len), kInvalidCodepoint);
  std::string s;
  AppendUtf8(0x1F600, &s);
  EXPECT_EQ(s, "\xF0\x9F\x98\x80");
}

TEST(Unicode, IncompleteTail) {
  EXPECT_EQ(IncompleteUtf8Tail("ab"), 0u);
  EXPECT_EQ(IncompleteUtf8Tail("ab\xE2\x82"), 2u);
  EXPECT_EQ(IncompleteUtf8Tail("ab\xE2\x82\xAC"), 0u);
  EXPECT_EQ(IncompleteUtf8Tail("\xF0\x9F\x98"), 3u);
  EXPECT_EQ(IncompleteUtf8Tail("\xF0"), 1u);
  EXPECT_EQ(IncompleteUtf8Tail("\xED\xA0"), 0u);  // a surrogate never completes
  EXPECT_EQ(IncompleteUtf8Tail("\xFF"), 0u);
  EXPECT_EQ(IncompleteUtf8Tail("\x80\x80\x80"), 0u);
}

TEST(Unicode, Nfc) {
  std::string out;
  AppendNfc("Cafe\xCC\x81 A\xCC\x8A", &out);  // e + U+0301, A + U+030A
  EXPECT_EQ(out, "Caf\xC3\xA9 \xC3\x85");
  out.clear();
  AppendNfc("x\xFFy e\xCC\x81\xFE", &out);  // invalid bytes survive, valid runs normalise
  EXPECT_EQ(out, "x\xFFy \xC3\xA9\xFE");
  out.clear();
  AppendNfc("plain ascii", &out);
  EXPECT_EQ(out, "plain ascii");
  EXPECT_TRUE(IsAscii("abc"));
  EXPECT_FALSE(IsAscii("ab\xC3\xA9"));
}

TEST(Unicode, ByteMapIsABijection) {
  const auto& map = ByteToUnicode();
  EXPECT_EQ(map[' '], "\xC4\xA0");   // Ġ
  EXPECT_EQ(map['\n'], "\xC4\x8A");  // Ċ
  EXPECT_EQ(map['a'], "a");
  std::set<std::string> seen;
  for (int b = 0; b < 256; ++b) {
    size_t len = 0;
    uint32_t cp = DecodeUtf8(map[b], 0, &len);
    EXPECT_EQ(len, map[b].size());
    EXPECT_EQ(UnicodeToByte(cp), b);
    seen.insert(map[b]);
  }
  EXPECT_EQ(seen.size(), 256u);
  EXPECT_EQ(UnicodeToByte(0x4E2D), -1);
}

}  // namespace
}  // namespace cachewire::tokenizer
