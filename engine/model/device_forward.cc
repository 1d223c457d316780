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

// Backend memory for a step of n rows (out of them n_out with logits) of n_seg sessions.
absl::Status Reserve(Ops& ops, const HParams& hp, DeviceScratch& s, int64_t n, int64_t n_out,
                     int64_t n_seg) {
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
  return Grow(ops, s.kv,
              static_cast<size_t>(hp.n_layer * n_seg * hp.n_head_kv) * sizeof(CwAttentionKv));
}

// The positions of every row: s.pos for the model's global layers, s.pos_local for its
// sliding-window (local) layers. Within one cache every layer of a kind has the same next
// position (a bounded cache keeps its rings for the local layers and counts them apart; a full
// cache gives both kinds the same).
absl::Status UploadPositions(Ops& ops, const HParams& hp, DeviceScratch& s,
                             std::span<const DeviceStep> steps, int64_t n) {
  int64_t global = -1, local = -1;  // a layer of each kind, if the model has one
  for (int64_t il = 0; il < hp.n_layer; ++il) {
    int64_t& first = hp.IsLocalLayer(il) ? local : global;
    if (first < 0) first = il;
  }
  for (const auto& [layer, dst] : {std::pair{global, &s.pos}, std::pair{local, &s.pos_local}}) {
    if (layer < 0) continue;
    s.host_pos.resize(static_cast<size_t>(n));
    int32_t* out = s.host_pos.data();
    for (const DeviceStep& st : steps) {
      std::iota(out, out + st.n_rows, st.cache->NextPosition(layer));
      out += st.n_rows;
    }
    CW_RETURN_IF_ERROR(ops.CopyIn(dst->data(), s.host_pos.data(), static_cast<size_t>(n) * 4));
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

// Every layer's attention records of every session, (n_layer, n_segments, n_head_kv), in one
// upload per step rather than one per layer: they depend only on the caches' counts (entries
// with the open step's included), which no layer of the step changes, and on a GPU each upload
// from host memory waits for the work before it.
absl::Status UploadRecords(Ops& ops, const HParams& hp, DeviceScratch& s,
                           std::span<const DeviceStep> steps) {
  s.host_kv.clear();
  std::vector<CwAttentionKv> records;
  for (int64_t il = 0; il < hp.n_layer; ++il) {
    for (const DeviceStep& st : steps) {
      st.cache->Records(il, &records);
      s.host_kv.insert(s.host_kv.end(), records.begin(), records.end());
    }
  }
  return ops.CopyIn(s.kv.data(), s.host_kv.data(), s.host_kv.size() * sizeof(CwAttentionKv));
}

// Appends each session's rows of k, v to layer il of its cache, then attends its rows over its
// entries (each session's attention its own launch, over the records UploadRecords placed).
absl::Status AttendAndCache(Ops& ops, const HParams& hp, DeviceScratch& s,
                            std::span<const DeviceStep> steps, int64_t il, int64_t window,
                            const int32_t* pos) {
  const int64_t n_kv = hp.n_head_kv, dk = hp.head_dim_k, dv = hp.head_dim_v;
  int64_t row = 0;
  for (const DeviceStep& st : steps) {
    CW_RETURN_IF_ERROR(
        st.cache->Append(il, s.k.as<float>() + row * n_kv * dk, s.v.as<float>() + row * n_kv * dv));
    row += st.n_rows;
  }
  const CwAttentionKv* layer_records =
      s.kv.as<CwAttentionKv>() + il * static_cast<int64_t>(steps.size()) * n_kv;
  row = 0;
  for (size_t i = 0; i < steps.size(); ++i) {
    CW_RETURN_IF_ERROR(ops.Run(CwAttentionArgs{
        s.q.as<float>() + row * hp.n_head * dk, pos + row, steps[i].n_rows, hp.n_head, n_kv, dk, dv,
        hp.attn_scale, window, layer_records + i * static_cast<size_t>(n_kv),
        s.attn.as<float>() + row * hp.n_head * dv}));
    row += steps[i].n_rows;
  }
  return absl::OkStatus();
}

absl::Status Layer(Ops& ops, const HParams& hp, const DeviceWeights& w, DeviceScratch& s,
                   std::span<const DeviceStep> steps, int64_t il, int64_t n) {
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
  const int32_t* pos = (hp.IsLocalLayer(il) ? s.pos_local : s.pos).as<int32_t>();
  CW_RETURN_IF_ERROR(Rope(ops, rope, s.q.as<float>(), pos, n, hp.n_head, hp.head_dim_k));
  CW_RETURN_IF_ERROR(Rope(ops, rope, s.k.as<float>(), pos, n, hp.n_head_kv, hp.head_dim_k));
  const int64_t window = gemma && hp.IsLocalLayer(il) ? hp.sliding_window : 0;
  CW_RETURN_IF_ERROR(AttendAndCache(ops, hp, s, steps, il, window, pos));
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
                               DeviceScratch& s, std::span<const DeviceStep> steps) {
  int64_t n = 0, n_out = 0;
  for (const DeviceStep& st : steps) {
    n += st.n_rows;
    n_out += st.all_logits ? st.n_rows : 1;
  }
  const int64_t d = hp.n_embd;
  CW_RETURN_IF_ERROR(Reserve(ops, hp, s, n, n_out, static_cast<int64_t>(steps.size())));
  const auto f = [](int64_t count) { return static_cast<size_t>(count) * sizeof(float); };
  // ---- input rows -------------------------------------------------------------------------
  const float scale = hp.embed_scale_sqrt ? std::sqrt(static_cast<float>(d)) : 1.0f;
  int64_t row = 0;
  for (const DeviceStep& st : steps) {
    float* x = s.x.as<float>() + row * d;
    if (st.embeddings.empty()) {
      int32_t* ids = s.tokens.as<int32_t>() + row;
      CW_RETURN_IF_ERROR(ops.CopyIn(ids, st.tokens.data(), f(st.n_rows)));
      CW_RETURN_IF_ERROR(
          ops.Run(CwEmbeddingArgs{w.token_embd.type, w.token_embd.data, w.token_embd.n_out,
                                  w.token_embd.n_in, ids, st.n_rows, scale, x}));
    } else {  // given rows stand where embeddings would, and get the same scale
      CW_RETURN_IF_ERROR(ops.CopyIn(x, st.embeddings.data(), f(st.n_rows * d)));
      CW_RETURN_IF_ERROR(ops.Run(CwScaleArgs{x, scale, st.n_rows * d}));
    }
    row += st.n_rows;
  }
  CW_RETURN_IF_ERROR(UploadPositions(ops, hp, s, steps, n));
  CW_RETURN_IF_ERROR(UploadRecords(ops, hp, s, steps));
  // ---- layers ----------------------------------------------------------------------------
  for (int64_t il = 0; il < hp.n_layer; ++il) {
    CW_RETURN_IF_ERROR(Layer(ops, hp, w, s, steps, il, n));
  }
  // ---- logits: each session's last row, or all its rows, through one output projection ----
  row = 0;
  int64_t out = 0;
  for (const DeviceStep& st : steps) {
    const int64_t count = st.all_logits ? st.n_rows : 1;
    const float* first = s.x.as<float>() + (row + st.n_rows - count) * d;
    CW_RETURN_IF_ERROR(
        Norm(ops, first, w.output_norm, s.out_x.as<float>() + out * d, count, d, hp.rms_eps));
    row += st.n_rows;
    out += count;
  }
  CW_RETURN_IF_ERROR(Linear(ops, w.output, s.out_x.as<float>(), n_out, s.logits.as<float>()));
  out = 0;
  for (const DeviceStep& st : steps) {
    const int64_t count = st.all_logits ? st.n_rows : 1;
    const size_t at = st.all_logits ? st.logits->size() : 0;  // a run's steps follow each other
    st.logits->resize(at + static_cast<size_t>(count * hp.n_vocab));
    CW_RETURN_IF_ERROR(ops.CopyOut(st.logits->data() + at, s.logits.as<float>() + out * hp.n_vocab,
                                   f(count * hp.n_vocab)));
    out += count;
  }
  return absl::OkStatus();
}

}  // namespace cachewire::model
