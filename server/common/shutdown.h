// Graceful termination of a daemon. SIGTERM and SIGINT get a handler (installed first thing in
// main) that only writes the signal number to a pipe; the main thread waits on that pipe and
// then drains, so nothing but a write(2) runs at an arbitrary point and no library thread can
// take the default action (death) for a signal meant for the daemon. DrainAndStop(): health
// turns NOT_SERVING, new RPCs are refused, RPCs in flight (generation streams included) run to
// completion within the drain timeout and are cancelled after it.
//
//   InstallTerminationHandler();
//   ... start the server ...
//   int sig = WaitForTerminationSignal();
//   DrainAndStop(*server, gate, std::chrono::seconds(30));
#pragma once

#include <grpcpp/server.h>

#include <chrono>

#include "absl/status/status.h"
#include "server/common/drain_gate.h"

namespace cachewire::server {

// Internal error naming the call when the pipe or the handler cannot be set up.
absl::Status InstallTerminationHandler();
// Blocks until SIGTERM or SIGINT arrives; returns the signal number.
int WaitForTerminationSignal();
// Health NOT_SERVING, then Server::Shutdown(now + timeout): in-flight calls may finish until
// the deadline. Note: gRPC also waits for open client connections here (seconds).
void DrainAndStop(grpc::Server& server, std::chrono::milliseconds timeout);
// The same with a DrainGate that every call passes: health NOT_SERVING, the gate closes (new
// calls refused by their handlers), the calls inside finish (at most `timeout`), then the server
// shuts down at once, cancelling whatever is left.
void DrainAndStop(grpc::Server& server, DrainGate& gate, std::chrono::milliseconds timeout);

}  // namespace cachewire::server
