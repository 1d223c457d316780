// StartGrpcServer and SetServing (see grpc_server.h).
#include "server/common/grpc_server.h"

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/health_check_service_interface.h>
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/server_builder.h>

#include "absl/status/status.h"
#include "server/common/net_address.h"

namespace cachewire::server {

absl::StatusOr<RunningGrpcServer> StartGrpcServer(const GrpcServerParams& params) {
  auto host_port = SplitHostPort(params.listen);
  if (!host_port.ok()) return host_port.status();
  // Both are process-wide switches read when a server is built.
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();

  grpc::ServerBuilder builder;
  int bound_port = 0;
  builder.AddListeningPort(params.listen,
                           params.credentials ? params.credentials
                                              : grpc::InsecureServerCredentials(),
                           &bound_port);
  builder.SetMaxReceiveMessageSize(params.max_receive_message_bytes);
  builder.SetMaxSendMessageSize(params.max_send_message_bytes);
  for (grpc::Service* service : params.services) builder.RegisterService(service);
  RunningGrpcServer running;
  running.server = builder.BuildAndStart();
  if (!running.server || bound_port == 0) {
    if (running.server) running.server->Shutdown();
    return absl::InvalidArgumentError("listen address " + params.listen +
                                      ": cannot bind (in use, or not a local address)");
  }
  running.address = JoinHostPort(host_port->host, bound_port);
  SetServing(*running.server, true);
  return running;
}

void SetServing(grpc::Server& server, bool serving) {
  grpc::HealthCheckServiceInterface* health = server.GetHealthCheckService();
  if (health != nullptr) health->SetServingStatus(serving);
}

}  // namespace cachewire::server
