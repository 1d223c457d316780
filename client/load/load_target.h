// What cachewire-load sends requests to: a router (public sessions, bearer token) or a worker
// directly (the baseline the router is compared with). Both generate with the same messages
// (v1::GenerateRequest / GenerateResponse); they differ in how a session is opened and in the
// call's metadata. Every call is asynchronous (gRPC callback API): completions run on gRPC's
// threads and never block.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include <grpcpp/grpcpp.h>

#include "absl/status/statusor.h"
#include "cachewire/v1/router.grpc.pb.h"
#include "cachewire/v1/worker.grpc.pb.h"

namespace cachewire::load {

struct TargetParams {
  std::string kind = "router";  // "router" or "worker"
  std::string address;          // host:port
  std::string token;            // router only
  std::string agent;            // router only; empty: the first agent
};

class Target {
 public:
  virtual ~Target() = default;
  // A context with the target's metadata (token) and a deadline `timeout_s` away.
  virtual std::unique_ptr<grpc::ClientContext> NewContext(double timeout_s) const = 0;
  // Opens a session; `done` gets the status and the session id.
  virtual void Open(grpc::ClientContext* context,
                    std::function<void(grpc::Status, std::string)> done) = 0;
  virtual void Generate(grpc::ClientContext* context, const v1::GenerateRequest* request,
                        grpc::ClientReadReactor<v1::GenerateResponse>* reactor) = 0;
  virtual void Close(grpc::ClientContext* context, const std::string& session_id,
                     std::function<void(grpc::Status)> done) = 0;
};

// InvalidArgument for an unknown kind; for a router without --agent, asks it for its first
// agent (blocking, once, before the load starts).
absl::StatusOr<std::unique_ptr<Target>> MakeTarget(const TargetParams& params);

}  // namespace cachewire::load
