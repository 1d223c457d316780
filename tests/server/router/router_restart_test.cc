// A worker that dies mid-stream: the caller's stream ends UNAVAILABLE naming the agent, the
// router keeps serving (its health turns NOT_SERVING while the worker is away), and once the
// worker is back on the same port the router serves again; the sessions the old worker held
// are gone (NOT_FOUND), new ones work.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/server/router/router_fixture.h"

namespace cachewire::router::testing {
namespace {

using ::testing::HasSubstr;

std::string NewSession(RouterDeployment& deployment) {
  v1::CreateSessionRequest request;
  request.set_agent("solo");
  v1::CreateSessionResponse response;
  auto context = RouterDeployment::Context(kTokenA);
  const grpc::Status status = deployment.router().CreateSession(context.get(), request, &response);
  EXPECT_TRUE(status.ok()) << status.error_message();
  return response.session_id();
}

TEST(RouterRestartTest, WorkerKilledMidStreamThenRestarted) {
  RouterDeployment deployment;
  ASSERT_TRUE(deployment.Start({{"solo", kLlamaModel}}).ok());
  const std::string session = NewSession(deployment);

  // A long generation; the worker dies after the first streamed message.
  v1::GenerateRequest request;
  request.set_session_id(session);
  request.set_text("A long story begins here and goes on");
  request.mutable_sampling()->set_max_tokens(1900);
  request.mutable_sampling()->set_temperature(1.0f);
  request.mutable_sampling()->set_seed(3);
  auto context = RouterDeployment::Context(kTokenA);
  auto reader = deployment.router().Generate(context.get(), request);
  v1::GenerateResponse message;
  ASSERT_TRUE(reader->Read(&message));
  deployment.KillWorker(0);
  int after_kill = 0;
  bool saw_summary = false;
  while (reader->Read(&message)) {
    ++after_kill;
    saw_summary = saw_summary || message.has_summary();
  }
  const grpc::Status cut = reader->Finish();
  ASSERT_FALSE(saw_summary) << "the stream finished before the worker was killed";
  EXPECT_EQ(cut.error_code(), grpc::StatusCode::UNAVAILABLE) << cut.error_message();
  EXPECT_THAT(cut.error_message(), HasSubstr("agent 'solo'"));

  // The router stays up and says the agent is away.
  EXPECT_TRUE(deployment.router_process().running());
  ASSERT_TRUE(deployment.WaitForAgents(v1::AGENT_HEALTH_UNAVAILABLE));
  EXPECT_EQ(deployment.RouterHealth(), 2);  // NOT_SERVING
  {
    v1::AppendRequest append;
    append.set_session_id(session);
    append.set_text("anyone there?");
    v1::AppendResponse appended;
    auto append_context = RouterDeployment::Context(kTokenA);
    const grpc::Status status = deployment.router().Append(append_context.get(), append, &appended);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE) << status.error_message();
  }

  // Back on the same port: serving again.
  ASSERT_TRUE(deployment.RestartWorker(0).ok());
  ASSERT_TRUE(deployment.WaitForAgents(v1::AGENT_HEALTH_SERVING));
  EXPECT_EQ(deployment.RouterHealth(), 1);
  {
    v1::GetSessionRequest get;
    get.set_session_id(session);
    v1::GetSessionResponse got;
    auto get_context = RouterDeployment::Context(kTokenA);
    const grpc::Status status = deployment.router().GetSession(get_context.get(), get, &got);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND) << status.error_message();
    EXPECT_THAT(status.error_message(), HasSubstr("session_id"));
  }
  const std::string fresh = NewSession(deployment);
  v1::GenerateRequest again;
  again.set_session_id(fresh);
  again.set_text("A new beginning");
  again.mutable_sampling()->set_max_tokens(8);
  auto again_context = RouterDeployment::Context(kTokenA);
  auto again_reader = deployment.router().Generate(again_context.get(), again);
  const StreamResult result = ReadStream(*again_reader);
  EXPECT_TRUE(result.status.ok()) << result.status.error_message();
  EXPECT_FALSE(result.token_ids.empty());
}

}  // namespace
}  // namespace cachewire::router::testing
