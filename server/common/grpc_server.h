// Starting a daemon's gRPC server the same way everywhere: the services given, plus the standard
// grpc.health.v1.Health service (served by libgrpc++ itself) and server reflection (so grpcurl
// and other generic clients can list and call methods), on a "host:port" that may use port 0.
//
//   auto server = StartGrpcServer({.listen = "127.0.0.1:0", .services = {&worker_service}});
//   std::cout << "listening grpc=" << server->address << "\n";   // the port actually bound
//   SetServing(*server->server, false);                           // health NOT_SERVING
#pragma once

#include <grpcpp/impl/service_type.h>
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/server.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace cachewire::server {

struct GrpcServerParams {
  std::string listen{};                       // "host:port"; port 0 picks a free port
  std::vector<grpc::Service*> services{};     // not owned; must outlive the server
  std::shared_ptr<grpc::ServerCredentials> credentials{};  // null: insecure (loopback, tests)
  int max_receive_message_bytes = 64 << 20;
  int max_send_message_bytes = 64 << 20;
};

struct RunningGrpcServer {
  std::unique_ptr<grpc::Server> server;
  std::string address;  // "host:port" with the port actually bound
};

// InvalidArgument naming the address when it is malformed or cannot be bound.
absl::StatusOr<RunningGrpcServer> StartGrpcServer(const GrpcServerParams& params);

// Sets the overall ("") and every service's health status.
void SetServing(grpc::Server& server, bool serving);

}  // namespace cachewire::server
