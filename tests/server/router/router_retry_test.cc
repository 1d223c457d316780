// The router retries idempotent worker calls that fail UNAVAILABLE, and only those. The worker
// here is a fake in this process whose Stats fails twice before it answers and whose
// OpenSession always fails: AgentStats through the real router succeeds after three Stats
// attempts, CreateSession is tried once and relayed as UNAVAILABLE naming the agent.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <fstream>

#include <grpcpp/grpcpp.h>

#include "cachewire/v1/router.grpc.pb.h"
#include "cachewire/v1/worker.grpc.pb.h"
#include "client/cli/daemon_process.h"

namespace cachewire::router {
namespace {

using ::testing::HasSubstr;

class FlakyWorker final : public v1::Worker::Service {
 public:
  grpc::Status Info(grpc::ServerContext*, const v1::InfoRequest*,
                    v1::InfoResponse* response) override {
    response->set_worker_id("fake-worker");
    response->set_architecture("llama");
    return grpc::Status::OK;
  }
  grpc::Status Stats(grpc::ServerContext*, const v1::StatsRequest*,
                     v1::StatsResponse* response) override {
    if (++stats_calls <= 2) return grpc::Status(grpc::StatusCode::UNAVAILABLE, "warming up");
    response->mutable_worker()->set_queue_depth(7);
    return grpc::Status::OK;
  }
  grpc::Status OpenSession(grpc::ServerContext*, const v1::OpenSessionRequest*,
                           v1::OpenSessionResponse*) override {
    ++open_calls;
    return grpc::Status(grpc::StatusCode::UNAVAILABLE, "restarting");
  }
  std::atomic<int> stats_calls{0};
  std::atomic<int> open_calls{0};
};

TEST(RouterRetryTest, IdempotentCallsAreRetriedOthersAreNot) {
  FlakyWorker worker;
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
  builder.RegisterService(&worker);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  ASSERT_NE(port, 0);

  const std::string config = ::testing::TempDir() + "/router_retry_" +
                             std::to_string(getpid()) + ".yaml";
  std::ofstream(config) << "agents:\n  - name: flaky\n    worker: 127.0.0.1:" << port << "\n";
  auto router = cli::DaemonProcess::Start(
      {.binary = CACHEWIRE_BINARY_DIR "/bin/cachewire-router",
       .args = {"--config", config, "--insecure-dev", "--listen", "127.0.0.1:0",
                "--probe-interval-ms", "60000", "--log-level", "error"}});
  ASSERT_TRUE(router.ok()) << router.status();
  auto stub = v1::Router::NewStub(
      grpc::CreateChannel((*router)->grpc_address(), grpc::InsecureChannelCredentials()));

  v1::AgentStatsRequest stats_request;
  stats_request.set_agent("flaky");
  v1::AgentStatsResponse stats;
  grpc::ClientContext stats_context;
  ASSERT_TRUE(stub->AgentStats(&stats_context, stats_request, &stats).ok());
  ASSERT_EQ(stats.agents_size(), 1);
  EXPECT_EQ(stats.agents(0).health(), v1::AGENT_HEALTH_SERVING);
  EXPECT_EQ(stats.agents(0).worker().queue_depth(), 7);
  EXPECT_EQ(worker.stats_calls.load(), 3);

  v1::CreateSessionRequest create;
  create.set_agent("flaky");
  v1::CreateSessionResponse created;
  grpc::ClientContext create_context;
  const grpc::Status status = stub->CreateSession(&create_context, create, &created);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_THAT(status.error_message(), HasSubstr("agent 'flaky'"));
  EXPECT_EQ(worker.open_calls.load(), 1);

  (*router)->Stop(5000);
  server->Shutdown();
  std::remove(config.c_str());
}

}  // namespace
}  // namespace cachewire::router
