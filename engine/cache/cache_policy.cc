// CachePolicy (cache_policy.h): validation with the offending field named, and a log form.
#include "engine/cache/cache_policy.h"

#include <limits>

#include "engine/gguf/str_cat.h"

namespace cachewire::cache {

absl::Status CachePolicy::Validate() const {
  auto bad = [](const char* field, int64_t value, const std::string& why) {
    return absl::InvalidArgumentError(gguf::Cat("cache policy: ", field, " = ", value, ": ", why));
  };
  if (n_sink < 0) return bad("n_sink", n_sink, "must be >= 0");
  if (window < 0) return bad("window", window, "must be >= 0");
  if (budget < 0) return bad("budget", budget, "must be >= 0");
  if (slack < 0) return bad("slack", slack, "must be >= 0");
  if (l2_skip_layers < 0) return bad("l2_skip_layers", l2_skip_layers, "must be >= 0");
  if (!bounded) return absl::OkStatus();
  if (budget <= 0) return bad("budget", budget, "must be > 0 for a bounded cache");
  if (slack <= 0) {
    return bad("slack", slack, "must be > 0 for a bounded cache (tokens between evictions)");
  }
  if (n_sink + window > budget) {
    return bad("window", window,
               gguf::Cat("n_sink (", n_sink, ") + window exceeds budget (", budget, ")"));
  }
  if (budget > std::numeric_limits<int32_t>::max() - slack) {
    return bad("budget", budget, "budget + slack must fit int32 positions");
  }
  return absl::OkStatus();
}

std::string CachePolicy::ToString() const {
  if (!bounded) return "unbounded";
  return gguf::Cat("bounded budget=", budget, " slack=", slack, " n_sink=", n_sink,
                   " window=", window, " l2=", l2 ? "on" : "off", " skip=", l2_skip_layers);
}

}  // namespace cachewire::cache
