// C2C export and fusion on live sessions (see c2c_session.h).
#include "engine/adapter/c2c_session.h"

#include <algorithm>
#include <set>

#include "engine/adapter/token_spans.h"
#include "engine/adapter/unrotated_rows.h"
#include "engine/cache/kv_cache.h"
#include "engine/common/status_macros.h"
#include "engine/gguf/str_cat.h"
#include "engine/model/model.h"
#include "kernels/rope.h"

namespace cachewire::adapter {
namespace {

using gguf::Cat;

absl::StatusOr<const cache::KvCache*> CacheOf(const model::Session& session,
                                              std::span<const int32_t> tokens) {
  if (tokens.empty()) {
    return absl::FailedPreconditionError("session_id: the session holds no context yet");
  }
  const cache::KvCache* c = session.kv_cache();
  if (c == nullptr) return absl::UnimplementedError("session_id: this session exposes no cache");
  return c;
}

// Rotates rows (n, d) in place, row e for positions[e].
absl::Status Rotate(const kernels::RopeParams& rope, std::span<const int32_t> positions,
                    float* rows, int64_t d, kernels::RopeTable* table) {
  if (positions.empty()) return absl::OkStatus();
  CW_RETURN_IF_ERROR(kernels::BuildRopeTable(rope, positions, table));
  return kernels::ApplyRope(*table, rows, static_cast<int64_t>(positions.size()), 1, d);
}

// Per token index, the row holding it in one (layer, kv-head), or -1.
using RowOfToken = std::vector<int64_t>;

// The sharer's heads indexed by (layer, kv-head), after checking each against the fuser.
struct SharerIndex {
  std::vector<RowOfToken> rows;                // (n_layer * n_head_kv); empty: no entries
  std::vector<const SharerHead*> heads;        // the same slots
};

absl::StatusOr<SharerIndex> IndexSharer(const C2cFuser& fuser, const SharerCache& sharer) {
  const ModelIdentity& s = fuser.sharer();
  const int64_t n_spans = static_cast<int64_t>(sharer.spans.size());
  const std::set<int64_t> read(fuser.layer_map().begin(), fuser.layer_map().end());
  SharerIndex index;
  index.rows.resize(static_cast<size_t>(s.n_layer * s.n_head_kv));
  index.heads.resize(index.rows.size(), nullptr);
  for (size_t i = 0; i < sharer.heads.size(); ++i) {
    const SharerHead& head = sharer.heads[i];
    const std::string field = Cat("heads[", i, "]");
    if (!read.count(head.layer)) {
      return absl::InvalidArgumentError(
          Cat(field, ".layer: ", head.layer, " is not a layer the fuser reads"));
    }
    if (head.kv_head < 0 || head.kv_head >= s.n_head_kv) {
      return absl::InvalidArgumentError(
          Cat(field, ".kv_head: ", head.kv_head, " not in [0, ", s.n_head_kv, ")"));
    }
    const size_t n = head.tokens.size();
    if (head.k.size() != n * static_cast<size_t>(s.head_dim_k) ||
        head.v.size() != n * static_cast<size_t>(s.head_dim_v)) {
      return absl::InvalidArgumentError(Cat(field, ": keys/values are not ", n, " rows of ",
                                            s.head_dim_k, "/", s.head_dim_v, " values"));
    }
    const size_t slot = static_cast<size_t>(head.layer * s.n_head_kv + head.kv_head);
    if (index.heads[slot] != nullptr) {
      return absl::InvalidArgumentError(Cat(field, ": layer ", head.layer, " kv-head ",
                                            head.kv_head, " appears twice"));
    }
    index.heads[slot] = &head;
    RowOfToken& rows = index.rows[slot];
    rows.assign(static_cast<size_t>(n_spans), -1);
    for (size_t e = 0; e < n; ++e) {
      const int64_t t = head.tokens[e];
      if (t < 0 || t >= n_spans) {
        return absl::InvalidArgumentError(
            Cat(field, ".tokens[", e, "]: ", t, " not in [0, ", n_spans, ")"));
      }
      if (rows[static_cast<size_t>(t)] >= 0) {
        return absl::InvalidArgumentError(Cat(field, ".tokens[", e, "]: token ", t, " twice"));
      }
      rows[static_cast<size_t>(t)] = static_cast<int64_t>(e);
    }
  }
  return index;
}

// One receiver layer's fusion, computed but not written: the new (rotated) keys and values,
// and where they go.
struct LayerUpdate {
  std::vector<float> k, v;                     // per kv-head blocks of (n, head_dim)
  std::vector<cache::EntryOverwrite> writes;   // pointers into k and v
};

}  // namespace

absl::StatusOr<SharerCache> ExportForFusion(const C2cFuser& fuser, const model::Model& sharer,
                                            const model::Session& session,
                                            std::span<const int32_t> tokens,
                                            std::span<const int64_t> input_starts) {
  CW_ASSIGN_OR_RETURN(const cache::KvCache* c, CacheOf(session, tokens));
  CW_ASSIGN_OR_RETURN(SpelledTokens spelled,
                      SpellTokens(sharer.tokenizer(), tokens, input_starts));
  const model::HParams& hp = sharer.hparams();
  SharerCache out;
  out.text_bytes = static_cast<int64_t>(spelled.text.size());
  out.text_digest = TextDigest(spelled.text);
  out.spans = std::move(spelled.spans);
  const std::set<int64_t> layers(fuser.layer_map().begin(), fuser.layer_map().end());
  const int64_t n_tokens = static_cast<int64_t>(tokens.size());
  UnrotationTable table;
  std::vector<int64_t> rows;
  for (int64_t il : layers) {
    for (int64_t h = 0; h < hp.n_head_kv; ++h) {
      const cache::KvHeadView view = c->View(il, h);
      SharerHead head{il, h, {}, {}, {}};
      rows.clear();
      for (int64_t e = 0; e < view.n; ++e) {
        const int64_t t = view.token == nullptr ? e : view.token[e];
        if (t < 0) continue;  // pinned: not the text's
        if (t >= n_tokens) {
          return absl::FailedPreconditionError(Cat("session_id: a cache entry of token ", t,
                                                   " beyond the session's ", n_tokens, " tokens"));
        }
        head.tokens.push_back(t);
        rows.push_back(e);
      }
      CW_RETURN_IF_ERROR(AppendUnrotatedRows(view, rows, sharer.LayerRope(il), hp.head_dim_k,
                                             hp.head_dim_v, &head.k, &head.v, &table));
      out.heads.push_back(std::move(head));
    }
  }
  return out;
}

absl::StatusOr<FusionReport> FuseIntoSession(const C2cFuser& fuser, const model::Model& receiver,
                                             model::Session& session,
                                             std::span<const int32_t> tokens,
                                             const SharerCache& sharer,
                                             std::span<const int64_t> input_starts) {
  CW_ASSIGN_OR_RETURN(const cache::KvCache* c, CacheOf(session, tokens));
  CW_ASSIGN_OR_RETURN(SpelledTokens own, SpellTokens(receiver.tokenizer(), tokens, input_starts));
  if (static_cast<int64_t>(own.text.size()) != sharer.text_bytes ||
      TextDigest(own.text) != sharer.text_digest) {
    return absl::FailedPreconditionError(
        Cat("session_id: the session's text (", own.text.size(), " bytes) is not the sharer's (",
            sharer.text_bytes, " bytes); a C2C fusion needs both sessions to hold the same text"));
  }
  CW_ASSIGN_OR_RETURN(SharerIndex index, IndexSharer(fuser, sharer));
  auto aligned = AlignTokens(own.spans, sharer.spans);
  if (!aligned.ok()) return absl::InvalidArgumentError(Cat("spans: ", aligned.status().message()));
  const std::vector<int64_t>& align = *aligned;

  const model::HParams& hp = receiver.hparams();
  const ModelIdentity& s = fuser.sharer();
  const int64_t Hr = hp.n_head_kv, dk = hp.head_dim_k, dv = hp.head_dim_v;
  const int64_t Hs = s.n_head_kv, sdk = s.head_dim_k, sdv = s.head_dim_v;
  const int64_t n_tokens = static_cast<int64_t>(tokens.size());
  FusionReport report;
  report.tokens_aligned = n_tokens;
  std::vector<LayerUpdate> updates(static_cast<size_t>(hp.n_layer));
  UnrotationTable unrotation;
  kernels::RopeTable table;
  for (int64_t il = 0; il < hp.n_layer; ++il) {
    const int64_t sl = fuser.layer_map()[static_cast<size_t>(il)];
    // The receiver's rows per token in each head, and its kept (unpinned) entries.
    std::vector<RowOfToken> own_rows(static_cast<size_t>(Hr), RowOfToken(n_tokens, -1));
    int64_t kept = 0;
    for (int64_t h = 0; h < Hr; ++h) {
      const cache::KvHeadView view = c->View(il, h);
      for (int64_t e = 0; e < view.n; ++e) {
        const int64_t t = view.token == nullptr ? e : view.token[e];
        if (t < 0 || t >= n_tokens) continue;
        own_rows[static_cast<size_t>(h)][static_cast<size_t>(t)] = e;
        ++kept;
      }
    }
    // Tokens every receiver head holds whose aligned sharer token every sharer head holds.
    std::vector<int64_t> fused_tokens;
    for (int64_t t = 0; t < n_tokens; ++t) {
      const int64_t a = align[static_cast<size_t>(t)];
      bool all = true;
      for (int64_t h = 0; h < Hr && all; ++h) all = own_rows[h][static_cast<size_t>(t)] >= 0;
      for (int64_t h = 0; h < Hs && all; ++h) {
        const RowOfToken& rows = index.rows[static_cast<size_t>(sl * Hs + h)];
        all = !rows.empty() && rows[static_cast<size_t>(a)] >= 0;
      }
      if (all) fused_tokens.push_back(t);
    }
    const int64_t n = static_cast<int64_t>(fused_tokens.size());
    report.entries_fused += n * Hr;
    report.entries_unmatched += kept - n * Hr;
    if (n == 0) continue;
    // Gather token-major inputs: the receiver's keys un-rotated head by head.
    std::vector<float> rk(n * Hr * dk), rv(n * Hr * dv), sk(n * Hs * sdk), sv(n * Hs * sdv);
    std::vector<float> head_k, head_v;
    std::vector<int64_t> rows(static_cast<size_t>(n));
    std::vector<int32_t> pos(static_cast<size_t>(n));
    for (int64_t h = 0; h < Hr; ++h) {
      for (int64_t i = 0; i < n; ++i) rows[i] = own_rows[h][static_cast<size_t>(fused_tokens[i])];
      head_k.clear();
      head_v.clear();
      CW_RETURN_IF_ERROR(AppendUnrotatedRows(c->View(il, h), rows, receiver.LayerRope(il), dk, dv,
                                             &head_k, &head_v, &unrotation));
      for (int64_t i = 0; i < n; ++i) {
        std::copy_n(head_k.data() + i * dk, dk, rk.data() + (i * Hr + h) * dk);
        std::copy_n(head_v.data() + i * dv, dv, rv.data() + (i * Hr + h) * dv);
      }
    }
    for (int64_t h = 0; h < Hs; ++h) {
      const size_t slot = static_cast<size_t>(sl * Hs + h);
      const SharerHead& head = *index.heads[slot];
      for (int64_t i = 0; i < n; ++i) {
        const int64_t e = index.rows[slot][static_cast<size_t>(align[fused_tokens[i]])];
        std::copy_n(head.k.data() + e * sdk, sdk, sk.data() + (i * Hs + h) * sdk);
        std::copy_n(head.v.data() + e * sdv, sdv, sv.data() + (i * Hs + h) * sdv);
      }
    }
    CW_ASSIGN_OR_RETURN(C2cFusedKv fused, fuser.FuseLayer(il, {rk, rv, sk, sv}));
    // Head-major blocks of the fused entries, keys rotated back for the positions they hold.
    LayerUpdate& u = updates[static_cast<size_t>(il)];
    u.k.resize(static_cast<size_t>(Hr * n * dk));
    u.v.resize(static_cast<size_t>(Hr * n * dv));
    for (int64_t h = 0; h < Hr; ++h) {
      const cache::KvHeadView view = c->View(il, h);
      float* hk = u.k.data() + h * n * dk;
      float* hv = u.v.data() + h * n * dv;
      for (int64_t i = 0; i < n; ++i) {
        std::copy_n(fused.k.data() + (i * Hr + h) * dk, dk, hk + i * dk);
        std::copy_n(fused.v.data() + (i * Hr + h) * dv, dv, hv + i * dv);
        pos[static_cast<size_t>(i)] = view.pos[own_rows[h][static_cast<size_t>(fused_tokens[i])]];
      }
      CW_RETURN_IF_ERROR(Rotate(receiver.LayerRope(il), pos, hk, dk, &table));
      for (int64_t i = 0; i < n; ++i) {
        u.writes.push_back({il, h, own_rows[h][static_cast<size_t>(fused_tokens[i])],
                            hk + i * dk, hv + i * dv});
      }
    }
  }
  std::vector<cache::EntryOverwrite> writes;
  for (const LayerUpdate& u : updates) {
    writes.insert(writes.end(), u.writes.begin(), u.writes.end());
  }
  CW_RETURN_IF_ERROR(session.Overwrite(writes));
  return report;
}

}  // namespace cachewire::adapter
