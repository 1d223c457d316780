// StopMatcher: earliest complete stop string wins; otherwise hold back the longest tail that is
// a proper prefix of some stop string. The held text stays shorter than the longest stop string,
// so each Push scans at most that plus the new piece.
#include "engine/generate/stop_matcher.h"

#include <algorithm>
#include <utility>

namespace cachewire::generate {

StopMatcher::StopMatcher(std::vector<std::string> stops) {
  for (std::string& s : stops) {
    if (!s.empty()) stops_.push_back(std::move(s));
  }
}

std::string StopMatcher::Push(std::string_view text) {
  if (stopped_) return {};
  held_.append(text);

  // A complete stop string: release what precedes the earliest one, drop the rest.
  size_t best = std::string::npos;
  const std::string* best_stop = nullptr;
  for (const std::string& s : stops_) {
    const size_t pos = held_.find(s);
    if (pos < best || (pos == best && pos != std::string::npos && s.size() > best_stop->size())) {
      best = pos;
      best_stop = &s;
    }
  }
  if (best_stop != nullptr) {
    std::string out = held_.substr(0, best);
    stopped_ = true;
    matched_ = *best_stop;
    held_.clear();
    return out;
  }

  // Otherwise keep the longest tail that a stop string begins with.
  const std::string_view held(held_);
  size_t hold = 0;
  for (const std::string& s : stops_) {
    const size_t max_len = std::min(s.size() - 1, held.size());
    for (size_t len = max_len; len > hold; --len) {
      if (held.substr(held.size() - len) == std::string_view(s).substr(0, len)) {
        hold = len;
        break;
      }
    }
  }
  std::string out = held_.substr(0, held_.size() - hold);
  held_.erase(0, held_.size() - hold);
  return out;
}

std::string StopMatcher::Flush() {
  std::string out;
  out.swap(held_);
  return out;
}

}  // namespace cachewire::generate
