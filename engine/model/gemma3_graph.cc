// The Gemma 3 forward pass (GGUF architecture `gemma3`), per layer:
//   h = rms_norm(x) * attn_norm;  q, k, v = h Wq, h Wk, h Wv;  per-head rms_norm of q and k
//   (attn_q_norm / attn_k_norm) before NEOX RoPE (halves);  a = attention(q, k, v;
//   1/sqrt(key_length)) Wo;  x += rms_norm(a) * post_attention_norm
//   h = rms_norm(x) * ffn_norm;  f = (gelu_tanh(h Wgate) * h Wup) Wdown;
//   x += rms_norm(f) * post_ffw_norm
// Local layers (all but the last of each swa_period) use RoPE base 10000 unscaled and a sliding
// window; global layers use the model's base and linear scaling and see the whole context.
// Embeddings are scaled by sqrt(n_embd) (model.cc); norm weights are used as stored (the GGUF
// converter already added Gemma's 1). No softcapping (Gemma 3 has none).
#include <cmath>

#include "engine/common/status_macros.h"
#include "engine/model/forward.h"
#include "kernels/activations.h"
#include "kernels/elementwise.h"
#include "kernels/rms_norm.h"

namespace cachewire::model {

absl::Status Gemma3Layers(ForwardContext& ctx) {
  const HParams& hp = ctx.hp;
  ForwardScratch& s = ctx.s;
  const int64_t n = ctx.n_rows, d = hp.n_embd;
  for (int64_t il = 0; il < hp.n_layer; ++il) {
    const LayerWeights& l = ctx.w.layers[static_cast<size_t>(il)];
    const bool local = hp.IsLocalLayer(il);
    // Positions from the caches: a bounded cache counts its sliding-window rings apart.
    RopeSlot& slot = local ? s.rope_local : s.rope_global;
    CW_RETURN_IF_ERROR(PrepareRope(ctx, il, LayerRopeParams(hp, ctx.w, il), &slot));
    // ---- attention ----------------------------------------------------------------------
    kernels::RmsNorm({.x = s.x.data(), .w = l.attn_norm, .y = s.h.data(), .n_rows = n, .n = d,
                      .eps = hp.rms_eps});
    CW_RETURN_IF_ERROR(Linear(ctx, l.wq, s.h.data(), s.q.data()));  // (n, n_head, head_dim_k)
    CW_RETURN_IF_ERROR(Linear(ctx, l.wk, s.h.data(), s.k.data()));  // (n, n_head_kv, head_dim_k)
    CW_RETURN_IF_ERROR(Linear(ctx, l.wv, s.h.data(), s.v.data()));  // (n, n_head_kv, head_dim_v)
    kernels::RmsNormHeads(s.q.data(), l.q_norm, n, hp.n_head, hp.head_dim_k, hp.rms_eps);
    kernels::RmsNormHeads(s.k.data(), l.k_norm, n, hp.n_head_kv, hp.head_dim_k, hp.rms_eps);
    CW_RETURN_IF_ERROR(kernels::ApplyRope(slot.table, s.q.data(), n, hp.n_head, hp.head_dim_k));
    CW_RETURN_IF_ERROR(kernels::ApplyRope(slot.table, s.k.data(), n, hp.n_head_kv, hp.head_dim_k));
    CW_RETURN_IF_ERROR(
        AttendAndCache(ctx, il, hp.attn_scale, local ? hp.sliding_window : 0, slot));
    CW_RETURN_IF_ERROR(Linear(ctx, l.wo, s.attn.data(), s.h.data()));  // (n, n_embd)
    kernels::RmsNorm({.x = s.h.data(), .w = l.post_attn_norm, .y = s.h.data(), .n_rows = n,
                      .n = d, .eps = hp.rms_eps});
    kernels::AddInPlace(s.x.data(), s.h.data(), n * d);
    // ---- feed-forward (GeGLU) -----------------------------------------------------------
    kernels::RmsNorm({.x = s.x.data(), .w = l.ffn_norm, .y = s.h.data(), .n_rows = n, .n = d,
                      .eps = hp.rms_eps});
    CW_RETURN_IF_ERROR(Linear(ctx, l.gate, s.h.data(), s.gate.data()));  // (n, n_ff)
    CW_RETURN_IF_ERROR(Linear(ctx, l.up, s.h.data(), s.up.data()));      // (n, n_ff)
    kernels::GatedMul({.kind = kernels::GatedActivation::kGeluTanh, .gate = s.gate.data(),
                       .up = s.up.data(), .out = s.gate.data(), .n_rows = n, .n = hp.n_ff},
                      ctx.PoolFor(n * hp.n_ff * 16));
    CW_RETURN_IF_ERROR(Linear(ctx, l.down, s.gate.data(), s.h.data()));  // (n, n_embd)
    kernels::RmsNorm({.x = s.h.data(), .w = l.post_ffw_norm, .y = s.h.data(), .n_rows = n,
                      .n = d, .eps = hp.rms_eps});
    kernels::AddInPlace(s.x.data(), s.h.data(), n * d);
  }
  return absl::OkStatus();
}

}  // namespace cachewire::model
