// Conversion between absl::Status (what library code returns) and grpc::Status (what a daemon
// answers). Only server/ converts: the codes map one to one (both follow google.rpc.Code) and
// the message, which names the field or resource, is kept as it is.
#pragma once

#include <grpcpp/support/status.h>

#include "absl/status/status.h"

namespace cachewire::server {

grpc::Status ToGrpcStatus(const absl::Status& status);
absl::Status FromGrpcStatus(const grpc::Status& status);

// "OK", "NOT_FOUND", ... (the names Prometheus labels and logs use).
const char* GrpcCodeName(grpc::StatusCode code);

}  // namespace cachewire::server
