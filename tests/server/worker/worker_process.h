// A cachewire-worker started as a child process for end-to-end tests: the real binary on
// loopback with ephemeral ports, its "listening grpc=... metrics=..." line read from its stdout.
//
//   WorkerProcess worker({"--model", path, "--max-sessions", "8"});
//   ASSERT_TRUE(worker.started()) << worker.error();
//   auto channel = grpc::CreateChannel(worker.grpc_address(), ...);
//   worker.Signal(SIGTERM);
//   int code = worker.Wait();   // exit status, or 128 + signal
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

namespace cachewire::testing {

class WorkerProcess {
 public:
  // Starts build/bin/cachewire-worker with --listen 127.0.0.1:0 and `args`, and waits (at most
  // 30 s) for its listening line. (Pass --metrics 127.0.0.1:0 only where needed: the metrics
  // server takes about 2 s to stop.)
  explicit WorkerProcess(const std::vector<std::string>& args);
  // Kills the process (SIGKILL) if it still runs.
  ~WorkerProcess();

  bool started() const { return !grpc_address_.empty(); }
  const std::string& error() const { return error_; }
  const std::string& grpc_address() const { return grpc_address_; }
  const std::string& metrics_address() const { return metrics_address_; }
  pid_t pid() const { return pid_; }

  void Signal(int sig);
  // Waits for the exit (at most timeout_s; then SIGKILL) and returns its exit code, or 128 +
  // the signal that ended it, or -1 on timeout.
  int Wait(double timeout_s = 30);

 private:
  pid_t pid_ = -1;
  int stdout_fd_ = -1;
  std::string grpc_address_;
  std::string metrics_address_;
  std::string error_;
};

// The worker binary beside the others in the build tree.
std::string WorkerBinary();

// A start expected to fail: runs the worker with --listen 127.0.0.1:0 and `args` (one shell
// word each, no quoting) to its exit and returns its stdout and stderr together; *exit_code is
// its exit status, or -1 when it did not exit by itself.
std::string RunWorkerToExit(const std::vector<std::string>& args, int* exit_code);

// GET http://address/metrics over a plain socket; empty on failure.
std::string FetchMetrics(const std::string& address);

}  // namespace cachewire::testing
