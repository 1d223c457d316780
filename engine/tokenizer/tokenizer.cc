// Tokenizer facade: wiring of the special-token split, normaliser, pre-tokenizer and model, and
// decoding (see tokenizer.h).
#include "engine/tokenizer/tokenizer.h"

#include "absl/status/status.h"
#include "engine/gguf/str_cat.h"
#include "engine/gguf/gguf_file.h"
#include "engine/tokenizer/bpe_tokenizer.h"
#include "engine/tokenizer/pre_tokenizer.h"
#include "engine/tokenizer/special_tokens.h"
#include "engine/tokenizer/spm_tokenizer.h"
#include "engine/tokenizer/unicode.h"

namespace cachewire::tokenizer {

namespace {

constexpr std::string_view kSpaceMark = "\xE2\x96\x81";  // U+2581 LOWER ONE EIGHTH BLOCK

bool IsByteToken(std::string_view t, unsigned char* byte) {
  auto hex = [](char c) {
    return c >= '0' && c <= '9' ? c - '0' : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                         : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
  };
  if (t.size() != 6 || t.substr(0, 3) != "<0x" || t[5] != '>') return false;
  int hi = hex(t[3]);
  int lo = hex(t[4]);
  if (hi < 0 || lo < 0) return false;
  *byte = static_cast<unsigned char>(hi * 16 + lo);
  return true;
}

}  // namespace

Tokenizer::Tokenizer(std::unique_ptr<Vocab> vocab) : vocab_(std::move(vocab)) {}
Tokenizer::~Tokenizer() = default;

absl::StatusOr<std::unique_ptr<Tokenizer>> Tokenizer::FromGguf(const gguf::File& file) {
  auto vocab = Vocab::FromGguf(file);
  if (!vocab.ok()) return vocab.status();
  return FromVocab(std::move(*vocab));
}

absl::StatusOr<std::unique_ptr<Tokenizer>> Tokenizer::FromVocab(std::unique_ptr<Vocab> vocab) {
  if (vocab == nullptr) return absl::InvalidArgumentError("Tokenizer::FromVocab: null vocab");
  std::unique_ptr<Tokenizer> t(new Tokenizer(std::move(vocab)));
  if (absl::Status s = t->Init(); !s.ok()) return s;
  return t;
}

absl::Status Tokenizer::Init() {
  const Vocab& v = *vocab_;
  special_ = std::make_unique<SpecialTokenSplitter>(v);
  if (v.kind() == VocabKind::kBpe) {
    auto pre = PreTokenizer::Create(v.pre(), v.source());
    if (!pre.ok()) return pre.status();
    pre_ = std::move(*pre);
    BpeOptions opts;
    // llama.cpp turns ignore_merges on for the Llama 3 pre-tokenizer, as its tokenizer.json does.
    opts.ignore_merges = v.pre() == "llama-bpe" || v.pre() == "llama3" || v.pre() == "llama-v3";
    auto bpe = BpeTokenizer::Create(v, opts);
    if (!bpe.ok()) return bpe.status();
    bpe_ = std::move(*bpe);
  } else {
    auto spm = SpmTokenizer::Create(v);
    if (!spm.ok()) return spm.status();
    spm_ = std::move(*spm);
  }

  // Decoded pieces, computed once so that Decode is a copy per token.
  piece_offset_.reserve(v.n_tokens() + 1);
  for (int32_t id = 0; id < v.n_tokens(); ++id) {
    piece_offset_.push_back(static_cast<uint32_t>(piece_arena_.size()));
    std::string_view t = v.token(id);
    const TokenType type = v.type(id);
    const bool literal = type == TokenType::kControl || type == TokenType::kUnknown ||
                         type == TokenType::kUnused ||
                         (type == TokenType::kUserDefined && v.kind() == VocabKind::kBpe);
    unsigned char byte = 0;
    if (literal) {
      piece_arena_.append(t);
    } else if (v.kind() == VocabKind::kBpe) {
      for (size_t pos = 0; pos < t.size();) {
        size_t len = 0;
        const uint32_t cp = DecodeUtf8(t, pos, &len);
        const int b = cp == kInvalidCodepoint ? -1 : UnicodeToByte(cp);
        if (b >= 0) {
          piece_arena_.push_back(static_cast<char>(b));
        } else {
          piece_arena_.append(t.substr(pos, len));  // not in the byte alphabet: keep as is
        }
        pos += len;
      }
    } else if (type == TokenType::kByte && IsByteToken(t, &byte)) {
      piece_arena_.push_back(static_cast<char>(byte));
    } else {
      for (size_t pos = 0; pos < t.size();) {
        if (t.substr(pos, 3) == kSpaceMark) {
          piece_arena_.push_back(' ');
          pos += 3;
        } else {
          piece_arena_.push_back(t[pos++]);
        }
      }
    }
    if (piece_arena_.size() > UINT32_MAX) {
      return absl::InvalidArgumentError(gguf::Cat(v.source(), ": tokens too large"));
    }
  }
  piece_offset_.push_back(static_cast<uint32_t>(piece_arena_.size()));
  return absl::OkStatus();
}

std::vector<int32_t> Tokenizer::Encode(std::string_view text, EncodeOptions options) const {
  std::vector<int32_t> out;
  Encode(text, options, &out);
  return out;
}

void Tokenizer::Encode(std::string_view text, EncodeOptions options,
                       std::vector<int32_t>* out) const {
  const Vocab& v = *vocab_;
  out->reserve(out->size() + text.size() / 3 + 2);
  if (options.add_bos && v.add_bos() && v.bos() >= 0) out->push_back(v.bos());

  std::vector<Fragment> fragments;
  special_->Split(text, options.parse_special, &fragments);
  std::string buffer;  // normalised / escaped fragment
  if (bpe_ != nullptr) {
    std::vector<std::string_view> words;
    BpeTokenizer::Scratch scratch;
    for (const Fragment& f : fragments) {
      if (f.token >= 0) {
        out->push_back(f.token);
        continue;
      }
      std::string_view frag = f.text;
      if (pre_->nfc() && !IsAscii(frag)) {
        buffer.clear();
        AppendNfc(frag, &buffer);
        frag = buffer;
      }
      pre_->Split(frag, &words);
      for (std::string_view w : words) bpe_->EncodeWord(w, &scratch, out);
    }
  } else {
    // SentencePiece: spaces become U+2581, and with add_space_prefix each fragment that starts
    // the text or follows a special token gets one in front (llama.cpp; HF's Prepend normaliser
    // runs per fragment between added tokens, which is the same).
    SpmTokenizer::Scratch scratch;
    bool after_special = true;
    for (const Fragment& f : fragments) {
      if (f.token >= 0) {
        out->push_back(f.token);
        after_special = true;
        continue;
      }
      buffer.clear();
      buffer.reserve(f.text.size() + f.text.size() / 2 + 3);
      if (v.add_space_prefix() && after_special) buffer.append(kSpaceMark);
      for (char c : f.text) {
        if (c == ' ') {
          buffer.append(kSpaceMark);
        } else {
          buffer.push_back(c);
        }
      }
      spm_->Encode(buffer, &scratch, out);
      after_special = false;
    }
  }
  if (options.add_bos && v.add_eos() && v.eos() >= 0) out->push_back(v.eos());
}

absl::StatusOr<std::string_view> Tokenizer::TokenToPiece(int32_t id) const {
  if (!vocab_->valid_id(id)) {
    return absl::InvalidArgumentError(
        gguf::Cat("token id ", id, " out of range [0, ", n_tokens(), ")"));
  }
  return std::string_view(piece_arena_).substr(piece_offset_[id],
                                               piece_offset_[id + 1] - piece_offset_[id]);
}

absl::StatusOr<std::string> Tokenizer::Decode(std::span<const int32_t> ids) const {
  std::string out;
  StreamingDecoder dec(*this);
  for (int32_t id : ids) {
    if (absl::Status s = dec.Push(id, &out); !s.ok()) return s;
  }
  dec.Finish(&out);
  return out;
}

absl::Status StreamingDecoder::Push(int32_t id, std::string* out) {
  auto piece = tok_.TokenToPiece(id);
  if (!piece.ok()) return piece.status();
  std::string_view p = *piece;
  if (tok_.vocab().add_space_prefix()) {
    if (tok_.StartsFragment(id)) {
      strip_space_ = true;
    } else {
      if (strip_space_ && !p.empty() && p[0] == ' ') p.remove_prefix(1);
      strip_space_ = false;
    }
  }
  pending_.append(p);
  // Hand out everything but an incomplete character at the end.
  const size_t hold = IncompleteUtf8Tail(pending_);
  out->append(pending_, 0, pending_.size() - hold);
  pending_.erase(0, pending_.size() - hold);
  return absl::OkStatus();
}

void StreamingDecoder::ContinueAfter(int32_t last) {
  strip_space_ = last < 0 || tok_.StartsFragment(last);
}

void StreamingDecoder::Finish(std::string* out) {
  out->append(pending_);
  pending_.clear();
  strip_space_ = true;
}

}  // namespace cachewire::tokenizer
