// Internal to engine/model: the checks every model makes of a new session's parameters and of a
// ForwardBatch before running any of it, so the CPU and device models refuse the same requests
// with the same messages.
#pragma once

#include <cstdint>
#include <functional>
#include <span>

#include "absl/status/status.h"
#include "engine/model/hparams.h"
#include "engine/model/model.h"

namespace cachewire::model {

// The session's n_ctx (params.n_ctx, or the model's training context for 0). InvalidArgument
// naming n_ctx outside [1, 2^31), the policy's field, or a bounded policy's budget + slack
// above n_ctx.
absl::StatusOr<int64_t> CheckSessionParams(const HParams& hp, const SessionParams& params);

// Rows a request runs: its tokens, or its embeddings' rows.
int64_t RequestRows(const ForwardRequest& r, int64_t n_embd);

// Some request has rows beyond done[i] left to run (a batch runs in steps until none has).
bool RowsLeft(std::span<const ForwardRequest> requests, std::span<const int64_t> done,
              int64_t n_embd);

// InvalidArgument for an empty batch, a session that is null, not the model's (`owned` false)
// or given twice, a null logits, tokens with embeddings, embeddings that are not whole finite
// rows, no tokens, or an id outside [0, n_vocab) (each naming the request and field);
// ResourceExhausted when a request's rows exceed `room(session)`.
absl::Status CheckForwardRequests(std::span<ForwardRequest> requests, const HParams& hp,
                                  const std::function<bool(Session*)>& owned,
                                  const std::function<int64_t(Session&)>& room);

}  // namespace cachewire::model
