// Pre-tokenizers of byte-level BPE vocabularies: the regex splits Hugging Face's tokenizer.json
// files apply before BPE, selected by the GGUF's tokenizer.ggml.pre name the way llama.cpp does.
// Matching runs on PCRE2 with JIT and PCRE2_MATCH_INVALID_UTF, so invalid UTF-8 never matches
// and ends up in the gaps between matches, which are kept as pieces: nothing is dropped.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace cachewire::tokenizer {

class PreTokenizer {
 public:
  // Known names: "llama-bpe" (Llama 3), "qwen2" (Qwen2/Qwen3; NFC first), "gpt-2", "default"
  // (llama.cpp's default list of regexes). `source` names the file in the error for others.
  static absl::StatusOr<std::unique_ptr<PreTokenizer>> Create(std::string_view name,
                                                              std::string_view source);
  // From explicit regexes (tests); each regex further splits the pieces of the previous one.
  static absl::StatusOr<std::unique_ptr<PreTokenizer>> FromRegexes(
      std::vector<std::string> regexes, bool nfc);
  ~PreTokenizer();

  // Whether the text must be NFC-normalised before Split (the vocabulary's normaliser).
  bool nfc() const { return nfc_; }
  // Replaces *out with the pieces of `text`, in order; they concatenate to `text`.
  // Thread-safe: match data is per call.
  void Split(std::string_view text, std::vector<std::string_view>* out) const;

 private:
  struct Regex;
  PreTokenizer() = default;
  std::vector<std::unique_ptr<Regex>> regexes_;
  bool nfc_ = false;
};

}  // namespace cachewire::tokenizer
