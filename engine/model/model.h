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
//
// The cache is the full one (every token up to n_ctx) unless SessionParams::cache bounds it
// (engine/cache/cache_policy.h: sinks + window + L2-norm eviction); a bounded session streams
// forever at a memory fixed by its policy:
//   auto s = model->NewSession({.cache = {.bounded = true, .window = 256, .budget = 1024},
//                               .pool = worker_pool});   // ResourceExhausted when the pool is full
//   s->cache_stats();   // entries per layer, bytes, evictions, pinned entries
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "engine/cache/cache_policy.h"
#include "engine/cache/cache_pool.h"
#include "engine/cache/cache_stats.h"
#include "engine/cache/kv_cache.h"
#include "engine/model/hparams.h"
#include "kernels/rope.h"

namespace cachewire::gguf {
class File;
}
namespace cachewire::tokenizer {
class Tokenizer;
}

namespace cachewire::model {

// Where a model's weights and caches live. kCuda: on a GPU (device_model.h: the same sessions,
// caches and handoffs as the CPU model); kAuto: on a GPU when the plugin finds one, else the CPU.
// kCpuTwin: the GPU path (the device model) on host memory with the CPU kernels, the same
// logits as kCpu bit for bit: it checks the GPU path's logic where there is no GPU.
enum class Device { kCpu, kCuda, kAuto, kCpuTwin };
// "cpu" / "cuda" / "auto" / "cpu-twin"; InvalidArgument naming the value otherwise.
absl::StatusOr<Device> ParseDevice(std::string_view name);

struct ModelParams {
  int n_threads = 0;  // CPU threads (the caller included); 0 = one per hardware thread
  Device device = Device::kCpu;
  int cuda_ordinal = 0;  // which GPU, for kCuda and kAuto
};

struct SessionParams {
  // Full cache: capacity in tokens. Bounded cache: the most positions it may use (budget +
  // slack must fit). 0 = the model's training context.
  int64_t n_ctx = 0;
  cache::CachePolicy cache{};               // default: unbounded (the full cache)
  std::shared_ptr<cache::CachePool> pool{}; // optional: the cache's bytes are reserved here
};

// One sequence's state: its KV cache and position. Created by Model::NewSession.
class Session {
 public:
  virtual ~Session() = default;
  virtual int64_t n_past() const = 0;   // tokens already run through the session
  virtual int64_t n_ctx() const = 0;    // capacity (INT64_MAX for a bounded cache: it streams)
  virtual size_t cache_bytes() const = 0;
  virtual void Clear() = 0;             // forget everything (position back to 0)

  // Entries per layer, bytes, evictions, pinned entries (empty stats where not implemented).
  virtual cache::CacheStats cache_stats() const { return {}; }
  // Pins n_pinned virtual entries per (layer, kv-head) after the cache's sinks, replacing the
  // previous pins (kv_cache.h, KvCache::Pin): layers (n_layer) of un-rotated k and v. Not to be
  // called while a forward of this session runs. FailedPrecondition without a bounded policy.
  virtual absl::Status Pin(int64_t n_pinned, std::span<const cache::PinnedKv> layers) {
    (void)n_pinned;
    (void)layers;
    return absl::UnimplementedError("session: pinned entries are not supported here");
  }
  // Rewrites existing cache entries in place (kv_cache.h, KvCache::Overwrite: keys rotated for
  // their positions; all checked before any is written). Not while a forward of it runs.
  virtual absl::Status Overwrite(std::span<const cache::EntryOverwrite> entries) {
    (void)entries;
    return absl::UnimplementedError("session: rewriting entries is not supported here");
  }
  // The cache itself, read-only (an LCF encoder reads its entries); null where not exposed.
  virtual const cache::KvCache* kv_cache() const { return nullptr; }
};

struct ForwardRequest {
  Session* session = nullptr;
  std::span<const int32_t> tokens;  // appended after the session's cached tokens
  bool all_logits = false;          // logits of every token instead of the last only
  std::vector<float>* logits = nullptr;  // out: (n_tokens or 1, n_vocab), resized by Forward
  // Instead of tokens: (n, n_embd) input vectors that stand where token embeddings would (before
  // the model's embedding scale, which they get like tokens do). An LCF import runs the
  // receiver over the embeddings its decoder writes, so the pins are the receiver's own entries.
  std::span<const float> embeddings = {};
};

class Model {
 public:
  static absl::StatusOr<std::unique_ptr<Model>> Load(const std::string& path,
                                                     const ModelParams& params = {});
  virtual ~Model() = default;

  virtual const HParams& hparams() const = 0;
  virtual const tokenizer::Tokenizer& tokenizer() const = 0;
  virtual const gguf::File& file() const = 0;
  // How layer il rotates its keys (what un-rotating a cached key needs).
  virtual kernels::RopeParams LayerRope(int64_t il) const = 0;
  int64_t n_vocab() const { return hparams().n_vocab; }
  // Where the weights and caches live: "cpu", or the device model's backend ("cuda:0 (NAME)",
  // "cpu-twin").
  virtual std::string backend() const { return "cpu"; }

  // InvalidArgument naming n_ctx when it is not positive after defaults, or naming the policy's
  // field when it is invalid; ResourceExhausted when the pool cannot hold the cache.
  virtual absl::StatusOr<std::unique_ptr<Session>> NewSession(const SessionParams& params) = 0;

  // Runs the tokens of one session. InvalidArgument for an empty token list or an id outside
  // [0, n_vocab) (naming the position), or embeddings that are not whole finite rows (or come
  // with tokens); ResourceExhausted when the session's cache would
  // overflow n_ctx (nothing is appended then). A bounded cache never overflows: a run longer
  // than its slack goes through as several steps, evicting between them.
  absl::Status Forward(Session& session, std::span<const int32_t> tokens,
                       std::vector<float>* last_logits) {
    ForwardRequest request{&session, tokens, false, last_logits};
    return ForwardBatch(std::span<ForwardRequest>(&request, 1));
  }
  // Several sessions in one pass; each request is checked before any runs, and a failing
  // request leaves every session as it was (a run split into steps commits each step).
  virtual absl::Status ForwardBatch(std::span<ForwardRequest> requests) = 0;
};

}  // namespace cachewire::model
