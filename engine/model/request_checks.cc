// CheckForwardRequests (request_checks.h).
#include "engine/model/request_checks.h"

#include <cmath>
#include <limits>
#include <string>

#include "engine/gguf/str_cat.h"

namespace cachewire::model {

absl::StatusOr<int64_t> CheckSessionParams(const HParams& hp, const SessionParams& params) {
  const int64_t n_ctx = params.n_ctx == 0 ? hp.n_ctx_train : params.n_ctx;
  if (n_ctx <= 0 || n_ctx > std::numeric_limits<int32_t>::max()) {
    return absl::InvalidArgumentError(
        gguf::Cat("n_ctx: must be in [1, 2^31) after defaults, got ", n_ctx));
  }
  if (absl::Status s = params.cache.Validate(); !s.ok()) return s;
  if (params.cache.bounded && params.cache.max_entries() > n_ctx) {
    return absl::InvalidArgumentError(gguf::Cat("cache policy: budget + slack = ",
                                                params.cache.max_entries(),
                                                " positions exceed n_ctx ", n_ctx));
  }
  return n_ctx;
}

bool RowsLeft(std::span<const ForwardRequest> requests, std::span<const int64_t> done,
              int64_t n_embd) {
  for (size_t i = 0; i < requests.size(); ++i) {
    if (done[i] < RequestRows(requests[i], n_embd)) return true;
  }
  return false;
}

int64_t RequestRows(const ForwardRequest& r, int64_t n_embd) {
  return r.embeddings.empty() ? static_cast<int64_t>(r.tokens.size())
                              : static_cast<int64_t>(r.embeddings.size()) / n_embd;
}

absl::Status CheckForwardRequests(std::span<ForwardRequest> requests, const HParams& hp,
                                  const std::function<bool(Session*)>& owned,
                                  const std::function<int64_t(Session&)>& room) {
  if (requests.empty()) return absl::InvalidArgumentError("requests: empty batch");
  for (size_t i = 0; i < requests.size(); ++i) {
    const ForwardRequest& r = requests[i];
    const std::string where = requests.size() > 1 ? gguf::Cat("requests[", i, "].") : "";
    Session* session = r.session;
    if (session == nullptr || !owned(session)) {
      return absl::InvalidArgumentError(where + "session: null or from another model");
    }
    for (size_t j = 0; j < i; ++j) {
      if (requests[j].session == r.session) {
        return absl::InvalidArgumentError(
            gguf::Cat(where, "session: the same session as requests[", j, "]"));
      }
    }
    if (r.logits == nullptr) return absl::InvalidArgumentError(where + "logits: null");
    if (!r.embeddings.empty()) {
      if (!r.tokens.empty()) {
        return absl::InvalidArgumentError(where + "embeddings: given together with tokens");
      }
      if (r.embeddings.size() % static_cast<size_t>(hp.n_embd) != 0) {
        return absl::InvalidArgumentError(gguf::Cat(where, "embeddings: ", r.embeddings.size(),
                                                    " values, not whole rows of n_embd ",
                                                    hp.n_embd));
      }
      for (size_t p = 0; p < r.embeddings.size(); ++p) {
        if (!std::isfinite(r.embeddings[p])) {
          return absl::InvalidArgumentError(gguf::Cat(where, "embeddings[", p, "]: not finite"));
        }
      }
    } else if (r.tokens.empty()) {
      return absl::InvalidArgumentError(where + "tokens: empty");
    }
    for (size_t p = 0; p < r.tokens.size(); ++p) {
      if (r.tokens[p] < 0 || r.tokens[p] >= hp.n_vocab) {
        return absl::InvalidArgumentError(gguf::Cat(where, "tokens[", p, "]: id ", r.tokens[p],
                                                    " outside [0, ", hp.n_vocab, ")"));
      }
    }
    const int64_t n = RequestRows(r, hp.n_embd);
    if (n > room(*session)) {
      return absl::ResourceExhaustedError(gguf::Cat(where, "tokens: ", session->n_past(),
                                                    " cached + ", n, " new tokens exceed n_ctx ",
                                                    session->n_ctx()));
    }
  }
  return absl::OkStatus();
}

}  // namespace cachewire::model
