// Bearer-token checks and the public session table: who may use which session, and that
// public ids are unguessable (fresh, 128-bit, never the worker's id).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <set>

#include "server/router/auth.h"
#include "server/router/session_table.h"

namespace cachewire::router {
namespace {

using ::testing::HasSubstr;

TEST(AuthenticatorTest, AcceptsOnlyListedBearerTokens) {
  const Authenticator auth = Authenticator::FromTokens({"alpha-token", "beta-token"});
  EXPECT_EQ(*auth.Authenticate("Bearer alpha-token"), 0);
  EXPECT_EQ(*auth.Authenticate("Bearer beta-token"), 1);
  for (const char* bad : {"Bearer alpha", "Bearer alpha-token2", "alpha-token", "Bearer ",
                          "Basic alpha-token", ""}) {
    auto caller = auth.Authenticate(std::string_view(bad));
    ASSERT_FALSE(caller.ok()) << bad;
    EXPECT_EQ(caller.status().code(), absl::StatusCode::kUnauthenticated) << bad;
    EXPECT_THAT(caller.status().message(), HasSubstr("authorization")) << bad;
  }
  EXPECT_EQ(auth.Authenticate(std::nullopt).status().code(),
            absl::StatusCode::kUnauthenticated);
}

TEST(AuthenticatorTest, InsecureAcceptsEveryoneAsOneCaller) {
  const Authenticator auth = Authenticator::Insecure();
  EXPECT_EQ(*auth.Authenticate(std::nullopt), kAnonymous);
  EXPECT_EQ(*auth.Authenticate("Bearer whatever"), kAnonymous);
}

TEST(AuthenticatorTest, TokenFileSkipsBlankAndCommentLines) {
  const std::string path = ::testing::TempDir() + "/tokens.txt";
  std::ofstream(path) << "# router tokens\n\n  first-token  \nsecond-token\r\n";
  auto auth = Authenticator::FromTokenFile(path);
  ASSERT_TRUE(auth.ok()) << auth.status();
  EXPECT_EQ(*auth->Authenticate("Bearer first-token"), 0);
  EXPECT_EQ(*auth->Authenticate("Bearer second-token"), 1);
  EXPECT_FALSE(auth->Authenticate("Bearer # router tokens").ok());

  std::ofstream(path) << "# nothing\n\n";
  EXPECT_EQ(Authenticator::FromTokenFile(path).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Authenticator::FromTokenFile(path + ".missing").status().code(),
            absl::StatusCode::kNotFound);
  std::remove(path.c_str());
}

TEST(AuthenticatorTest, RandomTokensAreFreshHex) {
  std::set<std::string> seen;
  for (int i = 0; i < 100; ++i) {
    const std::string token = NewRandomToken();
    EXPECT_EQ(token.size(), 32u);
    EXPECT_EQ(token.find_first_not_of("0123456789abcdef"), std::string::npos);
    EXPECT_TRUE(seen.insert(token).second);
  }
}

TEST(SessionTableTest, OnlyTheOwnerMayUseASession) {
  SessionTable table(10);
  auto session = table.Add("planner", "worker-id-1", /*owner=*/0);
  ASSERT_TRUE(session.ok());
  EXPECT_NE(session->id, "worker-id-1");
  EXPECT_EQ(session->id.size(), 2u + 32u);
  EXPECT_EQ(table.Lookup(session->id, 0, "session_id")->worker_session_id, "worker-id-1");

  auto other = table.Lookup(session->id, 1, "from_session_id");
  EXPECT_EQ(other.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(other.status().message(), HasSubstr("from_session_id"));
  EXPECT_EQ(table.Remove(session->id, 1, "session_id").status().code(),
            absl::StatusCode::kPermissionDenied);

  auto unknown = table.Lookup("s-0000", 0, "to_session_id");
  EXPECT_EQ(unknown.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(unknown.status().message(), HasSubstr("to_session_id"));
  EXPECT_EQ(table.Lookup("", 0, "session_id").status().code(),
            absl::StatusCode::kInvalidArgument);

  ASSERT_TRUE(table.Remove(session->id, 0, "session_id").ok());
  EXPECT_EQ(table.Lookup(session->id, 0, "session_id").status().code(),
            absl::StatusCode::kNotFound);
}

TEST(SessionTableTest, LimitAndLostSessions) {
  SessionTable table(3);
  ASSERT_TRUE(table.Add("a", "w1", 0).ok());
  ASSERT_TRUE(table.Add("a", "w2", 1).ok());
  ASSERT_TRUE(table.Add("b", "w3", 0).ok());
  EXPECT_EQ(table.Add("b", "w4", 0).status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(table.CountForAgent("a"), 2u);
  EXPECT_EQ(table.CountForAgent("a", 1), 1u);
  // Agent a's worker restarted and only w2 survives (it was opened after the restart).
  EXPECT_EQ(table.RemoveLostSessions("a", {"w2"}), 1u);
  EXPECT_EQ(table.CountForAgent("a"), 1u);
  EXPECT_EQ(table.CountForAgent("b"), 1u);
  EXPECT_EQ(table.size(), 2u);
}

}  // namespace
}  // namespace cachewire::router
