// Splitting on special-token strings: leftmost-longest, CONTROL only when parsing specials.
#include "engine/tokenizer/special_tokens.h"

#include <gtest/gtest.h>

namespace cachewire::tokenizer {
namespace {

class SpecialTokens : public ::testing::Test {
 protected:
  void SetUp() override {
    VocabParams p;
    p.kind = VocabKind::kBpe;
    p.tokens = {"a", "<|a|>", "<|ab|>", "\n", "\n\n", "<|u|>", "<|x"};
    p.types = {TokenType::kNormal,      TokenType::kControl,     TokenType::kControl,
               TokenType::kUserDefined, TokenType::kUserDefined, TokenType::kUserDefined,
               TokenType::kNormal};
    auto v = Vocab::Create(std::move(p));
    ASSERT_TRUE(v.ok()) << v.status();
    vocab_ = std::move(*v);
    splitter_ = std::make_unique<SpecialTokenSplitter>(*vocab_);
  }
  std::string Show(std::string_view text, bool parse) {
    std::vector<Fragment> f;
    splitter_->Split(text, parse, &f);
    std::string out;
    for (const auto& x : f) {
      if (x.token >= 0) {
        out.append("[").append(std::to_string(x.token)).append("]");
      } else {
        out.append("'").append(x.text).append("'");
      }
    }
    return out;
  }
  std::unique_ptr<Vocab> vocab_;
  std::unique_ptr<SpecialTokenSplitter> splitter_;
};

TEST_F(SpecialTokens, LeftmostLongest) {
  EXPECT_EQ(Show("x<|ab|>y<|a|>", true), "'x'[2]'y'[1]");
  EXPECT_EQ(Show("\n\n\n", true), "[4][3]");
  EXPECT_EQ(Show("<|a|><|u|>", true), "[1][5]");
  EXPECT_EQ(Show("<|a", true), "'<|a'");  // a prefix of a token is text
  EXPECT_EQ(Show("<|x|>", true), "'<|x|>'");  // NORMAL tokens are not split out
  EXPECT_EQ(Show("", true), "");
}

TEST_F(SpecialTokens, ControlOnlyWhenParsingSpecials) {
  EXPECT_EQ(Show("x<|ab|>y<|u|>\n", false), "'x<|ab|>y'[5][3]");
}

}  // namespace
}  // namespace cachewire::tokenizer
