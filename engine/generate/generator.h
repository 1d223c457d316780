// The generation loop: a prompt is prefilled through Model::Forward in one pass, then tokens are
// sampled and fed back one at a time until the model ends its turn (EOS/EOT), a stop string
// appears, max_tokens are produced, the session's context is full, or the caller cancels.
//
//   GenerateParams params{.max_tokens = 64, .stop = {"\n\n"}};
//   auto stats = Generate(*model, *session, "Once upon a time", params,
//                         [](std::string_view piece) { std::cout << piece; return true; });
//
// Text reaches the callback as soon as it is final: whole UTF-8 characters only (a character
// split across tokens is held until it is complete) and never a piece that might still turn
// into a stop string (held until the next token decides). Stop strings are matched on the
// decoded text across token boundaries and are not emitted themselves.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/model/model.h"
#include "engine/sampler/sampler.h"

namespace cachewire::generate {

struct GenerateParams {
  int32_t max_tokens = 256;         // >= 0; tokens sampled at most (an EOS counts as one)
  std::vector<std::string> stop{};  // stop strings, each non-empty
  sampler::SamplerParams sampling{};  // validated by Sampler::Create (errors name the field)
  bool add_bos = true;              // let the vocabulary add its BOS (off for chat templates)
  bool parse_special = true;        // control-token strings in the prompt become their ids
};

enum class StopReason {
  kEndOfGeneration,  // the model sampled EOS or EOT
  kStopString,       // a stop string appeared in the text
  kMaxTokens,        // max_tokens reached
  kContextFull,      // the session's cache has no room for the next token
  kCancelled,        // the text callback returned false
};
const char* StopReasonName(StopReason reason);  // "eos", "stop", "max_tokens", ...

struct GenerateStats {
  int64_t n_prompt_tokens = 0;
  int64_t n_generated_tokens = 0;   // sampled tokens, including a final EOS/EOT
  StopReason stop_reason = StopReason::kMaxTokens;
  std::string stop_string;          // the stop string that matched (kStopString)
  std::vector<int32_t> tokens;      // the sampled ids, in order (n_generated_tokens of them)
  double prefill_seconds = 0;       // the prompt's forward pass
  double decode_seconds = 0;        // sampling and forward passes after the prefill

  double PrefillTokensPerSecond() const {
    return prefill_seconds > 0 ? static_cast<double>(n_prompt_tokens) / prefill_seconds : 0;
  }
  double DecodeTokensPerSecond() const {
    return decode_seconds > 0 ? static_cast<double>(n_generated_tokens) / decode_seconds : 0;
  }
};

// Receives each final piece of text (never empty). Returning false cancels the generation.
using TextCallback = std::function<bool(std::string_view piece)>;

// Encodes `prompt` with the model's tokenizer (params.add_bos, params.parse_special) and
// generates. Errors: InvalidArgument naming the parameter (max_tokens, stop[i], sampler fields)
// or the prompt when it encodes to nothing; ResourceExhausted when the prompt does not fit the
// session's context; any error of the forward pass. Running out of context while decoding is
// not an error but StopReason::kContextFull.
absl::StatusOr<GenerateStats> Generate(model::Model& model, model::Session& session,
                                       std::string_view prompt, const GenerateParams& params,
                                       const TextCallback& on_text);

// The same from prompt ids (params.add_bos and parse_special are not used). The ids are
// appended to whatever the session already holds.
absl::StatusOr<GenerateStats> GenerateFromIds(model::Model& model, model::Session& session,
                                              std::span<const int32_t> prompt,
                                              const GenerateParams& params,
                                              const TextCallback& on_text);

}  // namespace cachewire::generate
