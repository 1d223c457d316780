// Chat templates through the real vocabularies (build/tokenizer_refs/*.gguf, written by the
// `tokenizer_refs` fixture): each GGUF's tokenizer.chat_template selects the right family, and
// encoding the formatted text (add_bos off, parse_special on) yields the special-token ids of the
// markers, with exactly one BOS, rather than their characters.
#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "engine/generate/chat_template.h"
#include "engine/gguf/gguf_file.h"
#include "engine/tokenizer/tokenizer.h"

namespace cachewire::generate {
namespace {

using ::testing::ElementsAre;
using ::testing::ElementsAreArray;

struct Loaded {
  std::unique_ptr<gguf::File> file;
  std::unique_ptr<tokenizer::Tokenizer> tok;
};

Loaded Load(const std::string& name) {
  Loaded l;
  auto file = gguf::File::Open(std::string(CACHEWIRE_BINARY_DIR) + "/tokenizer_refs/" + name +
                               ".gguf");
  if (!file.ok()) return l;
  l.file = std::move(*file);
  auto tok = tokenizer::Tokenizer::FromGguf(*l.file);
  if (tok.ok()) l.tok = std::move(*tok);
  return l;
}

int64_t Count(const std::vector<int32_t>& ids, int32_t id) {
  return std::count(ids.begin(), ids.end(), id);
}

const std::vector<ChatMessage> kChat = {{"system", "Be brief."}, {"user", "Hello!"}};

std::vector<int32_t> EncodeChat(const tokenizer::Tokenizer& tok, ChatFamily family) {
  auto text = FormatChat(family, kChat);
  if (!text.ok()) return {};
  return tok.Encode(*text, {.add_bos = false, .parse_special = true});
}

TEST(ChatTemplateVocabTest, Llama3MarkersBecomeSpecialIds) {
  Loaded l = Load("llama3");
  ASSERT_NE(l.tok, nullptr) << "run the tokenizer_refs fixture";
  ASSERT_EQ(*DetectChatFamily(l.tok->vocab(), ""), ChatFamily::kLlama3);
  const std::vector<int32_t> ids = EncodeChat(*l.tok, ChatFamily::kLlama3);
  const int32_t kBegin = 128000, kStartHeader = 128006, kEndHeader = 128007, kEot = 128009;
  ASSERT_EQ(l.tok->bos(), kBegin);
  ASSERT_EQ(l.tok->eot(), kEot);
  ASSERT_FALSE(ids.empty());
  EXPECT_EQ(ids[0], kBegin);
  EXPECT_EQ(Count(ids, kBegin), 1);
  EXPECT_EQ(Count(ids, kStartHeader), 3);
  EXPECT_EQ(Count(ids, kEndHeader), 3);
  EXPECT_EQ(Count(ids, kEot), 2);
  // <|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\n...
  EXPECT_EQ(ids[1], kStartHeader);
  EXPECT_EQ(ids[2], l.tok->vocab().Find("system"));
  EXPECT_EQ(ids[3], kEndHeader);
  // ...<|start_header_id|>assistant<|end_header_id|>\n\n at the end.
  EXPECT_THAT(std::vector<int32_t>(ids.end() - 4, ids.end()),
              ElementsAre(kStartHeader, l.tok->vocab().Find("assistant"), kEndHeader,
                          l.tok->vocab().Find("\xC4\x8A\xC4\x8A")));  // "\n\n" byte-level
  EXPECT_EQ(*l.tok->Decode(ids), *FormatChat(ChatFamily::kLlama3, kChat));
}

TEST(ChatTemplateVocabTest, Gemma3MarkersBecomeSpecialIds) {
  Loaded l = Load("gemma3");
  ASSERT_NE(l.tok, nullptr) << "run the tokenizer_refs fixture";
  ASSERT_EQ(*DetectChatFamily(l.tok->vocab(), ""), ChatFamily::kGemma3);
  const std::vector<int32_t> ids = EncodeChat(*l.tok, ChatFamily::kGemma3);
  const int32_t kBos = 2, kStartTurn = 105, kEndTurn = 106;
  ASSERT_EQ(l.tok->vocab().Find("<start_of_turn>"), kStartTurn);
  ASSERT_EQ(l.tok->vocab().Find("<end_of_turn>"), kEndTurn);
  ASSERT_FALSE(ids.empty());
  EXPECT_EQ(ids[0], kBos);
  EXPECT_EQ(Count(ids, kBos), 1);
  EXPECT_EQ(ids[1], kStartTurn);
  EXPECT_EQ(Count(ids, kStartTurn), 2);
  EXPECT_EQ(Count(ids, kEndTurn), 1);
  // <start_of_turn>model\n closes the prompt.
  const std::vector<int32_t> tail = l.tok->Encode("<start_of_turn>model\n",
                                                  {.add_bos = false, .parse_special = true});
  ASSERT_EQ(tail.size(), 3u);
  EXPECT_THAT(std::vector<int32_t>(ids.end() - 3, ids.end()), ElementsAreArray(tail));
  EXPECT_EQ(*l.tok->Decode(ids), *FormatChat(ChatFamily::kGemma3, kChat));
}

TEST(ChatTemplateVocabTest, QwenUsesChatMl) {
  Loaded l = Load("qwen3");
  ASSERT_NE(l.tok, nullptr) << "run the tokenizer_refs fixture";
  ASSERT_EQ(*DetectChatFamily(l.tok->vocab(), ""), ChatFamily::kChatMl);
  const std::vector<int32_t> ids = EncodeChat(*l.tok, ChatFamily::kChatMl);
  const int32_t kImStart = 151644, kImEnd = 151645;
  ASSERT_FALSE(ids.empty());
  EXPECT_EQ(ids[0], kImStart);
  EXPECT_EQ(Count(ids, kImStart), 3);
  EXPECT_EQ(Count(ids, kImEnd), 2);
}

TEST(ChatTemplateVocabTest, Llama2HasNoTemplateButItsVocabularyTells) {
  Loaded l = Load("llama2");
  ASSERT_NE(l.tok, nullptr) << "run the tokenizer_refs fixture";
  ASSERT_EQ(*DetectChatFamily(l.tok->vocab(), "llama"), ChatFamily::kLlama2);
  const std::vector<int32_t> ids = EncodeChat(*l.tok, ChatFamily::kLlama2);
  ASSERT_FALSE(ids.empty());
  EXPECT_EQ(ids[0], 1);  // <s>
  EXPECT_EQ(Count(ids, 1), 1);
  auto none = DetectChatFamily(l.tok->vocab(), "");
  EXPECT_EQ(none.status().code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace cachewire::generate
