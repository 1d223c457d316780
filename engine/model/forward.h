// Internal to engine/model: the state of one batched forward pass and the steps that llama and
// gemma3 share (embedding, projections, the attention block over each session's cache, logits).
// The architecture files (llama_graph.cc, gemma3_graph.cc) are written against these only.
//
// A batch is the concatenation of every request's tokens: rows [row_begin, row_begin + n) of
// each activation buffer belong to one session. Projections run once over all rows (each weight
// row is read once for the whole batch); attention runs per session against its own cache.
// Buffers live in ForwardScratch, owned by the model and grown to the largest batch seen, so a
// decode step allocates nothing.
//
// Positions come from each session's cache, per layer (KvCache::NextPosition): a bounded cache
// re-indexes its entries after eviction, and its sliding-window rings count positions apart.
// A RopeSlot holds one set of row positions and the RoPE table built for them; it is rebuilt
// only when a layer's positions differ from the previous layer's that used the slot.
#pragma once

#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "engine/backend/cpu/thread_pool.h"
#include "engine/cache/kv_cache.h"
#include "engine/model/hparams.h"
#include "engine/model/weights.h"
#include "kernels/attention.h"
#include "kernels/matmul.h"
#include "kernels/rope.h"

namespace cachewire::model {

// One session's rows in the batch.
struct BatchSegment {
  cache::KvCache* cache = nullptr;
  int64_t row_begin = 0;
  int64_t n_rows = 0;
  bool all_logits = false;
  std::vector<float>* logits = nullptr;  // all_logits: this step's rows are appended
};

// Row positions for the layers that share RoPE parameters, and the table built for them.
struct RopeSlot {
  std::vector<int32_t> pos;  // (n_rows) position of each row in its session's cache
  kernels::RopeTable table;
  bool valid = false;        // pos and table belong to the current pass
};

struct ForwardScratch {
  std::vector<int32_t> tokens;  // (n_rows)
  std::vector<float> x;         // (n_rows, n_embd) residual stream
  std::vector<float> h;         // (n_rows, n_embd) normed input / projection output
  std::vector<float> q;         // (n_rows, n_head, head_dim_k)
  std::vector<float> k;         // (n_rows, n_head_kv, head_dim_k)
  std::vector<float> v;         // (n_rows, n_head_kv, head_dim_v)
  std::vector<float> attn;      // (n_rows, n_head, head_dim_v)
  std::vector<float> gate;      // (n_rows, n_ff)
  std::vector<float> up;        // (n_rows, n_ff)
  std::vector<float> out_x;     // (n_out_rows, n_embd) rows whose logits are wanted
  std::vector<float> logits;    // (n_out_rows, n_vocab)
  RopeSlot rope_global;  // every layer (llama), global layers (gemma3)
  RopeSlot rope_local;   // gemma3 local layers
  std::vector<int32_t> pos_scratch;  // (n_rows)
  std::vector<kernels::AttentionArgs> attn_args;  // (n_segments) per layer
  std::vector<kernels::AttentionKv> attn_kv;      // (n_segments, n_head_kv)
  std::vector<int64_t> attn_task_begin;           // (n_segments + 1) prefix sums of tasks
  kernels::MatmulScratch matmul;

  // Grows every buffer for n_rows rows (never shrinks); forgets the last pass's RoPE tables.
  void Reserve(const HParams& hp, int64_t n_rows, int64_t n_out_rows);
};

struct ForwardContext {
  const HParams& hp;
  const Weights& w;
  backend::cpu::ThreadPool* pool;
  ForwardScratch& s;
  std::vector<BatchSegment>& segments;
  int64_t n_rows = 0;

  // The pool for an op of `work` multiply-adds (or exp-sized steps); null when waking the
  // workers would cost more than the op (the tiny test models).
  backend::cpu::ThreadPool* PoolFor(int64_t work) const {
    return work >= kMinParallelWork ? pool : nullptr;
  }
  static constexpr int64_t kMinParallelWork = int64_t{1} << 16;
};

// y (n_rows, w.n_out) = x (n_rows, w.n_in) W^T over the pool.
absl::Status Linear(ForwardContext& ctx, const Matrix& w, const float* x, float* y);

// s.x = embeddings of s.tokens, times `scale`.
absl::Status Embed(ForwardContext& ctx, float scale);

// How layer il rotates queries and keys (the bounded cache shifts stored keys the same way).
kernels::RopeParams LayerRopeParams(const HParams& hp, const Weights& w, int64_t il);

// Fills slot->pos with layer il's positions of every row (from each segment's cache) and
// rebuilds slot->table with `params` unless it already holds those positions.
absl::Status PrepareRope(ForwardContext& ctx, int64_t il, const kernels::RopeParams& params,
                         RopeSlot* slot);

// The attention of layer il from s.q, s.k, s.v (already normed and rotated for rope.pos):
// appends k, v to every segment's cache at rope.pos, then s.attn = softmax(q k^T * scale) v per
// session (window 0: causal).
absl::Status AttendAndCache(ForwardContext& ctx, int64_t il, float scale, int64_t window,
                            const RopeSlot& rope);

// Final norm of the rows that want logits, the output projection, and each segment's logits.
absl::Status OutputLogits(ForwardContext& ctx);

// The architectures' layer stacks (llama_graph.cc, gemma3_graph.cc): s.x in, s.x out.
absl::Status LlamaLayers(ForwardContext& ctx);
absl::Status Gemma3Layers(ForwardContext& ctx);

}  // namespace cachewire::model
