// The tokenizer facade: built from a GGUF's tokenizer metadata, it encodes text to ids the way
// the vocabulary's own tokenizer does (special-token split, normalisation, pre-tokenizer, BPE or
// SentencePiece merges) and decodes ids back to bytes, all at once or streaming.
//
//   auto tok = Tokenizer::FromGguf(file);             // StatusOr<unique_ptr<Tokenizer>>
//   std::vector<int32_t> ids = (*tok)->Encode(text, {.add_bos = true, .parse_special = true});
//   absl::StatusOr<std::string> text = (*tok)->Decode(ids);
//
// Encode and Decode are const and thread-safe. Any input bytes are accepted: invalid UTF-8 is
// carried through byte tokens (byte-level BPE, SentencePiece byte fallback) and round-trips.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/tokenizer/vocab.h"

namespace cachewire::gguf {
class File;
}

namespace cachewire::tokenizer {

class BpeTokenizer;
class SpmTokenizer;
class PreTokenizer;
class SpecialTokenSplitter;

struct EncodeOptions {
  // Add the vocabulary's own special tokens: BOS when add_bos_token, EOS when add_eos_token
  // (llama.cpp's add_special).
  bool add_bos = true;
  bool parse_special = true;  // match CONTROL token strings in the text (USER_DEFINED always)
};

class Tokenizer {
 public:
  static absl::StatusOr<std::unique_ptr<Tokenizer>> FromGguf(const gguf::File& file);
  static absl::StatusOr<std::unique_ptr<Tokenizer>> FromVocab(std::unique_ptr<Vocab> vocab);
  ~Tokenizer();

  // Appends nothing but ids in [0, n_tokens()); never fails.
  std::vector<int32_t> Encode(std::string_view text, EncodeOptions options = {}) const;
  void Encode(std::string_view text, EncodeOptions options, std::vector<int32_t>* out) const;

  // The bytes a token stands for (byte-level pieces and <0xXX> decoded, U+2581 as a space,
  // special tokens as their text). InvalidArgument for an id out of range.
  absl::StatusOr<std::string_view> TokenToPiece(int32_t id) const;
  // Concatenated pieces. With add_space_prefix, the one space the encoder put in front of the
  // text (and after each special token) is removed again, so Decode(Encode(s)) == s.
  absl::StatusOr<std::string> Decode(std::span<const int32_t> ids) const;

  const Vocab& vocab() const { return *vocab_; }
  int32_t n_tokens() const { return vocab_->n_tokens(); }
  int32_t bos() const { return vocab_->bos(); }
  int32_t eos() const { return vocab_->eos(); }
  int32_t eot() const { return vocab_->eot(); }
  // True for tokens that end a generation: eos or eot.
  bool IsEndOfGeneration(int32_t id) const { return id >= 0 && (id == eos() || id == eot()); }

 private:
  friend class StreamingDecoder;
  explicit Tokenizer(std::unique_ptr<Vocab> vocab);
  absl::Status Init();
  // Whether the token opens a fresh "fragment" for the space-prefix rule (special tokens).
  bool StartsFragment(int32_t id) const { return vocab_->is_special(id); }

  std::unique_ptr<Vocab> vocab_;
  std::unique_ptr<SpecialTokenSplitter> special_;
  std::unique_ptr<PreTokenizer> pre_;   // BPE only
  std::unique_ptr<BpeTokenizer> bpe_;   // kind kBpe
  std::unique_ptr<SpmTokenizer> spm_;   // kind kSpm
  std::string piece_arena_;             // decoded pieces, back to back
  std::vector<uint32_t> piece_offset_;  // (n_tokens + 1) offsets into piece_arena_
};

// Turns a stream of ids into text without splitting UTF-8 characters: bytes of an incomplete
// character are held back until the token that completes it arrives (or Finish()).
class StreamingDecoder {
 public:
  explicit StreamingDecoder(const Tokenizer& tokenizer) : tok_(tokenizer) {}
  // Appends the text that is complete after `id` to *out.
  absl::Status Push(int32_t id, std::string* out);
  // Appends whatever is held back (possibly invalid UTF-8) and resets.
  void Finish(std::string* out);
  // Continues text whose last token was `last` (a generation after its context; -1: none). With
  // add_space_prefix a fresh decoder drops its first piece's leading space, as the encoder put
  // it there; a continuation keeps it unless `last` opened a fragment (a special token), or
  // "was" + "\u2581filled" would read "wasfilled".
  void ContinueAfter(int32_t last);

 private:
  const Tokenizer& tok_;
  std::string pending_;
  bool strip_space_ = true;  // add_space_prefix: drop the encoder's leading space
};

}  // namespace cachewire::tokenizer
