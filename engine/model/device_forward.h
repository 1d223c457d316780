// Internal to engine/model: one forward step of a batch of sessions on a backend
// (device_model.h), the llama and gemma3 layer graphs written once against backend::Ops. The
// steps and their order are the CPU forward's (forward.h, llama_graph.cc, gemma3_graph.cc), so
// over CpuOps the logits are the CPU model's.
//
// A batch is the concatenation of every session's rows: norms, projections and the
// feed-forward run once over all of them (each weight read once for the whole batch); each
// session's cache (device_cache.h, full or bounded) has a step open and gives its rows their
// positions (a bounded cache re-indexes after eviction and counts its rings apart), takes their
// keys and values, and is attended over by its own rows only. The caller commits every step
// when this succeeds and rolls them back otherwise, so a failed step adds nothing.
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
  backend::Buffer kv;                  // (n_layer, n_segments, n_head_kv) CwAttentionKv records
  std::vector<int32_t> host_pos;       // staging for pos / pos_local
  std::vector<CwAttentionKv> host_kv;  // staging for kv
};

// One session's rows of a step.
struct DeviceStep {
  DeviceCache* cache = nullptr;       // a step of n_rows tokens open (BeginStep)
  std::span<const int32_t> tokens;    // or, when empty:
  std::span<const float> embeddings;  // (n_rows, n_embd) input rows, before the embedding scale
  int64_t n_rows = 0;
  bool all_logits = false;               // every row's logits, appended; else the last row's
  std::vector<float>* logits = nullptr;  // out: appended (n_rows, n_vocab) or set (n_vocab)
};

// Runs the open steps of every session in `steps` in one pass; the caller checked the requests
// (ids in range, room in each cache).
absl::Status DeviceForwardStep(backend::Ops& ops, const HParams& hp, const DeviceWeights& w,
                               DeviceScratch& s, std::span<const DeviceStep> steps);

}  // namespace cachewire::model
