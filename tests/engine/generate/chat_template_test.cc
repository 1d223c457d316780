// Chat formats against strings written out by hand from each family's published template, the
// family detection, and the errors of malformed message lists.
#include "engine/generate/chat_template.h"

#include <memory>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "engine/tokenizer/vocab.h"

namespace cachewire::generate {
namespace {

using ::testing::HasSubstr;

const std::vector<ChatMessage> kConversation = {
    {"system", "You are terse."},
    {"user", " Hi there \n"},
    {"assistant", "Hello."},
    {"user", "Bye"},
};

TEST(ChatTemplateTest, Llama3) {
  auto text = FormatChat(ChatFamily::kLlama3, kConversation);
  ASSERT_TRUE(text.ok()) << text.status();
  EXPECT_EQ(*text,
            "<|begin_of_text|>"
            "<|start_header_id|>system<|end_header_id|>\n\nYou are terse.<|eot_id|>"
            "<|start_header_id|>user<|end_header_id|>\n\nHi there<|eot_id|>"
            "<|start_header_id|>assistant<|end_header_id|>\n\nHello.<|eot_id|>"
            "<|start_header_id|>user<|end_header_id|>\n\nBye<|eot_id|>"
            "<|start_header_id|>assistant<|end_header_id|>\n\n");
  auto no_prompt = FormatChat(ChatFamily::kLlama3, std::vector<ChatMessage>{{"user", "x"}},
                              {.add_generation_prompt = false});
  EXPECT_EQ(*no_prompt,
            "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nx<|eot_id|>");
}

TEST(ChatTemplateTest, Gemma3MergesSystemIntoFirstUserTurn) {
  auto text = FormatChat(ChatFamily::kGemma3, kConversation);
  ASSERT_TRUE(text.ok()) << text.status();
  EXPECT_EQ(*text,
            "<bos>"
            "<start_of_turn>user\nYou are terse.\n\nHi there<end_of_turn>\n"
            "<start_of_turn>model\nHello.<end_of_turn>\n"
            "<start_of_turn>user\nBye<end_of_turn>\n"
            "<start_of_turn>model\n");
  auto plain = FormatChat(ChatFamily::kGemma3, std::vector<ChatMessage>{{"user", "Hi"}});
  EXPECT_EQ(*plain, "<bos><start_of_turn>user\nHi<end_of_turn>\n<start_of_turn>model\n");
}

TEST(ChatTemplateTest, ChatMlKeepsContentAsIs) {
  auto text = FormatChat(ChatFamily::kChatMl, kConversation);
  ASSERT_TRUE(text.ok()) << text.status();
  EXPECT_EQ(*text,
            "<|im_start|>system\nYou are terse.<|im_end|>\n"
            "<|im_start|>user\n Hi there \n<|im_end|>\n"
            "<|im_start|>assistant\nHello.<|im_end|>\n"
            "<|im_start|>user\nBye<|im_end|>\n"
            "<|im_start|>assistant\n");
}

TEST(ChatTemplateTest, Llama2) {
  auto text = FormatChat(ChatFamily::kLlama2, kConversation);
  ASSERT_TRUE(text.ok()) << text.status();
  EXPECT_EQ(*text,
            "<s>[INST] <<SYS>>\nYou are terse.\n<</SYS>>\n\n Hi there [/INST]"
            " Hello. </s>"
            "<s>[INST] Bye [/INST]");
  auto plain = FormatChat(ChatFamily::kLlama2, std::vector<ChatMessage>{{"user", "Hi"}});
  EXPECT_EQ(*plain, "<s>[INST] Hi [/INST]");
}

TEST(ChatTemplateTest, MalformedMessageListsNameTheMessage) {
  auto empty = FormatChat(ChatFamily::kLlama3, {});
  EXPECT_EQ(empty.status().code(), absl::StatusCode::kInvalidArgument);
  auto role = FormatChat(ChatFamily::kChatMl,
                         std::vector<ChatMessage>{{"user", "a"}, {"robot", "b"}});
  EXPECT_THAT(role.status().message(), HasSubstr("messages[1].role"));
  auto order = FormatChat(ChatFamily::kGemma3,
                          std::vector<ChatMessage>{{"user", "a"}, {"user", "b"}});
  EXPECT_EQ(order.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(order.status().message(), HasSubstr("messages[1].role"));
  auto late_system = FormatChat(
      ChatFamily::kLlama2, std::vector<ChatMessage>{{"user", "a"}, {"system", "b"}});
  EXPECT_THAT(late_system.status().message(), HasSubstr("messages[1].role"));
  auto assistant_first = FormatChat(ChatFamily::kGemma3,
                                    std::vector<ChatMessage>{{"assistant", "a"}});
  EXPECT_THAT(assistant_first.status().message(), HasSubstr("messages[0].role"));
}

TEST(ChatTemplateTest, FamilyNamesRoundTrip) {
  for (ChatFamily f : {ChatFamily::kLlama3, ChatFamily::kGemma3, ChatFamily::kChatMl,
                       ChatFamily::kLlama2}) {
    EXPECT_EQ(*ParseChatFamily(ChatFamilyName(f)), f);
  }
  EXPECT_EQ(*ParseChatFamily("qwen"), ChatFamily::kChatMl);
  auto bad = ParseChatFamily("vicuna");
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(bad.status().message(), HasSubstr("chat_template"));
}

TEST(ChatTemplateTest, FamilyFromTemplateMarkers) {
  EXPECT_EQ(ChatFamilyFromTemplate("{{ '<|start_header_id|>' + role }}"), ChatFamily::kLlama3);
  EXPECT_EQ(ChatFamilyFromTemplate("{{ '<start_of_turn>' }}"), ChatFamily::kGemma3);
  EXPECT_EQ(ChatFamilyFromTemplate("{{- '<|im_start|>' + message.role }}"), ChatFamily::kChatMl);
  EXPECT_EQ(ChatFamilyFromTemplate("{{ bos_token + '[INST] ' }}"), ChatFamily::kLlama2);
  EXPECT_EQ(ChatFamilyFromTemplate("{{ messages }}"), std::nullopt);
}

std::unique_ptr<tokenizer::Vocab> MakeVocab(std::vector<std::string> tokens, int32_t bos,
                                            std::string chat_template) {
  tokenizer::VocabParams p;
  p.source = "model.gguf";
  p.tokens = std::move(tokens);
  p.bos = bos;
  p.chat_template = std::move(chat_template);
  auto v = tokenizer::Vocab::Create(std::move(p));
  return v.ok() ? std::move(*v) : nullptr;
}

TEST(ChatTemplateTest, DetectPrefersTheTemplateThenTheArchitecture) {
  auto templ = MakeVocab({"a", "b"}, -1, "{{ '<start_of_turn>' }}");
  ASSERT_NE(templ, nullptr);
  EXPECT_EQ(*DetectChatFamily(*templ, "llama"), ChatFamily::kGemma3);

  auto llama3 = MakeVocab({"a", "<|begin_of_text|>"}, 1, "");
  EXPECT_EQ(*DetectChatFamily(*llama3, "llama"), ChatFamily::kLlama3);
  auto llama2 = MakeVocab({"a", "<s>"}, 1, "");
  EXPECT_EQ(*DetectChatFamily(*llama2, "llama"), ChatFamily::kLlama2);
  auto plain = MakeVocab({"a", "b"}, -1, "");
  EXPECT_EQ(*DetectChatFamily(*plain, "gemma3"), ChatFamily::kGemma3);
  EXPECT_EQ(*DetectChatFamily(*plain, "qwen3"), ChatFamily::kChatMl);
}

TEST(ChatTemplateTest, UnknownTemplateErrorNamesTheKey) {
  auto odd = MakeVocab({"a", "b"}, -1, "{{ messages | odd }}");
  auto s = DetectChatFamily(*odd, "llama");
  EXPECT_EQ(s.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(s.status().message(), HasSubstr("tokenizer.chat_template"));
  EXPECT_THAT(s.status().message(), HasSubstr("model.gguf"));
  auto none = MakeVocab({"a", "b"}, -1, "");
  s = DetectChatFamily(*none, "gpt2");
  EXPECT_EQ(s.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(s.status().message(), HasSubstr("tokenizer.chat_template"));
  EXPECT_THAT(s.status().message(), HasSubstr("gpt2"));
}

}  // namespace
}  // namespace cachewire::generate
