// Loading and validating the token table (see vocab.h).
#include "engine/tokenizer/vocab.h"

#include "absl/status/status.h"
#include "engine/gguf/str_cat.h"
#include "engine/gguf/gguf_file.h"

namespace cachewire::tokenizer {

namespace {

constexpr std::string_view kModel = "tokenizer.ggml.model";
constexpr std::string_view kPre = "tokenizer.ggml.pre";
constexpr std::string_view kTokens = "tokenizer.ggml.tokens";
constexpr std::string_view kScores = "tokenizer.ggml.scores";
constexpr std::string_view kTypes = "tokenizer.ggml.token_type";
constexpr std::string_view kMerges = "tokenizer.ggml.merges";

absl::Status KeyError(const gguf::File& f, std::string_view key, std::string_view what) {
  return absl::InvalidArgumentError(gguf::Cat(f.path(), ": ", key, ": ", what));
}

// An optional key: its value, `fallback` when absent, an error when present but unreadable.
template <typename T, typename Getter>
absl::StatusOr<T> Optional(const gguf::File& f, std::string_view key, T fallback, Getter get) {
  if (f.Find(key) == nullptr) return fallback;
  auto v = get(key);
  if (!v.ok()) return v.status();
  return static_cast<T>(*v);
}

}  // namespace

absl::StatusOr<std::unique_ptr<Vocab>> Vocab::FromGguf(const gguf::File& f) {
  VocabParams p;
  p.source = f.path();

  if (f.Find(kModel) == nullptr) return KeyError(f, kModel, "missing (no tokenizer metadata)");
  auto model = f.GetString(kModel);
  if (!model.ok()) return model.status();
  if (*model == "llama") {
    p.kind = VocabKind::kSpm;
  } else if (*model == "gpt2") {
    p.kind = VocabKind::kBpe;
  } else {
    return KeyError(f, kModel, gguf::Cat("unsupported tokenizer model \"", *model,
                                            "\" (supported: llama, gpt2)"));
  }
  auto pre = Optional<std::string>(f, kPre, "default",
                                   [&](std::string_view k) { return f.GetString(k); });
  if (!pre.ok()) return pre.status();
  p.pre = *pre;

  if (f.Find(kTokens) == nullptr) return KeyError(f, kTokens, "missing");
  auto tokens = f.GetStringArray(kTokens);
  if (!tokens.ok()) return tokens.status();
  if (tokens->empty()) return KeyError(f, kTokens, "empty");
  if (tokens->size() > static_cast<size_t>(INT32_MAX)) return KeyError(f, kTokens, "too many");
  const size_t n = tokens->size();
  p.tokens.assign(tokens->begin(), tokens->end());

  if (f.Find(kScores) != nullptr) {
    auto scores = f.GetFloatArray(kScores);
    if (!scores.ok()) return scores.status();
    if (scores->size() != n) {
      return KeyError(f, kScores, gguf::Cat(scores->size(), " scores for ", n, " tokens"));
    }
    p.scores = std::move(*scores);
  }
  if (f.Find(kTypes) != nullptr) {
    auto types = f.GetIntArray(kTypes);
    if (!types.ok()) return types.status();
    if (types->size() != n) {
      return KeyError(f, kTypes, gguf::Cat(types->size(), " types for ", n, " tokens"));
    }
    p.types.reserve(n);
    for (size_t i = 0; i < n; ++i) {
      int64_t t = (*types)[i];
      if (t < 0 || t > 6) {
        return KeyError(f, kTypes, gguf::Cat("token ", i, " has unknown type ", t));
      }
      p.types.push_back(static_cast<TokenType>(t));
    }
  }
  if (p.kind == VocabKind::kBpe) {
    if (f.Find(kMerges) == nullptr) return KeyError(f, kMerges, "missing (needed by gpt2)");
    auto merges = f.GetStringArray(kMerges);
    if (!merges.ok()) return merges.status();
    p.merges.assign(merges->begin(), merges->end());
  }

  // Special ids: llama.cpp's defaults for SentencePiece vocabularies when the keys are absent.
  const bool spm = p.kind == VocabKind::kSpm;
  struct IdKey {
    std::string_view key;
    int32_t* out;
    int32_t fallback;
  } ids[] = {
      {"tokenizer.ggml.bos_token_id", &p.bos, spm ? 1 : -1},
      {"tokenizer.ggml.eos_token_id", &p.eos, spm ? 2 : -1},
      {"tokenizer.ggml.eot_token_id", &p.eot, -1},
      {"tokenizer.ggml.unknown_token_id", &p.unk, spm ? 0 : -1},
      {"tokenizer.ggml.padding_token_id", &p.pad, -1},
  };
  for (auto& [key, out, fallback] : ids) {
    if (f.Find(key) == nullptr) {
      *out = fallback < static_cast<int64_t>(n) ? fallback : -1;
      continue;
    }
    auto v = f.GetUint(key);
    if (!v.ok()) return v.status();
    if (*v >= n) return KeyError(f, key, gguf::Cat("id ", *v, " out of range [0, ", n, ")"));
    *out = static_cast<int32_t>(*v);
  }
  struct BoolKey {
    std::string_view key;
    bool* out;
    bool fallback;
  } flags[] = {
      {"tokenizer.ggml.add_bos_token", &p.add_bos, spm},
      {"tokenizer.ggml.add_eos_token", &p.add_eos, false},
      {"tokenizer.ggml.add_space_prefix", &p.add_space_prefix, spm},
  };
  for (auto& [key, out, fallback] : flags) {
    auto v = Optional<bool>(f, key, fallback, [&](std::string_view k) { return f.GetBool(k); });
    if (!v.ok()) return v.status();
    *out = *v;
  }
  auto tmpl = Optional<std::string>(f, "tokenizer.chat_template", "",
                                    [&](std::string_view k) { return f.GetString(k); });
  if (!tmpl.ok()) return tmpl.status();
  p.chat_template = *tmpl;
  return Create(std::move(p));
}

absl::StatusOr<std::unique_ptr<Vocab>> Vocab::Create(VocabParams params) {
  std::unique_ptr<Vocab> v(new Vocab(std::move(params)));
  if (absl::Status s = v->Build(); !s.ok()) return s;
  return v;
}

absl::Status Vocab::Build() {
  auto error = [&](std::string_view key, std::string_view what) {
    return absl::InvalidArgumentError(gguf::Cat(p_.source, ": ", key, ": ", what));
  };
  const size_t n = p_.tokens.size();
  if (n == 0) return error(kTokens, "empty");
  if (n > static_cast<size_t>(INT32_MAX)) return error(kTokens, "too many tokens");
  if (p_.scores.empty()) p_.scores.assign(n, 0.0f);
  if (p_.types.empty()) p_.types.assign(n, TokenType::kNormal);
  if (p_.scores.size() != n) {
    return error(kScores, gguf::Cat(p_.scores.size(), " scores for ", n, " tokens"));
  }
  if (p_.types.size() != n) {
    return error(kTypes, gguf::Cat(p_.types.size(), " types for ", n, " tokens"));
  }
  for (auto [name, id] : {std::pair{"bos", p_.bos}, {"eos", p_.eos}, {"eot", p_.eot},
                          {"unknown", p_.unk}, {"padding", p_.pad}}) {
    if (id < -1 || id >= static_cast<int64_t>(n)) {
      return error(gguf::Cat("tokenizer.ggml.", name, "_token_id"),
                   gguf::Cat("id ", id, " out of range [0, ", n, ")"));
    }
  }
  index_.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    index_.try_emplace(std::string_view(p_.tokens[i]), static_cast<int32_t>(i));
  }
  merge_pairs_.clear();
  merge_pairs_.reserve(p_.merges.size());
  for (size_t r = 0; r < p_.merges.size(); ++r) {
    std::string_view m = p_.merges[r];
    // Split at the first space after the first byte: a left piece is never empty.
    size_t sp = m.size() > 1 ? m.find(' ', 1) : std::string_view::npos;
    if (sp == std::string_view::npos || sp + 1 >= m.size()) {
      return error(kMerges, gguf::Cat("merge ", r, " \"", m, "\" is not \"left right\""));
    }
    merge_pairs_.emplace_back(m.substr(0, sp), m.substr(sp + 1));
  }
  return absl::OkStatus();
}

}  // namespace cachewire::tokenizer
