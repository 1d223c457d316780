// LCF handoffs through the router, end to end: two real workers of the shipped models
// (planner: cw-llama, the sharer; coder: cw-gemma3, the receiver, whose sessions default to a
// bounded cache) both loading the random cw-llama -> cw-gemma3 test adapter, and a router whose
// config names that adapter by file only (it reads the name from the file):
// - the router pipes the sharer's summary into the receiver and reports the bytes moved
//   (n_slots x slot_dim x 2), the slots, the adapter and a latency split; the receiver's
//   session then holds the pinned entries, and the router's metrics count the bytes;
// - the request may name the adapter by its name or its file; the reverse pair has none;
// - a failing export (an empty sharer) or import (an unbounded receiver), or a deadline that
//   passes, leaves the receiver without pins, and the error names the session's field.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <string>
#include <thread>

#include "tests/server/router/router_fixture.h"

namespace cachewire::router::testing {
namespace {

using ::testing::HasSubstr;

const std::string kSource = CACHEWIRE_SOURCE_DIR;
const std::string kAdapterFile =
    kSource + "/tests/data/adapters/cw-llama--cw-gemma3.random.lcf.gguf";
const std::string kAdapter = "cw-llama--cw-gemma3.random";
constexpr int64_t kSlots = 4;
constexpr int64_t kSlotDim = 32;
constexpr int64_t kPinned = kSlots * 6;  // every layer of cw-gemma3 (one kv-head) takes them

constexpr char kSharerContext[] =
    "Mike Lee has a pet ferret . The owner of West Manor is Mike Lee . Pablo Ellis colour purple .";
constexpr char kReceiverContext[] =
    "Helen Hayes works as a teacher . Julia Tate lives at Iron Farm .";

class RouterLcfTest : public SharedDeploymentTest {
 protected:
  static void SetUpTestSuite() {
    deployment_ = new RouterDeployment();
    deployment_->AddConfig("adapters:\n  - sharer: planner\n    receiver: coder\n    kind: lcf\n"
                           "    file: " + kAdapterFile + "\n");
    const absl::Status started = deployment_->Start(
        {{"planner", kSource + "/models/cw-llama.gguf", {"--adapter", kAdapterFile}},
         {"coder", kSource + "/models/cw-gemma3.gguf",
          {"--adapter", kAdapterFile, "--cache-bounded", "--cache-budget", "448",
           "--cache-slack", "64", "--cache-window", "256"}}});
    ASSERT_TRUE(started.ok()) << started;
  }

  static std::string SessionWith(const std::string& agent, const std::string& text) {
    const std::string session = NewSession(agent);
    EXPECT_TRUE(AppendText(session, text).ok());
    return session;
  }

  static grpc::Status Lcf(const std::string& from, const std::string& to,
                          v1::HandoffResponse* moved, const std::string& adapter = "",
                          std::chrono::microseconds deadline = std::chrono::seconds(30)) {
    v1::HandoffRequest handoff;
    handoff.set_from_session_id(from);
    handoff.set_to_session_id(to);
    handoff.set_mode(v1::HANDOFF_MODE_LCF);
    handoff.set_adapter(adapter);
    auto context = RouterDeployment::Context(kTokenA);
    context->set_deadline(std::chrono::system_clock::now() + deadline);
    return router().Handoff(context.get(), handoff, moved);
  }

