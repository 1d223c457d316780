// Chat templates of the supported model families, written out in C++ rather than interpreted
// from the GGUF's Jinja text: a message list (role, content) becomes the prompt text the
// family's own template renders, including the generation prompt that opens the reply.
//
//   Llama 3   <|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>
//             <|start_header_id|>assistant<|end_header_id|>\n\n
//   Gemma 3   <bos><start_of_turn>user\nHi<end_of_turn>\n<start_of_turn>model\n
//             (a system message is merged into the first user turn, followed by "\n\n")
//   ChatML    <|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n          (Qwen)
//   Llama 2   <s>[INST] <<SYS>>\nsys\n<</SYS>>\n\nHi [/INST] reply </s><s>[INST] ...
//
// The text carries the family's BOS itself, so encode it with add_bos = false and
// parse_special = true (the markers must become their special-token ids).
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace cachewire::tokenizer {
class Vocab;
}

namespace cachewire::generate {

enum class ChatFamily { kLlama3, kGemma3, kChatMl, kLlama2 };

const char* ChatFamilyName(ChatFamily family);  // "llama3", "gemma3", "chatml", "llama2"
// Inverse of ChatFamilyName (also "qwen" for ChatML); InvalidArgument naming chat_template.
absl::StatusOr<ChatFamily> ParseChatFamily(std::string_view name);

// The family whose markers a tokenizer.chat_template text uses, if any.
std::optional<ChatFamily> ChatFamilyFromTemplate(std::string_view jinja);

// The family of a model: from its tokenizer.chat_template when present, else from
// general.architecture (gemma*, qwen*, llama with a Llama 3 or Llama 2 vocabulary).
// NotFound naming tokenizer.chat_template (and the file) when neither tells.
absl::StatusOr<ChatFamily> DetectChatFamily(const tokenizer::Vocab& vocab,
                                            std::string_view architecture);

struct ChatMessage {
  std::string role;     // "system", "user" or "assistant"
  std::string content;
};

struct ChatFormatParams {
  bool add_generation_prompt = true;  // end with the header of the assistant's reply
};

// The prompt text for `messages`. InvalidArgument naming messages[i] for an unknown role or,
// in Gemma 3 and Llama 2 (whose templates allow only a leading system message merged into the
// first user turn), a system message after the first or turns that do not alternate
// user/assistant starting with user; also for an empty list.
absl::StatusOr<std::string> FormatChat(ChatFamily family, std::span<const ChatMessage> messages,
                                       const ChatFormatParams& params = {});

}  // namespace cachewire::generate
