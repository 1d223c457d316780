// The client commands' router connection and the local endpoint file (see
// router_connection.h).
#include "client/cli/router_connection.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "absl/status/status.h"
#include "server/common/grpc_status.h"

namespace cachewire::cli {
namespace {

namespace fs = std::filesystem;

std::string EndpointDir() {
  if (const char* runtime = std::getenv("XDG_RUNTIME_DIR"); runtime && *runtime) {
    return std::string(runtime) + "/cachewire";
  }
  const char* home = std::getenv("HOME");
  return std::string(home && *home ? home : "/tmp") + "/.cache/cachewire";
}

absl::StatusOr<std::string> ReadText(const std::string& path, const std::string& what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(what + " " + path + ": cannot be read");
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace

std::string LocalEndpointPath() { return EndpointDir() + "/local.json"; }

absl::StatusOr<std::string> PrivateStateDir() {
  const std::string dir = EndpointDir();
  std::error_code error;
  fs::create_directories(dir, error);
  if (error) return absl::PermissionDeniedError(dir + ": " + error.message());
  chmod(dir.c_str(), 0700);
  return dir;
}

absl::Status WritePrivateFile(const std::string& path, const std::string& text) {
  const std::string temp = path + ".tmp" + std::to_string(getpid());
  const int fd = open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return absl::PermissionDeniedError(temp + ": cannot be created");
  const bool written = write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  close(fd);
  if (!written || std::rename(temp.c_str(), path.c_str()) != 0) {
    std::remove(temp.c_str());
    return absl::InternalError(path + ": cannot be written");
  }
  return absl::OkStatus();
}

absl::Status WriteLocalEndpoint(const LocalEndpoint& endpoint) {
  auto dir = PrivateStateDir();
  if (!dir.ok()) return dir.status();
  const nlohmann::json json = {{"router", endpoint.router},
                               {"token", endpoint.token},
                               {"metrics", endpoint.metrics},
                               {"pid", endpoint.pid}};
  return WritePrivateFile(LocalEndpointPath(), json.dump(2) + "\n");
}

absl::StatusOr<LocalEndpoint> ReadLocalEndpoint() {
  const std::string path = LocalEndpointPath();
  auto text = ReadText(path, "local endpoint file");
  if (!text.ok()) {
    return absl::NotFoundError("no local router (" + path +
                               " missing: start one with `cachewire up CONFIG`, or give "
                               "--router and --token)");
  }
  const nlohmann::json json = nlohmann::json::parse(*text, nullptr, /*allow_exceptions=*/false);
  if (!json.is_object() || !json.contains("router") || !json["router"].is_string() ||
      !json.contains("token") || !json["token"].is_string()) {
    return absl::InvalidArgumentError(path + ": not a cachewire endpoint file");
  }
  LocalEndpoint endpoint;
  endpoint.router = json["router"].get<std::string>();
  endpoint.token = json["token"].get<std::string>();
  if (json.contains("metrics") && json["metrics"].is_string()) {
    endpoint.metrics = json["metrics"].get<std::string>();
  }
  if (json.contains("pid") && json["pid"].is_number_integer()) {
    endpoint.pid = json["pid"].get<int64_t>();
  }
  return endpoint;
}

void AddRouterFlags(CLI::App& cmd, RouterFlags& flags) {
  cmd.add_option("--router", flags.router,
                 "Router host:port (default: the one `cachewire up` runs)");
  cmd.add_option("--token", flags.token, "Bearer token (default: `cachewire up`'s)");
  cmd.add_option("--tls-ca", flags.tls_ca, "PEM roots: connect with TLS, verified by these");
  cmd.add_option("--timeout", flags.timeout_s, "Seconds per call; 0: none");
}

absl::StatusOr<RouterConnection> RouterConnection::Open(const RouterFlags& flags) {
  RouterConnection connection;
  connection.address_ = flags.router;
  connection.token_ = flags.token;
  connection.timeout_s_ = flags.timeout_s;
  if (connection.address_.empty() || connection.token_.empty()) {
    auto local = ReadLocalEndpoint();
    if (!local.ok()) {
      // A router given without a token may run --insecure-dev: try without one.
      if (connection.address_.empty()) return local.status();
    } else {
      if (connection.address_.empty()) connection.address_ = local->router;
      if (connection.token_.empty() && connection.address_ == local->router) {
        connection.token_ = local->token;
      }
    }
  }
  std::shared_ptr<grpc::ChannelCredentials> credentials = grpc::InsecureChannelCredentials();
  if (!flags.tls_ca.empty()) {
    auto roots = ReadText(flags.tls_ca, "--tls-ca");
    if (!roots.ok()) return roots.status();
    grpc::SslCredentialsOptions ssl;
    ssl.pem_root_certs = *roots;
    credentials = grpc::SslCredentials(ssl);
  }
  connection.channel_ = grpc::CreateChannel(connection.address_, credentials);
  connection.stub_ = v1::Router::NewStub(connection.channel_);
  return connection;
}

std::unique_ptr<grpc::ClientContext> RouterConnection::NewContext() const {
  auto context = std::make_unique<grpc::ClientContext>();
  if (!token_.empty()) context->AddMetadata("authorization", "Bearer " + token_);
  if (timeout_s_ > 0) {
    context->set_deadline(std::chrono::system_clock::now() +
                          std::chrono::milliseconds(static_cast<int64_t>(timeout_s_ * 1000)));
  }
  return context;
}

std::string DescribeStatus(const grpc::Status& status) {
  return std::string(server::GrpcCodeName(status.error_code())) + ": " + status.error_message();
}

}  // namespace cachewire::cli
