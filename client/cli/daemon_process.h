// A cachewire daemon (worker or router) run as a child process: started from its binary with
// flags, considered up once it prints its `listening grpc=HOST:PORT metrics=HOST:PORT` line on
// stdout, and stopped with SIGTERM (then SIGKILL after a grace period). `cachewire up` starts
// its router and workers this way, and the end-to-end tests start real daemons through it.
//
//   auto worker = DaemonProcess::Start({.binary = "build/bin/cachewire-worker",
//                                       .args = {"--model", m, "--listen", "127.0.0.1:0"}});
//   Dial((*worker)->grpc_address());  ...  (*worker)->Stop();
//
// The child dies with its parent (PR_SET_PDEATHSIG), so a crashed test leaves no daemon
// behind, and runs in a process group of its own, so that Ctrl-C in a terminal reaches only the
// parent, which then stops its children in order. Its stdout after the listening line is drained (and forwarded when asked), its
// stderr is inherited.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"

namespace cachewire::cli {

struct DaemonParams {
  std::string binary;
  std::vector<std::string> args;
  int start_timeout_ms = 30000;  // until the listening line
  bool forward_stdout = false;   // copy the child's later stdout lines to ours
  bool quiet_stderr = false;     // send the child's stderr to /dev/null
};

class DaemonProcess {
 public:
  // NotFound naming the binary when it is missing; Unavailable with the exit status when the
  // child exits (or stays silent past start_timeout_ms) before its listening line.
  static absl::StatusOr<std::unique_ptr<DaemonProcess>> Start(const DaemonParams& params);
  ~DaemonProcess();  // Kill() when still running

  const std::string& grpc_address() const { return grpc_address_; }
  const std::string& metrics_address() const { return metrics_address_; }
  pid_t pid() const { return pid_; }
  bool running();

  // SIGTERM, wait up to grace_ms, then SIGKILL. Returns the exit code (128 + signal when
  // killed by one).
  int Stop(int grace_ms = 10000);
  // SIGKILL at once (a crash, as tests provoke it) and reap.
  int Kill();

 private:
  DaemonProcess() = default;
  int Reap(bool block);

  pid_t pid_ = -1;
  int exit_code_ = -1;
  int stdout_fd_ = -1;
  std::string grpc_address_;
  std::string metrics_address_;
  std::thread drain_;
};

// The value of `key=` in a `listening grpc=... metrics=...` line ("" when absent).
std::string ListeningField(const std::string& line, const std::string& key);

}  // namespace cachewire::cli
