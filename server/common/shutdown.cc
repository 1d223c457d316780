// Termination signals through a self-pipe, and the drain (see shutdown.h).
#include "server/common/shutdown.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include <string>

#include "server/common/grpc_server.h"

namespace cachewire::server {
namespace {

int g_pipe[2] = {-1, -1};  // [0] read by WaitForTerminationSignal, [1] written by the handler

void OnTerminationSignal(int sig) {
  const int saved_errno = errno;
  const unsigned char byte = static_cast<unsigned char>(sig);
  [[maybe_unused]] const ssize_t n = write(g_pipe[1], &byte, 1);  // async-signal-safe
  errno = saved_errno;
}

}  // namespace

absl::Status InstallTerminationHandler() {
  if (g_pipe[0] >= 0) return absl::OkStatus();
  if (pipe2(g_pipe, O_CLOEXEC) != 0) {
    return absl::InternalError(std::string("pipe2: ") + strerror(errno));
  }
  // A full pipe must not block the handler: further signals are dropped then (one is enough).
  fcntl(g_pipe[1], F_SETFL, fcntl(g_pipe[1], F_GETFL) | O_NONBLOCK);
  struct sigaction action = {};
  action.sa_handler = OnTerminationSignal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;
  for (int sig : {SIGTERM, SIGINT}) {
    if (sigaction(sig, &action, nullptr) != 0) {
      return absl::InternalError(std::string("sigaction: ") + strerror(errno));
    }
  }
  return absl::OkStatus();
}

int WaitForTerminationSignal() {
  unsigned char byte = 0;
  for (;;) {
    const ssize_t n = read(g_pipe[0], &byte, 1);
    if (n == 1) return byte;
    if (n < 0 && errno == EINTR) continue;
    return SIGTERM;  // the pipe is gone: act as if asked to stop
  }
}

void DrainAndStop(grpc::Server& server, std::chrono::milliseconds timeout) {
  SetServing(server, false);
  server.Shutdown(std::chrono::system_clock::now() + timeout);
}

void DrainAndStop(grpc::Server& server, DrainGate& gate, std::chrono::milliseconds timeout) {
  SetServing(server, false);
  gate.Close();
  gate.WaitIdle(timeout);
  server.Shutdown(std::chrono::system_clock::now());
}

}  // namespace cachewire::server
