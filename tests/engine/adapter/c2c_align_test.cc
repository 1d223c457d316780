// Token and layer alignment for the C2C fuser (engine/adapter/c2c_align.h): the rule on hand-made
// spans, the refusals, and the depth map. The golden test (c2c_fuser_test) checks the same rule
// against torch on the agents' real tokenizations.
#include "engine/adapter/c2c_align.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace cachewire::adapter {
namespace {

using Spans = std::vector<TokenSpan>;

TEST(AlignTokens, EachReceiverTokenTakesTheSharerTokenHoldingItsLastByte) {
  // Text "Ursula Zhang": the sharer splits "U" + "rsula" + " Zhang", the receiver "Ursula" +
  // " Zh" + "ang"; both start with BOS.
  const Spans sharer = {{0, 0}, {0, 1}, {1, 6}, {6, 12}};
  const Spans receiver = {{0, 0}, {0, 6}, {6, 9}, {9, 12}};
  auto a = AlignTokens(receiver, sharer);
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(*a, (std::vector<int64_t>{0, 2, 3, 3}));
  // The other way round: "U" ends inside "Ursula", so does "rsula".
  auto b = AlignTokens(sharer, receiver);
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(*b, (std::vector<int64_t>{0, 1, 1, 3}));
}

TEST(AlignTokens, EmptySpansTakeTheLastTextReadOrTheSharersFirstToken) {
  // SentencePiece may emit a lone dummy-prefix piece before the first word: (0, 0) like BOS.
  const Spans receiver = {{0, 0}, {0, 0}, {0, 2}, {2, 4}, {4, 4}};
  const Spans sharer = {{0, 0}, {0, 3}, {3, 4}};
  auto a = AlignTokens(receiver, sharer);
  ASSERT_TRUE(a.ok()) << a.status();
  // BOS and the empty piece at 0 -> sharer 0; an empty span at 4 -> the holder of byte 3.
  EXPECT_EQ(*a, (std::vector<int64_t>{0, 0, 1, 2, 2}));
}

TEST(AlignTokens, RefusesSpansThatDoNotTileTheText) {
  const Spans receiver = {{0, 0}, {0, 5}};
  auto gap = AlignTokens(receiver, Spans{{0, 0}, {0, 2}, {3, 5}});
  EXPECT_TRUE(gap.ok());  // byte 4 is covered: gaps elsewhere do not matter
  auto uncovered = AlignTokens(receiver, Spans{{0, 0}, {0, 2}});
  ASSERT_FALSE(uncovered.ok());
  EXPECT_EQ(uncovered.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(uncovered.status().message().find("receiver token 1"), std::string::npos) << uncovered.status();
  auto overlap = AlignTokens(receiver, Spans{{0, 3}, {2, 5}});
  ASSERT_FALSE(overlap.ok());
  EXPECT_NE(overlap.status().message().find("sharer token 1"), std::string::npos) << overlap.status();
  auto reversed = AlignTokens(Spans{{3, 1}}, Spans{{0, 5}});
  ASSERT_FALSE(reversed.ok());
  EXPECT_NE(reversed.status().message().find("receiver token 0"), std::string::npos) << reversed.status();
  EXPECT_FALSE(AlignTokens(receiver, Spans{}).ok());
  auto none = AlignTokens(Spans{}, Spans{{0, 0}});
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
}

TEST(DepthLayerMap, MapsByRelativeDepthRoundingHalvesUp) {
  EXPECT_EQ(DepthLayerMap(6, 4), (std::vector<int64_t>{0, 1, 1, 2, 2, 3}));
  EXPECT_EQ(DepthLayerMap(4, 6), (std::vector<int64_t>{0, 2, 3, 5}));
  EXPECT_EQ(DepthLayerMap(3, 2), (std::vector<int64_t>{0, 1, 1}));  // 0.5 rounds up
  EXPECT_EQ(DepthLayerMap(4, 4), (std::vector<int64_t>{0, 1, 2, 3}));
  EXPECT_EQ(DepthLayerMap(1, 5), (std::vector<int64_t>{0}));
}

TEST(GatherRows, PicksRowsAndRefusesIndicesOutside) {
  const std::vector<float> rows = {0, 1, 10, 11, 20, 21};
  auto g = GatherRows(rows, 2, std::vector<int64_t>{2, 0, 0});
  ASSERT_TRUE(g.ok());
  EXPECT_EQ(*g, (std::vector<float>{20, 21, 0, 1, 0, 1}));
  EXPECT_EQ(GatherRows(rows, 2, std::vector<int64_t>{3}).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(GatherRows(rows, 4, std::vector<int64_t>{0}).status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace cachewire::adapter
