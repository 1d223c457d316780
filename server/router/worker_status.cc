// Rewriting of worker errors for the router's callers (see worker_status.h).
#include "server/router/worker_status.h"

#include "server/router/worker_pool.h"

namespace cachewire::router {
namespace {

void ReplaceAll(std::string& text, const std::string& from, const std::string& to) {
  if (from.empty()) return;
  for (size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size())) {
    text.replace(at, from.size(), to);
  }
}

}  // namespace

grpc::Status RelayWorkerStatus(const grpc::Status& worker_status, const WorkerCallSite& site) {
  if (worker_status.ok()) return worker_status;
  std::string message = worker_status.error_message();
  if (site.session != nullptr) {
    ReplaceAll(message, site.session->worker_session_id, site.session->id);
    if (site.field != "session_id" && message.rfind("session_id", 0) == 0) {
      message.replace(0, std::string("session_id").size(), site.field);
    }
  }
  const std::string agent = site.agent != nullptr ? site.agent->name() : std::string("?");
  switch (worker_status.error_code()) {
    case grpc::StatusCode::UNAVAILABLE:
      message = "agent '" + agent + "': worker at " +
                (site.agent != nullptr ? site.agent->config().worker : std::string("?")) +
                " is unavailable: " + message;
      break;
    case grpc::StatusCode::DEADLINE_EXCEEDED:
    case grpc::StatusCode::CANCELLED:
    case grpc::StatusCode::INTERNAL:
    case grpc::StatusCode::UNKNOWN:
      message = "agent '" + agent + "': " + message;
      break;
    default:
      break;
  }
  return grpc::Status(worker_status.error_code(), message);
}

}  // namespace cachewire::router
