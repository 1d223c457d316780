#include "engine/adapter/lcf_encoder.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "engine/adapter/token_selection.h"
#include "engine/adapter/unrotated_rows.h"
#include "engine/cache/kv_cache.h"
#include "engine/common/status_macros.h"
#include "engine/model/model.h"
#include "kernels/gemm_f32.h"
#include "kernels/rope.h"
#include "kernels/softmax.h"

namespace cachewire::adapter {
namespace {

// The window a layer's queries see (0: the whole context).
int64_t SlidingWindow(const model::HParams& hp, int64_t il) {
  return hp.IsLocalLayer(il) ? hp.sliding_window : 0;
}

}  // namespace

// Buffers of one Encode, kept per thread across calls (fresh ones each call cost more in page
// faults than the products), released after a call past kKeptBytes (a large model's cache).
struct LcfEncoder::Scratch {
  struct Group {
    int64_t layer = 0, head = 0, first = 0, n = 0;  // items [first, first + n)
  };
  std::vector<Group> groups;
  std::vector<float> x;        // (I, n): every item's [k; v]
  std::vector<float> inv_rho;  // (I)
  std::vector<float> where;    // (I) the item's token's place in the text, t / T
  std::vector<int64_t> token;  // (I) per-token adapters: the item's token
  std::vector<double> key_norm;  // (I) per-token adapters: its key's L2 norm
  std::vector<float> scores;   // (H M, I), then the pooling weights a / rho
  std::vector<float> xg;       // (I, n) products with the Gram matrix, then (H M, n) sums
  std::vector<float> y;        // (H M, r)
  std::vector<float> pooled;   // (M, r)
  std::vector<float> keys, values;
  std::vector<int64_t> rows;
  UnrotationTable table;  // by position, kept across calls with the rest

