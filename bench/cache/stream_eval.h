// The measurements of bench_cache (cache_bench.cc), each over one session with a given cache
// policy: resident cache bytes sampled along a long stream, perplexity of a text stream in
// windows, decode tokens/s, and passkey accuracy over a JSONL of episodes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/model/model.h"

namespace cachewire::bench {

// ---- memory along a stream -------------------------------------------------------------------
struct MemorySample {
  int64_t tokens = 0;       // streamed so far
  size_t cache_bytes = 0;   // the session's cache storage
  size_t rss_bytes = 0;     // the process's resident set
  int64_t max_entries = 0;  // most entries any (layer, kv-head) holds
};

// Streams n_tokens (the corpus repeated) through one session in Forward calls of `chunk`
// tokens, sampling every `sample_every` tokens. Stops early (without error) when a full cache
// reaches its n_ctx.
absl::StatusOr<std::vector<MemorySample>> StreamMemory(model::Model& m,
                                                       const model::SessionParams& params,
                                                       std::span<const int32_t> corpus,
                                                       int64_t n_tokens, int64_t sample_every,
                                                       int64_t chunk);

// ---- perplexity ---------------------------------------------------------------------------------
struct Perplexity {
  std::vector<double> window_ppl;  // per `window` scored tokens
  double ppl = 0;                  // over every scored token
  int64_t n_scored = 0;
};

// Runs `tokens` through one session (chunks of `chunk`, all logits) and scores each next token;
// a full cache stops at its n_ctx.
absl::StatusOr<Perplexity> StreamPerplexity(model::Model& m, const model::SessionParams& params,
                                            std::span<const int32_t> tokens, int64_t window,
                                            int64_t chunk);

// ---- decode speed -------------------------------------------------------------------------------
// Prefills `context`, then times n_decode greedy single-token decodes.
absl::StatusOr<double> DecodeTokensPerSecond(model::Model& m, const model::SessionParams& params,
                                             std::span<const int32_t> context, int64_t n_decode);

// ---- passkey ------------------------------------------------------------------------------------
// One line of the handoff suite's JSONL (tools/suite/): the receiver reads sharer_context, then
// is asked `question`; correct when its greedy answer contains `answer`.
struct PasskeyEpisode {
  std::string sharer_context, question, answer;
};
absl::StatusOr<std::vector<PasskeyEpisode>> LoadPasskeyJsonl(const std::string& path);

struct PasskeyParams {
  double compression = 0;  // fraction of each prompt's tokens evicted (0: full cache)
  bool l2 = true;          // L2-norm eviction, else oldest first
  int64_t n_sink = 4;
  int64_t slack = 64;
  int64_t max_new_tokens = 16;
};
// Fraction of episodes answered correctly.
absl::StatusOr<double> PasskeyAccuracy(model::Model& m, std::span<const PasskeyEpisode> episodes,
                                       const PasskeyParams& params);

}  // namespace cachewire::bench
