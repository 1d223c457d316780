// Input and sampling checks of the worker's requests (see request_checks.h).
#include "server/worker/request_checks.h"

#include <cmath>
#include <random>
#include <string>

#include "absl/status/status.h"
#include "engine/gguf/str_cat.h"

namespace cachewire::server::worker {

using gguf::Cat;

namespace {

absl::Status CheckSize(const std::string& field, size_t bytes, const InputRules& rules) {
  if (static_cast<int64_t>(bytes) > rules.max_text_bytes) {
    return absl::InvalidArgumentError(Cat(field, ": ", bytes, " bytes exceed the worker's limit of ",
                                          rules.max_text_bytes, " (max_text_bytes)"));
  }
  return absl::OkStatus();
}

absl::Status CheckFinite(const char* field, float value) {
  if (!std::isfinite(value)) {
    return absl::InvalidArgumentError(Cat("sampling.", field, ": must be a finite number, got ",
                                          value));
  }
  return absl::OkStatus();
}

TokenizedInput Encode(const tokenizer::Tokenizer& tok, const std::string& text, bool add_bos,
                      std::string name) {
  TokenizedInput in;
  in.name = std::move(name);
  in.ids = tok.Encode(text, {.add_bos = add_bos, .parse_special = true});
  in.bos_only_at_start = !in.ids.empty() && tok.bos() >= 0 && in.ids.front() == tok.bos();
  return in;
}

}  // namespace

absl::StatusOr<TokenizedInput> TokenizeText(const tokenizer::Tokenizer& tok,
                                            const std::string& text, const InputRules& rules) {
  if (text.empty()) return absl::InvalidArgumentError("text: empty");
  if (absl::Status st = CheckSize("text", text.size(), rules); !st.ok()) return st;
  TokenizedInput in = Encode(tok, text, /*add_bos=*/true, "text");
  const size_t n_bos = in.bos_only_at_start ? 1 : 0;
  if (in.ids.size() <= n_bos) return absl::InvalidArgumentError("text: encodes to no tokens");
  return in;
}

absl::StatusOr<TokenizedInput> TokenizeMessages(const tokenizer::Tokenizer& tok,
                                                const cachewire::v1::ChatMessages& messages,
                                                bool add_generation_prompt,
                                                const InputRules& rules) {
  if (!rules.chat_family) {
    return absl::FailedPreconditionError(
        "messages: the model has no chat template (tokenizer.chat_template); append text");
  }
  if (messages.messages().empty()) return absl::InvalidArgumentError("messages: empty list");
  std::vector<generate::ChatMessage> turns;
  size_t total = 0;
  for (int i = 0; i < messages.messages_size(); ++i) {
    const cachewire::v1::ChatMessage& m = messages.messages(i);
    const std::string field = Cat("messages[", i, "]");
    if (m.role() != "system" && m.role() != "user" && m.role() != "assistant") {
      return absl::InvalidArgumentError(
          Cat(field, ".role: \"", m.role().substr(0, 32),
              "\" is not a role; expected system, user or assistant"));
    }
    if (m.content().empty() && m.role() != "assistant") {
      return absl::InvalidArgumentError(Cat(field, ".content: empty"));
    }
    total += m.content().size();
    if (absl::Status st = CheckSize(field + ".content", m.content().size(), rules); !st.ok()) {
      return st;
    }
    turns.push_back({m.role(), m.content()});
  }
  if (absl::Status st = CheckSize("messages", total, rules); !st.ok()) return st;
  auto text = generate::FormatChat(*rules.chat_family, turns,
                                   {.add_generation_prompt = add_generation_prompt});
  if (!text.ok()) return text.status();
  // The template writes the family's BOS marker itself.
  TokenizedInput in = Encode(tok, *text, /*add_bos=*/false, "messages");
  if (in.ids.empty()) return absl::InvalidArgumentError("messages: encode to no tokens");
  in.messages = std::move(turns);
  return in;
}

absl::StatusOr<scheduler::GenerateSpec> MakeGenerateSpec(const cachewire::v1::SamplingParams& p,
                                                         bool logprobs, int32_t top_logprobs) {
  sampler::SamplerParams sp;
  sp.temperature = p.temperature();
  sp.top_k = p.top_k();
  sp.top_p = p.has_top_p() ? p.top_p() : 1.0f;
  sp.min_p = p.min_p();
  sp.repetition_penalty = p.has_repetition_penalty() ? p.repetition_penalty() : 1.0f;
  sp.seed = p.has_seed() ? p.seed() : std::random_device{}();
  const std::pair<const char*, float> floats[] = {{"temperature", sp.temperature},
                                                  {"top_p", sp.top_p},
                                                  {"min_p", sp.min_p},
                                                  {"repetition_penalty", sp.repetition_penalty}};
  for (const auto& [name, value] : floats) {
    if (absl::Status st = CheckFinite(name, value); !st.ok()) return st;
  }
  if (p.max_tokens() < 0) {
    return absl::InvalidArgumentError(Cat("sampling.max_tokens: must be >= 0, got ",
                                          p.max_tokens()));
  }
  if (p.stop_size() > kMaxStopStrings) {
    return absl::InvalidArgumentError(Cat("sampling.stop: ", p.stop_size(),
                                          " stop strings, at most ", kMaxStopStrings));
  }
  for (int i = 0; i < p.stop_size(); ++i) {
    if (p.stop(i).empty() || p.stop(i).size() > kMaxStopBytes) {
      return absl::InvalidArgumentError(Cat("sampling.stop[", i, "]: must be 1 to ",
                                            kMaxStopBytes, " bytes, got ", p.stop(i).size()));
    }
  }
  if (top_logprobs < 0 || top_logprobs > kMaxTopLogprobs) {
    return absl::InvalidArgumentError(Cat("top_logprobs: must be in [0, ", kMaxTopLogprobs,
                                          "], got ", top_logprobs));
  }
  auto sampler = sampler::Sampler::Create(sp);
  if (!sampler.ok()) {
    return absl::InvalidArgumentError(Cat("sampling.", sampler.status().message()));
  }
  scheduler::GenerateSpec spec{.sampler = std::move(*sampler),
                               .max_tokens = p.max_tokens() == 0 ? kDefaultMaxTokens
                                                                 : p.max_tokens(),
                               .stop = {p.stop().begin(), p.stop().end()},
                               .logprobs = logprobs,
                               .top_logprobs = top_logprobs};
  return spec;
}

}  // namespace cachewire::server::worker
