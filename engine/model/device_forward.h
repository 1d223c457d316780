// Internal to engine/model: one session's forward step on a backend (device_model.h), the llama
// and gemma3 layer graphs written once against backend::Ops. The steps and their order are the
// CPU forward's (forward.h, llama_graph.cc, gemma3_graph.cc), so over CpuOps the logits are the
// CPU model's.
//
// The session's cache is the full one: per (layer, kv-head) rows of keys and values in backend
// memory, entry j at position j, appended at n_past each step. Nothing in it counts until the
// step succeeds (n_past moves only then), so a failed step leaves the session as it was.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "absl/status/status.h"
#include "engine/backend/ops.h"
#include "engine/model/device_weights.h"
#include "engine/model/hparams.h"

namespace cachewire::model {

// One session's full KV cache in backend memory.
struct DeviceCache {
  int64_t n_ctx = 0;
  int64_t n_past = 0;
  std::vector<backend::Buffer> k;  // (n_layer) each (n_head_kv, n_ctx, head_dim_k)
  std::vector<backend::Buffer> v;  // (n_layer) each (n_head_kv, n_ctx, head_dim_v)
  size_t bytes = 0;
};

// Buffers of a step, grown to the largest step seen (never shrunk).
struct DeviceScratch {
  int64_t rows = 0;               // capacity in rows
  int64_t out_rows = 0;           // capacity in logit rows
  backend::Buffer tokens;         // (rows) int32
  backend::Buffer pos;            // (rows) int32: the step's positions
  backend::Buffer iota;           // (rows) int32: 0, 1, ... (the append's gather indices)
  backend::Buffer x, h;           // (rows, n_embd)
  backend::Buffer q, k, v, attn;  // (rows, heads, head dim)
  backend::Buffer gate, up;       // (rows, n_ff)
  backend::Buffer out_x;          // (out_rows, n_embd)
  backend::Buffer logits;         // (out_rows, n_vocab)
  backend::Buffer kv;             // (n_head_kv) CwAttentionKv records
  backend::Buffer entry_pos;      // (n_ctx max) int32 0, 1, ...: a full cache's positions
  int64_t entry_pos_cap = 0;
  std::vector<int32_t> host_pos;  // staging for pos / iota / entry_pos
};

struct DeviceStep {
  std::span<const int32_t> tokens;    // or, when empty:
  std::span<const float> embeddings;  // (n, n_embd) input rows, before the embedding scale
  int64_t n_rows = 0;
  bool all_logits = false;
  std::vector<float>* logits = nullptr;  // out: appended (n_rows or 1, n_vocab)
};

// Runs one step of one session; the caller checked the request (ids in range, room in cache).
absl::Status DeviceForwardStep(backend::Ops& ops, const HParams& hp, const DeviceWeights& w,
                               DeviceScratch& s, DeviceCache& cache, const DeviceStep& step);

}  // namespace cachewire::model
