// Engine values in their wire form: stop reasons, cache figures, generation events and
// summaries (cachewire/v1/common.proto).
#pragma once

#include "cachewire/v1/common.pb.h"
#include "engine/generate/generator.h"
#include "engine/scheduler/job.h"
#include "engine/scheduler/sequence.h"
#include "engine/tokenizer/tokenizer.h"

namespace cachewire::server::worker {

cachewire::v1::StopReason ToProto(generate::StopReason reason);

void FillCacheStats(const scheduler::SequenceSnapshot& snapshot, cachewire::v1::CacheStats* out);

// Appends one generation step to a (possibly coalesced) GeneratedTokens message.
void AppendEvent(const tokenizer::Tokenizer& tok, const scheduler::TokenEvent& event,
                 cachewire::v1::GeneratedTokens* out);

void FillSummary(const scheduler::JobResult& result, uint64_t seed,
                 cachewire::v1::GenerateSummary* out);

}  // namespace cachewire::server::worker
