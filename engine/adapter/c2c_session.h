// A C2C fuser applied to live sessions (LCF.md, "C2C fuser"): what the sharer's worker exports
// of its session's cache, and the fusion of that export into the receiver's session, in place.
//
//   // sharer's worker, between the session's forwards
//   CW_ASSIGN_OR_RETURN(SharerCache theirs, ExportForFusion(*fuser, sharer, session, tokens));
//   ... theirs travels (f16 on the wire) ...
//   // receiver's worker, between the session's forwards
//   CW_ASSIGN_OR_RETURN(FusionReport r,
//                       FuseIntoSession(*fuser, receiver, session, tokens, theirs));
//
// Both sessions prefilled the same text. The receiver spells its own tokens (token_spans.h),
// checks that its text is the sharer's (length and digest), aligns each of its tokens to a
// sharer token by byte spans (AlignTokens), and for every receiver layer il takes the kept
// entries of the tokens whose aligned sharer token the sharer still holds in layer
// layer_map[il] in every kv-head (a bounded sharer may have evicted it, or let it slide out of
// a window): those are fused (C2cFuser::FuseLayer, keys un-rotated from and re-rotated for the
// positions they hold), the others stay as they were. Pinned entries are never touched. Every
// fused entry is computed before any is written, and the writes cannot fail after the cache's
// checks (KvCache::Overwrite), so an error leaves the session as it was.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/adapter/c2c_align.h"
#include "engine/adapter/c2c_fuser.h"

namespace cachewire::model {
class Model;
class Session;
}  // namespace cachewire::model

namespace cachewire::adapter {

// The kept entries of one (sharer layer, kv-head), in the cache's order.
struct SharerHead {
  int64_t layer = 0;
  int64_t kv_head = 0;
  std::vector<int64_t> tokens;  // per entry, the index of the sharer token it came from
  std::vector<float> k;         // (tokens.size(), head_dim_k), un-rotated
  std::vector<float> v;         // (tokens.size(), head_dim_v)
};

// What a receiver needs of the sharer's session.
struct SharerCache {
  int64_t text_bytes = 0;
  uint64_t text_digest = 0;       // TextDigest of the sharer's text
  std::vector<TokenSpan> spans;   // per sharer token
  std::vector<SharerHead> heads;  // every kv-head of every layer the fuser reads
};

struct FusionReport {
  int64_t entries_fused = 0;      // summed over receiver layers and kv-heads
  int64_t entries_unmatched = 0;  // kept receiver entries whose sharer entry is gone
  int64_t tokens_aligned = 0;     // receiver tokens
};

// The sharer's side. `tokens` are the session's tokens (every one run through the model);
// `input_starts` where its appends began (SpellTokens).
// FailedPrecondition naming session_id when the session holds no tokens; the fuser's identity
// check is the caller's.
absl::StatusOr<SharerCache> ExportForFusion(const C2cFuser& fuser, const model::Model& sharer,
                                            const model::Session& session,
                                            std::span<const int32_t> tokens,
                                            std::span<const int64_t> input_starts = {});

// The receiver's side. FailedPrecondition naming session_id when the session's text is not the
// sharer's; InvalidArgument naming the field for an export that does not fit the fuser (a layer
// it does not read, a kv-head, head size or token index out of range, a token or a head twice,
// spans that do not align). A head the export leaves out holds nothing (its tokens go unfused).
absl::StatusOr<FusionReport> FuseIntoSession(const C2cFuser& fuser, const model::Model& receiver,
                                             model::Session& session,
                                             std::span<const int32_t> tokens,
                                             const SharerCache& sharer,
                                             std::span<const int64_t> input_starts = {});

}  // namespace cachewire::adapter