  static int64_t Pinned(const std::string& session) {
    v1::GetSessionRequest get;
    get.set_session_id(session);
    v1::GetSessionResponse got;
    const grpc::Status status =
        router().GetSession(RouterDeployment::Context(kTokenA).get(), get, &got);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return got.stats().cache().pinned();
  }
};

TEST_F(RouterLcfTest, PipesTheSummaryAndReportsBytesSlotsAndLatency) {
  const std::string sharer = SessionWith("planner", kSharerContext);
  const std::string receiver = SessionWith("coder", kReceiverContext);
  v1::HandoffResponse moved;
  const grpc::Status status = Lcf(sharer, receiver, &moved);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(moved.mode(), v1::HANDOFF_MODE_LCF);
  EXPECT_EQ(moved.adapter(), kAdapter);
  EXPECT_EQ(moved.bytes_moved(), kSlots * kSlotDim * 2);
  EXPECT_EQ(moved.slots(), kSlots);
  EXPECT_EQ(moved.receiver_tokens_added(), 0);
  EXPECT_GT(moved.export_ms(), 0.0);
  EXPECT_GT(moved.transfer_ms(), 0.0);
  EXPECT_GT(moved.import_ms(), 0.0);
  EXPECT_GE(moved.total_ms(), moved.export_ms() + moved.transfer_ms() + moved.import_ms());
  EXPECT_EQ(moved.receiver_cache().pinned(), kPinned);
  EXPECT_EQ(Pinned(receiver), kPinned);
  EXPECT_EQ(Pinned(sharer), 0);

  const std::string metrics = HttpGetMetrics(deployment_->router_metrics_address());
  EXPECT_THAT(metrics, HasSubstr("cachewire_router_handoffs_total{code=\"OK\","
                                 "mode=\"HANDOFF_MODE_LCF\"}"));
  // Every LCF handoff of the suite moves the same summary size.
  const std::string key = "cachewire_router_handoff_bytes_total{mode=\"HANDOFF_MODE_LCF\"} ";
  const size_t at = metrics.find(key);
  ASSERT_NE(at, std::string::npos) << metrics;
  const double total = std::stod(metrics.substr(at + key.size()));
  EXPECT_GT(total, 0);
  EXPECT_EQ(std::fmod(total, static_cast<double>(kSlots * kSlotDim * 2)), 0.0);
}

TEST_F(RouterLcfTest, AdapterIsNamedByNameOrFileAndListed) {
  const std::string sharer = SessionWith("planner", kSharerContext);
  const std::string receiver = SessionWith("coder", kReceiverContext);
  v1::HandoffResponse moved;
  EXPECT_TRUE(Lcf(sharer, receiver, &moved, kAdapter).ok());
  EXPECT_TRUE(Lcf(sharer, receiver, &moved, "cw-llama--cw-gemma3.random.lcf.gguf").ok());
  EXPECT_EQ(Pinned(receiver), kPinned);  // a second import replaces the first
  const grpc::Status unknown = Lcf(sharer, receiver, &moved, "no-such-adapter");
  EXPECT_EQ(unknown.error_code(), grpc::StatusCode::NOT_FOUND) << unknown.error_message();

  v1::ListAgentsResponse agents;
  ASSERT_TRUE(router()
                  .ListAgents(RouterDeployment::Context(kTokenA).get(), v1::ListAgentsRequest(),
                              &agents)
                  .ok());
  ASSERT_EQ(agents.adapters_size(), 1);
  EXPECT_EQ(agents.adapters(0).name(), kAdapter);
  EXPECT_EQ(agents.adapters(0).mode(), v1::HANDOFF_MODE_LCF);
  ASSERT_EQ(agents.agents_size(), 2);
  ASSERT_EQ(agents.agents(0).worker().adapters_size(), 1);
  EXPECT_TRUE(agents.agents(0).worker().adapters(0).is_sharer());
}

TEST_F(RouterLcfTest, ReversePairHasNoAdapter) {
  const std::string coder = SessionWith("coder", kReceiverContext);
  const std::string planner = SessionWith("planner", kSharerContext);
  v1::HandoffResponse moved;
  const grpc::Status status = Lcf(coder, planner, &moved);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(status.error_message(), HasSubstr("coder->planner"));
}

TEST_F(RouterLcfTest, FailedExportOrImportPinsNothing) {
  // The sharer holds nothing to summarise: the export fails and the import is cancelled.
  const std::string empty = NewSession("planner");
  const std::string receiver = SessionWith("coder", kReceiverContext);
  v1::HandoffResponse moved;
  grpc::Status status = Lcf(empty, receiver, &moved);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(status.error_message(), HasSubstr("from_session_id"));
  EXPECT_EQ(Pinned(receiver), 0);

  // The receiver's cache is not bounded: the import refuses it.
  v1::CreateSessionRequest create;
  create.set_agent("coder");
  create.mutable_policy()->set_bounded(false);
  v1::CreateSessionResponse created;
  ASSERT_TRUE(
      router().CreateSession(RouterDeployment::Context(kTokenA).get(), create, &created).ok());
  ASSERT_TRUE(AppendText(created.session_id(), kReceiverContext).ok());
  const std::string sharer = SessionWith("planner", kSharerContext);
  status = Lcf(sharer, created.session_id(), &moved);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(status.error_message(), HasSubstr("to_session_id"));
  EXPECT_THAT(status.error_message(), HasSubstr("bounded cache"));
  EXPECT_EQ(Pinned(created.session_id()), 0);
}

// A deadline can pass after the receiver's worker applied the last chunk but before its answer
// reached the caller, so DEADLINE_EXCEEDED does not mean nothing happened; what must hold is
// that the import is whole or absent, never a part of it. The test adapter is so small that a
// quiet machine finishes the whole handoff in well under a millisecond, so the deadlines run from
// 100 us to 3 ms and an OK answer must mean a whole import.
TEST_F(RouterLcfTest, DeadlinePassingNeverLeavesAPartialImport) {
  int expired = 0;
  for (int us : {100, 300, 1000, 3000}) {
    const std::string sharer = SessionWith("planner", kSharerContext);
    const std::string receiver = SessionWith("coder", kReceiverContext);
    v1::HandoffResponse moved;
    const grpc::Status status = Lcf(sharer, receiver, &moved, "", std::chrono::microseconds(us));
    ASSERT_TRUE(status.ok() || status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED)
        << us << " us: " << status.error_message();
    std::this_thread::sleep_for(std::chrono::milliseconds(200));  // anything in flight lands
    const int64_t pinned = Pinned(receiver);
    if (status.ok()) {
      EXPECT_EQ(pinned, kPinned) << us << " us";
    } else {
      ++expired;
      EXPECT_TRUE(pinned == 0 || pinned == kPinned) << us << " us: " << pinned;
    }
  }
  EXPECT_GT(expired, 0) << "no deadline passed: the test checked nothing about them";
}

}  // namespace
}  // namespace cachewire::router::testing
