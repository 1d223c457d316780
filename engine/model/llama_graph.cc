// The llama forward pass (GGUF architecture `llama`), per layer:
//   h = rms_norm(x) * attn_norm;  q, k, v = h Wq, h Wk, h Wv;  NORM RoPE (adjacent pairs) on q, k
//   with optional rope_freqs divisors;  x += attention(q, k, v; 1/sqrt(head_dim)) Wo
//   h = rms_norm(x) * ffn_norm;  x += (silu(h Wgate) * h Wup) Wdown
// Conventions as tools/reference/forward_reference.py (and llama.cpp) define them.
#include <cmath>

#include "engine/common/status_macros.h"
#include "engine/model/forward.h"
#include "kernels/activations.h"
#include "kernels/elementwise.h"
#include "kernels/rms_norm.h"

namespace cachewire::model {

absl::Status LlamaLayers(ForwardContext& ctx) {
  const HParams& hp = ctx.hp;
  ForwardScratch& s = ctx.s;
  const int64_t n = ctx.n_rows, d = hp.n_embd;
  for (int64_t il = 0; il < hp.n_layer; ++il) {
    const LayerWeights& l = ctx.w.layers[static_cast<size_t>(il)];
    // Positions from the caches (the same for every layer unless a cache says otherwise).
    CW_RETURN_IF_ERROR(PrepareRope(ctx, il, LayerRopeParams(hp, ctx.w, il), &s.rope_global));
    // ---- attention ----------------------------------------------------------------------
    kernels::RmsNorm({.x = s.x.data(), .w = l.attn_norm, .y = s.h.data(), .n_rows = n, .n = d,
                      .eps = hp.rms_eps});
    CW_RETURN_IF_ERROR(Linear(ctx, l.wq, s.h.data(), s.q.data()));  // (n, n_head, head_dim_k)
    CW_RETURN_IF_ERROR(Linear(ctx, l.wk, s.h.data(), s.k.data()));  // (n, n_head_kv, head_dim_k)
    CW_RETURN_IF_ERROR(Linear(ctx, l.wv, s.h.data(), s.v.data()));  // (n, n_head_kv, head_dim_v)
    const kernels::RopeTable& rope = s.rope_global.table;
    CW_RETURN_IF_ERROR(kernels::ApplyRope(rope, s.q.data(), n, hp.n_head, hp.head_dim_k));
    CW_RETURN_IF_ERROR(kernels::ApplyRope(rope, s.k.data(), n, hp.n_head_kv, hp.head_dim_k));
    CW_RETURN_IF_ERROR(AttendAndCache(ctx, il, hp.attn_scale, /*window=*/0, s.rope_global));
    CW_RETURN_IF_ERROR(Linear(ctx, l.wo, s.attn.data(), s.h.data()));  // (n, n_embd)
    kernels::AddInPlace(s.x.data(), s.h.data(), n * d);
    // ---- feed-forward (SwiGLU) ----------------------------------------------------------
    kernels::RmsNorm({.x = s.x.data(), .w = l.ffn_norm, .y = s.h.data(), .n_rows = n, .n = d,
                      .eps = hp.rms_eps});
    CW_RETURN_IF_ERROR(Linear(ctx, l.gate, s.h.data(), s.gate.data()));  // (n, n_ff)
    CW_RETURN_IF_ERROR(Linear(ctx, l.up, s.h.data(), s.up.data()));      // (n, n_ff)
    kernels::GatedMul({.kind = kernels::GatedActivation::kSilu, .gate = s.gate.data(),
                       .up = s.up.data(), .out = s.gate.data(), .n_rows = n, .n = hp.n_ff},
                      ctx.PoolFor(n * hp.n_ff * 16));
    CW_RETURN_IF_ERROR(Linear(ctx, l.down, s.gate.data(), s.h.data()));  // (n, n_embd)
    kernels::AddInPlace(s.x.data(), s.h.data(), n * d);
  }
  return absl::OkStatus();
}

}  // namespace cachewire::model
