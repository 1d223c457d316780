// End-to-end fixture of the router tests: real cachewire-worker processes (one per agent, on
// the tiny golden models) and a real cachewire-router in front of them, all on loopback and
// started through the same DaemonProcess that `cachewire up` uses. The router accepts two
// tokens (kTokenA, kTokenB) so that tests can act as two callers.
//
//   RouterDeployment deployment;
//   ASSERT_TRUE(deployment.Start({{"llama", kLlamaModel}, {"gemma", kGemmaModel}}).ok());
//   auto context = deployment.Context(kTokenA);
//   deployment.router().CreateSession(context.get(), request, &response);
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <grpcpp/grpcpp.h>

#include <gtest/gtest.h>

#include "absl/status/status.h"
#include "cachewire/v1/router.grpc.pb.h"
#include "cachewire/v1/worker.grpc.pb.h"
#include "client/cli/daemon_process.h"

namespace cachewire::router::testing {

inline constexpr char kLlamaModel[] =
    CACHEWIRE_SOURCE_DIR "/tests/engine/model/golden/tiny-llama-gqa2-q8_0.gguf";
inline constexpr char kGemmaModel[] =
    CACHEWIRE_SOURCE_DIR "/tests/engine/model/golden/tiny-gemma3-gqa4-f16.gguf";
inline constexpr char kTokenA[] = "token-alpha-0123456789";
inline constexpr char kTokenB[] = "token-beta-9876543210";

struct AgentSpec {
  std::string name;
  std::string model;
  std::vector<std::string> worker_args = {};  // more flags for its worker (e.g. --adapter)
};

class RouterDeployment {
 public:
  ~RouterDeployment();

  // Makes the fixture's own channel to the router TLS, trusting `ca_pem` (call before Start;
  // the router's --tls-cert/--tls-key go in extra_router_args).
  void UseTls(std::string ca_pem) { router_ca_pem_ = std::move(ca_pem); }
  // YAML appended to the router's config after the agents, e.g. an `adapters:` list (call
  // before Start).
  void AddConfig(std::string yaml) { extra_config_ = std::move(yaml); }
  // Starts one worker per agent, then the router (probing the workers every 100 ms).
  absl::Status Start(const std::vector<AgentSpec>& agents,
                     const std::vector<std::string>& extra_router_args = {});
  // Starts a worker for agent i again on the port it had (after KillWorker).
  absl::Status RestartWorker(size_t i);
  void KillWorker(size_t i) { workers_[i]->Kill(); }

  v1::Router::Stub& router() { return *router_stub_; }
  v1::Worker::Stub& worker(size_t i) { return *worker_stubs_[i]; }
  const std::string& router_address() const { return router_->grpc_address(); }
  const std::string& router_metrics_address() const { return router_->metrics_address(); }
  const std::string& config_path() const { return config_path_; }
  cli::DaemonProcess& router_process() { return *router_; }

  // A context carrying `token` (none when empty) and a 30 s deadline.
  static std::unique_ptr<grpc::ClientContext> Context(const std::string& token);
  // The router's grpc.health.v1 status for the whole server: 1 SERVING, 2 NOT_SERVING,
  // -1 when the call failed.
  int RouterHealth();
  // Waits until ListAgents shows every agent with `health`; false on timeout.
  bool WaitForAgents(v1::AgentHealth health, int timeout_ms = 10000);

 private:
  absl::Status StartWorker(size_t i, const std::string& listen);

  std::vector<AgentSpec> agents_;
  std::vector<std::unique_ptr<cli::DaemonProcess>> workers_;
  std::vector<std::string> worker_addresses_;
  std::vector<std::unique_ptr<v1::Worker::Stub>> worker_stubs_;
  std::unique_ptr<cli::DaemonProcess> router_;
  std::shared_ptr<grpc::Channel> router_channel_;
  std::unique_ptr<v1::Router::Stub> router_stub_;
  std::string config_path_;
  std::string token_path_;
  std::string router_ca_pem_;
  std::string extra_config_;
};

// Reads a Generate stream to its end: token ids, text, message count and final status.
struct StreamResult {
  std::vector<int32_t> token_ids;
  std::string text;
  int token_messages = 0;
  bool summary_last = false;
  grpc::Status status;
};
template <typename Reader>
StreamResult ReadStream(Reader& reader) {
  StreamResult result;
  v1::GenerateResponse message;
  while (reader.Read(&message)) {
    result.summary_last = message.has_summary();
    if (message.has_tokens()) {
      ++result.token_messages;
      for (int32_t id : message.tokens().token_ids()) result.token_ids.push_back(id);
      result.text += message.tokens().text();
    }
  }
  result.status = reader.Finish();
  return result;
}

// A test suite sharing one deployment of two agents, "llama" and "gemma" (started once per
// suite), with helpers that act as the caller holding kTokenA unless told otherwise.
class SharedDeploymentTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    deployment_ = new RouterDeployment();
    const absl::Status started =
        deployment_->Start({{"llama", kLlamaModel}, {"gemma", kGemmaModel}});
    ASSERT_TRUE(started.ok()) << started;
  }
  static void TearDownTestSuite() {
    delete deployment_;
    deployment_ = nullptr;
  }
  void SetUp() override { ASSERT_NE(deployment_, nullptr); }

  static v1::Router::Stub& router() { return deployment_->router(); }

  // A new session of `agent` for the caller with `token`.
  static std::string NewSession(const std::string& agent, const std::string& token = kTokenA) {
    v1::CreateSessionRequest request;
    request.set_agent(agent);
    v1::CreateSessionResponse response;
    auto context = RouterDeployment::Context(token);
    const grpc::Status status = router().CreateSession(context.get(), request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response.session_id();
  }

  static grpc::Status AppendText(const std::string& session, const std::string& text,
                                 const std::string& token = kTokenA) {
    v1::AppendRequest request;
    request.set_session_id(session);
    request.set_text(text);
    v1::AppendResponse response;
    auto context = RouterDeployment::Context(token);
    return router().Append(context.get(), request, &response);
  }

  static StreamResult GenerateThroughRouter(const v1::GenerateRequest& request,
                                            const std::string& token = kTokenA) {
    auto context = RouterDeployment::Context(token);
    auto reader = router().Generate(context.get(), request);
    return ReadStream(*reader);
  }

  inline static RouterDeployment* deployment_ = nullptr;
};

// GET /metrics over plain HTTP/1.0 from "host:port"; the whole response ("" on failure).
std::string HttpGetMetrics(const std::string& address);

}  // namespace cachewire::router::testing
