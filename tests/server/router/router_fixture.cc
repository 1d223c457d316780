// The router tests' deployment of real daemons (see router_fixture.h).
#include "tests/server/router/router_fixture.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <thread>

#include <grpcpp/generic/generic_stub.h>
#include <gtest/gtest.h>

#include <condition_variable>
#include <cstdio>
#include <mutex>

namespace cachewire::router::testing {
namespace {

const std::string kBin = CACHEWIRE_BINARY_DIR "/bin/";

}  // namespace

RouterDeployment::~RouterDeployment() {
  router_stub_.reset();
  router_channel_.reset();
  if (router_) router_->Stop(2000);
  for (auto& worker : workers_) {
    if (worker) worker->Stop(2000);
  }
  if (!config_path_.empty()) std::remove(config_path_.c_str());
  if (!token_path_.empty()) std::remove(token_path_.c_str());
}

absl::Status RouterDeployment::StartWorker(size_t i, const std::string& listen) {
  std::vector<std::string> args = {"--model", agents_[i].model, "--listen", listen,
                                   "--threads", "1", "--log-level", "warn"};
  args.insert(args.end(), agents_[i].worker_args.begin(), agents_[i].worker_args.end());
  auto worker = cli::DaemonProcess::Start({.binary = kBin + "cachewire-worker", .args = args});
  if (!worker.ok()) return worker.status();
  worker_addresses_[i] = (*worker)->grpc_address();
  workers_[i] = *std::move(worker);
  return absl::OkStatus();
}

absl::Status RouterDeployment::Start(const std::vector<AgentSpec>& agents,
                                     const std::vector<std::string>& extra_router_args) {
  agents_ = agents;
  workers_.resize(agents.size());
  worker_addresses_.resize(agents.size());
  const std::string stem = ::testing::TempDir() + "/router_e2e_" + std::to_string(getpid()) +
                           "_" + std::to_string(reinterpret_cast<uintptr_t>(this));
  config_path_ = stem + ".yaml";
  token_path_ = stem + ".tokens";
  std::ofstream(token_path_) << "# two callers\n" << kTokenA << "\n" << kTokenB << "\n";
  std::ofstream config(config_path_);
  config << "agents:\n";
  for (size_t i = 0; i < agents.size(); ++i) {
    if (auto s = StartWorker(i, "127.0.0.1:0"); !s.ok()) return s;
    config << "  - name: " << agents[i].name << "\n    worker: " << worker_addresses_[i]
           << "\n    model: " << agents[i].model << "\n";
    grpc::ChannelArguments args;
    args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
    args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 500);
    worker_stubs_.push_back(v1::Worker::NewStub(grpc::CreateCustomChannel(
        worker_addresses_[i], grpc::InsecureChannelCredentials(), args)));
  }
  config << extra_config_;
  config.close();
  std::vector<std::string> args = {"--config", config_path_,    "--token-file",
                                   token_path_,  "--listen",    "127.0.0.1:0",
                                   "--metrics",  "127.0.0.1:0", "--probe-interval-ms",
                                   "100",        "--log-level", "warn"};
  args.insert(args.end(), extra_router_args.begin(), extra_router_args.end());
  auto router = cli::DaemonProcess::Start({.binary = kBin + "cachewire-router", .args = args});
  if (!router.ok()) return router.status();
  router_ = *std::move(router);
  std::shared_ptr<grpc::ChannelCredentials> credentials = grpc::InsecureChannelCredentials();
  if (!router_ca_pem_.empty()) {
    grpc::SslCredentialsOptions ssl;
    ssl.pem_root_certs = router_ca_pem_;
    credentials = grpc::SslCredentials(ssl);
  }
  router_channel_ = grpc::CreateChannel(router_->grpc_address(), credentials);
  router_stub_ = v1::Router::NewStub(router_channel_);
  if (!WaitForAgents(v1::AGENT_HEALTH_SERVING)) {
    return absl::UnavailableError("the router's agents did not become healthy");
  }
  return absl::OkStatus();
}

absl::Status RouterDeployment::RestartWorker(size_t i) {
  // The port may take a moment to be free again after a kill.
  absl::Status status;
  for (int attempt = 0; attempt < 50; ++attempt) {
    status = StartWorker(i, worker_addresses_[i]);
    if (status.ok()) return status;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return status;
}

std::unique_ptr<grpc::ClientContext> RouterDeployment::Context(const std::string& token) {
  auto context = std::make_unique<grpc::ClientContext>();
  if (!token.empty()) context->AddMetadata("authorization", "Bearer " + token);
  context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  return context;
}

int RouterDeployment::RouterHealth() {
  // grpc.health.v1.Health/Check with an empty HealthCheckRequest; the response is
  // HealthCheckResponse{status = field 1, varint}: bytes 08 01 (SERVING) or 08 02.
  grpc::GenericStub generic(router_channel_);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  grpc::ByteBuffer request;  // empty message
  grpc::Slice empty("");
  request = grpc::ByteBuffer(&empty, 1);
  grpc::ByteBuffer response;
  grpc::Status status;
  bool done = false;
  std::mutex mu;
  std::condition_variable cv;
  generic.UnaryCall(&context, "/grpc.health.v1.Health/Check", grpc::StubOptions(), &request,
                    &response, [&](grpc::Status s) {
                      std::lock_guard<std::mutex> lock(mu);
                      status = s;
                      done = true;
                      cv.notify_one();
                    });
  std::unique_lock<std::mutex> lock(mu);
  cv.wait(lock, [&] { return done; });
  if (!status.ok()) return -1;
  std::vector<grpc::Slice> slices;
  response.Dump(&slices);
  std::string bytes;
  for (const grpc::Slice& s : slices) {
    bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
  }
  if (bytes.size() == 2 && bytes[0] == 0x08) return bytes[1];
  return bytes.empty() ? 0 : -1;
}

bool RouterDeployment::WaitForAgents(v1::AgentHealth health, int timeout_ms) {
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (std::chrono::steady_clock::now() < deadline) {
    v1::ListAgentsResponse agents;
    auto context = Context(kTokenA);
    if (router().ListAgents(context.get(), v1::ListAgentsRequest(), &agents).ok()) {
      bool all = agents.agents_size() > 0;
      for (const v1::AgentInfo& agent : agents.agents()) all = all && agent.health() == health;
      if (all) return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

std::string HttpGetMetrics(const std::string& address) {
  const size_t colon = address.rfind(':');
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(std::stoi(address.substr(colon + 1))));
  inet_pton(AF_INET, address.substr(0, colon).c_str(), &addr.sin_addr);
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return "";
  std::string response;
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0) {
    const std::string request = "GET /metrics HTTP/1.0\r\nHost: " + address + "\r\n\r\n";
    if (write(fd, request.data(), request.size()) == static_cast<ssize_t>(request.size())) {
      char buffer[4096];
      ssize_t n;
      while ((n = read(fd, buffer, sizeof(buffer))) > 0) response.append(buffer, n);
    }
  }
  close(fd);
  return response;
}

}  // namespace cachewire::router::testing
