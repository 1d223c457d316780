// Engine -> wire conversions (see proto_convert.h).
#include "server/worker/proto_convert.h"

#include <string>

#include "server/worker/utf8.h"

namespace cachewire::server::worker {
namespace {

void FillLogprob(const tokenizer::Tokenizer& tok, const scheduler::TokenLogprob& lp,
                 cachewire::v1::TokenLogprob* out) {
  out->set_token_id(lp.id);
  out->set_logprob(lp.logprob);
  auto piece = tok.TokenToPiece(lp.id);
  if (piece.ok()) out->set_piece(std::string(*piece));
}

}  // namespace

cachewire::v1::StopReason ToProto(generate::StopReason reason) {
  switch (reason) {
    case generate::StopReason::kEndOfGeneration: return cachewire::v1::STOP_REASON_EOS;
    case generate::StopReason::kStopString: return cachewire::v1::STOP_REASON_STOP_STRING;
    case generate::StopReason::kMaxTokens: return cachewire::v1::STOP_REASON_MAX_TOKENS;
    case generate::StopReason::kContextFull: return cachewire::v1::STOP_REASON_CONTEXT_FULL;
    case generate::StopReason::kCancelled: return cachewire::v1::STOP_REASON_CANCELLED;
  }
  return cachewire::v1::STOP_REASON_UNSPECIFIED;
}

void FillCacheStats(const scheduler::SequenceSnapshot& s, cachewire::v1::CacheStats* out) {
  out->set_n_past(s.n_past);
  out->set_n_ctx(s.n_ctx);
  out->set_entries(s.entries);
  out->mutable_entries_per_layer()->Assign(s.entries_per_layer.begin(),
                                           s.entries_per_layer.end());
  out->set_bytes(s.cache_bytes);
  out->set_evictions(s.evictions);
  out->set_pinned(s.pinned);
}

void AppendEvent(const tokenizer::Tokenizer& tok, const scheduler::TokenEvent& event,
                 cachewire::v1::GeneratedTokens* out) {
  if (event.id != scheduler::TokenEvent::kNoToken) out->add_token_ids(event.id);
  out->mutable_text()->append(ValidUtf8(event.text));
  if (event.logprob) FillLogprob(tok, *event.logprob, out->add_logprobs());
  for (const scheduler::TokenLogprob& lp : event.top) FillLogprob(tok, lp, out->add_top_logprobs());
}

void FillSummary(const scheduler::JobResult& r, uint64_t seed,
                 cachewire::v1::GenerateSummary* out) {
  out->set_stop_reason(ToProto(r.stop_reason));
  out->set_stop_string(r.stop_string);
  out->set_n_prompt_tokens(r.n_prompt_tokens);
  out->set_n_generated_tokens(r.n_generated_tokens);
  out->set_seed(seed);
  out->set_queue_ms(r.queue_seconds * 1e3);
  out->set_prefill_ms(r.prefill_seconds * 1e3);
  out->set_decode_ms(r.decode_seconds * 1e3);
  FillCacheStats(r.cache, out->mutable_cache());
}

}  // namespace cachewire::server::worker
