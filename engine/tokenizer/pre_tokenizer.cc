// Regex pre-tokenizers on PCRE2 JIT (see pre_tokenizer.h).
#define PCRE2_CODE_UNIT_WIDTH 8
#include "engine/tokenizer/pre_tokenizer.h"

#include <pcre2.h>

#include <utility>

#include "absl/status/status.h"
#include "engine/gguf/str_cat.h"
#include "engine/tokenizer/unicode.h"

namespace cachewire::tokenizer {

namespace {

// The Split regexes of the Hugging Face tokenizer.json files, verbatim.
constexpr const char* kLlama3 =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
constexpr const char* kQwen2 =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
// GPT-2's ByteLevel pre-tokenizer (use_regex = true).
constexpr const char* kGpt2 =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";
// llama.cpp's LLAMA_VOCAB_PRE_TYPE_DEFAULT list.
constexpr const char* kDefault[] = {
    R"([\p{P}\$\+<=>\^~\|]+)",
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S))",
    R"(\p{N}+)",
    R"([0-9][0-9][0-9])",
};

constexpr PCRE2_SIZE kMaxJitStack = 64u << 20;

}  // namespace

struct PreTokenizer::Regex {
  pcre2_code* code = nullptr;
  ~Regex() { pcre2_code_free(code); }
};

PreTokenizer::~PreTokenizer() = default;

absl::StatusOr<std::unique_ptr<PreTokenizer>> PreTokenizer::FromRegexes(
    std::vector<std::string> regexes, bool nfc) {
  std::unique_ptr<PreTokenizer> pre(new PreTokenizer());
  pre->nfc_ = nfc;
  for (const std::string& re : regexes) {
    int err = 0;
    PCRE2_SIZE err_offset = 0;
    auto r = std::make_unique<Regex>();
    r->code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(re.data()), re.size(),
                            PCRE2_UTF | PCRE2_UCP | PCRE2_MATCH_INVALID_UTF, &err, &err_offset,
                            nullptr);
    if (r->code == nullptr) {
      PCRE2_UCHAR msg[256];
      pcre2_get_error_message(err, msg, sizeof(msg));
      return absl::InvalidArgumentError(gguf::Cat("regex \"", re, "\" at offset ", err_offset,
                                                     ": ", reinterpret_cast<const char*>(msg)));
    }
    // Without JIT (e.g. a hardened kernel refusing executable memory) matching still works,
    // only slower; so a JIT failure is not an error.
    pcre2_jit_compile(r->code, PCRE2_JIT_COMPLETE);
    pre->regexes_.push_back(std::move(r));
  }
  return pre;
}

absl::StatusOr<std::unique_ptr<PreTokenizer>> PreTokenizer::Create(std::string_view name,
                                                                   std::string_view source) {
  if (name == "llama-bpe" || name == "llama3" || name == "llama-v3") {
    return FromRegexes({kLlama3}, false);
  }
  if (name == "qwen2") return FromRegexes({kQwen2}, true);
  if (name == "gpt-2" || name == "gpt2") return FromRegexes({kGpt2}, false);
  if (name == "smollm") return FromRegexes({R"(\p{N})", kGpt2}, false);  // Digits + ByteLevel
  if (name == "default") return FromRegexes({std::begin(kDefault), std::end(kDefault)}, false);
  return absl::InvalidArgumentError(
      gguf::Cat(source, ": tokenizer.ggml.pre: unknown pre-tokenizer \"", name,
                   "\" (known: llama-bpe, qwen2, gpt-2, smollm, default)"));
}

namespace {

// Appends the matches of `code` in `text` and the gaps between them to *out.
void SplitOne(const pcre2_code* code, pcre2_match_data* md, pcre2_match_context** ctx,
              pcre2_jit_stack** stack, std::string_view text,
              std::vector<std::string_view>* out) {
  const auto* subject = reinterpret_cast<PCRE2_SPTR>(text.data());
  const size_t len = text.size();
  size_t pos = 0;
  size_t gap = 0;  // start of the text not yet emitted
  while (pos < len) {
    int rc = pcre2_match(code, subject, len, pos, 0, md, *ctx);
    if (rc == PCRE2_ERROR_JIT_STACKLIMIT && *stack == nullptr) {
      // Long runs can outgrow JIT's default 32 KiB stack: retry once with one that may grow
      // to kMaxJitStack. Past that, the rest of the text becomes one gap.
      if (*ctx == nullptr) *ctx = pcre2_match_context_create(nullptr);
      *stack = pcre2_jit_stack_create(32u << 10, kMaxJitStack, nullptr);
      if (*ctx == nullptr || *stack == nullptr) break;
      pcre2_jit_stack_assign(*ctx, nullptr, *stack);
      continue;
    }
    if (rc < 0) break;  // no further match (or a matching error: the rest becomes a gap)
    const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(md);
    const size_t start = ov[0];
    const size_t end = ov[1];
    if (end <= start) {  // empty match: step over one character, it stays in the gap
      pos = start + (start < len ? Utf8SeqLen(text, start) : 1);
      continue;
    }
    if (start > gap) out->push_back(text.substr(gap, start - gap));
    out->push_back(text.substr(start, end - start));
    gap = pos = end;
  }
  if (gap < len) out->push_back(text.substr(gap));
}

}  // namespace

void PreTokenizer::Split(std::string_view text, std::vector<std::string_view>* out) const {
  out->clear();
  if (text.empty()) return;
  if (regexes_.empty()) {
    out->push_back(text);
    return;
  }
  pcre2_match_context* ctx = nullptr;
  pcre2_jit_stack* stack = nullptr;
  std::vector<std::string_view> tmp;
  for (size_t i = 0; i < regexes_.size(); ++i) {
    const pcre2_code* code = regexes_[i]->code;
    pcre2_match_data* md = pcre2_match_data_create_from_pattern(code, nullptr);
    if (md == nullptr) {  // out of memory: leave this level unsplit rather than fail
      if (i == 0) out->push_back(text);
      continue;
    }
    if (i == 0) {
      SplitOne(code, md, &ctx, &stack, text, out);
    } else {
      tmp.swap(*out);
      out->clear();
      for (std::string_view piece : tmp) SplitOne(code, md, &ctx, &stack, piece, out);
    }
    pcre2_match_data_free(md);
  }
  pcre2_match_context_free(ctx);
  pcre2_jit_stack_free(stack);
}

}  // namespace cachewire::tokenizer
