// StopMatcher on hand-made piece sequences: matches inside and across pieces, the held-back
// tail, the earliest of several stop strings, and release at the end of the stream.
#include "engine/generate/stop_matcher.h"

#include <gtest/gtest.h>

namespace cachewire::generate {
namespace {

TEST(StopMatcherTest, MatchInsideOnePiece) {
  StopMatcher m({"stop"});
  EXPECT_EQ(m.Push("go stop here"), "go ");
  EXPECT_TRUE(m.stopped());
  EXPECT_EQ(m.matched(), "stop");
  EXPECT_EQ(m.Push("more"), "");
  EXPECT_EQ(m.Flush(), "");
}

TEST(StopMatcherTest, MatchAcrossPiecesHoldsThePrefix) {
  StopMatcher m({"</s>"});
  EXPECT_EQ(m.Push("Hello<"), "Hello");
  EXPECT_EQ(m.held_bytes(), 1u);
  EXPECT_EQ(m.Push("/"), "");
  EXPECT_EQ(m.Push("s>tail"), "");
  EXPECT_TRUE(m.stopped());
}

TEST(StopMatcherTest, FalsePrefixIsReleased) {
  StopMatcher m({"abc"});
  EXPECT_EQ(m.Push("xab"), "x");
  EXPECT_EQ(m.Push("abd"), "ababd");
  EXPECT_FALSE(m.stopped());
  EXPECT_EQ(m.Push("aab"), "a");   // "ab" may still become "abc"
  EXPECT_EQ(m.Push("c"), "");
  EXPECT_TRUE(m.stopped());
}

TEST(StopMatcherTest, HoldsTheLongestPossiblePrefix) {
  StopMatcher m({"aaab"});
  EXPECT_EQ(m.Push("aaaa"), "a");  // "aaa" could still be followed by b
  EXPECT_EQ(m.Push("b"), "");
  EXPECT_TRUE(m.stopped());
}

TEST(StopMatcherTest, EarliestOfSeveralStopsWins) {
  StopMatcher m({"world", "lo"});
  EXPECT_EQ(m.Push("hello world"), "hel");
  EXPECT_EQ(m.matched(), "lo");
  StopMatcher longer({"ab", "abc"});
  EXPECT_EQ(longer.Push("xabc"), "x");
  EXPECT_EQ(longer.matched(), "abc");
}

TEST(StopMatcherTest, FlushReleasesTheTail) {
  StopMatcher m({"END"});
  EXPECT_EQ(m.Push("the EN"), "the ");
  EXPECT_EQ(m.Flush(), "EN");
  EXPECT_FALSE(m.stopped());
}

TEST(StopMatcherTest, NoStopsPassesEverything) {
  StopMatcher m({});
  EXPECT_EQ(m.Push("anything"), "anything");
  StopMatcher empty({""});
  EXPECT_EQ(empty.Push("x"), "x");
}

TEST(StopMatcherTest, MultibyteStopString) {
  StopMatcher m({"ö!"});
  EXPECT_EQ(m.Push("w\xC3\xB6"), "w");
  EXPECT_EQ(m.Push("!x"), "");
  EXPECT_TRUE(m.stopped());
}

}  // namespace
}  // namespace cachewire::generate
