// Cache policy conversion, overrides and checks (see cache_policy.h).
#include "server/worker/cache_policy.h"

#include <limits>
#include <string>

#include "absl/status/status.h"
#include "engine/gguf/str_cat.h"

namespace cachewire::server::worker {

using gguf::Cat;

cachewire::v1::CachePolicy ToProto(const cache::CachePolicy& c) {
  cachewire::v1::CachePolicy p;
  p.set_bounded(c.bounded);
  p.set_n_sink(static_cast<int32_t>(c.n_sink));
  p.set_window(static_cast<int32_t>(c.window));
  p.set_budget(static_cast<int32_t>(c.budget));
  p.set_slack(static_cast<int32_t>(c.slack));
  p.set_l2(c.l2);
  p.set_l2_skip_layers(static_cast<int32_t>(c.l2_skip_layers));
  return p;
}

cache::CachePolicy FromProto(const cachewire::v1::CachePolicy& p) {
  cache::CachePolicy c;
  if (p.has_bounded()) c.bounded = p.bounded();
  if (p.has_n_sink()) c.n_sink = p.n_sink();
  if (p.has_window()) c.window = p.window();
  if (p.has_budget()) c.budget = p.budget();
  if (p.has_slack()) c.slack = p.slack();
  if (p.has_l2()) c.l2 = p.l2();
  if (p.has_l2_skip_layers()) c.l2_skip_layers = p.l2_skip_layers();
  return c;
}

absl::StatusOr<cachewire::v1::CachePolicy> MergeCachePolicy(
    const cachewire::v1::CachePolicy& defaults, const cachewire::v1::CachePolicy& overrides) {
  cachewire::v1::CachePolicy p = defaults;
  p.MergeFrom(overrides);  // proto3 optional fields: only those set are copied
  const auto bad = [](const char* field, int64_t value, const std::string& why) {
    return absl::InvalidArgumentError(Cat("cache_policy.", field, ": ", why, ", got ", value));
  };
  const std::pair<const char*, int32_t> non_negative[] = {{"n_sink", p.n_sink()},
                                                          {"window", p.window()},
                                                          {"budget", p.budget()},
                                                          {"slack", p.slack()},
                                                          {"l2_skip_layers", p.l2_skip_layers()}};
  for (const auto& [name, value] : non_negative) {
    if (value < 0) return bad(name, value, "must be >= 0");
  }
  if (p.bounded()) {
    if (p.budget() <= 0) return bad("budget", p.budget(), "must be > 0 for a bounded cache");
    if (p.slack() <= 0) return bad("slack", p.slack(), "must be > 0 for a bounded cache");
    if (int64_t{p.n_sink()} + p.window() > p.budget()) {
      return bad("window", p.window(),
                 Cat("n_sink (", p.n_sink(), ") + window must not exceed budget (", p.budget(),
                     ")"));
    }
    if (int64_t{p.budget()} + p.slack() > std::numeric_limits<int32_t>::max()) {
      return bad("slack", p.slack(), "budget + slack must fit 32-bit positions");
    }
  }
  // The engine's own check, in case it knows more.
  if (absl::Status st = FromProto(p).Validate(); !st.ok()) {
    return absl::InvalidArgumentError(Cat("cache_policy: ", st.message()));
  }
  return p;
}

}  // namespace cachewire::server::worker
