// Attention of one block of queries against one session's cached keys and values.
//
// Every cached entry carries its position explicitly (a bounded cache holds non-contiguous
// ones), and masks come from positions only: a query at p sees an entry at pk iff pk <= p and,
// with a sliding window w > 0, p - pk < w. Query head h reads kv head h / (n_head / n_head_kv).
// Keys are already rotated (RoPE before caching); `scale` multiplies q.k.
//
// The loop is a streaming (online) softmax in f32 over blocks of 64 entries: scores of a tile of
// query rows against a block of keys, a running max and sum per row, and the block's values
// accumulated into registers; no (n_tokens, n_entries) matrix is ever formed. A task is one kv
// head's query rows (the heads that share it, times a few tokens), so each key and value row is
// read once per task for all of them; tasks run over the thread pool.
#pragma once

#include <cstdint>
#include <span>

#include "absl/status/status.h"
#include "engine/backend/cpu/thread_pool.h"

namespace cachewire::kernels {

// One kv head's entries in a cache.
struct AttentionKv {
  const float* k = nullptr;      // (n, k_stride); the first head_dim_k floats of a row are used
  const float* v = nullptr;      // (n, v_stride)
  const int32_t* pos = nullptr;  // (n) position of each entry
  int64_t n = 0;
  int64_t k_stride = 0;
  int64_t v_stride = 0;
};

struct AttentionArgs {
  const float* q = nullptr;        // (n_tokens, n_head, head_dim_k), rotated
  const int32_t* q_pos = nullptr;  // (n_tokens)
  int64_t n_tokens = 0;
  int64_t n_head = 0;
  int64_t n_head_kv = 0;
  int64_t head_dim_k = 0;
  int64_t head_dim_v = 0;
  float scale = 1.0f;
  int64_t window = 0;              // 0: causal only
  std::span<const AttentionKv> kv;  // (n_head_kv)
  float* out = nullptr;             // (n_tokens, n_head, head_dim_v); a row that sees nothing is 0
  int n_threads_hint = 1;           // split finer (one head per task) when tasks are fewer
};

// InvalidArgument for inconsistent sizes or null buffers.
absl::Status CheckAttentionArgs(const AttentionArgs& args);

// The task split, for callers that run several sessions' attention in one ParallelFor.
int64_t AttentionTaskCount(const AttentionArgs& args);
// Runs task `task` (< AttentionTaskCount) on the calling thread; args must have been checked.
// Uses thread-local scratch that grows to the largest shapes seen (no allocation per token).
void AttentionRunTask(const AttentionArgs& args, int64_t task);

// Check, then every task over `pool` (may be null).
absl::Status Attention(const AttentionArgs& args, backend::cpu::ThreadPool* pool);

}  // namespace cachewire::kernels
