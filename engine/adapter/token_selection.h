// Which sharer tokens a per-token LCF adapter sends (tools/train/lcf_adapter.py select_tokens
// is the torch twin): of the tokens some (layer, kv-head) of the cache still holds, the first
// kLcfSinkTokens always, then the rest by lowest mean key L2 norm over the entries that hold
// them (the cache's own compression rule, CACHE.md: low-norm keys are the ones attention
// reads), ties to the earlier token, `most` in all.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace cachewire::adapter {

inline constexpr int64_t kLcfSinkTokens = 4;

// item_tokens[i], item_key_norms[i]: each cache entry's token index and key L2 norm (entries of
// one token in several layers and heads are several items). Returns token indices, ascending.
std::vector<int64_t> SelectTokens(std::span<const int64_t> item_tokens,
                                  std::span<const double> item_key_norms, int64_t most);

}  // namespace cachewire::adapter
