// ChooseKept (eviction.h): a partial sort of the middle slots by norm (O(n) on average), then a
// mark-and-collect pass so that the kept slots stay in their original order.
#include "engine/cache/eviction.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace cachewire::cache {

void ChooseKept(const EvictionArgs& a, std::vector<int32_t>* kept, std::vector<int32_t>* order) {
  const int64_t n = a.n_entries;
  const int64_t head = std::clamp<int64_t>(a.n_head, 0, n);
  const int64_t tail = std::clamp<int64_t>(a.n_tail, 0, n - head);
  const int64_t mid_begin = head, mid_end = n - tail;
  const int64_t n_evict = std::clamp<int64_t>(n - a.n_keep, 0, mid_end - mid_begin);
  kept->clear();
  kept->reserve(static_cast<size_t>(n - n_evict));
  auto keep_range = [kept](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) kept->push_back(static_cast<int32_t>(i));
  };
  if (n_evict == 0) {
    keep_range(0, n);
    return;
  }
  if (a.key_norm == nullptr) {  // oldest first: the first n_evict middle slots go
    keep_range(0, mid_begin);
    keep_range(mid_begin + n_evict, n);
    return;
  }
  // The n_evict middle slots of highest norm (older first among equal norms).
  auto norm = [&a](int32_t i) {
    const float x = a.key_norm[i];
    return std::isnan(x) ? std::numeric_limits<float>::infinity() : x;
  };
  order->clear();
  for (int64_t i = mid_begin; i < mid_end; ++i) order->push_back(static_cast<int32_t>(i));
  auto evict_first = [&norm](int32_t x, int32_t y) {
    const float nx = norm(x), ny = norm(y);
    return nx > ny || (nx == ny && x < y);
  };
  std::nth_element(order->begin(), order->begin() + (n_evict - 1), order->end(), evict_first);
  // order[0, n_evict) are evicted; sorted, one pass over the middle skips them.
  std::sort(order->begin(), order->begin() + n_evict);
  keep_range(0, mid_begin);
  int64_t next_evicted = 0;
  for (int64_t i = mid_begin; i < mid_end; ++i) {
    if (next_evicted < n_evict && (*order)[static_cast<size_t>(next_evicted)] == i) {
      ++next_evicted;
      continue;
    }
    kept->push_back(static_cast<int32_t>(i));
  }
  keep_range(mid_end, n);
}

}  // namespace cachewire::cache
