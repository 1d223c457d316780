// Spelling a token sequence with byte spans (see token_spans.h).
#include "engine/adapter/token_spans.h"

#include "engine/gguf/str_cat.h"
#include "engine/tokenizer/tokenizer.h"

namespace cachewire::adapter {

absl::StatusOr<SpelledTokens> SpellTokens(const tokenizer::Tokenizer& tokenizer,
                                          std::span<const int32_t> ids,
                                          std::span<const int64_t> input_starts) {
  SpelledTokens out;
  out.spans.reserve(ids.size());
  const tokenizer::Vocab& vocab = tokenizer.vocab();
  bool strip_space = vocab.add_space_prefix();  // the encoder's space in front of a fragment
  size_t next_input = 0;
  for (size_t i = 0; i < ids.size(); ++i) {
    const int64_t at = static_cast<int64_t>(out.text.size());
    while (next_input < input_starts.size() && input_starts[next_input] < static_cast<int64_t>(i)) {
      ++next_input;
    }
    if (next_input < input_starts.size() && input_starts[next_input] == static_cast<int64_t>(i)) {
      strip_space = vocab.add_space_prefix();  // a new encoder call began here
    }
    if (!vocab.valid_id(ids[i])) {
      return absl::InvalidArgumentError(gguf::Cat("tokens[", i, "]: id ", ids[i],
                                                  " out of range [0, ", vocab.n_tokens(), ")"));
    }
    if (vocab.is_special(ids[i])) {
      strip_space = vocab.add_space_prefix();  // the next fragment gets a space prefix again
      out.spans.push_back({at, at});
      continue;
    }
    auto piece = tokenizer.TokenToPiece(ids[i]);
    if (!piece.ok()) return piece.status();
    std::string_view p = *piece;
    if (strip_space && !p.empty() && p.front() == ' ') p.remove_prefix(1);
    strip_space = false;
    out.text.append(p);
    out.spans.push_back({at, static_cast<int64_t>(out.text.size())});
  }
  return out;
}

uint64_t TextDigest(std::string_view text) {
  uint64_t h = 0xcbf29ce484222325ULL;  // FNV-1a offset basis and prime (64-bit)
  for (unsigned char c : text) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  return h;
}

}  // namespace cachewire::adapter