  static constexpr size_t kKeptBytes = size_t{32} << 20;
  void ReleaseIfLarge() {
    size_t bytes = rows.capacity() * sizeof(int64_t);
    for (const auto* v : {&x, &inv_rho, &where, &scores, &xg, &y, &pooled, &keys, &values}) {
      bytes += v->capacity() * sizeof(float);
    }
    bytes += token.capacity() * sizeof(int64_t) + key_norm.capacity() * sizeof(double);
    if (bytes > kKeptBytes) *this = Scratch();
  }
};

LcfEncoder::LcfEncoder(const LcfWeights& w)
    : per_token_(w.per_token), r_(w.slot_dim), n_slots_(w.n_slots), heads_(w.pool_heads),
      in_(w.enc_in), prev_(w.enc_prev), out_(w.enc_out), pos_(w.enc_pos) {
  const int64_t R = r_, M = n_slots_, H = heads_, dh = R / H, HM = H * M;
  n_in_ = in_.empty() ? 0 : in_[0].n_in;
  n_kv_heads_ = in_.empty() ? 0 : static_cast<int64_t>(in_[0].b.size()) / R;
  if (per_token_) return;  // no pooling to fold
  const int64_t n = n_in_;
  // P * g (H M, r): row (h, m) is slot m's query through head h's key projection, scaled for
  // the softmax and by the items' RMS-norm gain.
  std::vector<float> pg(static_cast<size_t>(HM * R), 0.0f);
  const float scale = 1.0f / std::sqrt(static_cast<float>(dh));
  for (int64_t h = 0; h < H; ++h) {
    for (int64_t m = 0; m < M; ++m) {
      float* row = pg.data() + (h * M + m) * R;
      for (int64_t d = 0; d < dh; ++d) {
        const float q = w.enc_query[m * R + h * dh + d] * scale;
        const float* wk = w.pool_k.w.data() + (h * dh + d) * R;
        for (int64_t j = 0; j < R; ++j) row[j] += q * wk[j];
      }
      for (int64_t j = 0; j < R; ++j) row[j] *= w.enc_norm[j];
    }
  }
  for (const Affine& a : in_) {
    const size_t at = score_w_.size();
    score_w_.resize(at + static_cast<size_t>(HM * n), 0.0f);
    for (int64_t row = 0; row < HM; ++row) {  // A_l = (P * g) W_l
      for (int64_t j = 0; j < R; ++j) {
        const float p = pg[row * R + j];
        const float* wr = a.w.data() + j * n;
        float* out = score_w_.data() + at + row * n;
        for (int64_t i = 0; i < n; ++i) out[i] += p * wr[i];
      }
    }
    const size_t g_at = gram_.size();
    gram_.resize(g_at + static_cast<size_t>(n * n), 0.0f);
    for (int64_t j = 0; j < R; ++j) {
      const float* wr = a.w.data() + j * n;
      for (int64_t i = 0; i < n; ++i) {
        for (int64_t k = 0; k < n; ++k) gram_[g_at + i * n + k] += wr[i] * wr[k] / float(R);
      }
    }
    for (int64_t h = 0; h < n_kv_heads_; ++h) {
      const float* b = a.b.data() + h * R;
      double sq = 0.0;
      for (int64_t j = 0; j < R; ++j) sq += double(b[j]) * b[j];
      bias_sq_.push_back(static_cast<float>(sq / double(R)) + kLcfNormEps);
      for (int64_t row = 0; row < HM; ++row) {
        double c = 0.0;
        for (int64_t j = 0; j < R; ++j) c += double(pg[row * R + j]) * b[j];
        score_b_.push_back(static_cast<float>(c));
      }
      for (int64_t i = 0; i < n; ++i) {
        double s = 0.0;
        for (int64_t j = 0; j < R; ++j) s += double(a.w[j * n + i]) * b[j];
        gram_b_.push_back(static_cast<float>(2.0 * s / double(R)));
      }
    }
  }
  value_w_ = w.pool_v.w;
  for (int64_t row = 0; row < R; ++row) {
    for (int64_t j = 0; j < R; ++j) value_w_[row * R + j] *= w.enc_norm[j];
  }
}

absl::Status LcfEncoder::Gather(const model::Model& m, const cache::KvCache& c, Scratch& s) const {
  const model::HParams& hp = m.hparams();
  const int64_t dk = hp.head_dim_k, dv = hp.head_dim_v, n = n_in_;
  s.groups.clear();
  s.x.clear();
  s.where.clear();
  s.token.clear();
  s.key_norm.clear();
  const float n_past = static_cast<float>(std::max<int64_t>(1, c.n_past()));
  int64_t first = 0;
  for (int64_t il = 0; il < hp.n_layer; ++il) {
    const int64_t window = SlidingWindow(hp, il);
    const int32_t next = c.NextPosition(il);
    for (int64_t h = 0; h < hp.n_head_kv; ++h) {
      const cache::KvHeadView view = c.View(il, h);
      s.rows.clear();
      for (int64_t e = 0; e < view.n; ++e) {
        if (view.token != nullptr && view.token[e] < 0) continue;  // pinned: not the sharer's
        if (window > 0 && view.pos[e] <= next - window) continue;  // out of the next query's view
        s.rows.push_back(e);
      }
      const int64_t rows = static_cast<int64_t>(s.rows.size());
      if (rows == 0) continue;
      if (!pos_.empty()) {  // only positional pooling reads the items' places
        for (int64_t e : s.rows) {  // a full cache has no token array: its positions are the tokens
          const float t = static_cast<float>(view.token != nullptr ? view.token[e] : view.pos[e]);
          s.where.push_back(t / n_past);
        }
      }
      s.keys.clear();
      s.values.clear();
      CW_RETURN_IF_ERROR(AppendUnrotatedRows(view, s.rows, m.LayerRope(il), dk, dv, &s.keys,
                                             &s.values, &s.table));
      s.x.resize(static_cast<size_t>((first + rows) * n));
      for (int64_t e = 0; e < rows; ++e) {
        float* dst = s.x.data() + (first + e) * n;
        std::copy_n(s.keys.data() + e * dk, dk, dst);
        std::copy_n(s.values.data() + e * dv, dv, dst + dk);
      }
      if (per_token_) {  // a full cache has no token array: its positions are the tokens
        for (int64_t j = 0; j < rows; ++j) {
          const int64_t e = s.rows[static_cast<size_t>(j)];
          s.token.push_back(view.token != nullptr ? view.token[e] : view.pos[e]);
          const float* k = s.keys.data() + j * dk;
          double sq = 0.0;
          for (int64_t i = 0; i < dk; ++i) sq += double(k[i]) * k[i];
          s.key_norm.push_back(std::sqrt(sq));
        }
      }
      s.groups.push_back({il, h, first, rows});
      first += rows;
    }
  }
  if (first == 0) {
    return absl::FailedPreconditionError(
        "session_id: the session's cache holds no entries to export");
  }
  return absl::OkStatus();
}

// scores (H M, I) = (A_l x + c_lh) / rho per item, and inv_rho.
absl::Status LcfEncoder::Score(Scratch& s) const {
  const int64_t HM = heads_ * n_slots_, n = n_in_;
  const int64_t I = static_cast<int64_t>(s.x.size()) / n;
  s.scores.resize(static_cast<size_t>(HM * I));
  s.inv_rho.resize(static_cast<size_t>(I));
  s.xg.resize(static_cast<size_t>(std::max(I, HM) * n));
  for (const Scratch::Group& g : s.groups) {
    const float* x = s.x.data() + g.first * n;
    const size_t lh = static_cast<size_t>(g.layer * n_kv_heads_ + g.head);
    // rho^2 = x^T G x + gram_b . x + bias_sq, with x G from one product.
    CW_RETURN_IF_ERROR(kernels::GemmF32({.m = g.n, .n = n, .k = n, .a = x, .lda = n,
                                         .b = gram_.data() + g.layer * n * n, .ldb = n,
                                         .c = s.xg.data(), .ldc = n}));
    const float* gb = gram_b_.data() + lh * static_cast<size_t>(n);
    for (int64_t i = 0; i < g.n; ++i) {
      const float* xi = x + i * n;
      const float* xgi = s.xg.data() + i * n;
      double z2 = 0.0;
      for (int64_t k = 0; k < n; ++k) z2 += double(xi[k]) * (double(xgi[k]) + gb[k]);
      const double rho2 = std::max(0.0, z2) + bias_sq_[lh];
      s.inv_rho[static_cast<size_t>(g.first + i)] = static_cast<float>(1.0 / std::sqrt(rho2));
    }
    CW_RETURN_IF_ERROR(kernels::GemmF32({.m = HM, .n = g.n, .k = n,
                                         .a = score_w_.data() + g.layer * HM * n, .lda = n,
                                         .b = x, .ldb = n, .trans_b = true,
                                         .c = s.scores.data() + g.first, .ldc = I}));
    const float* cb = score_b_.data() + lh * static_cast<size_t>(HM);
    const float* inv = s.inv_rho.data() + g.first;
    for (int64_t row = 0; row < HM; ++row) {
      float* out = s.scores.data() + row * I + g.first;
      for (int64_t i = 0; i < g.n; ++i) out[i] = (out[i] + cb[row]) * inv[i];
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<float>> LcfEncoder::PoolValues(Scratch& s) const {
  const int64_t R = r_, M = n_slots_, H = heads_, dh = R / H, HM = H * M, n = n_in_;
  const int64_t I = static_cast<int64_t>(s.x.size()) / n;
  for (int64_t row = 0; row < HM; ++row) {  // weights a / rho
    float* a = s.scores.data() + row * I;
    for (int64_t i = 0; i < I; ++i) a[i] *= s.inv_rho[static_cast<size_t>(i)];
  }
  s.y.assign(static_cast<size_t>(HM * R), 0.0f);
  // Groups come layer by layer: a layer's heads share W_l, so their sums X_l add up first.
  for (size_t gi = 0; gi < s.groups.size();) {
    const int64_t layer = s.groups[gi].layer;
    bool first_of_layer = true;
    for (; gi < s.groups.size() && s.groups[gi].layer == layer; ++gi) {
      const Scratch::Group& g = s.groups[gi];
      CW_RETURN_IF_ERROR(kernels::GemmF32(
          {.m = HM, .n = n, .k = g.n, .a = s.scores.data() + g.first, .lda = I,
           .b = s.x.data() + g.first * n, .ldb = n, .c = s.xg.data(), .ldc = n,
           .beta = first_of_layer ? 0.0f : 1.0f}));
      first_of_layer = false;
      const float* b = in_[static_cast<size_t>(layer)].b.data() + g.head * R;
      for (int64_t row = 0; row < HM; ++row) {  // + b_lh * sum of the group's weights
        const float* a = s.scores.data() + row * I + g.first;
        float w = 0.0f;
        for (int64_t i = 0; i < g.n; ++i) w += a[i];
        float* y = s.y.data() + row * R;
        for (int64_t j = 0; j < R; ++j) y[j] += w * b[j];
      }
    }
    const Affine& a = in_[static_cast<size_t>(layer)];
    CW_RETURN_IF_ERROR(kernels::GemmF32({.m = HM, .n = R, .k = n, .a = s.xg.data(), .lda = n,
                                         .b = a.w.data(), .ldb = n, .trans_b = true,
                                         .c = s.y.data(), .ldc = R, .beta = 1.0f}));
  }
  // Head h's outputs (M, dh) = y_h (W_v,h * g)^T, written into its columns of pooled (M, r).
  s.pooled.resize(static_cast<size_t>(M * R));
  for (int64_t h = 0; h < H; ++h) {
    CW_RETURN_IF_ERROR(kernels::GemmF32(
        {.m = M, .n = dh, .k = R, .a = s.y.data() + h * M * R, .lda = R,
         .b = value_w_.data() + h * dh * R, .ldb = R, .trans_b = true,
         .c = s.pooled.data() + h * dh, .ldc = R}));
  }
  std::vector<float> slots(static_cast<size_t>(M * R));
  CW_RETURN_IF_ERROR(ApplyAffine(out_, s.pooled.data(), M, slots.data()));
  return slots;
}

// Per-token adapters: slot j = sum of W_l x + b_lh over the items of the j-th token sent t,
// plus W'_l x + b'_lh over those of token t - 1.
absl::StatusOr<std::vector<float>> LcfEncoder::EncodeTokens(Scratch& s) const {
  const int64_t R = r_, n = n_in_;
  const std::vector<int64_t> sent = SelectTokens(s.token, s.key_norm, n_slots_);
  std::vector<float> slots(sent.size() * static_cast<size_t>(R), 0.0f);
  auto slot_of = [&](int64_t token) -> int64_t {
    const auto at = std::lower_bound(sent.begin(), sent.end(), token);
    return at != sent.end() && *at == token ? at - sent.begin() : -1;
  };
  std::vector<int64_t> slots_to;  // per picked item of a group: the slot it adds to
  for (const Scratch::Group& g : s.groups) {
    for (const bool previous : {false, true}) {
      s.keys.clear();  // reused: the picked items' [k; v] rows
      slots_to.clear();
      for (int64_t i = g.first; i < g.first + g.n; ++i) {
        const int64_t slot = slot_of(s.token[static_cast<size_t>(i)] + (previous ? 1 : 0));
        if (slot < 0) continue;
        slots_to.push_back(slot);
        s.keys.insert(s.keys.end(), s.x.begin() + i * n, s.x.begin() + (i + 1) * n);
      }
      if (slots_to.empty()) continue;
      const int64_t rows = static_cast<int64_t>(slots_to.size());
      s.values.resize(static_cast<size_t>(rows * R));
      const Affine& a = (previous ? prev_ : in_)[static_cast<size_t>(g.layer)];
      CW_RETURN_IF_ERROR(ApplyAffine(a, s.keys.data(), rows, s.values.data(), g.head));
      for (int64_t j = 0; j < rows; ++j) {
        float* dst = slots.data() + slots_to[static_cast<size_t>(j)] * R;
        const float* src = s.values.data() + j * R;
        for (int64_t c = 0; c < R; ++c) dst[c] += src[c];
      }
    }
  }
  return slots;
}

void LcfEncoder::AddPositionBias(const float* where, int64_t n_items, float* scores) const {
  const int64_t M = n_slots_;
  for (int64_t h = 0; h < heads_; ++h) {
    const float p = pos_[static_cast<size_t>(h)];
    if (p == 0.0f) continue;
    for (int64_t m = 0; m < M; ++m) {
      const float centre = (static_cast<float>(m) + 0.5f) / static_cast<float>(M);
      float* row = scores + (h * M + m) * n_items;
      for (int64_t i = 0; i < n_items; ++i) {
        const float d = where[i] - centre;
        row[i] -= p * (d * d);
      }
    }
  }
}

absl::StatusOr<std::vector<float>> LcfEncoder::Encode(const model::Model& sharer,
                                                      const cache::KvCache& cache) const {
  thread_local Scratch scratch;
  absl::StatusOr<std::vector<float>> slots = [&]() -> absl::StatusOr<std::vector<float>> {
    CW_RETURN_IF_ERROR(Gather(sharer, cache, scratch));
    if (per_token_) return EncodeTokens(scratch);
    CW_RETURN_IF_ERROR(Score(scratch));
    const int64_t I = static_cast<int64_t>(scratch.inv_rho.size());
    if (!pos_.empty()) AddPositionBias(scratch.where.data(), I, scratch.scores.data());
    kernels::SoftmaxRows(scratch.scores.data(), heads_ * n_slots_, I);
    return PoolValues(scratch);
  }();
  scratch.ReleaseIfLarge();
  return slots;
}

}  // namespace cachewire::adapter
