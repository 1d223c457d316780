// A loaded model: weights mapped from a GGUF, its tokenizer, and the forward pass of its
// architecture (llama or gemma3) written once against the CPU kernels.
//
//   auto model = Model::Load("m.gguf", {.n_threads = 2});      // StatusOr<unique_ptr<Model>>
//   auto session = (*model)->NewSession({.n_ctx = 2048});
//   std::vector<float> logits;                                  // (n_vocab) of the last token
//   CW_RETURN_IF_ERROR((*model)->Forward(*session, prompt_ids, &logits));
//   ... sample a token, then Forward(*session, {token}, &logits) for each decode step.
//
// A Session owns one sequence's KV cache; Forward appends the tokens to it, so prefill of N
// tokens and N single-token decodes give the same logits. Sessions are independent: several may
// run through ForwardBatch in one pass (each row of a weight is then read once for all).
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "engine/model/hparams.h"

namespace cachewire::gguf {
class File;
}
namespace cachewire::tokenizer {
class Tokenizer;
}

namespace cachewire::model {

struct ModelParams {
  int n_threads = 0;  // CPU threads (the caller included); 0 = one per hardware thread
};

struct SessionParams {
  int64_t n_ctx = 0;  // cache capacity in tokens; 0 = the model's training context
};

// One sequence's state: its KV cache and position. Created by Model::NewSession.
class Session {
 public:
  virtual ~Session() = default;
  virtual int64_t n_past() const = 0;   // tokens already in the cache
  virtual int64_t n_ctx() const = 0;    // capacity
  virtual size_t cache_bytes() const = 0;
  virtual void Clear() = 0;             // forget everything (position back to 0)
};

struct ForwardRequest {
  Session* session = nullptr;
  std::span<const int32_t> tokens;  // appended at positions n_past .. n_past + n - 1
  bool all_logits = false;          // logits of every token instead of the last only
  std::vector<float>* logits = nullptr;  // out: (n_tokens or 1, n_vocab), resized by Forward
};

class Model {
 public:
  static absl::StatusOr<std::unique_ptr<Model>> Load(const std::string& path,
                                                     const ModelParams& params = {});
  virtual ~Model() = default;

  virtual const HParams& hparams() const = 0;
  virtual const tokenizer::Tokenizer& tokenizer() const = 0;
  virtual const gguf::File& file() const = 0;
  int64_t n_vocab() const { return hparams().n_vocab; }

  // InvalidArgument naming n_ctx when it is not positive after defaults.
  virtual absl::StatusOr<std::unique_ptr<Session>> NewSession(const SessionParams& params) = 0;

  // Runs the tokens of one session. InvalidArgument for an empty token list or an id outside
  // [0, n_vocab) (naming the position); ResourceExhausted when the session's cache would
  // overflow n_ctx (nothing is appended then).
  absl::Status Forward(Session& session, std::span<const int32_t> tokens,
                       std::vector<float>* last_logits) {
    ForwardRequest request{&session, tokens, false, last_logits};
    return ForwardBatch(std::span<ForwardRequest>(&request, 1));
  }
  // Several sessions in one pass; each request is checked before any runs, and a failing
  // request leaves every session as it was.
  virtual absl::Status ForwardBatch(std::span<ForwardRequest> requests) = 0;
};

}  // namespace cachewire::model
