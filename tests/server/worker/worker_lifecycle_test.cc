// The worker's life around its calls, on real processes:
// - a generation past its deadline ends DEADLINE_EXCEEDED, a cancelled one CANCELLED, and the
//   worker's queue empties at once and it stays healthy;
// - the metrics endpoint serves Prometheus text with the request counter after a call;
// - a session with a bounded cache policy streams past its budget (evictions, no layer above
//   budget + slack), and a cache memory pool refuses sessions beyond it until one closes;
// - SIGTERM during a stream: the stream still completes (drain), then the process exits 0.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <cstdlib>
#include <memory>
#include <string>
#include <thread>

#include "tests/server/worker/worker_client.h"
#include "tests/server/worker/worker_process.h"

namespace cachewire::testing {
namespace {

using ::testing::HasSubstr;

const std::string kModel = kGoldenDir + "tiny-gemma3-gqa4-f16.gguf";

std::vector<std::string> WorkerArgs() {
  return {"--model", kModel, "--threads", "1", "--log-level", "warn"};
}

// A request for a long generation (the tiny model never ends its turn within 2000 tokens of
// this prompt, so only the test's action ends it early).
v1::GenerateRequest LongGeneration(const std::string& session) {
  v1::GenerateRequest r;
  r.set_session_id(session);
  r.set_text("Once upon a time");
  r.mutable_sampling()->set_max_tokens(2000);
  return r;
}

int32_t QueueDepth(v1::Worker::Stub& stub) {
  v1::StatsResponse stats;
  const grpc::Status st = stub.Stats(Context().get(), v1::StatsRequest(), &stats);
  return st.ok() ? stats.worker().queue_depth() : -1;
}

// Waits up to a second for the worker's queue to empty.
bool QueueDrains(v1::Worker::Stub& stub) {
  for (int i = 0; i < 100; ++i) {
    if (QueueDepth(stub) == 0) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

TEST(WorkerLifecycleTest, DeadlineAndCancelEndTheStreamAndTheWorkerStaysHealthy) {
  WorkerProcess worker(WorkerArgs());
  ASSERT_TRUE(worker.started()) << worker.error();
  auto channel = grpc::CreateChannel(worker.grpc_address(), grpc::InsecureChannelCredentials());
  auto stub = v1::Worker::NewStub(channel);

  const std::string id = OpenSession(*stub, 2048);
  Stream late = Generate(*stub, LongGeneration(id), /*seconds=*/0.05);
  EXPECT_EQ(late.status.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED)
      << late.status.error_message();
  EXPECT_FALSE(late.has_summary);
  EXPECT_TRUE(QueueDrains(*stub)) << "the job outlived its deadline";
  EXPECT_EQ(Health(channel), "SERVING");

  // A client that cancels after the first message.
  const std::string id2 = OpenSession(*stub, 2048);
  auto ctx = Context();
  auto reader = stub->Generate(ctx.get(), LongGeneration(id2));
  v1::GenerateResponse first;
  ASSERT_TRUE(reader->Read(&first));
  ctx->TryCancel();
  Stream cancelled = ReadAll(*reader);
  EXPECT_EQ(cancelled.status.error_code(), grpc::StatusCode::CANCELLED);
  EXPECT_TRUE(QueueDrains(*stub)) << "the job outlived its client";

  // Still serving: a normal generation completes.
  v1::GenerateRequest normal = LongGeneration(id);
  normal.mutable_sampling()->set_max_tokens(5);
  Stream ok = Generate(*stub, normal);
  EXPECT_TRUE(ok.status.ok()) << ok.status.error_message();
  EXPECT_EQ(ok.ids.size(), 5u);
  EXPECT_EQ(Health(channel), "SERVING");
  worker.Signal(SIGTERM);
  EXPECT_EQ(worker.Wait(), 0);
}

TEST(WorkerLifecycleTest, MetricsServeTheRequestCounter) {
  std::vector<std::string> args = WorkerArgs();
  args.insert(args.end(), {"--metrics", "127.0.0.1:0"});
  WorkerProcess worker(args);
  ASSERT_TRUE(worker.started()) << worker.error();
  auto stub = v1::Worker::NewStub(
      grpc::CreateChannel(worker.grpc_address(), grpc::InsecureChannelCredentials()));
  v1::InfoResponse info;
  ASSERT_TRUE(stub->Info(Context().get(), v1::InfoRequest(), &info).ok());
  EXPECT_EQ(info.architecture(), "gemma3");
  EXPECT_EQ(info.chat_template(), "gemma3");
  // The default --device, or what the suite reruns with (CACHEWIRE_TEST_WORKER_ARGS).
  const std::string extra = std::getenv("CACHEWIRE_TEST_WORKER_ARGS") != nullptr
                                ? std::getenv("CACHEWIRE_TEST_WORKER_ARGS")
                                : "";
  if (extra.find("cpu-twin") != std::string::npos) {
    EXPECT_EQ(info.backend(), "cpu-twin");
  } else if (extra.find("cuda") != std::string::npos) {
    EXPECT_EQ(info.backend().rfind("cuda:", 0), 0u) << info.backend();
  } else {
    EXPECT_EQ(info.backend(), "cpu");
  }
  EXPECT_EQ(info.n_vocab(), 512);
  const std::string id = OpenSession(*stub);
  v1::GenerateRequest r = LongGeneration(id);
  r.mutable_sampling()->set_max_tokens(8);
  ASSERT_TRUE(Generate(*stub, r).status.ok());
  CloseSession(*stub, "s_unknown");

  ASSERT_NE(worker.metrics_address(), "-");
  const std::string text = FetchMetrics(worker.metrics_address());
  EXPECT_THAT(text, HasSubstr("200 OK"));
  EXPECT_THAT(text, HasSubstr("cachewire_rpc_requests_total{code=\"OK\",method=\"Info\","
                              "service=\"cachewire.v1.Worker\"} 1"));
  EXPECT_THAT(text, HasSubstr("cachewire_rpc_requests_total{code=\"NOT_FOUND\","
                              "method=\"CloseSession\",service=\"cachewire.v1.Worker\"} 1"));
  EXPECT_THAT(text, HasSubstr("cachewire_rpc_duration_seconds_bucket"));
  EXPECT_THAT(text, HasSubstr("cachewire_worker_sessions_open 1"));
  EXPECT_THAT(text, HasSubstr("cachewire_worker_tokens_generated_total 8"));
  EXPECT_THAT(text, HasSubstr("cachewire_worker_queue_depth 0"));
  EXPECT_THAT(text, HasSubstr("cachewire_worker_cache_bytes"));
  EXPECT_THAT(text, HasSubstr("cachewire_worker_decode_tokens_per_second_count 1"));
  worker.Signal(SIGTERM);
  EXPECT_EQ(worker.Wait(), 0);
}

TEST(WorkerLifecycleTest, BoundedSessionStreamsPastItsBudget) {
  WorkerProcess worker({"--model", kGoldenDir + "tiny-llama-gqa2-q8_0.gguf", "--threads", "1",
                        "--log-level", "warn"});
  ASSERT_TRUE(worker.started()) << worker.error();
  auto stub = v1::Worker::NewStub(
      grpc::CreateChannel(worker.grpc_address(), grpc::InsecureChannelCredentials()));
  v1::InfoResponse info;
  ASSERT_TRUE(stub->Info(Context().get(), v1::InfoRequest(), &info).ok());
  v1::OpenSessionRequest open;
  open.set_n_ctx(64);  // fewer positions than the stream: only a bounded cache gets through
  v1::CachePolicy* policy = open.mutable_cache_policy();
  policy->set_bounded(true);
  policy->set_budget(32);
  policy->set_window(16);
  policy->set_slack(8);
  v1::OpenSessionResponse session;
  ASSERT_TRUE(stub->OpenSession(Context().get(), open, &session).ok());
  EXPECT_TRUE(session.cache_policy().bounded());
  EXPECT_EQ(session.cache_policy().n_sink(), info.cache_policy().n_sink()) << "default kept";

  // Generations continue the session (past end-of-turn tokens) until it has seen 300 tokens.
  v1::GenerateRequest r = LongGeneration(session.session_id());
  r.mutable_sampling()->set_max_tokens(100);
  r.mutable_sampling()->set_temperature(0.9f);
  Stream s;
  for (int i = 0; i < 30; ++i) {
    r.mutable_sampling()->set_seed(static_cast<uint64_t>(i));
    s = Generate(*stub, r);
    ASSERT_TRUE(s.status.ok()) << s.status.error_message();
    EXPECT_EQ(static_cast<int64_t>(s.ids.size()), s.summary.n_generated_tokens());
    if (s.summary.cache().n_past() >= 300) break;
  }
  const v1::CacheStats& cache = s.summary.cache();
  EXPECT_GE(cache.n_past(), 300);
  EXPECT_GT(cache.evictions(), 0);
  ASSERT_EQ(cache.entries_per_layer_size(), info.n_layer());
  for (int64_t entries : cache.entries_per_layer()) {
    EXPECT_LE(entries, (32 + 8) * info.n_head_kv()) << "a layer holds more than budget + slack";
  }
  worker.Signal(SIGTERM);
  EXPECT_EQ(worker.Wait(), 0);
}

TEST(WorkerLifecycleTest, CachePoolBudgetRefusesSessionsBeyondIt) {
  WorkerProcess worker(
      {"--model", kModel, "--threads", "1", "--log-level", "warn", "--cache-pool-mb", "12"});
  ASSERT_TRUE(worker.started()) << worker.error();
  auto stub = v1::Worker::NewStub(
      grpc::CreateChannel(worker.grpc_address(), grpc::InsecureChannelCredentials()));
  // Full caches of 2048 tokens reserve their whole size at creation: a few fit in 12 MiB.
  std::vector<std::string> opened;
  grpc::Status refused;
  while (refused.ok() && opened.size() < 50) {
    v1::OpenSessionRequest open;
    open.set_n_ctx(2048);
    v1::OpenSessionResponse response;
    refused = stub->OpenSession(Context().get(), open, &response);
    if (refused.ok()) opened.push_back(response.session_id());
  }
  ASSERT_FALSE(opened.empty());
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED)
      << refused.error_message();
  EXPECT_THAT(refused.error_message(), HasSubstr("cache pool"));
  // Closing one frees its reservation.
  ASSERT_TRUE(CloseSession(*stub, opened.front()).ok());
  EXPECT_FALSE(OpenSession(*stub, 2048).empty());
  worker.Signal(SIGTERM);
  EXPECT_EQ(worker.Wait(), 0);
}

TEST(WorkerLifecycleTest, SigtermDrainsTheStreamInFlightThenExitsZero) {
  WorkerProcess worker(WorkerArgs());
  ASSERT_TRUE(worker.started()) << worker.error();
  auto channel = grpc::CreateChannel(worker.grpc_address(), grpc::InsecureChannelCredentials());
  auto stub = v1::Worker::NewStub(channel);
  const std::string id = OpenSession(*stub, 2048);
  auto ctx = Context();
  auto reader = stub->Generate(ctx.get(), LongGeneration(id));
  v1::GenerateResponse first;
  ASSERT_TRUE(reader->Read(&first));
  worker.Signal(SIGTERM);
  // New calls are refused while the stream drains (or, once it is done, nothing listens).
  grpc::Status refused;
  for (int i = 0; i < 200 && refused.ok(); ++i) {
    v1::InfoResponse info;
    refused = stub->Info(Context(2).get(), v1::InfoRequest(), &info);
    if (refused.ok()) std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::UNAVAILABLE) << refused.error_message();
  Stream rest = ReadAll(*reader);
  ASSERT_TRUE(rest.status.ok()) << rest.status.error_message();
  ASSERT_TRUE(rest.has_summary) << "the stream was cut, not drained";
  EXPECT_EQ(rest.summary.stop_reason(), v1::STOP_REASON_MAX_TOKENS);
  EXPECT_EQ(static_cast<int64_t>(first.tokens().token_ids_size() + rest.ids.size()), 2000);
  EXPECT_GT(rest.ids.size(), 0u) << "the stream had ended before the signal";
  EXPECT_EQ(worker.Wait(), 0);
}

}  // namespace
}  // namespace cachewire::testing
