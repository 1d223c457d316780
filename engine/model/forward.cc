// The shared steps of the forward pass (forward.h): scratch sizing, projections, embedding,
// attention through each session's cache, and the logits of the rows that want them.
#include "engine/model/forward.h"

#include <algorithm>
#include <cmath>

#include "engine/common/status_macros.h"
#include "kernels/embedding.h"
#include "kernels/rms_norm.h"

namespace cachewire::model {
namespace {

template <typename T>
void Grow(std::vector<T>& v, int64_t n) {
  if (v.size() < static_cast<size_t>(n)) v.resize(static_cast<size_t>(n));
}

}  // namespace

void ForwardScratch::Reserve(const HParams& hp, int64_t n_rows, int64_t n_out_rows) {
  Grow(tokens, n_rows);
  Grow(pos_scratch, n_rows);
  Grow(rope_global.pos, n_rows);
  Grow(rope_local.pos, n_rows);
  rope_global.valid = rope_local.valid = false;
  Grow(x, n_rows * hp.n_embd);
  Grow(h, n_rows * hp.n_embd);
  Grow(q, n_rows * hp.n_head * hp.head_dim_k);
  Grow(k, n_rows * hp.n_head_kv * hp.head_dim_k);
  Grow(v, n_rows * hp.n_head_kv * hp.head_dim_v);
  Grow(attn, n_rows * hp.n_head * hp.head_dim_v);
  Grow(gate, n_rows * hp.n_ff);
  Grow(up, n_rows * hp.n_ff);
  Grow(out_x, n_out_rows * hp.n_embd);
  Grow(logits, n_out_rows * hp.n_vocab);
}

absl::Status Linear(ForwardContext& ctx, const Matrix& w, const float* x, float* y) {
  kernels::MatmulArgs args;
  args.w_type = w.type;
  args.w = w.data;
  args.n_out = w.n_out;
  args.n_in = w.n_in;
  args.x = x;
  args.n_tokens = ctx.n_rows;
  args.y = y;
  return kernels::Matmul(args, ctx.PoolFor(w.n_out * w.n_in * ctx.n_rows), &ctx.s.matmul);
}

absl::Status Embed(ForwardContext& ctx, float scale) {
  kernels::EmbeddingArgs args;
  args.type = ctx.w.token_embd.type;
  args.table = ctx.w.token_embd.data;
  args.n_vocab = ctx.w.token_embd.n_out;
  args.n_embd = ctx.w.token_embd.n_in;
  args.ids = std::span<const int32_t>(ctx.s.tokens.data(), static_cast<size_t>(ctx.n_rows));
  args.scale = scale;
  args.out = ctx.s.x.data();
  return kernels::EmbeddingLookup(args);
}

kernels::RopeParams LayerRopeParams(const HParams& hp, const Weights& w, int64_t il) {
  kernels::RopeParams p;
  p.layout = hp.rope_neox ? kernels::RopeLayout::kNeox : kernels::RopeLayout::kNorm;
  p.n_rot = hp.n_rot;
  if (hp.arch == Arch::kGemma3 && hp.IsLocalLayer(il)) {  // local: own base, never scaled
    p.freq_base = hp.rope_freq_base_local;
    return p;
  }
  p.freq_base = hp.rope_freq_base;
  p.freq_scale = hp.rope_freq_scale;
  p.freq_factors = hp.arch == Arch::kLlama ? w.rope_freqs : nullptr;  // Llama 3.1+ only
  return p;
}

absl::Status PrepareRope(ForwardContext& ctx, int64_t il, const kernels::RopeParams& params,
                         RopeSlot* slot) {
  ForwardScratch& s = ctx.s;
  for (const BatchSegment& seg : ctx.segments) {
    const int32_t p0 = seg.cache->NextPosition(il);
    for (int64_t t = 0; t < seg.n_rows; ++t) {
      s.pos_scratch[static_cast<size_t>(seg.row_begin + t)] = p0 + static_cast<int32_t>(t);
    }
  }
  const auto n = static_cast<size_t>(ctx.n_rows);
  if (slot->valid && std::equal(s.pos_scratch.begin(), s.pos_scratch.begin() + n,
                                slot->pos.begin())) {
    return absl::OkStatus();
  }
  std::copy_n(s.pos_scratch.begin(), n, slot->pos.begin());
  CW_RETURN_IF_ERROR(kernels::BuildRopeTable(
      params, std::span<const int32_t>(slot->pos.data(), n), &slot->table));
  slot->valid = true;
  return absl::OkStatus();
}

absl::Status AttendAndCache(ForwardContext& ctx, int64_t il, float scale, int64_t window,
                            const RopeSlot& rope) {
  const HParams& hp = ctx.hp;
  ForwardScratch& s = ctx.s;
  const int64_t n_kv = hp.n_head_kv, dk = hp.head_dim_k, dv = hp.head_dim_v;
  const size_t n_seg = ctx.segments.size();
  s.attn_args.resize(n_seg);
  s.attn_kv.resize(n_seg * static_cast<size_t>(n_kv));
  s.attn_task_begin.resize(n_seg + 1);
  s.attn_task_begin[0] = 0;
  int64_t work = 0;  // multiply-adds, roughly
  const int n_threads = ctx.pool != nullptr ? ctx.pool->n_threads() : 1;
  for (size_t i = 0; i < n_seg; ++i) {
    const BatchSegment& seg = ctx.segments[i];
    const int64_t r0 = seg.row_begin;
    const std::span<const int32_t> pos(rope.pos.data() + r0, static_cast<size_t>(seg.n_rows));
    CW_RETURN_IF_ERROR(seg.cache->Append(il, pos, s.k.data() + r0 * n_kv * dk,
                                         s.v.data() + r0 * n_kv * dv));
    kernels::AttentionKv* kv = s.attn_kv.data() + i * static_cast<size_t>(n_kv);
    for (int64_t h = 0; h < n_kv; ++h) {
      const cache::KvHeadView view = seg.cache->View(il, h);
      kv[h] = {view.k, view.v, view.pos, view.n, view.k_stride, view.v_stride};
    }
    kernels::AttentionArgs& a = s.attn_args[i];
    a.q = s.q.data() + r0 * hp.n_head * dk;
    a.q_pos = rope.pos.data() + r0;
    a.n_tokens = seg.n_rows;
    a.n_head = hp.n_head;
    a.n_head_kv = n_kv;
    a.head_dim_k = dk;
    a.head_dim_v = dv;
    a.scale = scale;
    a.window = window;
    a.kv = std::span<const kernels::AttentionKv>(kv, static_cast<size_t>(n_kv));
    a.out = s.attn.data() + r0 * hp.n_head * dv;
    a.n_threads_hint = n_seg == 1 ? n_threads : 1;
    CW_RETURN_IF_ERROR(kernels::CheckAttentionArgs(a));
    s.attn_task_begin[i + 1] = s.attn_task_begin[i] + kernels::AttentionTaskCount(a);
    work += seg.n_rows * hp.n_head * (kv[0].n) * (dk + dv);
  }
  // Every session's tasks in one pass over the pool.
  auto run = [&](int64_t task, int) {
    const auto it = std::upper_bound(s.attn_task_begin.begin(), s.attn_task_begin.end(), task);
    const size_t seg = static_cast<size_t>(it - s.attn_task_begin.begin()) - 1;
    kernels::AttentionRunTask(s.attn_args[seg], task - s.attn_task_begin[seg]);
  };
  const int64_t n_tasks = s.attn_task_begin[n_seg];
  if (backend::cpu::ThreadPool* pool = ctx.PoolFor(work); pool != nullptr && n_tasks > 1) {
    pool->ParallelFor(n_tasks, run);
  } else {
    for (int64_t t = 0; t < n_tasks; ++t) run(t, 0);
  }
  return absl::OkStatus();
}

absl::Status OutputLogits(ForwardContext& ctx) {
  const HParams& hp = ctx.hp;
  ForwardScratch& s = ctx.s;
  const int64_t d = hp.n_embd, n_vocab = hp.n_vocab;
  // Gather the rows that want logits (the last of each segment unless all_logits).
  int64_t n_out = 0;
  for (const BatchSegment& seg : ctx.segments) {
    const int64_t first = seg.all_logits ? seg.row_begin : seg.row_begin + seg.n_rows - 1;
    const int64_t count = seg.row_begin + seg.n_rows - first;
    std::copy_n(s.x.data() + first * d, count * d, s.out_x.data() + n_out * d);
    n_out += count;
  }
  kernels::RmsNorm({.x = s.out_x.data(), .w = ctx.w.output_norm, .y = s.out_x.data(),
                    .n_rows = n_out, .n = d, .eps = hp.rms_eps});
  kernels::MatmulArgs args;
  args.w_type = ctx.w.output.type;
  args.w = ctx.w.output.data;
  args.n_out = n_vocab;
  args.n_in = d;
  args.x = s.out_x.data();
  args.n_tokens = n_out;
  args.y = s.logits.data();
  CW_RETURN_IF_ERROR(kernels::Matmul(args, ctx.PoolFor(n_vocab * d * n_out), &s.matmul));
  int64_t row = 0;
  for (const BatchSegment& seg : ctx.segments) {
    const int64_t count = seg.all_logits ? seg.n_rows : 1;
    const float* rows = s.logits.data() + row * n_vocab;
    if (seg.all_logits) {  // a run in several steps: each step's rows follow the last
      seg.logits->insert(seg.logits->end(), rows, rows + count * n_vocab);
    } else {
      seg.logits->assign(rows, rows + count * n_vocab);
    }
    row += count;
  }
  return absl::OkStatus();
}

}  // namespace cachewire::model
