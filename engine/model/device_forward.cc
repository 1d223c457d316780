// DeviceForwardStep (device_forward.h): embedding, the layers of llama or gemma3, the logits.
#include "engine/model/device_forward.h"

#include <cmath>
#include <numeric>

#include "engine/common/status_macros.h"

namespace cachewire::model {
namespace {

using backend::Buffer;
using backend::Ops;

absl::Status Grow(Ops& ops, Buffer& b, size_t bytes) {
  if (b.bytes() >= bytes) return absl::OkStatus();
  CW_ASSIGN_OR_RETURN(b, ops.Alloc(bytes));
  return absl::OkStatus();
}

// Backend memory for a step of n rows (out of them n_out with logits).
absl::Status Reserve(Ops& ops, const HParams& hp, DeviceScratch& s, int64_t n, int64_t n_out) {
  const auto f = [](int64_t count) { return static_cast<size_t>(count) * sizeof(float); };
  if (n > s.rows) {
    CW_RETURN_IF_ERROR(Grow(ops, s.tokens, f(n)));
    CW_RETURN_IF_ERROR(Grow(ops, s.pos, f(n)));
    CW_RETURN_IF_ERROR(Grow(ops, s.pos_local, f(n)));
    CW_RETURN_IF_ERROR(Grow(ops, s.x, f(n * hp.n_embd)));
    CW_RETURN_IF_ERROR(Grow(ops, s.h, f(n * hp.n_embd)));
    CW_RETURN_IF_ERROR(Grow(ops, s.q, f(n * hp.n_head * hp.head_dim_k)));
    CW_RETURN_IF_ERROR(Grow(ops, s.k, f(n * hp.n_head_kv * hp.head_dim_k)));
    CW_RETURN_IF_ERROR(Grow(ops, s.v, f(n * hp.n_head_kv * hp.head_dim_v)));
    CW_RETURN_IF_ERROR(Grow(ops, s.attn, f(n * hp.n_head * hp.head_dim_v)));
    CW_RETURN_IF_ERROR(Grow(ops, s.gate, f(n * hp.n_ff)));
    CW_RETURN_IF_ERROR(Grow(ops, s.up, f(n * hp.n_ff)));
    s.rows = n;
  }
  if (n_out > s.out_rows) {
    CW_RETURN_IF_ERROR(Grow(ops, s.out_x, f(n_out * hp.n_embd)));
    CW_RETURN_IF_ERROR(Grow(ops, s.logits, f(n_out * hp.n_vocab)));
    s.out_rows = n_out;
  }
  return Grow(ops, s.kv, static_cast<size_t>(hp.n_head_kv) * sizeof(CwAttentionKv));
}

// Uploads the step's positions: those of the policy layers to s.pos, those of the ring layers
// (if any) to s.pos_local. Every policy layer of a cache has the same next position, and so
// has every ring layer.
absl::Status UploadPositions(Ops& ops, const HParams& hp, DeviceScratch& s, const DeviceCache& c,
                             int64_t n) {
  bool global_done = false, local_done = false;
  for (int64_t il = 0; il < hp.n_layer && !(global_done && local_done); ++il) {
    const bool ring = c.ring(il);
    if (ring ? local_done : global_done) continue;
    s.host_pos.resize(static_cast<size_t>(n));
    std::iota(s.host_pos.begin(), s.host_pos.end(), c.NextPosition(il));
    Buffer& dst = ring ? s.pos_local : s.pos;
    CW_RETURN_IF_ERROR(
        ops.CopyIn(dst.data(), s.host_pos.data(), s.host_pos.size() * sizeof(int32_t)));
    (ring ? local_done : global_done) = true;
  }
  return absl::OkStatus();
}

absl::Status Linear(Ops& ops, const DeviceMatrix& m, const float* x, int64_t n, float* y) {
  return ops.Run(CwMatmulArgs{m.type, m.data, m.n_out, m.n_in, x, n, y});
}

absl::Status Norm(Ops& ops, const float* x, const float* w, float* y, int64_t rows, int64_t n,
                  float eps) {
  return ops.Run(CwRmsNormArgs{x, w, y, rows, n, eps});
}

absl::Status Rope(Ops& ops, const kernels::RopeParams& p, float* x, const int32_t* pos, int64_t n,
                  int64_t heads, int64_t head_dim) {
  return ops.Run(CwRopeArgs{x, pos, 0, n, heads, head_dim,
                            p.layout == kernels::RopeLayout::kNeox ? 1 : 0, p.n_rot, p.freq_base,
                            p.freq_scale, p.freq_factors});
}

// Appends the step's k, v to layer il of the cache, then attends over its entries.
absl::Status AttendAndCache(Ops& ops, const HParams& hp, DeviceScratch& s, DeviceCache& c,
                            int64_t il, int64_t n, int64_t window, const int32_t* pos) {
  CW_RETURN_IF_ERROR(c.Append(il, s.k.as<float>(), s.v.as<float>()));
  c.Records(il, &s.host_kv);
  CW_RETURN_IF_ERROR(
      ops.CopyIn(s.kv.data(), s.host_kv.data(), s.host_kv.size() * sizeof(CwAttentionKv)));
  return ops.Run(CwAttentionArgs{s.q.as<float>(), pos, n, hp.n_head, hp.n_head_kv, hp.head_dim_k,
                                 hp.head_dim_v, hp.attn_scale, window, s.kv.as<CwAttentionKv>(),
                                 s.attn.as<float>()});
}

absl::Status Layer(Ops& ops, const HParams& hp, const DeviceWeights& w, DeviceScratch& s,
                   DeviceCache& c, int64_t il, int64_t n) {
  const DeviceLayer& l = w.layers[static_cast<size_t>(il)];
  const bool gemma = hp.arch == Arch::kGemma3;
  const int64_t d = hp.n_embd;
  float* x = s.x.as<float>();
  float* h = s.h.as<float>();
  // ---- attention ------------------------------------------------------------------------
  CW_RETURN_IF_ERROR(Norm(ops, x, l.attn_norm, h, n, d, hp.rms_eps));
  CW_RETURN_IF_ERROR(Linear(ops, l.wq, h, n, s.q.as<float>()));  // (n, n_head, head_dim_k)
  CW_RETURN_IF_ERROR(Linear(ops, l.wk, h, n, s.k.as<float>()));  // (n, n_head_kv, head_dim_k)
  CW_RETURN_IF_ERROR(Linear(ops, l.wv, h, n, s.v.as<float>()));  // (n, n_head_kv, head_dim_v)
  if (gemma) {  // QK-norm: every head of q and k on its own, before RoPE
    CW_RETURN_IF_ERROR(Norm(ops, s.q.as<float>(), l.q_norm, s.q.as<float>(), n * hp.n_head,
                            hp.head_dim_k, hp.rms_eps));
    CW_RETURN_IF_ERROR(Norm(ops, s.k.as<float>(), l.k_norm, s.k.as<float>(), n * hp.n_head_kv,
                            hp.head_dim_k, hp.rms_eps));
  }
  const kernels::RopeParams& rope = w.rope[static_cast<size_t>(il)];
  const int32_t* pos = (c.ring(il) ? s.pos_local : s.pos).as<int32_t>();
  CW_RETURN_IF_ERROR(Rope(ops, rope, s.q.as<float>(), pos, n, hp.n_head, hp.head_dim_k));
  CW_RETURN_IF_ERROR(Rope(ops, rope, s.k.as<float>(), pos, n, hp.n_head_kv, hp.head_dim_k));
  const int64_t window = gemma && hp.IsLocalLayer(il) ? hp.sliding_window : 0;
  CW_RETURN_IF_ERROR(AttendAndCache(ops, hp, s, c, il, n, window, pos));
  CW_RETURN_IF_ERROR(Linear(ops, l.wo, s.attn.as<float>(), n, h));  // (n, n_embd)
  if (gemma) CW_RETURN_IF_ERROR(Norm(ops, h, l.post_attn_norm, h, n, d, hp.rms_eps));
  CW_RETURN_IF_ERROR(ops.Run(CwAddArgs{x, h, n * d}));
  // ---- feed-forward (SwiGLU for llama, GeGLU for gemma3) ---------------------------------
  CW_RETURN_IF_ERROR(Norm(ops, x, l.ffn_norm, h, n, d, hp.rms_eps));
  CW_RETURN_IF_ERROR(Linear(ops, l.gate, h, n, s.gate.as<float>()));  // (n, n_ff)
  CW_RETURN_IF_ERROR(Linear(ops, l.up, h, n, s.up.as<float>()));      // (n, n_ff)
  CW_RETURN_IF_ERROR(ops.Run(CwGatedArgs{gemma ? 1 : 0, s.gate.as<float>(), s.up.as<float>(),
                                         s.gate.as<float>(), n, hp.n_ff}));
  CW_RETURN_IF_ERROR(Linear(ops, l.down, s.gate.as<float>(), n, h));  // (n, n_embd)
  if (gemma) CW_RETURN_IF_ERROR(Norm(ops, h, l.post_ffw_norm, h, n, d, hp.rms_eps));
  return ops.Run(CwAddArgs{x, h, n * d});
}

}  // namespace

absl::Status DeviceForwardStep(Ops& ops, const HParams& hp, const DeviceWeights& w,
                               DeviceScratch& s, DeviceCache& cache, const DeviceStep& step) {
  const int64_t n = step.n_rows, d = hp.n_embd;
  const int64_t n_out = step.all_logits ? n : 1;
  CW_RETURN_IF_ERROR(Reserve(ops, hp, s, n, n_out));
  const auto f = [](int64_t count) { return static_cast<size_t>(count) * sizeof(float); };
  // ---- input rows -------------------------------------------------------------------------
  const float scale = hp.embed_scale_sqrt ? std::sqrt(static_cast<float>(d)) : 1.0f;
  if (step.embeddings.empty()) {
    CW_RETURN_IF_ERROR(ops.CopyIn(s.tokens.data(), step.tokens.data(), f(n)));
    CW_RETURN_IF_ERROR(ops.Run(CwEmbeddingArgs{w.token_embd.type, w.token_embd.data,
                                               w.token_embd.n_out, w.token_embd.n_in,
                                               s.tokens.as<int32_t>(), n, scale, s.x.as<float>()}));
  } else {  // given rows stand where embeddings would, and get the same scale
    CW_RETURN_IF_ERROR(ops.CopyIn(s.x.data(), step.embeddings.data(), f(n * d)));
    CW_RETURN_IF_ERROR(ops.Run(CwScaleArgs{s.x.as<float>(), scale, n * d}));
  }
  CW_RETURN_IF_ERROR(UploadPositions(ops, hp, s, cache, n));
  // ---- layers ----------------------------------------------------------------------------
  for (int64_t il = 0; il < hp.n_layer; ++il) {
    CW_RETURN_IF_ERROR(Layer(ops, hp, w, s, cache, il, n));
  }
  // ---- logits of the last row, or of every row -------------------------------------------
  const float* first = s.x.as<float>() + (n - n_out) * d;
  CW_RETURN_IF_ERROR(Norm(ops, first, w.output_norm, s.out_x.as<float>(), n_out, d, hp.rms_eps));
  CW_RETURN_IF_ERROR(Linear(ops, w.output, s.out_x.as<float>(), n_out, s.logits.as<float>()));
  const size_t old = step.logits->size();
  step.logits->resize(old + static_cast<size_t>(n_out * hp.n_vocab));
  CW_RETURN_IF_ERROR(
      ops.CopyOut(step.logits->data() + old, s.logits.data(), f(n_out * hp.n_vocab)));
  return absl::OkStatus();
}

}  // namespace cachewire::model
