// The generation loop (see generator.h). One prefill Forward for the prompt, then per step:
// sample from the last logits, stop on EOS/EOT, decode the token through the StreamingDecoder
// (whole UTF-8 characters) and the StopMatcher (held-back stop-string prefixes), hand the final
// text to the caller, and feed the token back unless a stop condition holds.
#include "engine/generate/generator.h"

#include <chrono>
#include <utility>

#include "absl/status/status.h"
#include "engine/common/status_macros.h"
#include "engine/generate/stop_matcher.h"
#include "engine/gguf/str_cat.h"
#include "engine/tokenizer/tokenizer.h"

namespace cachewire::generate {

using gguf::Cat;

const char* StopReasonName(StopReason reason) {
  switch (reason) {
    case StopReason::kEndOfGeneration: return "eos";
    case StopReason::kStopString: return "stop_string";
    case StopReason::kMaxTokens: return "max_tokens";
    case StopReason::kContextFull: return "context_full";
    case StopReason::kCancelled: return "cancelled";
  }
  return "unknown";
}

namespace {

using Clock = std::chrono::steady_clock;

double Seconds(Clock::time_point from, Clock::time_point to) {
  return std::chrono::duration<double>(to - from).count();
}

absl::Status ValidateParams(const GenerateParams& params) {
  if (params.max_tokens < 0) {
    return absl::InvalidArgumentError(
        Cat("max_tokens must be >= 0, got ", params.max_tokens));
  }
  for (size_t i = 0; i < params.stop.size(); ++i) {
    if (params.stop[i].empty()) {
      return absl::InvalidArgumentError(Cat("stop[", i, "] is an empty stop string"));
    }
  }
  return absl::OkStatus();
}

// Text on its way to the caller: stop strings are cut here and cancellation is remembered.
class TextSink {
 public:
  TextSink(const GenerateParams& params, const TextCallback& on_text)
      : stops_(params.stop), on_text_(on_text) {}

  void Push(std::string_view text) { Emit(stops_.Push(text)); }
  // End of the stream: the held-back tail was not a stop string.
  void Flush() { Emit(stops_.Flush()); }

  bool stopped() const { return stops_.stopped(); }
  const std::string& matched() const { return stops_.matched(); }
  bool cancelled() const { return cancelled_; }

 private:
  void Emit(const std::string& text) {
    if (cancelled_ || text.empty() || !on_text_) return;
    if (!on_text_(text)) cancelled_ = true;
  }

  StopMatcher stops_;
  const TextCallback& on_text_;
  bool cancelled_ = false;
};

}  // namespace

absl::StatusOr<GenerateStats> GenerateFromIds(model::Model& model, model::Session& session,
                                              std::span<const int32_t> prompt,
                                              const GenerateParams& params,
                                              const TextCallback& on_text) {
  CW_RETURN_IF_ERROR(ValidateParams(params));
  CW_ASSIGN_OR_RETURN(sampler::Sampler sampler, sampler::Sampler::Create(params.sampling));
  const auto n_prompt = static_cast<int64_t>(prompt.size());
  if (n_prompt == 0) return absl::InvalidArgumentError("prompt: no tokens to prefill");
  if (session.n_past() + n_prompt > session.n_ctx()) {
    const std::string held =
        session.n_past() > 0 ? Cat(" after the session's ", session.n_past()) : std::string();
    return absl::ResourceExhaustedError(Cat("prompt: ", n_prompt, " tokens", held,
                                            " do not fit the context of ", session.n_ctx(),
                                            " tokens (see n_ctx)"));
  }

  const tokenizer::Tokenizer& tok = model.tokenizer();
  GenerateStats stats;
  stats.n_prompt_tokens = n_prompt;
  std::vector<int32_t> history(prompt.begin(), prompt.end());  // for the repetition penalty
  std::vector<float> logits;                                   // (n_vocab) of the last token

  const Clock::time_point t_start = Clock::now();
  CW_RETURN_IF_ERROR(model.Forward(session, prompt, &logits));
  const Clock::time_point t_prefilled = Clock::now();
  stats.prefill_seconds = Seconds(t_start, t_prefilled);

  tokenizer::StreamingDecoder decoder(tok);
  decoder.ContinueAfter(prompt.back());  // the reply continues the prompt's text
  TextSink sink(params, on_text);
  std::string piece;
  StopReason reason = StopReason::kMaxTokens;
  for (;;) {
    if (stats.n_generated_tokens >= params.max_tokens) {
      reason = StopReason::kMaxTokens;
      break;
    }
    CW_ASSIGN_OR_RETURN(const int32_t id, sampler.Sample(logits, history));
    history.push_back(id);
    stats.tokens.push_back(id);
    ++stats.n_generated_tokens;
    if (tok.IsEndOfGeneration(id)) {
      reason = StopReason::kEndOfGeneration;
      break;
    }
    piece.clear();
    CW_RETURN_IF_ERROR(decoder.Push(id, &piece));
    sink.Push(piece);
    if (sink.cancelled()) {
      reason = StopReason::kCancelled;
      break;
    }
    if (sink.stopped()) {
      reason = StopReason::kStopString;
      break;
    }
    if (stats.n_generated_tokens >= params.max_tokens) {
      reason = StopReason::kMaxTokens;  // no need to run the last token
      break;
    }
    if (session.n_past() >= session.n_ctx()) {
      reason = StopReason::kContextFull;
      break;
    }
    CW_RETURN_IF_ERROR(model.Forward(session, std::span<const int32_t>(&id, 1), &logits));
  }

  // The stream ended without a stop string: release the decoder's and the matcher's tails
  // (bytes of an unfinished character stay as they are; they are the model's output).
  if (reason != StopReason::kStopString && reason != StopReason::kCancelled) {
    piece.clear();
    decoder.Finish(&piece);
    sink.Push(piece);
    if (sink.stopped()) {
      reason = StopReason::kStopString;
    } else {
      sink.Flush();
    }
    if (sink.cancelled()) reason = StopReason::kCancelled;
  }
  if (reason == StopReason::kStopString) stats.stop_string = sink.matched();
  stats.stop_reason = reason;
  stats.decode_seconds = Seconds(t_prefilled, Clock::now());
  return stats;
}

absl::StatusOr<GenerateStats> Generate(model::Model& model, model::Session& session,
                                       std::string_view prompt, const GenerateParams& params,
                                       const TextCallback& on_text) {
  const std::vector<int32_t> ids = model.tokenizer().Encode(
      prompt, {.add_bos = params.add_bos, .parse_special = params.parse_special});
  if (ids.empty()) return absl::InvalidArgumentError("prompt: encodes to no tokens");
  return GenerateFromIds(model, session, ids, params, on_text);
}

}  // namespace cachewire::generate
