// Child daemons (see daemon_process.h). fork + exec rather than posix_spawn so that the child
// can ask for SIGTERM when its parent dies; between fork and exec the child makes only
// async-signal-safe calls.
#include "client/cli/daemon_process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>

#include "absl/status/status.h"

namespace cachewire::cli {
namespace {

using Clock = std::chrono::steady_clock;

int ExitCodeOf(int wait_status) {
  if (WIFEXITED(wait_status)) return WEXITSTATUS(wait_status);
  if (WIFSIGNALED(wait_status)) return 128 + WTERMSIG(wait_status);
  return -1;
}

}  // namespace

std::string ListeningField(const std::string& line, const std::string& key) {
  const std::string needle = key + "=";
  size_t at = line.find(needle);
  if (at == std::string::npos) return std::string();
  at += needle.size();
  const size_t end = line.find_first_of(" \t\r\n", at);
  return line.substr(at, end == std::string::npos ? std::string::npos : end - at);
}

absl::StatusOr<std::unique_ptr<DaemonProcess>> DaemonProcess::Start(const DaemonParams& params) {
  if (access(params.binary.c_str(), X_OK) != 0) {
    return absl::NotFoundError("daemon binary " + params.binary + ": not found or not executable");
  }
  int pipe_fds[2];
  if (pipe2(pipe_fds, O_CLOEXEC) != 0) return absl::InternalError("pipe: " + std::string(strerror(errno)));
  std::vector<std::string> argv_strings = {params.binary};
  argv_strings.insert(argv_strings.end(), params.args.begin(), params.args.end());
  std::vector<char*> argv;
  for (std::string& s : argv_strings) argv.push_back(s.data());
  argv.push_back(nullptr);
  const pid_t parent = getpid();

  const pid_t pid = fork();
  if (pid < 0) return absl::InternalError("fork: " + std::string(strerror(errno)));
  if (pid == 0) {
    setpgid(0, 0);  // a terminal's Ctrl-C reaches the parent only; it stops us in order
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() != parent) _exit(127);  // the parent died before prctl
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);  // do not inherit a daemon's blocked signals
    dup2(pipe_fds[1], STDOUT_FILENO);
    if (params.quiet_stderr) {
      const int null_fd = open("/dev/null", O_WRONLY);
      if (null_fd >= 0) dup2(null_fd, STDERR_FILENO);
    }
    execv(argv[0], argv.data());
    _exit(127);
  }
  close(pipe_fds[1]);
  std::unique_ptr<DaemonProcess> daemon(new DaemonProcess());
  daemon->pid_ = pid;
  daemon->stdout_fd_ = pipe_fds[0];

  // Read lines until the listening line, the child's exit or the timeout.
  std::string buffer;
  const auto deadline = Clock::now() + std::chrono::milliseconds(params.start_timeout_ms);
  while (true) {
    const size_t newline = buffer.find('\n');
    if (newline != std::string::npos) {
      const std::string line = buffer.substr(0, newline);
      buffer.erase(0, newline + 1);
      if (line.rfind("listening ", 0) == 0) {
        daemon->grpc_address_ = ListeningField(line, "grpc");
        daemon->metrics_address_ = ListeningField(line, "metrics");
        break;
      }
      if (params.forward_stdout) std::fprintf(stdout, "%s\n", line.c_str());
      continue;
    }
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - Clock::now()).count();
    if (left <= 0) {
      daemon->Kill();
      return absl::UnavailableError(params.binary + ": no listening line within " +
                                    std::to_string(params.start_timeout_ms) + " ms");
    }
    pollfd pfd{daemon->stdout_fd_, POLLIN, 0};
    if (poll(&pfd, 1, static_cast<int>(left)) <= 0) continue;
    char chunk[4096];
    const ssize_t n = read(daemon->stdout_fd_, chunk, sizeof(chunk));
    if (n > 0) {
      buffer.append(chunk, static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    const int code = daemon->Reap(/*block=*/true);  // EOF: the child is gone
    return absl::UnavailableError(params.binary + ": exited with code " + std::to_string(code) +
                                  " before it was listening");
  }
  // Keep draining stdout so that the child never blocks on a full pipe.
  const int fd = daemon->stdout_fd_;
  const bool forward = params.forward_stdout;
  daemon->drain_ = std::thread([fd, forward] {
    char chunk[4096];
    while (true) {
      const ssize_t n = read(fd, chunk, sizeof(chunk));
      if (n > 0) {
        if (forward) {
          std::fwrite(chunk, 1, static_cast<size_t>(n), stdout);
          std::fflush(stdout);
        }
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      return;
    }
  });
  return daemon;
}

int DaemonProcess::Reap(bool block) {
  if (exit_code_ >= 0 || pid_ <= 0) return exit_code_;
  int status = 0;
  const pid_t got = waitpid(pid_, &status, block ? 0 : WNOHANG);
  if (got == pid_) exit_code_ = ExitCodeOf(status);
  return exit_code_;
}

bool DaemonProcess::running() { return Reap(/*block=*/false) < 0; }

int DaemonProcess::Stop(int grace_ms) {
  if (!running()) return exit_code_;
  kill(pid_, SIGTERM);
  const auto deadline = Clock::now() + std::chrono::milliseconds(grace_ms);
  while (Clock::now() < deadline) {
    if (!running()) return exit_code_;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return Kill();
}

int DaemonProcess::Kill() {
  if (!running()) return exit_code_;
  kill(pid_, SIGKILL);
  return Reap(/*block=*/true);
}

DaemonProcess::~DaemonProcess() {
  Kill();
  if (drain_.joinable()) drain_.join();  // the pipe reached EOF when the child exited
  if (stdout_fd_ >= 0) close(stdout_fd_);
}

}  // namespace cachewire::cli
