// The chat formats of chat_template.h, each transcribed from the family's published Jinja
// template (the one its GGUF carries in tokenizer.chat_template): where the template trims
// content (`| trim`, `.strip()`), so does this code; where it does not (ChatML), neither does it.
#include "engine/generate/chat_template.h"

#include "absl/status/status.h"
#include "engine/gguf/str_cat.h"
#include "engine/tokenizer/vocab.h"

namespace cachewire::generate {

using gguf::Cat;

const char* ChatFamilyName(ChatFamily family) {
  switch (family) {
    case ChatFamily::kLlama3: return "llama3";
    case ChatFamily::kGemma3: return "gemma3";
    case ChatFamily::kChatMl: return "chatml";
    case ChatFamily::kLlama2: return "llama2";
  }
  return "unknown";
}

absl::StatusOr<ChatFamily> ParseChatFamily(std::string_view name) {
  for (ChatFamily f : {ChatFamily::kLlama3, ChatFamily::kGemma3, ChatFamily::kChatMl,
                       ChatFamily::kLlama2}) {
    if (name == ChatFamilyName(f)) return f;
  }
  if (name == "qwen") return ChatFamily::kChatMl;
  return absl::InvalidArgumentError(
      Cat("chat_template: unknown family '", name,
          "' (expected llama3, gemma3, chatml or llama2)"));
}

std::optional<ChatFamily> ChatFamilyFromTemplate(std::string_view jinja) {
  if (jinja.find("<|start_header_id|>") != std::string_view::npos) return ChatFamily::kLlama3;
  if (jinja.find("<start_of_turn>") != std::string_view::npos) return ChatFamily::kGemma3;
  if (jinja.find("<|im_start|>") != std::string_view::npos) return ChatFamily::kChatMl;
  if (jinja.find("[INST]") != std::string_view::npos) return ChatFamily::kLlama2;
  return std::nullopt;
}

absl::StatusOr<ChatFamily> DetectChatFamily(const tokenizer::Vocab& vocab,
                                            std::string_view architecture) {
  const std::string& jinja = vocab.chat_template();
  if (!jinja.empty()) {
    if (auto family = ChatFamilyFromTemplate(jinja)) return *family;
    return absl::NotFoundError(
        Cat(vocab.source(), ": tokenizer.chat_template is not one of the supported families "
            "(Llama 3, Gemma 3, ChatML, Llama 2); choose one explicitly"));
  }
  const auto bos_is = [&](std::string_view text) {
    return vocab.valid_id(vocab.bos()) && vocab.token(vocab.bos()) == text;
  };
  if (architecture.starts_with("gemma")) return ChatFamily::kGemma3;
  if (architecture.starts_with("qwen")) return ChatFamily::kChatMl;
  if (architecture == "llama") {
    if (vocab.Find("<|start_header_id|>") >= 0 || bos_is("<|begin_of_text|>")) {
      return ChatFamily::kLlama3;
    }
    if (vocab.Find("<|im_start|>") >= 0) return ChatFamily::kChatMl;
    if (bos_is("<s>")) return ChatFamily::kLlama2;
  }
  return absl::NotFoundError(
      Cat(vocab.source(), ": no tokenizer.chat_template, and general.architecture '",
          architecture, "' does not determine a chat format; choose one explicitly"));
}

namespace {

std::string_view Trim(std::string_view s) {
  constexpr std::string_view kSpace = " \t\n\r\f\v";
  const size_t begin = s.find_first_not_of(kSpace);
  if (begin == std::string_view::npos) return {};
  return s.substr(begin, s.find_last_not_of(kSpace) - begin + 1);
}

absl::Status CheckRoles(std::span<const ChatMessage> messages) {
  if (messages.empty()) return absl::InvalidArgumentError("messages: the list is empty");
  for (size_t i = 0; i < messages.size(); ++i) {
    const std::string& r = messages[i].role;
    if (r != "system" && r != "user" && r != "assistant") {
      return absl::InvalidArgumentError(
          Cat("messages[", i, "].role: '", r, "' is not system, user or assistant"));
    }
  }
  return absl::OkStatus();
}

// Gemma 3 and Llama 2: an optional leading system message, then user/assistant alternating,
// starting with user. Returns the index of the first non-system message.
absl::StatusOr<size_t> CheckAlternation(std::span<const ChatMessage> messages) {
  const size_t first = messages[0].role == "system" ? 1 : 0;
  for (size_t i = first; i < messages.size(); ++i) {
    const char* want = (i - first) % 2 == 0 ? "user" : "assistant";
    if (messages[i].role != want) {
      return absl::InvalidArgumentError(
          Cat("messages[", i, "].role: '", messages[i].role, "' where this family's template ",
              "expects '", want, "' (an optional first system message, then user/assistant ",
              "alternating)"));
    }
  }
  return first;
}

std::string FormatLlama3(std::span<const ChatMessage> messages, const ChatFormatParams& params) {
  std::string out = "<|begin_of_text|>";
  for (const ChatMessage& m : messages) {
    out += Cat("<|start_header_id|>", m.role, "<|end_header_id|>\n\n", Trim(m.content),
               "<|eot_id|>");
  }
  if (params.add_generation_prompt) out += "<|start_header_id|>assistant<|end_header_id|>\n\n";
  return out;
}

std::string FormatGemma3(std::span<const ChatMessage> messages, size_t first,
                         const ChatFormatParams& params) {
  std::string out = "<bos>";
  std::string prefix = first == 1 ? messages[0].content + "\n\n" : "";  // not trimmed
  for (size_t i = first; i < messages.size(); ++i) {
    const ChatMessage& m = messages[i];
    const std::string_view role = m.role == "assistant" ? "model" : std::string_view(m.role);
    out += Cat("<start_of_turn>", role, "\n", i == first ? prefix : std::string(),
               Trim(m.content), "<end_of_turn>\n");
  }
  if (params.add_generation_prompt) out += "<start_of_turn>model\n";
  return out;
}

std::string FormatChatMl(std::span<const ChatMessage> messages, const ChatFormatParams& params) {
  std::string out;
  for (const ChatMessage& m : messages) {
    out += Cat("<|im_start|>", m.role, "\n", m.content, "<|im_end|>\n");
  }
  if (params.add_generation_prompt) out += "<|im_start|>assistant\n";
  return out;
}

// Llama 2's template has no generation prompt: the reply follows " [/INST]" directly.
std::string FormatLlama2(std::span<const ChatMessage> messages, size_t first) {
  std::string out;
  for (size_t i = first; i < messages.size(); ++i) {
    const ChatMessage& m = messages[i];
    std::string content = m.content;
    if (i == first && first == 1) {
      content = Cat("<<SYS>>\n", messages[0].content, "\n<</SYS>>\n\n", m.content);
    }
    if (m.role == "user") {
      out += Cat("<s>[INST] ", Trim(content), " [/INST]");
    } else {
      out += Cat(" ", Trim(content), " </s>");
    }
  }
  return out;
}

}  // namespace

absl::StatusOr<std::string> FormatChat(ChatFamily family, std::span<const ChatMessage> messages,
                                       const ChatFormatParams& params) {
  if (absl::Status s = CheckRoles(messages); !s.ok()) return s;
  switch (family) {
    case ChatFamily::kLlama3:
      return FormatLlama3(messages, params);
    case ChatFamily::kChatMl:
      return FormatChatMl(messages, params);
    case ChatFamily::kGemma3: {
      auto first = CheckAlternation(messages);
      if (!first.ok()) return first.status();
      return FormatGemma3(messages, *first, params);
    }
    case ChatFamily::kLlama2: {
      auto first = CheckAlternation(messages);
      if (!first.ok()) return first.status();
      return FormatLlama2(messages, *first);
    }
  }
  return absl::InvalidArgumentError("chat_template: unknown family");
}

}  // namespace cachewire::generate
