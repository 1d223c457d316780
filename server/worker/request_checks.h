// Requests from the wire turned into engine inputs, with every check the status table asks for:
// text and chat messages become token ids (size limits, chat template, BOS handling), sampling
// parameters become a GenerateSpec. Errors are InvalidArgument (FailedPrecondition for chat on
// a model without a template) with a message naming the field as the client spelled it, e.g.
// "sampling.top_p must be in (0, 1], got 1.5" or "messages[1].role: unknown role \"bot\"".
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "cachewire/v1/common.pb.h"
#include "engine/generate/chat_template.h"
#include "engine/scheduler/job.h"
#include "engine/tokenizer/tokenizer.h"

namespace cachewire::server::worker {

struct InputRules {
  int64_t max_text_bytes = 1 << 20;
  std::optional<generate::ChatFamily> chat_family{};  // none: the model has no chat template
};

// Token ids of a text or message list, ready for scheduler::Job.
struct TokenizedInput {
  std::vector<int32_t> ids;
  bool bos_only_at_start = false;  // ids[0] is the BOS, dropped on a session that holds tokens
  std::string name;                // "text" or "messages" (for the scheduler's errors)
  std::vector<generate::ChatMessage> messages;  // the turns (messages only)
};

// Raw text: 1 .. max_text_bytes bytes; control-token strings become their ids; the
// vocabulary's BOS (if it adds one) comes first, for a session's start only.
absl::StatusOr<TokenizedInput> TokenizeText(const tokenizer::Tokenizer& tok,
                                            const std::string& text, const InputRules& rules);

// Chat turns rendered with the model's template (add_generation_prompt: end with the header of
// the assistant's reply). The family's BOS marker is kept for a session's start only.
absl::StatusOr<TokenizedInput> TokenizeMessages(const tokenizer::Tokenizer& tok,
                                                const cachewire::v1::ChatMessages& messages,
                                                bool add_generation_prompt,
                                                const InputRules& rules);

// Limits of the sampling parameters beyond the sampler's own checks.
inline constexpr int32_t kDefaultMaxTokens = 256;
inline constexpr int32_t kMaxTopLogprobs = 20;
inline constexpr int kMaxStopStrings = 16;
inline constexpr size_t kMaxStopBytes = 256;

// The GenerateSpec for `params`. An unset seed is drawn at random (spec->sampler.params().seed
// tells which).
absl::StatusOr<scheduler::GenerateSpec> MakeGenerateSpec(const cachewire::v1::SamplingParams& params,
                                                         bool logprobs, int32_t top_logprobs);

}  // namespace cachewire::server::worker
