// How the router answers with what a worker said. A worker's error is relayed with its code;
// its message is rewritten so that the caller never sees the worker's internal session id (the
// public id stands in its place) and, where the router's request names the session by another
// field (from_session_id, to_session_id), the message names that field. UNAVAILABLE and
// DEADLINE_EXCEEDED say which agent's worker failed.
#pragma once

#include <string>

#include <grpcpp/support/status.h>

#include "server/router/session_table.h"

namespace cachewire::router {

class AgentLink;

struct WorkerCallSite {
  const AgentLink* agent = nullptr;
  const PublicSession* session = nullptr;  // null for calls about no session
  std::string field = "session_id";        // the router request's field for that session
};

grpc::Status RelayWorkerStatus(const grpc::Status& worker_status, const WorkerCallSite& site);

}  // namespace cachewire::router
