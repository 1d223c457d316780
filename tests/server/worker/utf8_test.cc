// ValidUtf8: valid text passes unchanged (ASCII, 2-, 3- and 4-byte characters), each byte that
// does not start a valid character becomes U+FFFD (stray continuation bytes, truncated
// sequences, overlong forms, surrogates, code points above U+10FFFF, 0xC0/0xC1/0xF5..0xFF).
#include "server/worker/utf8.h"

#include <gtest/gtest.h>

namespace cachewire::server::worker {
namespace {

const std::string kBad = "\xEF\xBF\xBD";

TEST(Utf8Test, ValidTextIsUnchanged) {
  const std::string text = "plain \xC3\xA9t\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80 \xF4\x8F\xBF\xBF";
  EXPECT_EQ(ValidUtf8(text), text);
  EXPECT_EQ(ValidUtf8(""), "");
  EXPECT_EQ(ValidUtf8(std::string("a\0b", 3)), std::string("a\0b", 3));
}

TEST(Utf8Test, InvalidBytesBecomeReplacementCharacters) {
  EXPECT_EQ(ValidUtf8("\x80"), kBad);                      // stray continuation
  EXPECT_EQ(ValidUtf8("a\xC3"), "a" + kBad);               // truncated at the end
  EXPECT_EQ(ValidUtf8("\xE2\x82z"), kBad + kBad + "z");    // truncated in the middle
  EXPECT_EQ(ValidUtf8("\xC0\xAF"), kBad + kBad);           // overlong '/'
  EXPECT_EQ(ValidUtf8("\xE0\x80\xAF"), kBad + kBad + kBad);  // overlong 3-byte
  EXPECT_EQ(ValidUtf8("\xED\xA0\x80"), kBad + kBad + kBad);  // surrogate U+D800
  EXPECT_EQ(ValidUtf8("\xF4\x90\x80\x80"), kBad + kBad + kBad + kBad);  // above U+10FFFF
  EXPECT_EQ(ValidUtf8("\xFF\xF5x"), kBad + kBad + "x");
  EXPECT_EQ(ValidUtf8("\xCF\xCF\xC3\xA9"), kBad + kBad + "\xC3\xA9");
}

}  // namespace
}  // namespace cachewire::server::worker
