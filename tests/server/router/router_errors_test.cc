// The router's errors, against real workers on loopback: each status-table row provoked for
// real gives its code and a message naming the field, a bank of malformed requests (typed and
// raw bytes) leaves the router serving, and tokens guard sessions (none or a wrong one:
// UNAUTHENTICATED; another token's session: PERMISSION_DENIED).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <condition_variable>
#include <limits>
#include <mutex>
#include <string>

#include <grpcpp/generic/generic_stub.h>

#include "tests/server/router/router_fixture.h"

namespace cachewire::router::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using RouterErrorsTest = SharedDeploymentTest;

// --- status table -----------------------------------------------------------------------

struct Expected {
  grpc::StatusCode code;
  std::string field;  // the message must name it
};

void ExpectStatus(const grpc::Status& status, const Expected& expected, const std::string& what) {
  EXPECT_EQ(status.error_code(), expected.code) << what << ": " << status.error_message();
  EXPECT_THAT(status.error_message(), HasSubstr(expected.field)) << what;
}

TEST_F(RouterErrorsTest, StatusTableRowsWithMessagesNamingTheField) {
  const std::string llama = NewSession("llama");
  const std::string gemma = NewSession("gemma");
  ASSERT_TRUE(AppendText(llama, "Some context for the sharer.").ok());

  {  // unknown agent / empty agent / bad n_ctx
    v1::CreateSessionRequest request;
    v1::CreateSessionResponse response;
    request.set_agent("nobody");
    ExpectStatus(router().CreateSession(RouterDeployment::Context(kTokenA).get(), request,
                                        &response),
                 {grpc::StatusCode::NOT_FOUND, "agent 'nobody'"}, "unknown agent");
    request.set_agent("");
    ExpectStatus(router().CreateSession(RouterDeployment::Context(kTokenA).get(), request,
                                        &response),
                 {grpc::StatusCode::INVALID_ARGUMENT, "agent"}, "empty agent");
    request.set_agent("llama");
    request.set_n_ctx(-5);
    ExpectStatus(router().CreateSession(RouterDeployment::Context(kTokenA).get(), request,
                                        &response),
                 {grpc::StatusCode::INVALID_ARGUMENT, "n_ctx"}, "negative n_ctx");
    request.set_n_ctx(0);
    request.mutable_policy()->set_budget(-3);
    const grpc::Status policy = router().CreateSession(
        RouterDeployment::Context(kTokenA).get(), request, &response);
    EXPECT_EQ(policy.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << policy.error_message();
    EXPECT_THAT(policy.error_message(), HasSubstr("budget"));
  }
  {  // sessions that do not exist
    v1::AppendResponse appended;
    v1::AppendRequest append;
    append.set_session_id("s-00000000000000000000000000000000");
    append.set_text("x");
    ExpectStatus(router().Append(RouterDeployment::Context(kTokenA).get(), append, &appended),
                 {grpc::StatusCode::NOT_FOUND, "session_id"}, "unknown session append");
    v1::GenerateRequest generate;
    generate.set_session_id("s-nope");
    ExpectStatus(GenerateThroughRouter(generate).status,
                 {grpc::StatusCode::NOT_FOUND, "session_id"}, "unknown session generate");
    v1::GetSessionRequest get;
    get.set_session_id("s-nope");
    v1::GetSessionResponse got;
    ExpectStatus(router().GetSession(RouterDeployment::Context(kTokenA).get(), get, &got),
                 {grpc::StatusCode::NOT_FOUND, "session_id"}, "unknown session get");
    v1::CloseSessionRequest close;
    close.set_session_id("s-nope");
    v1::CloseSessionResponse closed;
    ExpectStatus(router().CloseSession(RouterDeployment::Context(kTokenA).get(), close, &closed),
                 {grpc::StatusCode::NOT_FOUND, "session_id"}, "unknown session close");
  }
  {  // bad input and parameters, checked by the worker and relayed with the public id
    v1::AppendRequest append;
    append.set_session_id(llama);
    v1::AppendResponse appended;
    ExpectStatus(router().Append(RouterDeployment::Context(kTokenA).get(), append, &appended),
                 {grpc::StatusCode::INVALID_ARGUMENT, "input"}, "no input");
    append.set_text("");
    ExpectStatus(router().Append(RouterDeployment::Context(kTokenA).get(), append, &appended),
                 {grpc::StatusCode::INVALID_ARGUMENT, "text"}, "empty text");
    v1::ListAgentsResponse agents;
    ASSERT_TRUE(router()
                    .ListAgents(RouterDeployment::Context(kTokenA).get(),
                                v1::ListAgentsRequest(), &agents)
                    .ok());
    const int64_t max_text_bytes = agents.agents(0).worker().max_text_bytes();
    ASSERT_GT(max_text_bytes, 0);
    append.set_text(std::string(static_cast<size_t>(max_text_bytes) + 1, 'a'));
    ExpectStatus(router().Append(RouterDeployment::Context(kTokenA).get(), append, &appended),
                 {grpc::StatusCode::INVALID_ARGUMENT, "text"}, "oversize text");

    v1::GenerateRequest generate;
    generate.set_session_id(llama);
    generate.mutable_sampling()->set_top_p(1.5f);
    ExpectStatus(GenerateThroughRouter(generate).status,
                 {grpc::StatusCode::INVALID_ARGUMENT, "top_p"}, "bad top_p");
    generate.mutable_sampling()->clear_top_p();
    generate.mutable_sampling()->set_temperature(std::numeric_limits<float>::quiet_NaN());
    ExpectStatus(GenerateThroughRouter(generate).status,
                 {grpc::StatusCode::INVALID_ARGUMENT, "temperature"}, "NaN temperature");
  }
  {  // handoff rows
    v1::HandoffRequest handoff;
    handoff.set_from_session_id(llama);
    handoff.set_to_session_id(gemma);
    v1::HandoffResponse moved;
    ExpectStatus(router().Handoff(RouterDeployment::Context(kTokenA).get(), handoff, &moved),
                 {grpc::StatusCode::INVALID_ARGUMENT, "mode"}, "no mode");
    handoff.set_mode(v1::HANDOFF_MODE_LCF);
    ExpectStatus(router().Handoff(RouterDeployment::Context(kTokenA).get(), handoff, &moved),
                 {grpc::StatusCode::FAILED_PRECONDITION,
                  "no adapter configured for agents llama->gemma"},
                 "LCF without adapter");
    handoff.set_mode(v1::HANDOFF_MODE_C2C);
    ExpectStatus(router().Handoff(RouterDeployment::Context(kTokenA).get(), handoff, &moved),
                 {grpc::StatusCode::FAILED_PRECONDITION, "no adapter configured"},
                 "C2C without adapter");
    handoff.set_mode(v1::HANDOFF_MODE_TEXT_CONTEXT);
    handoff.set_to_session_id("s-missing");
    ExpectStatus(router().Handoff(RouterDeployment::Context(kTokenA).get(), handoff, &moved),
                 {grpc::StatusCode::NOT_FOUND, "to_session_id"}, "unknown receiver");
    handoff.set_to_session_id(llama);
    ExpectStatus(router().Handoff(RouterDeployment::Context(kTokenA).get(), handoff, &moved),
                 {grpc::StatusCode::INVALID_ARGUMENT, "to_session_id"}, "same session");
    // A sharer with nothing in it: the worker's precondition, named for the handoff.
    handoff.set_from_session_id(gemma);
    handoff.set_to_session_id(llama);
    const grpc::Status empty =
        router().Handoff(RouterDeployment::Context(kTokenA).get(), handoff, &moved);
    EXPECT_FALSE(empty.ok());
    EXPECT_THAT(empty.error_message(), HasSubstr("from_session_id"));
  }
  {
    v1::AgentStatsRequest stats;
    stats.set_agent("nobody");
    v1::AgentStatsResponse response;
    ExpectStatus(router().AgentStats(RouterDeployment::Context(kTokenA).get(), stats, &response),
                 {grpc::StatusCode::NOT_FOUND, "agent"}, "stats of unknown agent");
  }
}

TEST_F(RouterErrorsTest, MalformedRequestsLeaveTheRouterServing) {
  const std::string session = NewSession("llama");
  // A bank of bad requests through the typed API...
  for (const std::string& id : {std::string(100000, 'x'), std::string("\0\xff\xfe", 3),
                                std::string("s-") + std::string(32, '0'), std::string()}) {
    v1::GenerateRequest generate;
    generate.set_session_id(id);
    EXPECT_FALSE(GenerateThroughRouter(generate).status.ok());
  }
  for (int bad : {-1, -1000}) {
    v1::GenerateRequest generate;
    generate.set_session_id(session);
    generate.set_text("hi");
    generate.mutable_sampling()->set_max_tokens(bad);
    EXPECT_EQ(GenerateThroughRouter(generate).status.error_code(),
              grpc::StatusCode::INVALID_ARGUMENT);
  }
  {
    v1::GenerateRequest generate;
    generate.set_session_id(session);
    generate.set_text("hi");
    generate.set_top_logprobs(-4);
    generate.mutable_sampling()->set_top_k(-1);
    generate.mutable_sampling()->add_stop("");
    EXPECT_EQ(GenerateThroughRouter(generate).status.error_code(),
              grpc::StatusCode::INVALID_ARGUMENT);
  }
  {
    v1::HandoffRequest handoff;
    handoff.set_from_session_id(session);
    handoff.set_to_session_id("other");
    handoff.set_mode(static_cast<v1::HandoffMode>(99));
    handoff.set_summary_max_tokens(-7);
    v1::HandoffResponse moved;
    EXPECT_EQ(router().Handoff(RouterDeployment::Context(kTokenA).get(), handoff, &moved)
                  .error_code(),
              grpc::StatusCode::INVALID_ARGUMENT);
  }
  {
    v1::AppendRequest append;
    append.set_session_id(NewSession("gemma"));  // a model with a chat template
    v1::ChatMessage* message = append.mutable_messages()->add_messages();
    message->set_role("pirate");
    message->set_content("arr");
    v1::AppendResponse appended;
    const grpc::Status status =
        router().Append(RouterDeployment::Context(kTokenA).get(), append, &appended);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << status.error_message();
    EXPECT_THAT(status.error_message(), HasSubstr("role"));
  }
  // ...and bytes that are no protobuf at all, to every method.
  grpc::GenericStub generic(grpc::CreateChannel(deployment_->router_address(),
                                                grpc::InsecureChannelCredentials()));
  for (const char* method : {"/cachewire.v1.Router/CreateSession", "/cachewire.v1.Router/Append",
                             "/cachewire.v1.Router/Handoff", "/cachewire.v1.Router/GetSession",
                             "/cachewire.v1.Router/Nonexistent"}) {
    grpc::Slice junk(std::string("\xff\xff\xff\xff\x0f garbage", 14));
    grpc::ByteBuffer request(&junk, 1);
    grpc::ByteBuffer response;
    grpc::ClientContext context;
    context.AddMetadata("authorization", std::string("Bearer ") + kTokenA);
    std::mutex mu;
    std::condition_variable cv;
    bool done = false;
    grpc::Status status;
    generic.UnaryCall(&context, method, grpc::StubOptions(), &request, &response,
                      [&](grpc::Status s) {
                        std::lock_guard<std::mutex> lock(mu);
                        status = s;
                        done = true;
                        cv.notify_one();
                      });
    std::unique_lock<std::mutex> lock(mu);
    cv.wait(lock, [&] { return done; });
    EXPECT_FALSE(status.ok()) << method;
  }
  // Still serving: health, and a normal generation.
  EXPECT_EQ(deployment_->RouterHealth(), 1);
  EXPECT_TRUE(deployment_->router_process().running());
  v1::GenerateRequest generate;
  generate.set_session_id(NewSession("llama"));
  generate.set_text("After all that, a normal request.");
  generate.mutable_sampling()->set_max_tokens(4);
  const StreamResult result = GenerateThroughRouter(generate);
  EXPECT_TRUE(result.status.ok()) << result.status.error_message();
  EXPECT_FALSE(result.token_ids.empty());
}

// --- authentication -----------------------------------------------------------------------

TEST_F(RouterErrorsTest, TokensAreCheckedAndSessionsBelongToTheirToken) {
  v1::ListAgentsResponse agents;
  ExpectStatus(router().ListAgents(RouterDeployment::Context("").get(), v1::ListAgentsRequest(),
                                   &agents),
               {grpc::StatusCode::UNAUTHENTICATED, "authorization"}, "no token");
  ExpectStatus(router().ListAgents(RouterDeployment::Context("wrong-token").get(),
                                   v1::ListAgentsRequest(), &agents),
               {grpc::StatusCode::UNAUTHENTICATED, "authorization"}, "wrong token");
  {
    auto context = std::make_unique<grpc::ClientContext>();
    context->AddMetadata("authorization", std::string("Basic ") + kTokenA);
    EXPECT_EQ(router().ListAgents(context.get(), v1::ListAgentsRequest(), &agents).error_code(),
              grpc::StatusCode::UNAUTHENTICATED);
  }
  v1::GenerateRequest anonymous;
  anonymous.set_session_id("s-x");
  EXPECT_EQ(GenerateThroughRouter(anonymous, "").status.error_code(),
            grpc::StatusCode::UNAUTHENTICATED);

  // A's sessions are not B's.
  const std::string mine = NewSession("llama", kTokenA);
  const std::string theirs = NewSession("gemma", kTokenB);
  ASSERT_TRUE(AppendText(mine, "private context").ok());
  ExpectStatus(AppendText(mine, "intrusion", kTokenB),
               {grpc::StatusCode::PERMISSION_DENIED, "session_id"}, "append to another's");
  v1::GenerateRequest generate;
  generate.set_session_id(mine);
  EXPECT_EQ(GenerateThroughRouter(generate, kTokenB).status.error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  v1::GetSessionRequest get;
  get.set_session_id(mine);
  get.set_include_transcript(true);
  v1::GetSessionResponse got;
  EXPECT_EQ(router().GetSession(RouterDeployment::Context(kTokenB).get(), get, &got).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(got.transcript(), Not(HasSubstr("private")));
  v1::HandoffRequest steal;
  steal.set_from_session_id(mine);
  steal.set_to_session_id(theirs);
  steal.set_mode(v1::HANDOFF_MODE_TEXT_CONTEXT);
  v1::HandoffResponse moved;
  ExpectStatus(router().Handoff(RouterDeployment::Context(kTokenB).get(), steal, &moved),
               {grpc::StatusCode::PERMISSION_DENIED, "from_session_id"}, "handoff from another's");
  ExpectStatus(router().Handoff(RouterDeployment::Context(kTokenA).get(), steal, &moved),
               {grpc::StatusCode::PERMISSION_DENIED, "to_session_id"}, "handoff to another's");
  v1::CloseSessionRequest close;
  close.set_session_id(mine);
  v1::CloseSessionResponse closed;
  EXPECT_EQ(
      router().CloseSession(RouterDeployment::Context(kTokenB).get(), close, &closed).error_code(),
      grpc::StatusCode::PERMISSION_DENIED);
  // The owner still has it.
  EXPECT_TRUE(
      router().CloseSession(RouterDeployment::Context(kTokenA).get(), close, &closed).ok());
}

}  // namespace
}  // namespace cachewire::router::testing
