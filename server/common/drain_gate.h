// Counts the calls a daemon is serving so that a drain can wait for exactly those.
//
// grpc::Server::Shutdown(deadline) also waits for idle client connections to go away (several
// seconds with a client that keeps its channel open), so a daemon drains in two steps instead:
// the gate closes (new calls are answered UNAVAILABLE by their handlers), the daemon waits until
// the calls inside have finished, then shuts the server down at once (see shutdown.h).
//
//   if (!gate.TryEnter()) return Unavailable("shutting down");   // in a handler
//   ... the call runs; its reactor calls gate.Leave() in OnDone ...
//   gate.Close(); gate.WaitIdle(30s);                             // in main, on SIGTERM
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>

namespace cachewire::server {

class DrainGate {
 public:
  // A call starts; false once the gate is closed (the call must not start then).
  bool TryEnter();
  // A call that entered has finished.
  void Leave();
  // Refuses calls from now on.
  void Close();
  bool closed() const;
  int64_t in_flight() const;
  // Blocks until no call is inside or `timeout` passes; true when idle.
  bool WaitIdle(std::chrono::milliseconds timeout);

 private:
  mutable std::mutex mu_;
  std::condition_variable idle_;
  bool closed_ = false;    // guarded by mu_
  int64_t in_flight_ = 0;  // guarded by mu_
};

}  // namespace cachewire::server
