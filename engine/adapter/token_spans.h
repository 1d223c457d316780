// The text a session's tokens spell, and each token's byte range in it: what lines up two
// tokenizations of the same text for a C2C fuser (c2c_align.h).
//
// The rules are the decoder's (Tokenizer::Decode), with one difference: special tokens (BOS,
// chat markers) stand for no text here, so two models with different control tokens spell the
// same plain text the same way. A token's bytes are its piece (TokenToPiece); with
// SentencePiece's space prefix, the one space the encoder put in front of the text and after
// each special token is left out (a first piece "▁The" spans 3 bytes, a lone "▁" none), and so
// is the one it put in front of each separately encoded input (`input_starts`: the token
// indices where the session's appends began), so that a text appended in pieces spells the same
// as in one piece whatever the tokenizer.
// tools/train/c2c_align.py (token_spans) is the same rule in Python; tests compare the two.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/adapter/c2c_align.h"

namespace cachewire::tokenizer {
class Tokenizer;
}

namespace cachewire::adapter {

struct SpelledTokens {
  std::string text;              // what the tokens spell
  std::vector<TokenSpan> spans;  // per token, its [begin, end) in text
};

// InvalidArgument naming the position for an id outside the vocabulary.
absl::StatusOr<SpelledTokens> SpellTokens(const tokenizer::Tokenizer& tokenizer,
                                          std::span<const int32_t> ids,
                                          std::span<const int64_t> input_starts = {});

// FNV-1a, 64 bits: the digest two workers compare to tell whether they hold the same text
// without sending it (a mismatch is caught, not defended against: the callers trust each other).
uint64_t TextDigest(std::string_view text);

}  // namespace cachewire::adapter
