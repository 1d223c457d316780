// Internal to engine/model: one session's forward step on a backend (device_model.h), the llama
// and gemma3 layer graphs written once against backend::Ops. The steps and their order are the
// CPU forward's (forward.h, llama_graph.cc, gemma3_graph.cc), so over CpuOps the logits are the
// CPU model's.
//
// The session's cache (device_cache.h, full or bounded) has a step open: each layer takes its
// positions from it (a bounded cache re-indexes after eviction and counts its rings apart),
// appends the step's keys and values, and attends over its entries. The caller commits the
// step when this succeeds and rolls it back otherwise, so a failed step adds nothing.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "absl/status/status.h"
#include "engine/backend/ops.h"
#include "engine/model/device_cache.h"
#include "engine/model/device_weights.h"
#include "engine/model/hparams.h"

namespace cachewire::model {

// Buffers of a step, grown to the largest step seen (never shrunk).
struct DeviceScratch {
  int64_t rows = 0;                    // capacity in rows
  int64_t out_rows = 0;                // capacity in logit rows
  backend::Buffer tokens;              // (rows) int32
  backend::Buffer pos;                 // (rows) int32: the step's positions in policy layers
  backend::Buffer pos_local;           // (rows) int32: ... in ring layers (sliding window)
  backend::Buffer x, h;                // (rows, n_embd)
  backend::Buffer q, k, v, attn;       // (rows, heads, head dim)
  backend::Buffer gate, up;            // (rows, n_ff)
  backend::Buffer out_x;               // (out_rows, n_embd)
  backend::Buffer logits;              // (out_rows, n_vocab)
  backend::Buffer kv;                  // (n_head_kv) CwAttentionKv records
  std::vector<int32_t> host_pos;       // staging for pos / pos_local
  std::vector<CwAttentionKv> host_kv;  // staging for kv
};

struct DeviceStep {
  std::span<const int32_t> tokens;    // or, when empty:
  std::span<const float> embeddings;  // (n, n_embd) input rows, before the embedding scale
  int64_t n_rows = 0;
  bool all_logits = false;
  std::vector<float>* logits = nullptr;  // out: appended (n_rows or 1, n_vocab)
};

// Runs the open step of one session's cache (step.n_rows tokens, as BeginStep was given); the
// caller checked the request (ids in range, room in cache).
absl::Status DeviceForwardStep(backend::Ops& ops, const HParams& hp, const DeviceWeights& w,
                               DeviceScratch& s, DeviceCache& cache, const DeviceStep& step);

}  // namespace cachewire::model
