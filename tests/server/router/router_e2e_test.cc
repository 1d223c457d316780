// The router end to end, against real workers on loopback (a llama and a gemma3 agent):
// generation through the router is the worker's own stream, ListAgents reports both workers,
// and the handoffs move what they say (TEXT_CONTEXT lands the sharer's text in the receiver's
// transcript). Errors and authentication: router_errors_test.cc.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "tests/server/router/router_fixture.h"

namespace cachewire::router::testing {
namespace {

using ::testing::HasSubstr;
using RouterE2ETest = SharedDeploymentTest;


// --- generation -------------------------------------------------------------------------

TEST_F(RouterE2ETest, GenerationThroughTheRouterIsTheWorkersOwnStream) {
  const std::string prompt = "Once upon a time the cache said";
  v1::SamplingParams sampling;
  sampling.set_temperature(0.9f);
  sampling.set_top_k(40);
  sampling.set_seed(1234);
  sampling.set_max_tokens(24);

  // Through the router.
  const std::string session = NewSession("llama");
  ASSERT_TRUE(AppendText(session, prompt).ok());
  v1::GenerateRequest request;
  request.set_session_id(session);
  *request.mutable_sampling() = sampling;
  const StreamResult routed = GenerateThroughRouter(request);
  ASSERT_TRUE(routed.status.ok()) << routed.status.error_message();

  // Straight to the llama worker, same prompt and seed.
  v1::OpenSessionResponse opened;
  {
    auto context = RouterDeployment::Context("");
    ASSERT_TRUE(
        deployment_->worker(0).OpenSession(context.get(), v1::OpenSessionRequest(), &opened).ok());
  }
  {
    v1::AppendRequest append;
    append.set_session_id(opened.session_id());
    append.set_text(prompt);
    v1::AppendResponse appended;
    auto context = RouterDeployment::Context("");
    ASSERT_TRUE(deployment_->worker(0).Append(context.get(), append, &appended).ok());
  }
  v1::GenerateRequest direct_request;
  direct_request.set_session_id(opened.session_id());
  *direct_request.mutable_sampling() = sampling;
  auto context = RouterDeployment::Context("");
  auto reader = deployment_->worker(0).Generate(context.get(), direct_request);
  const StreamResult direct = ReadStream(*reader);
  ASSERT_TRUE(direct.status.ok()) << direct.status.error_message();

  ASSERT_FALSE(direct.token_ids.empty());
  EXPECT_EQ(routed.token_ids, direct.token_ids);
  EXPECT_EQ(routed.text, direct.text);
  EXPECT_GE(routed.token_messages, 1);
  EXPECT_TRUE(routed.summary_last);
}

// Many streams at once: each relay's worker stream may end while its last write to the caller
// is still pending, the race a relay must survive (it once crashed the router under load).
TEST_F(RouterE2ETest, ConcurrentStreamsAllComplete) {
  constexpr int kClients = 8;
  constexpr int kRequestsEach = 25;
  std::atomic<int> ok{0};
  std::vector<std::thread> clients;
  for (int c = 0; c < kClients; ++c) {
    clients.emplace_back([&, c] {
      const std::string session = NewSession(c % 2 == 0 ? "llama" : "gemma");
      for (int i = 0; i < kRequestsEach; ++i) {
        v1::GenerateRequest request;
        request.set_session_id(session);
        request.set_text(" and then");
        request.mutable_sampling()->set_max_tokens(4);
        request.mutable_sampling()->set_seed(static_cast<uint64_t>(c * 100 + i));
        request.mutable_sampling()->set_temperature(1.0f);
        const StreamResult result = GenerateThroughRouter(request);
        if (result.status.ok() && result.summary_last) ++ok;
      }
    });
  }
  for (std::thread& t : clients) t.join();
  EXPECT_EQ(ok.load(), kClients * kRequestsEach);
  EXPECT_TRUE(deployment_->router_process().running());
}

TEST_F(RouterE2ETest, MetricsEndpointServesRouterCounters) {
  NewSession("llama");  // at least one counted call and one open session
  const std::string metrics = HttpGetMetrics(deployment_->router_metrics_address());
  EXPECT_THAT(metrics, HasSubstr("200 OK"));
  EXPECT_THAT(metrics, HasSubstr("cachewire_rpc_requests_total{"));
  EXPECT_THAT(metrics, HasSubstr("method=\"CreateSession\""));
  EXPECT_THAT(metrics, HasSubstr("service=\"cachewire.v1.Router\""));
  EXPECT_THAT(metrics, HasSubstr("cachewire_router_sessions "));
  EXPECT_THAT(metrics, HasSubstr("cachewire_router_agent_up{agent=\"gemma\"} 1"));
}

TEST_F(RouterE2ETest, ListAgentsShowsBothWorkersServing) {
  v1::ListAgentsResponse agents;
  auto context = RouterDeployment::Context(kTokenA);
  ASSERT_TRUE(router().ListAgents(context.get(), v1::ListAgentsRequest(), &agents).ok());
  ASSERT_EQ(agents.agents_size(), 2);
  EXPECT_EQ(agents.agents(0).name(), "llama");
  EXPECT_EQ(agents.agents(0).health(), v1::AGENT_HEALTH_SERVING);
  EXPECT_EQ(agents.agents(0).worker().architecture(), "llama");
  EXPECT_EQ(agents.agents(1).worker().architecture(), "gemma3");
  EXPECT_GT(agents.agents(1).worker().n_vocab(), 0);
  EXPECT_EQ(deployment_->RouterHealth(), 1);
}

// --- handoff ------------------------------------------------------------------------------

TEST_F(RouterE2ETest, TextContextHandoffPutsTheSharersTextInTheReceiversTranscript) {
  const std::string sharer = NewSession("llama");
  const std::string receiver = NewSession("gemma");
  const std::string fact = "The launch code of project Heron is 4 1 9 3 .";
  ASSERT_TRUE(AppendText(sharer, fact).ok());
  ASSERT_TRUE(AppendText(receiver, "Receiver notes.").ok());

  v1::HandoffRequest handoff;
  handoff.set_from_session_id(sharer);
  handoff.set_to_session_id(receiver);
  handoff.set_mode(v1::HANDOFF_MODE_TEXT_CONTEXT);
  v1::HandoffResponse moved;
  const grpc::Status status =
      router().Handoff(RouterDeployment::Context(kTokenA).get(), handoff, &moved);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(moved.mode(), v1::HANDOFF_MODE_TEXT_CONTEXT);
  EXPECT_GE(moved.bytes_moved(), static_cast<int64_t>(fact.size()));
  EXPECT_GT(moved.receiver_tokens_added(), 0);
  EXPECT_EQ(moved.slots(), 0);
  EXPECT_GT(moved.export_ms(), 0.0);
  EXPECT_GT(moved.import_ms(), 0.0);
  EXPECT_GE(moved.total_ms(), moved.export_ms() + moved.import_ms());
  EXPECT_GE(moved.receiver_cache().n_past(), moved.receiver_tokens_added());

  v1::GetSessionRequest get;
  get.set_session_id(receiver);
  get.set_include_transcript(true);
  v1::GetSessionResponse got;
  ASSERT_TRUE(router().GetSession(RouterDeployment::Context(kTokenA).get(), get, &got).ok());
  EXPECT_THAT(got.transcript(), HasSubstr("Receiver notes."));
  EXPECT_THAT(got.transcript(), HasSubstr(fact));
  EXPECT_EQ(got.stats().session_id(), receiver);  // the public id, never the worker's
  EXPECT_EQ(got.stats().cache().n_past(), moved.receiver_cache().n_past());
}

TEST_F(RouterE2ETest, NoneAndTextSummaryHandoffsReportWhatMoved) {
  const std::string sharer = NewSession("llama");
  const std::string receiver = NewSession("llama");
  ASSERT_TRUE(AppendText(sharer, "Alice owns the red boat. Bob owns the blue car.").ok());
  ASSERT_TRUE(AppendText(receiver, "Question time.").ok());

  v1::HandoffRequest handoff;
  handoff.set_from_session_id(sharer);
  handoff.set_to_session_id(receiver);
  handoff.set_mode(v1::HANDOFF_MODE_NONE);
  v1::HandoffResponse none;
  ASSERT_TRUE(router().Handoff(RouterDeployment::Context(kTokenA).get(), handoff, &none).ok());
  EXPECT_EQ(none.bytes_moved(), 0);
  EXPECT_EQ(none.receiver_tokens_added(), 0);
  EXPECT_GT(none.receiver_cache().n_past(), 0);

  handoff.set_mode(v1::HANDOFF_MODE_TEXT_SUMMARY);
  handoff.set_summary_max_tokens(8);
  v1::HandoffResponse summary;
  const grpc::Status status =
      router().Handoff(RouterDeployment::Context(kTokenA).get(), handoff, &summary);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(summary.bytes_moved(), static_cast<int64_t>(summary.summary().size()));
  EXPECT_GT(summary.export_ms(), 0.0);
  if (!summary.summary().empty()) {
    EXPECT_GT(summary.receiver_tokens_added(), 0);
    v1::GetSessionRequest get;
    get.set_session_id(receiver);
    get.set_include_transcript(true);
    v1::GetSessionResponse got;
    ASSERT_TRUE(router().GetSession(RouterDeployment::Context(kTokenA).get(), get, &got).ok());
    EXPECT_THAT(got.transcript(), HasSubstr(summary.summary()));
  }
}

}  // namespace
}  // namespace cachewire::router::testing
