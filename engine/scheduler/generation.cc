// Generation (see generation.h). The order of checks mirrors GenerateFromIds: max_tokens before
// sampling, end-of-generation, text and stop strings, max_tokens after, then room in the cache.
#include "engine/scheduler/generation.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <utility>

#include "engine/common/status_macros.h"

namespace cachewire::scheduler {
namespace {

// log-softmax of one logit row (n_vocab), in double for the sum.
struct LogSoftmax {
  explicit LogSoftmax(std::span<const float> logits) {
    const float max = *std::max_element(logits.begin(), logits.end());
    double sum = 0;
    for (float x : logits) sum += std::exp(static_cast<double>(x - max));
    log_z = static_cast<double>(max) + std::log(sum);
  }
  float operator()(float logit) const { return static_cast<float>(logit - log_z); }
  double log_z = 0;
};

}  // namespace

Generation::Generation(const tokenizer::Tokenizer& tok, GenerateSpec spec,
                       int32_t last_context_token)
    : tok_(tok), spec_(std::move(spec)), decoder_(tok), matcher_(spec_.stop) {
  decoder_.ContinueAfter(last_context_token);
  if (spec_.max_tokens <= 0) Finish(generate::StopReason::kMaxTokens);
}

void Generation::Finish(generate::StopReason reason) {
  finished_ = true;
  reason_ = reason;
  if (reason == generate::StopReason::kStopString || reason == generate::StopReason::kCancelled) {
    return;
  }
  // The stream ended without a stop string: release the decoder's and the matcher's tails.
  std::string piece;
  decoder_.Finish(&piece);
  tail_ += matcher_.Push(piece);
  if (matcher_.stopped()) {
    reason_ = generate::StopReason::kStopString;
  } else {
    tail_ += matcher_.Flush();
  }
}

absl::Status Generation::Step(std::span<const float> logits, std::span<const int32_t> history,
                              int64_t room, TokenEvent* event) {
  *event = TokenEvent{};
  if (finished_) return absl::FailedPreconditionError("generation: already finished");
  CW_ASSIGN_OR_RETURN(const int32_t id, spec_.sampler.Sample(logits, history));
  event->id = id;
  ++n_generated_;
  if (spec_.logprobs || spec_.top_logprobs > 0) {
    const LogSoftmax log_softmax(logits);
    if (spec_.logprobs) {
      event->logprob = TokenLogprob{id, log_softmax(logits[static_cast<size_t>(id)])};
    }
    if (spec_.top_logprobs > 0) {
      const size_t n = std::min(static_cast<size_t>(spec_.top_logprobs), logits.size());
      std::vector<int32_t> order(logits.size());
      std::iota(order.begin(), order.end(), 0);
      std::partial_sort(order.begin(), order.begin() + static_cast<ptrdiff_t>(n), order.end(),
                        [&](int32_t a, int32_t b) {
                          return logits[static_cast<size_t>(a)] > logits[static_cast<size_t>(b)];
                        });
      for (size_t i = 0; i < n; ++i) {
        event->top.push_back({order[i], log_softmax(logits[static_cast<size_t>(order[i])])});
      }
    }
  }
  if (tok_.IsEndOfGeneration(id)) {
    Finish(generate::StopReason::kEndOfGeneration);
    return absl::OkStatus();
  }
  std::string piece;
  CW_RETURN_IF_ERROR(decoder_.Push(id, &piece));
  event->text = matcher_.Push(piece);
  if (matcher_.stopped()) {
    Finish(generate::StopReason::kStopString);
  } else if (n_generated_ >= spec_.max_tokens) {
    Finish(generate::StopReason::kMaxTokens);
  } else if (room <= 0) {
    Finish(generate::StopReason::kContextFull);
  }
  return absl::OkStatus();
}

void Generation::Cancel() {
  if (!finished_) Finish(generate::StopReason::kCancelled);
}

std::string Generation::TakeTail() { return std::exchange(tail_, std::string()); }

}  // namespace cachewire::scheduler
