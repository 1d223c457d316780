// How the client commands (agents, chat, stats, handoff) reach a router. By default they read
// the local endpoint file that `cachewire up` writes (router address and a fresh token, mode
// 0600), so the local demo needs no flags; --router and --token override it, --tls-ca turns on
// TLS. The file lives in $XDG_RUNTIME_DIR/cachewire/local.json, or
// ~/.cache/cachewire/local.json when XDG_RUNTIME_DIR is unset.
#pragma once

#include <CLI/CLI.hpp>

#include <memory>
#include <string>

#include <grpcpp/grpcpp.h>

#include "absl/status/statusor.h"
#include "cachewire/v1/router.grpc.pb.h"

namespace cachewire::cli {

// What `cachewire up` publishes for the other commands.
struct LocalEndpoint {
  std::string router;   // host:port
  std::string token;    // bearer token accepted by that router
  std::string metrics;  // the router's /metrics host:port ("off" when none)
  int64_t pid = 0;      // the `cachewire up` process
};

std::string LocalEndpointPath();
// The endpoint file's directory, created with mode 0700 when missing.
absl::StatusOr<std::string> PrivateStateDir();
// Writes `text` to `path` with mode 0600 from the start, replacing the file atomically.
absl::Status WritePrivateFile(const std::string& path, const std::string& text);
// Writes the file with mode 0600 (its directory 0700), replacing it atomically.
absl::Status WriteLocalEndpoint(const LocalEndpoint& endpoint);
// NotFound naming the path when there is none (no `cachewire up` running).
absl::StatusOr<LocalEndpoint> ReadLocalEndpoint();

// The --router/--token/--tls-ca flags every client command takes.
struct RouterFlags {
  std::string router;
  std::string token;
  std::string tls_ca;
  double timeout_s = 0;  // per call; 0: none
};
void AddRouterFlags(CLI::App& cmd, RouterFlags& flags);

// A connected Router stub plus the token to send with each call.
class RouterConnection {
 public:
  static absl::StatusOr<RouterConnection> Open(const RouterFlags& flags);

  v1::Router::Stub& stub() { return *stub_; }
  const std::string& address() const { return address_; }
  // A context carrying the bearer token and the per-call timeout.
  std::unique_ptr<grpc::ClientContext> NewContext() const;

 private:
  std::string address_;
  std::string token_;
  double timeout_s_ = 0;
  std::shared_ptr<grpc::Channel> channel_;
  std::shared_ptr<v1::Router::Stub> stub_;
};

// "CODE: message" for a failed call, as the commands print it.
std::string DescribeStatus(const grpc::Status& status);

}  // namespace cachewire::cli
