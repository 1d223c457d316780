#include "engine/adapter/token_selection.h"

#include <algorithm>
#include <map>
#include <utility>

namespace cachewire::adapter {

std::vector<int64_t> SelectTokens(std::span<const int64_t> item_tokens,
                                  std::span<const double> item_key_norms, int64_t most) {
  struct Sum {
    double norm = 0.0;
    int64_t count = 0;
  };
  std::map<int64_t, Sum> tokens;  // ascending token order
  for (size_t i = 0; i < item_tokens.size(); ++i) {
    Sum& s = tokens[item_tokens[i]];
    s.norm += item_key_norms[i];
    ++s.count;
  }
  std::vector<int64_t> out;
  if (static_cast<int64_t>(tokens.size()) <= most) {
    for (const auto& [t, s] : tokens) out.push_back(t);
    return out;
  }
  std::vector<std::pair<double, int64_t>> rest;  // (mean key norm, token)
  for (const auto& [t, s] : tokens) {
    if (t < kLcfSinkTokens) {
      if (static_cast<int64_t>(out.size()) < most) out.push_back(t);
    } else {
      rest.emplace_back(s.norm / static_cast<double>(s.count), t);
    }
  }
  const size_t take = static_cast<size_t>(most) - out.size();
  std::partial_sort(rest.begin(), rest.begin() + static_cast<std::ptrdiff_t>(take), rest.end());
  for (size_t i = 0; i < take; ++i) out.push_back(rest[i].second);
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace cachewire::adapter
