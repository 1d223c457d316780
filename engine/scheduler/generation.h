// The sampling half of a generation, step by step, for the scheduler: sample from the logits,
// decide whether the generation goes on, and release text as it becomes final (whole UTF-8
// characters, stop strings held back across tokens). It follows generate::GenerateFromIds step
// for step, so the same logits, history and seed give the same tokens and text.
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "absl/status/statusor.h"
#include "engine/generate/generator.h"
#include "engine/generate/stop_matcher.h"
#include "engine/scheduler/job.h"
#include "engine/tokenizer/tokenizer.h"

namespace cachewire::scheduler {

class Generation {
 public:
  // `last_context_token`: the session's last token before the generation (-1: none), so the
  // text continues it (StreamingDecoder::ContinueAfter).
  Generation(const tokenizer::Tokenizer& tok, GenerateSpec spec, int32_t last_context_token);

  // True once no more tokens are to be sampled (before any, when max_tokens is 0).
  bool finished() const { return finished_; }
  generate::StopReason stop_reason() const { return reason_; }
  const std::string& stop_string() const { return matcher_.matched(); }
  int64_t n_generated() const { return n_generated_; }

  // Samples one token from `logits` (n_vocab) with `history` (the session's tokens, most recent
  // last) and fills *event. `room` is how many more tokens the cache can take: with none left
  // the generation ends (kContextFull) instead of asking to feed the token. When it returns
  // with finished() false, the caller feeds event->id and calls Step again with the new logits.
  absl::Status Step(std::span<const float> logits, std::span<const int32_t> history,
                    int64_t room, TokenEvent* event);

  // Ends the generation early (cancelled); no more text is released.
  void Cancel();
  // After finished(): the text still held back (an unfinished character, or a tail that was not
  // a stop string after all). Empty after a stop string or a cancel.
  std::string TakeTail();

 private:
  void Finish(generate::StopReason reason);

  const tokenizer::Tokenizer& tok_;
  GenerateSpec spec_;
  tokenizer::StreamingDecoder decoder_;
  generate::StopMatcher matcher_;
  int64_t n_generated_ = 0;
  bool finished_ = false;
  generate::StopReason reason_ = generate::StopReason::kMaxTokens;
  std::string tail_;
};

}  // namespace cachewire::scheduler
