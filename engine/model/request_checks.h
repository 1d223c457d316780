// Internal to engine/model: the checks every model makes of a ForwardBatch before running any
// of it, so the CPU and device models refuse the same requests with the same messages.
#pragma once

#include <cstdint>
#include <functional>
#include <span>

#include "absl/status/status.h"
#include "engine/model/hparams.h"
#include "engine/model/model.h"

namespace cachewire::model {

// Rows a request runs: its tokens, or its embeddings' rows.
int64_t RequestRows(const ForwardRequest& r, int64_t n_embd);

// InvalidArgument for an empty batch, a session that is null, not the model's (`owned` false)
// or given twice, a null logits, tokens with embeddings, embeddings that are not whole finite
// rows, no tokens, or an id outside [0, n_vocab) (each naming the request and field);
// ResourceExhausted when a request's rows exceed `room(session)`.
absl::Status CheckForwardRequests(std::span<ForwardRequest> requests, const HParams& hp,
                                  const std::function<bool(Session*)>& owned,
                                  const std::function<int64_t(Session&)>& room);

}  // namespace cachewire::model
