// Which sharer tokens a per-token LCF adapter sends (token_selection.h); the torch twin
// (lcf_adapter.py select_tokens) is checked against it through the adapters' golden files.
#include "engine/adapter/token_selection.h"

#include <gtest/gtest.h>

#include <vector>

namespace cachewire::adapter {
namespace {

using Tokens = std::vector<int64_t>;

TEST(SelectTokens, AllWhenTheyFit) {
  // Tokens repeat across layers; the answer is each once, ascending.
  const Tokens items = {5, 0, 2, 5, 0, 2};
  const std::vector<double> norms = {1, 2, 3, 4, 5, 6};
  EXPECT_EQ(SelectTokens(items, norms, 3), (Tokens{0, 2, 5}));
  EXPECT_EQ(SelectTokens(items, norms, 10), (Tokens{0, 2, 5}));
  EXPECT_EQ(SelectTokens({}, {}, 4), Tokens{});
}

TEST(SelectTokens, SinksFirstThenLowestMeanKeyNorm) {
  // Tokens 0-3 are sinks however large their norms; of 4..9 the lowest means win: token 9
  // (mean 1.0 over two layers), 6 (1.5), 4 (2.0); 7 holds 0.5 and 9.5 (mean 5.0).
  const Tokens items = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 7, 6};
  const std::vector<double> norms = {9, 9, 9, 9, 2.0, 3.0, 1.0, 0.5, 4.0, 1.5, 0.5, 9.5, 2.0};
  EXPECT_EQ(SelectTokens(items, norms, 7), (Tokens{0, 1, 2, 3, 4, 6, 9}));
  // Fewer slots than sinks: the first tokens only.
  EXPECT_EQ(SelectTokens(items, norms, 2), (Tokens{0, 1}));
}

TEST(SelectTokens, TiesGoToTheEarlierToken) {
  const Tokens items = {10, 8, 12, 9};
  const std::vector<double> norms = {1.0, 1.0, 1.0, 2.0};
  EXPECT_EQ(SelectTokens(items, norms, 2), (Tokens{8, 10}));
}

}  // namespace
}  // namespace cachewire::adapter
